import * as tf from "@tensorflow/tfjs";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
  type SegmentBatch,
} from "../src/model/decision_transformer.ts";
import {
  type ActionDist,
  entropy,
  modeAction,
  sampleWithUniforms,
} from "../src/model/distribution.ts";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";

function tinyConfig(over: Partial<DecisionTransformerConfig> = {}): DecisionTransformerConfig {
  return {
    obsDim: 3,
    actionKind: "discrete",
    actDim: 3,
    embedDim: 16,
    nLayer: 2,
    nHead: 2,
    contextLength: 4,
    maxTimestep: 50,
    dropout: 0.1,
    obsMean: [0.1, -0.2, 0.3],
    obsStd: [1, 2, 0.5],
    returnScale: 10,
    ...over,
  };
}

/** A random episode of `len` steps as plain arrays. */
function randomEpisode(c: DecisionTransformerConfig, len: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const A = c.actionKind === "discrete" ? 1 : c.actDim;
  const obs = Array.from(
    { length: len },
    () => Array.from({ length: c.obsDim }, () => rand() * 2 - 1),
  );
  const act = Array.from(
    { length: len },
    () =>
      c.actionKind === "discrete"
        ? [Math.floor(rand() * c.actDim)]
        : Array.from({ length: A }, () => rand() * 2 - 1),
  );
  const rtg = Array.from({ length: len }, (_, t) => 20 - t + rand());
  return { obs, act, rtg, A };
}

type Episode = ReturnType<typeof randomEpisode>;

/** A segment batch of steps [start, start+K) of each episode, padded at the end. */
function segments(c: DecisionTransformerConfig, eps: Episode[], starts: number[]): SegmentBatch {
  const K = c.contextLength, B = eps.length, A = eps[0].A;
  const r = new Float32Array(B * K), o = new Float32Array(B * K * c.obsDim);
  const a = new Float32Array(B * K * A), ts = new Int32Array(B * K);
  eps.forEach((ep, b) => {
    for (let k = 0; k < K; k++) {
      const t = starts[b] + k;
      if (t >= ep.obs.length) break;
      r[b * K + k] = ep.rtg[t];
      o.set(ep.obs[t], (b * K + k) * c.obsDim);
      a.set(ep.act[t], (b * K + k) * A);
      ts[b * K + k] = t;
    }
  });
  return {
    returnsToGo: tf.tensor2d(r, [B, K]),
    obs: tf.tensor3d(o, [B, K, c.obsDim]),
    actions: tf.tensor3d(a, [B, K, A]),
    timesteps: tf.tensor2d(ts, [B, K], "int32"),
  };
}

function distValues(d: ActionDist): tf.Tensor {
  return d.kind === "discrete" ? d.logits : d.mean;
}

Deno.test("causal masking: a later token never changes an earlier output", async () => {
  await initBackend("cpu");
  const c = tinyConfig({ contextLength: 6 });
  const model = new DecisionTransformer(c, 1);
  const ep = randomEpisode(c, 6, 7);
  const base = segments(c, [ep], [0]);
  const before = (await distValues(model.forward(base)).array()) as number[][][];
  for (const j of [0, 2, 4]) {
    // Change everything from a_j on: the action at j and all of steps > j.
    const changed = structuredClone(ep);
    changed.act[j] = [(ep.act[j][0] + 1) % c.actDim];
    for (let t = j + 1; t < 6; t++) {
      changed.obs[t] = changed.obs[t].map((v) => v + 5);
      changed.rtg[t] += 7;
      changed.act[t] = [(ep.act[t][0] + 2) % c.actDim];
    }
    const after =
      (await distValues(model.forward(segments(c, [changed], [0]))).array()) as number[][][];
    for (let t = 0; t <= j; t++) {
      assertEquals(after[0][t], before[0][t], `step ${t} after change at ${j}`);
    }
    assert(
      after[0][j + 1].some((v, i) => v !== before[0][j + 1][i]),
      "later steps do depend on it",
    );
  }
  model.dispose();
});

/**
 * The Decision Transformer written out plainly from its weights (GPT-2 over
 * the interleaved R, s, a tokens, every token through every layer, tfjs's
 * unfused ops), the action logits read at the s tokens.
 */
function referenceLogits(model: DecisionTransformer, batch: SegmentBatch): tf.Tensor {
  const c = model.config;
  const w = new Map(model.namedWeights());
  const W = (name: string) => w.get(name)!;
  const dense = (x: tf.Tensor, name: string) => {
    const y = tf.matMul(x.reshape([-1, x.shape.at(-1)!]), W(`${name}.weight`));
    return y.add(W(`${name}.bias`)).reshape([...x.shape.slice(0, -1), y.shape[1]!] as number[]);
  };
  const norm = (x: tf.Tensor, name: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).div(tf.sqrt(variance.add(1e-5))).mul(W(`${name}.weight`)).add(
      W(`${name}.bias`),
    );
  };
  return tf.tidy(() => {
    const [B, K] = batch.returnsToGo.shape, d = c.embedDim, T = 3 * K, dh = d / c.nHead;
    const time = tf.gather(W("embed_timestep.weight"), batch.timesteps.reshape([-1]))
      .reshape([B, K, d]);
    const R = dense(batch.returnsToGo.div(c.returnScale).reshape([B, K, 1]), "embed_return");
    const obs = batch.obs.sub(tf.tensor1d(c.obsMean)).div(tf.tensor1d(c.obsStd));
    const S = dense(obs, "embed_state");
    const A = dense(
      tf.oneHot(batch.actions.reshape([B, K]).cast("int32"), c.actDim).cast("float32"),
      "embed_action",
    );
    let x = norm(
      tf.stack([R.add(time), S.add(time), A.add(time)], 2).reshape([B, T, d]),
      "embed_ln",
    );
    const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
    for (let l = 0; l < c.nLayer; l++) {
      const p = `transformer.h.${l}`;
      const heads = (t: tf.Tensor) => t.reshape([B, T, c.nHead, dh]).transpose([0, 2, 1, 3]);
      const [q, k, v] = tf.split(dense(norm(x, `${p}.ln_1`), `${p}.attn.c_attn`), 3, -1).map(heads);
      const scores = tf.matMul(q, k, false, true).div(Math.sqrt(dh));
      const att = tf.softmax(
        tf.where(causal.cast("bool"), scores, tf.fill(scores.shape, -Infinity)),
      );
      const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B, T, d]);
      x = x.add(dense(y, `${p}.attn.c_proj`));
      const h = dense(norm(x, `${p}.ln_2`), `${p}.mlp.c_fc`);
      x = x.add(dense(h.mul(tf.sigmoid(h.mul(1.702))), `${p}.mlp.c_proj`));
    }
    const states = x.reshape([B, K, 3, d]).slice([0, 0, 1, 0], [B, K, 1, d]).reshape([B, K, d]);
    return dense(norm(states, "transformer.ln_f"), "predict_action");
  });
}

Deno.test("forward equals the model written out plainly, every token through every layer", async () => {
  await initBackend("cpu");
  for (const nLayer of [1, 2, 3]) {
    const c = tinyConfig({ nLayer, contextLength: 5 });
    const model = new DecisionTransformer(c, 11);
    const eps = [0, 1, 2].map((i) => randomEpisode(c, 8, 200 + i));
    const batch = segments(c, eps, [0, 3, 5]);
    const got = distValues(model.forward(batch));
    const want = referenceLogits(model, batch);
    assertAllClose(
      Array.from(await got.data()),
      Array.from(await want.data()),
      1e-5,
      `${nLayer} layers`,
    );
    tf.dispose([got, want, ...Object.values(batch)]);
    model.dispose();
  }
});

/** Runs `act` over N episodes that start at different times and compares with full forwards. */
async function cachedMatchesFull(c: DecisionTransformerConfig, tolerance: number) {
  const K = c.contextLength;
  const model = new DecisionTransformer(c, 3);
  const lengths = [11, 6, 9];
  const eps = lengths.map((len, i) => randomEpisode(c, len, 100 + i));
  const n = eps.length;
  const cache = model.createCache(n);
  // Env i plays its episode then restarts it: its step t runs 0..len-1, 0..
  const steps = 14;
  let prevAction = new Float32Array(n * eps[0].A);
  for (let step = 0; step < steps; step++) {
    const t = eps.map((ep) => step % ep.obs.length);
    const input = {
      returnToGo: tf.tensor1d(eps.map((ep, i) => ep.rtg[t[i]])),
      obs: tf.tensor2d(eps.flatMap((ep, i) => ep.obs[t[i]]), [n, c.obsDim]),
      prevAction: tf.tensor2d(prevAction, [n, eps[0].A]),
      timestep: tf.tensor1d(t, "int32"),
    };
    const dist = model.act(cache, input);
    const got = (await distValues(dist).array()) as number[][];
    // Full forward over each env's aligned chunk K*floor(t/K) .. t.
    const full = model.forward(segments(c, eps, t.map((ti) => ti - (ti % K))));
    const want = (await distValues(full).array()) as number[][][];
    for (let i = 0; i < n; i++) {
      assertAllClose(got[i], want[i][t[i] % K], tolerance, `env ${i} step ${t[i]}`);
    }
    prevAction = Float32Array.from(eps.flatMap((ep, i) => ep.act[t[i]]));
    tf.dispose([...Object.values(input), distValues(dist), distValues(full)]);
  }
  cache.dispose();
  model.dispose();
}

Deno.test("cached act equals a full forward over the aligned chunk (categorical)", async () => {
  await initBackend("cpu");
  await cachedMatchesFull(tinyConfig(), 1e-5);
});

Deno.test("cached act equals a full forward over the aligned chunk (Gaussian)", async () => {
  await initBackend("cpu");
  await cachedMatchesFull(
    tinyConfig({ actionKind: "continuous", actDim: 2, contextLength: 3 }),
    1e-5,
  );
});

Deno.test("act does not leak tensors", async () => {
  await initBackend("cpu");
  const c = tinyConfig();
  const model = new DecisionTransformer(c, 3);
  const cache = model.createCache(2);
  const input = {
    returnToGo: tf.tensor1d([1, 2]),
    obs: tf.zeros([2, 3]) as tf.Tensor2D,
    prevAction: tf.zeros([2, 1]) as tf.Tensor2D,
    timestep: tf.tensor1d([0, 5], "int32"),
  };
  tf.dispose((model.act(cache, input) as { logits: tf.Tensor }).logits);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.dispose((model.act(cache, input) as { logits: tf.Tensor }).logits);
  assertEquals(tf.memory().numTensors, before);
  cache.dispose();
  model.dispose();
  tf.dispose(Object.values(input));
});

gpuTest({
  name: "webgpu and wasm give the same outputs for the same weights",
  async fn() {
    const c = tinyConfig();
    const eps = [randomEpisode(c, 7, 1), randomEpisode(c, 5, 2)];
    const run = async () => {
      const model = new DecisionTransformer(c, 5);
      const full = model.forward(segments(c, eps, [0, 1]));
      const { logProb } = model.logProbs(segments(c, eps, [3, 0]));
      const cache = model.createCache(2);
      const step = model.act(cache, {
        returnToGo: tf.tensor1d([3, 4]),
        obs: tf.tensor2d([[1, 2, 3], [-1, 0, 1]]),
        prevAction: tf.tensor2d([[1], [2]]),
        timestep: tf.tensor1d([0, 6], "int32"),
      });
      const u = tf.tensor2d([[0.1], [0.9]]);
      const { value, grads: g } = tf.variableGrads(
        () => model.logProbs(segments(c, eps, [2, 0])).logProb.sum() as tf.Scalar,
      );
      const out = [
        await distValues(full).data(),
        await logProb.data(),
        await distValues(step).data(),
        await entropy(step).data(),
        await modeAction(step).data(),
        await sampleWithUniforms(step, u).data(),
        await value.data(),
        ...(await Promise.all(model.trainableVariables().map((v) => g[v.name].data()))),
      ];
      model.dispose();
      cache.dispose();
      return out;
    };
    await initBackend("cpu");
    const onWasm = await run();
    await initBackend("gpu");
    const onGpu = await run();
    await initBackend("cpu");
    disposeGpuBackend();
    onWasm.forEach((w, i) => assertAllClose(onGpu[i], w, 1e-4, `output ${i}`));
  },
});

releaseGpuAfterTests();

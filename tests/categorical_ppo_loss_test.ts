/**
 * The categorical PPO loss as one node on wasm
 * (`src/rl/categorical_ppo_loss.ts`) against the tfjs ops it replaces
 * (`logProb`, `entropy`, `policyLoss`, `ratioMetrics`), bit for bit: the
 * loss, the logits' gradient and the diagnostics, with ratios clipped on
 * both sides, weighted and zero mask entries, an out-of-range action and
 * 2-4 actions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { entropy, logProb } from "../src/model/distribution.ts";
import { categoricalPpoLossOnWasm } from "../src/rl/categorical_ppo_loss.ts";
import { type MinibatchTargets, policyLoss, ratioMetrics } from "../src/rl/ppo_loss.ts";
import { assertEquals } from "./assert.ts";

Deno.test("the categorical PPO loss on wasm equals tfjs's ops bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  for (const [b, k, n, seed] of [[6, 10, 2, 1], [3, 7, 3, 2], [2, 5, 4, 3]]) {
    const rand = (shape: number[], s: number, scale = 1) =>
      tf.tidy(() => tf.randomNormal(shape, 0, 1, "float32", seed * 100 + s).mul(scale));
    const logits = rand([b, k, n], 1, 3);
    // One action out of range: its one-hot row is zero, as tf.oneHot's.
    const actionValues = Array.from({ length: b * k }, (_, i) => (i * 7 + seed) % n);
    actionValues[3] = n;
    const actions = tf.tensor3d(actionValues, [b, k, 1]);
    // Rollout log-probabilities off by up to ~0.5: ratios inside and outside [0.8, 1.2].
    const oldLogProb = tf.tidy(() =>
      logProb({ kind: "discrete", logits }, actions).add(rand([b, k], 2, 0.3))
    );
    const realMask = tf.tidy(() => rand([b, k], 3).greater(-1).cast("float32"));
    const targets: MinibatchTargets = {
      advantages: rand([b, k], 4),
      oldLogProb,
      // Prioritized minibatches weight the mask.
      mask: tf.tidy(() => realMask.mul(rand([b, 1], 5).abs().add(0.5))),
      count: tf.tidy(() => realMask.sum().maximum(1) as tf.Scalar),
    };
    const c = { clipEpsilon: 0.2, entropyCoef: 0.013, klCoef: 0 };

    const opsLoss = (x: tf.Tensor) => {
      const dist = { kind: "discrete" as const, logits: x };
      return policyLoss(logProb(dist, actions), entropy(dist), targets, c);
    };
    // dy of 3 reaches the node: its gradient scales with the loss's.
    const want = tf.valueAndGrad((x: tf.Tensor) => opsLoss(x).loss.mul(3) as tf.Scalar)(logits);
    const got = tf.valueAndGrad((x: tf.Tensor) =>
      categoricalPpoLossOnWasm(backend, x, actions, targets, realMask, c).loss.mul(3) as tf.Scalar
    )(logits);
    assertEquals(got.value.dataSync()[0], want.value.dataSync()[0], `loss, ${n} actions`);
    assertEquals(
      Array.from(got.grad.dataSync()),
      Array.from(want.grad.dataSync()),
      `gradient, ${n} actions`,
    );

    const wantMetrics = tf.tidy(() => {
      const { ratio, entropy } = opsLoss(logits);
      const r = ratioMetrics(ratio, realMask, targets.count, c.clipEpsilon);
      return tf.stack([entropy, r.approxKl, r.clipFraction, r.maxRatioError]);
    });
    const { loss, metrics } = categoricalPpoLossOnWasm(
      backend,
      logits,
      actions,
      targets,
      realMask,
      c,
    );
    assertEquals(metrics, Array.from(wantMetrics.dataSync()), `metrics, ${n} actions`);
    // Some ratios were clipped (else the clip's gradient went untested).
    if (!(metrics[2] > 0 && metrics[2] < 1)) throw new Error(`clip fraction ${metrics[2]}`);
    tf.dispose([loss, wantMetrics, want.value, want.grad, got.value, got.grad]);
    tf.dispose([logits, actions, realMask, Object.values(targets)]);
  }
  assertEquals(tf.memory().numTensors, before);
});

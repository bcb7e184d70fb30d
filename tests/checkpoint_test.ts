import * as tf from "@tensorflow/tfjs";
import { cartpole } from "../envs/cartpole.ts";
import type { Env } from "../envs/env.ts";
import { InputError } from "../src/errors.ts";
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from "../src/io/safetensors.ts";
import { initBackend } from "../src/model/backend.ts";
import {
  checkpointFromBytes,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "../src/model/checkpoint.ts";
import { DecisionTransformer } from "../src/model/decision_transformer.ts";
import { ValueNetwork } from "../src/model/value_network.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

await initBackend("cpu");

function tinyPolicy(seed = 1): DecisionTransformer {
  return new DecisionTransformer({
    obsDim: 4,
    actionKind: "discrete",
    actDim: 2,
    embedDim: 8,
    nLayer: 1,
    nHead: 2,
    contextLength: 3,
    maxTimestep: 20,
    dropout: 0,
    obsMean: [0.5, 0, -0.25, 1],
    obsStd: [1, 2, 3, 4],
    returnScale: 50,
  }, seed);
}

async function tinyCheckpoint(withValue = false): Promise<Uint8Array> {
  const policy = tinyPolicy();
  const value = withValue
    ? new ValueNetwork({
      obsDim: 4,
      embedDim: 4,
      hiddenDim: 6,
      obsMean: policy.config.obsMean,
      obsStd: policy.config.obsStd,
    })
    : undefined;
  const bytes = await encodeCheckpoint({
    envId: cartpole.id,
    policy,
    value,
    targetReturn: 123,
    trainingArgs: { seed: 3 },
    stage: "pretrain",
  });
  policy.dispose();
  value?.dispose();
  return bytes;
}

Deno.test("safetensors: the layout is the standard one", () => {
  const bytes = encodeSafetensors(
    new Map<string, TensorEntry>([
      ["a", { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) }],
      ["b", { dtype: "U8", shape: [1, 3], data: new Uint8Array([7, 8, 9]) }],
    ]),
    { k: "v" },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0, "header padded to 8 bytes");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assertEquals(header.__metadata__, { k: "v" });
  assertEquals(header.a, { dtype: "F32", shape: [2], data_offsets: [0, 8] });
  assertEquals(header.b, { dtype: "U8", shape: [1, 3], data_offsets: [8, 11] });
  assertEquals(Array.from(new Float32Array(bytes.slice(8 + n, 16 + n).buffer)), [1, -2]);
  assertEquals(Array.from(bytes.subarray(16 + n)), [7, 8, 9]);
});

Deno.test("checkpoint round trip is bit-exact", async () => {
  const bytes = await tinyCheckpoint(true);
  const loaded = checkpointFromBytes(bytes, "mem", cartpole);
  assertEquals(loaded.info.envId, "CartPole-v1");
  assertEquals(loaded.info.targetReturn, 123);
  assertEquals(loaded.info.trainingArgs, { seed: 3 });
  assertEquals(loaded.info.model.obsStd, [1, 2, 3, 4]);
  assert(loaded.value, "value network restored");
  const again = await encodeCheckpoint({
    envId: cartpole.id,
    policy: loaded.policy,
    value: loaded.value,
    targetReturn: 123,
    trainingArgs: { seed: 3 },
    stage: "pretrain",
  });
  assertEquals(again, bytes);
  const original = decodeSafetensors(bytes, "mem").tensors;
  for (const [name, v] of loaded.policy.namedWeights()) {
    assertEquals(
      new Uint8Array(((await v.data()) as Float32Array).buffer),
      new Uint8Array(original.get(name)!.data.buffer),
      name,
    );
  }
  loaded.policy.dispose();
  loaded.value!.dispose();
});

Deno.test("checkpoint files are written atomically and load back", async () => {
  const dir = await Deno.makeTempDir();
  const policy = tinyPolicy(2);
  const path = `${dir}/sub/best_model.safetensors`;
  await saveCheckpoint(path, {
    envId: cartpole.id,
    policy,
    targetReturn: 10,
    trainingArgs: {},
    stage: "pretrain",
  });
  assertEquals([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["best_model.safetensors"]);
  const loaded = await loadCheckpoint(path, cartpole);
  const a = await policy.forward({
    returnsToGo: tf.ones([1, 3]),
    obs: tf.ones([1, 3, 4]),
    actions: tf.zeros([1, 3, 1]),
    timesteps: tf.zeros([1, 3], "int32"),
  } as never);
  const b = await loaded.policy.forward({
    returnsToGo: tf.ones([1, 3]),
    obs: tf.ones([1, 3, 4]),
    actions: tf.zeros([1, 3, 1]),
    timesteps: tf.zeros([1, 3], "int32"),
  } as never);
  assertEquals(
    await (a as { logits: tf.Tensor }).logits.data(),
    await (b as { logits: tf.Tensor }).logits.data(),
  );
  policy.dispose();
  loaded.policy.dispose();
  await Deno.remove(dir, { recursive: true });
});

function setHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(bytes.subarray(8 + n), 8 + head.length);
  return out;
}

Deno.test("bad checkpoints are one-line InputErrors", async () => {
  const good = await tinyCheckpoint();
  const otherEnv: Env = { ...cartpole, id: "Other-v0", alias: "other" };
  const cases: [string, Uint8Array, string, Env?][] = [
    ["empty", new Uint8Array(0), "8-byte header length is missing"],
    ["truncated data", good.subarray(0, good.length - 5), "data_offsets outside"],
    ["truncated header", good.subarray(0, 40), "exceeds"],
    [
      "not safetensors",
      new TextEncoder().encode("PK\x03\x04 this is a zip file, honest"),
      "exceeds",
    ],
    [
      "foreign",
      encodeSafetensors(
        new Map([["w", { dtype: "F32", shape: [1], data: new Float32Array([1]) }]]),
        { format: "pt" },
      ),
      "not a grpo checkpoint",
    ],
    [
      "offsets lie",
      setHeader(good, (h) => {
        const t = h["predict_action.bias"] as { data_offsets: number[] };
        t.data_offsets = [t.data_offsets[0] + 4, t.data_offsets[1] + 4];
      }),
      "data_offsets",
    ],
    [
      "overlap",
      setHeader(good, (h) => {
        const t = h["predict_action.bias"] as { data_offsets: number[] };
        t.data_offsets = [t.data_offsets[0] - 4, t.data_offsets[1] - 4];
      }),
      "overlap or hole",
    ],
    [
      "shape lies",
      setHeader(good, (h) => {
        (h["predict_action.bias"] as { shape: number[] }).shape = [3];
      }),
      "does not match",
    ],
    [
      "huge shape",
      setHeader(good, (h) => {
        (h["predict_action.bias"] as { shape: number[] }).shape = [2 ** 40, 2 ** 40, 0.5];
      }),
      "invalid shape",
    ],
    [
      "dtype lies",
      setHeader(good, (h) => {
        (h["predict_action.bias"] as { dtype: string }).dtype = "F64";
      }),
      "does not match",
    ],
    [
      "unknown dtype",
      setHeader(good, (h) => {
        (h["predict_action.bias"] as { dtype: string }).dtype = "F8_E4M3";
      }),
      "unsupported dtype",
    ],
    [
      "model config disagrees with tensors",
      setHeader(good, (h) => {
        const m = h.__metadata__ as Record<string, string>;
        m.model_config = JSON.stringify({ ...JSON.parse(m.model_config), embedDim: 16, nHead: 2 });
      }),
      "the model config needs",
    ],
    [
      "missing tensor",
      setHeader(good, (h) => {
        const m = h.__metadata__ as Record<string, string>;
        m.model_config = JSON.stringify({ ...JSON.parse(m.model_config), nLayer: 2 });
      }),
      "is missing",
    ],
    [
      "bad metadata JSON",
      setHeader(good, (h) => {
        (h.__metadata__ as Record<string, string>).obs_scaling = "{";
      }),
      "not JSON",
    ],
    ["another env", good, "was trained on CartPole-v1, not Other-v0", otherEnv],
  ];
  for (const [name, bytes, message, env] of cases) {
    const e = await assertRejects(
      () => checkpointFromBytes(bytes, "ckpt.safetensors", env ?? cartpole),
      InputError,
      message,
    );
    assert(!e.message.includes("\n"), `${name}: one line`);
    assert(e.message.startsWith("ckpt.safetensors"), `${name}: names the file`);
  }
  await assertRejects(
    () => loadCheckpoint("/nonexistent/x.safetensors"),
    InputError,
    "does not exist",
  );
  await assertRejects(() => loadCheckpoint("/tmp"), InputError, "directory");
});

Deno.test("fuzz: mutated checkpoints load or raise InputError, never crash or hang", async () => {
  const good = await tinyCheckpoint(true);
  let s = 12345;
  const rand = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  const numTensors = tf.memory().numTensors;
  let loaded = 0;
  for (let i = 0; i < 1500; i++) {
    let bytes = good.slice();
    const kind = rand(4);
    if (kind === 0) {
      for (let k = 0; k <= rand(4); k++) bytes[rand(bytes.length)] = rand(256);
    } else if (kind === 1) {
      // Mutations inside the header hit the interesting parser paths.
      const n = new DataView(bytes.buffer).getUint32(0, true);
      for (let k = 0; k <= rand(3); k++) bytes[8 + rand(n)] = rand(256);
    } else if (kind === 2) {
      bytes = bytes.subarray(0, rand(bytes.length));
    } else {
      bytes[rand(8)] = rand(256);
    }
    try {
      const c = checkpointFromBytes(bytes, "fuzz", cartpole);
      c.policy.dispose();
      c.value?.dispose();
      loaded++;
    } catch (e) {
      if (!(e instanceof InputError)) throw new Error(`mutation ${i} crashed: ${e}`);
    }
  }
  assert(loaded > 0 && loaded < 1500, `some mutations (data bytes) still load: ${loaded}`);
  assertEquals(tf.memory().numTensors, numTensors, "no tensors leak from failed loads");
});

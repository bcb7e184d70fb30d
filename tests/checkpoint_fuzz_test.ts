/**
 * Checkpoint fuzzing: config values, metadata, tensor headers (shape,
 * dtype, offsets) and tensor data (NaN, Inf) are mutated, and eval,
 * inspect, train --checkpoint and act load each file. Every outcome must be
 * a result or one `error:` line with exit 2: never an uncaught exception
 * (a bug's stack trace) and never a large allocation.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { tinyPolicy, tinyValue } from "./fixtures.ts";
import { flags } from "./cli_helpers.ts";
import { cartpole } from "../envs/cartpole.ts";
import { main } from "../src/cli/main.ts";
import { decodeSafetensors, type Dtype, DTYPES } from "../src/io/safetensors.ts";
import { initBackend } from "../src/model/backend.ts";
import {
  encodeCheckpoint,
  policyWeightShapes,
  valueWeightShapes,
} from "../src/model/checkpoint.ts";
import { DecisionTransformer } from "../src/model/decision_transformer.ts";
import { ValueNetwork } from "../src/model/value_network.ts";

/** A tensor as raw little-endian bytes, with a header shape/dtype that may lie. */
interface RawTensor {
  name: string;
  dtype: unknown;
  shape: unknown;
  bytes: Uint8Array;
}

/** Encodes tensors without any check, so headers can disagree with the data. */
function encodeRaw(tensors: RawTensor[], metadata: Record<string, unknown>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of tensors) {
    out.set(t.bytes, p);
    p += t.bytes.length;
  }
  return out;
}

type Mutation = (c: { tensors: RawTensor[]; metadata: Record<string, unknown> }) => void;

/** Sets `key` of the JSON object stored in metadata `field`. */
const jsonField = (field: string, key: string, value: unknown): Mutation => (c) => {
  const o = JSON.parse(c.metadata[field] as string);
  o[key] = value;
  c.metadata[field] = JSON.stringify(o);
};

const tensorNamed = (c: { tensors: RawTensor[] }, name: string) =>
  c.tensors.find((t) => t.name === name)!;

/** Writes `value` into float 0 of tensor `name`. */
const poke = (name: string, value: number): Mutation => (c) => {
  const t = tensorNamed(c, name);
  new DataView(t.bytes.buffer, t.bytes.byteOffset).setFloat32(0, value, true);
};

const MUTATIONS: [string, Mutation][] = [["unchanged", () => {}]];
const CONFIG_VALUES: unknown[] = [0, -1, 1.5, 1e9, 1e308, "8", null, true, [], {}];
for (
  const key of [
    "obsDim",
    "actDim",
    "embedDim",
    "nLayer",
    "nHead",
    "contextLength",
    "maxTimestep",
    "dropout",
    "actionKind",
  ]
) {
  for (const v of CONFIG_VALUES) {
    MUTATIONS.push([`model_config.${key}=${JSON.stringify(v)}`, jsonField("model_config", key, v)]);
  }
}
MUTATIONS.push(
  ["model_config.nLayer=2 over 1-layer weights", jsonField("model_config", "nLayer", 2)],
  ["model_config.embedDim=16 over width-8 weights", jsonField("model_config", "embedDim", 16)],
  ["model_config.maxTimestep=1000", jsonField("model_config", "maxTimestep", 1000)],
  ["model_config.actionKind=continuous", jsonField("model_config", "actionKind", "continuous")],
  ["model_config is a string", (c) => (c.metadata.model_config = '"x"')],
  ["model_config is not JSON", (c) => (c.metadata.model_config = "{")],
  ["obs_scaling.mean has 1e39", jsonField("obs_scaling", "mean", [0, 0, 0, 1e39])],
  ["obs_scaling.std has 0", jsonField("obs_scaling", "std", [1, 1, 0, 1])],
  ["obs_scaling.std has 1e-45", jsonField("obs_scaling", "std", [1, 1, 1e-45, 1])],
  ["obs_scaling.std is short", jsonField("obs_scaling", "std", [1, 1])],
  ["obs_scaling.mean has strings", jsonField("obs_scaling", "mean", ["0", 0, 0, 0])],
  ["return_scaling.scale 0", jsonField("return_scaling", "scale", 0)],
  ["return_scaling.scale 1e308", jsonField("return_scaling", "scale", 1e308)],
  ["return_scaling.target_return 1e308", jsonField("return_scaling", "target_return", 1e308)],
  ["return_scaling.target_return string", jsonField("return_scaling", "target_return", "1")],
  ["value_config.embedDim 1e9", jsonField("value_config", "embedDim", 1e9)],
  ["value_config.obsDim 3", jsonField("value_config", "obsDim", 3)],
  ["value_config is an array", (c) => (c.metadata.value_config = "[]")],
  ["no value_config", (c) => delete c.metadata.value_config],
  ["env_id empty", (c) => (c.metadata.env_id = "")],
  ["env_id unknown", (c) => (c.metadata.env_id = "NoSuchEnv-v0")],
  ["format missing", (c) => delete c.metadata.format],
  ["metadata value not a string", (c) => (c.metadata.stage = 3)],
  ["NaN in a weight", poke("transformer.h.0.attn.c_attn.weight", NaN)],
  ["Inf in a weight", poke("embed_state.weight", Infinity)],
  ["-Inf in the value net", poke("value.out.bias", -Infinity)],
  ["NaN in the timestep table", poke("embed_timestep.weight", NaN)],
  [
    "tensor missing",
    (c) => c.tensors.splice(c.tensors.findIndex((t) => t.name === "embed_ln.bias"), 1),
  ],
  [
    "extra tensor",
    (c) => c.tensors.push({ name: "evil", dtype: "F32", shape: [1], bytes: new Uint8Array(4) }),
  ],
  ["tensor renamed", (c) => (tensorNamed(c, "predict_action.bias").name = "predict_action.b")],
  ["shape transposed", (c) => {
    const t = tensorNamed(c, "embed_state.weight");
    t.shape = [...(t.shape as number[])].reverse();
  }],
  ["shape flattened", (c) => {
    const t = tensorNamed(c, "embed_timestep.weight");
    t.shape = [(t.shape as number[]).reduce((a, b) => a * b, 1)];
  }],
  ["huge dims in a header", (c) => (tensorNamed(c, "embed_ln.weight").shape = [1e9, 1e9])],
  ["negative dim", (c) => (tensorNamed(c, "embed_ln.weight").shape = [-8])],
  ["string dim", (c) => (tensorNamed(c, "embed_ln.weight").shape = ["8"])],
  ["fractional dim", (c) => (tensorNamed(c, "embed_ln.weight").shape = [2.5, 3.2])],
  ["dtype F64 over the same bytes", (c) => {
    const t = tensorNamed(c, "embed_ln.weight");
    t.dtype = "F64";
    t.shape = [4];
  }],
  ["dtype I32", (c) => (tensorNamed(c, "embed_ln.weight").dtype = "I32")],
  ["dtype unknown", (c) => (tensorNamed(c, "embed_ln.weight").dtype = "F8")],
  ["dtype number", (c) => (tensorNamed(c, "embed_ln.weight").dtype = 7)],
  ["data truncated", (c) => {
    const t = tensorNamed(c, "predict_action.weight");
    t.bytes = t.bytes.subarray(0, t.bytes.length - 4);
  }],
);

/** A seeded stream of extra mutations: random config keys set to random values. */
function randomMutations(n: number, seed: number): [string, Mutation][] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const keys = ["obsDim", "actDim", "embedDim", "nLayer", "nHead", "contextLength", "maxTimestep"];
  const values = [0, 1, 2, 3, 4, 7, 8, 16, 499, 500, 501, 2 ** 31, 2 ** 53, -0, 1e-9];
  return Array.from({ length: n }, () => {
    const key = keys[Math.floor(next() * keys.length)];
    const v = values[Math.floor(next() * values.length)];
    return [`random model_config.${key}=${v}`, jsonField("model_config", key, v)];
  });
}

async function baseCheckpoint(): Promise<
  { tensors: RawTensor[]; metadata: Record<string, unknown> }
> {
  await initBackend("cpu");
  const policy = tinyPolicy(5);
  const value = tinyValue(5);
  const bytes = await encodeCheckpoint({
    envId: cartpole.id,
    policy,
    value,
    targetReturn: 50,
    trainingArgs: {},
    stage: "pretrain",
  });
  policy.dispose();
  value.dispose();
  const file = decodeSafetensors(bytes, "base");
  const tensors = [...file.tensors].map(([name, t]) => ({
    name,
    dtype: t.dtype as unknown,
    shape: t.shape as unknown,
    bytes: new Uint8Array(
      t.data.buffer.slice(0),
      0,
      t.data.length * DTYPES[t.dtype as Dtype].bytes,
    ),
  }));
  return { tensors, metadata: { ...file.metadata } };
}

/** Runs `grpo argv` in-process; returns the exit code and what it printed on stderr. */
async function grpo(argv: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const { log, error } = console;
  console.log = () => {};
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(argv), err };
  } catch (e) {
    return { code: -1, err: [`uncaught: ${(e as Error).stack}`] };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A result (exit 0, warnings allowed) or one `error:` line with exit 2. */
function assertClean(what: string, r: { code: number; err: string[] }) {
  const errors = r.err.filter((l) => !l.startsWith("warning: "));
  if (r.code === 0) {
    assertEquals(errors, [], what);
    return;
  }
  assertEquals(r.code, 2, `${what}: ${r.err.join("\n")}`);
  assertEquals(errors.length, 1, `${what}: ${r.err.join("\n")}`);
  assert(errors[0].startsWith("error: ") && !errors[0].includes("\n"), `${what}: ${errors[0]}`);
}

Deno.test("mutated checkpoints: eval, inspect and train --checkpoint give a result or one error line", async () => {
  const base = await baseCheckpoint();
  const dir = await Deno.makeTempDir();
  const budget = 64 * 2 ** 20; // tensors may hold at most 64 MiB after any run
  const outcomes = { ok: 0, refused: 0 };
  for (const [what, mutate] of [...MUTATIONS, ...randomMutations(40, 7)]) {
    const c = structuredClone(base);
    mutate(c);
    const path = join(dir, "ckpt.safetensors");
    await Deno.writeFile(path, encodeRaw(c.tensors, c.metadata));
    const runs: [string, string[]][] = [
      ["inspect", ["inspect", path]],
      ["eval", ["eval", "--checkpoint", path, "--num-episodes", "1", "--device", "cpu"]],
      ["train", [
        "train",
        ...flags({
          checkpoint: path,
          "num-iterations": 1,
          "num-envs": 2,
          "rollout-steps": 4,
          "batch-size": 8,
          "eval-every": 0,
          out: join(dir, "ck"),
          "log-dir": join(dir, "logs"),
          device: "cpu",
        }),
      ]],
    ];
    for (const [command, argv] of runs) {
      const r = await grpo(argv);
      assertClean(`${what}: grpo ${command}`, r);
      outcomes[r.code === 0 ? "ok" : "refused"]++;
      assert(tf.memory().numBytes < budget, `${what}: ${tf.memory().numBytes} bytes held`);
    }
    // What eval refuses names the problem, and what the config implies is checked.
    if (what.startsWith("NaN in") || what.startsWith("Inf in") || what.startsWith("-Inf")) {
      // Not "lower the learning rate": the file is broken, and the line says which tensor.
      for (const command of ["eval", "train"]) {
        const r = await grpo([command, "--checkpoint", path, "--device", "cpu"]);
        assert(
          r.err[0].includes("the checkpoint is broken") && r.err[0].includes("tensor "),
          r.err[0],
        );
      }
    }
    if (what.includes("over 1-layer") || what.includes("over width-8")) {
      const r = await grpo(["eval", "--checkpoint", path, "--device", "cpu"]);
      assert(r.err[0].includes("tensor "), r.err[0]);
    }
  }
  assert(outcomes.ok > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mutated checkpoints: grpo act gives one error line and exit 2 (subprocess)", async () => {
  const base = await baseCheckpoint();
  const dir = await Deno.makeTempDir();
  const mainPath = new URL("../src/cli/main.ts", import.meta.url).pathname;
  const picks = [
    "NaN in a weight",
    "model_config.nLayer=2 over 1-layer weights",
    "model_config.embedDim=1000000000",
    "huge dims in a header",
  ];
  for (const what of picks) {
    const mutate = MUTATIONS.find(([w]) => w === what)![1];
    const c = structuredClone(base);
    mutate(c);
    const path = join(dir, "ckpt.safetensors");
    await Deno.writeFile(path, encodeRaw(c.tensors, c.metadata));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", mainPath, "act", "--checkpoint", path, "--device", "cpu"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr).trim().split("\n");
    assertEquals(out.code, 2, `${what}: ${err.join("\n")}`);
    assertEquals(err.length, 1, what);
    assert(err[0].startsWith("error: "), err[0]);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the weight shapes a config implies are the model's own, for both action kinds", async () => {
  await initBackend("cpu");
  for (const actionKind of ["discrete", "continuous"] as const) {
    const config = {
      obsDim: 3,
      actionKind,
      actDim: 2,
      embedDim: 8,
      nLayer: 2,
      nHead: 2,
      contextLength: 4,
      maxTimestep: 7,
      dropout: 0,
      obsMean: [0, 0, 0],
      obsStd: [1, 1, 1],
      returnScale: 1,
    };
    const policy = new DecisionTransformer(config);
    assertEquals(
      policyWeightShapes(config),
      policy.namedWeights().map(([name, v]) => [name, v.shape]),
    );
    policy.dispose();
  }
  const valueConfig = {
    obsDim: 3,
    embedDim: 5,
    hiddenDim: 6,
    obsMean: [0, 0, 0],
    obsStd: [1, 1, 1],
  };
  const value = new ValueNetwork(valueConfig);
  assertEquals(
    valueWeightShapes(valueConfig),
    value.namedWeights().map(([name, v]) => [name, v.shape]),
  );
  value.dispose();
});

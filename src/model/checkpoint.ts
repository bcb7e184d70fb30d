/**
 * grpo checkpoints: one `.safetensors` file holding the policy (tensors
 * named as in {@linkcode DecisionTransformer.namedWeights}), optionally the
 * value network (`value.*`) and any extra tensors (e.g. `optimizer.*` for
 * resuming), with `__metadata__`:
 *
 * | key | value |
 * | --- | --- |
 * | `format` | `grpo-checkpoint` |
 * | `grpo_version` | the writer's version |
 * | `env_id` | Gymnasium id of the env it was trained on |
 * | `env_source` | `user` when that env was the user's own module (its path is not recorded) |
 * | `model_config` | JSON: DT sizes (see {@linkcode DecisionTransformerConfig}) without the scaling |
 * | `obs_scaling` | JSON `{"mean": [...], "std": [...]}` |
 * | `return_scaling` | JSON `{"scale": s, "target_return": r}` |
 * | `value_config` | JSON, when a value network is stored |
 * | `training_args` | JSON of the command's arguments |
 * | `stage` | `pretrain`, `grpo`, ... |
 *
 * Loading checks all of it and names the problem in one line, before it
 * allocates a model: every config value lies in {@linkcode MODEL_LIMITS},
 * the tensors are exactly the ones the config implies (same names, dtypes
 * and shapes; besides them only `optimizer.*` and `collector.*` training
 * state), and every float holds a finite value. A file therefore never makes
 * us allocate much more than its own size.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { actionSize, discreteActionCount, type Env } from "../../envs/env.ts";
import { ENVS, quoteName, USER_ENV_HINT } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type Safetensors,
  type TensorEntry,
} from "../io/safetensors.ts";
import { formatRange, inRange, type Range } from "../range.ts";
import { GRPO_VERSION } from "../version.ts";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
  validateConfig,
} from "./decision_transformer.ts";
import { ValueNetwork, type ValueNetworkConfig } from "./value_network.ts";
import { readAll } from "./readback.ts";

/** The `format` metadata value of a checkpoint. */
export const CHECKPOINT_FORMAT = "grpo-checkpoint";

/** Limits of each model config value a checkpoint may claim (dims are integers). */
export const MODEL_LIMITS = {
  obsDim: { min: 1, max: 100_000 },
  actDim: { min: 1, max: 100_000 },
  embedDim: { min: 1, max: 4096 },
  nLayer: { min: 1, max: 64 },
  nHead: { min: 1, max: 64 },
  contextLength: { min: 1, max: 1024 },
  maxTimestep: { min: 1, max: 10_000_000 },
  dropout: { min: 0, max: 1, maxOpen: true },
  returnScale: { min: 0, max: 1e12, minOpen: true },
} as const satisfies Record<string, Range>;

/** Limits of the value network's widths. */
export const VALUE_LIMITS = {
  embedDim: { min: 1, max: 16_384 },
  hiddenDim: { min: 1, max: 16_384 },
} as const satisfies Record<string, Range>;

/** Training state a stage-2 checkpoint may carry besides the models' weights. */
const TRAINING_STATE_PREFIXES = ["optimizer.", "collector.", "reference."];

/** Everything a checkpoint says besides its tensors. */
export interface CheckpointInfo {
  /** The grpo version that wrote the file. */
  grpoVersion: string;
  /** The env's Gymnasium id. */
  envId: string;
  /** Trained on the user's own env module: running it needs `--env ./path/to/it.ts`. */
  userEnv: boolean;
  /** The Decision Transformer's sizes and input statistics. */
  model: DecisionTransformerConfig;
  /** The value network's, when the file holds one (stage 2). */
  value?: ValueNetworkConfig;
  /** Default return-to-go to condition on. */
  targetReturn: number;
  /** The flags and config of the run that wrote it. */
  trainingArgs: Record<string, unknown>;
  /** Which stage wrote it (`pretrain`, `grpo`). */
  stage: string;
  /** All metadata strings, including keys added by later stages. */
  metadata: Record<string, string>;
}

/** What to save. */
export interface CheckpointContents {
  /** The env's Gymnasium id. */
  envId: string;
  /** The env is the user's own module (recorded as `env_source: user`). */
  userEnv?: boolean;
  /** The Decision Transformer. */
  policy: DecisionTransformer;
  /** The value network (stage 2). */
  value?: ValueNetwork;
  /** Default return-to-go to condition on. */
  targetReturn: number;
  /** The flags and config of the run. */
  trainingArgs: Record<string, unknown>;
  /** Which stage writes it (`pretrain`, `grpo`). */
  stage: string;
  /**
   * More tensors (names must not clash with the models'): host data, or
   * device tensors (saved as F32, read with the weights in one readback; the
   * caller still owns them).
   */
  extraTensors?: Map<string, TensorEntry | tf.Tensor>;
  /** More metadata strings. */
  extraMetadata?: Record<string, string>;
}

/**
 * The checkpoint's tensors in file order, the device ones read back together:
 * one readback in GPU mode however many tensors (each costs >= ~11 ms and
 * drains the queue).
 */
async function readTensors(
  named: [string, TensorEntry | tf.Tensor][],
): Promise<Map<string, TensorEntry>> {
  const onDevice = named.filter((e): e is [string, tf.Tensor] => e[1] instanceof tf.Tensor);
  const data = await readAll(
    onDevice.map(([, t]) => t.dtype === "float32" ? tf.clone(t) : t.cast("float32")),
  );
  const read = new Map(onDevice.map(([name, t], k) => [name, { t, data: data[k] }]));
  const out = new Map<string, TensorEntry>();
  for (const [name, e] of named) {
    if (out.has(name)) throw new Error(`extra tensor ${name} clashes with a model weight`);
    const r = read.get(name);
    out.set(
      name,
      r ? { dtype: "F32", shape: r.t.shape.slice(), data: r.data } : (e as TensorEntry),
    );
  }
  return out;
}

/** Encodes a checkpoint (reads the weights back from the backend, with one readback). */
export async function encodeCheckpoint(c: CheckpointContents): Promise<Uint8Array> {
  const tensors = await readTensors([
    ...c.policy.namedWeights(),
    ...(c.value?.namedWeights() ?? []),
    ...(c.extraTensors ?? []),
  ]);
  const { obsMean, obsStd, returnScale, ...sizes } = c.policy.config;
  const metadata: Record<string, string> = {
    ...c.extraMetadata,
    format: CHECKPOINT_FORMAT,
    grpo_version: GRPO_VERSION,
    env_id: c.envId,
    ...(c.userEnv ? { env_source: "user" } : {}),
    model_config: JSON.stringify(sizes),
    obs_scaling: JSON.stringify({ mean: obsMean, std: obsStd }),
    return_scaling: JSON.stringify({ scale: returnScale, target_return: c.targetReturn }),
    training_args: JSON.stringify(c.trainingArgs),
    stage: c.stage,
  };
  if (c.value) {
    const { obsMean: _m, obsStd: _s, ...valueSizes } = c.value.config;
    metadata.value_config = JSON.stringify(valueSizes);
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Saves a checkpoint atomically.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { DecisionTransformer, initBackend, loadCheckpoint, saveCheckpoint } from "@grpo/grpo";
 *
 * await initBackend("cpu");
 * const policy = new DecisionTransformer({
 *   obsDim: 4, actionKind: "discrete", actDim: 2, embedDim: 16, nLayer: 1, nHead: 1,
 *   contextLength: 4, maxTimestep: 500, dropout: 0, obsMean: [0, 0, 0, 0],
 *   obsStd: [1, 1, 1, 1], returnScale: 100,
 * });
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveCheckpoint(path, {
 *   envId: "CartPole-v1", policy, targetReturn: 500, trainingArgs: {}, stage: "example",
 * });
 * const loaded = await loadCheckpoint(path);
 * assert.equal(loaded.info.envId, "CartPole-v1");
 * policy.dispose();
 * loaded.policy.dispose();
 * await Deno.remove(path);
 * ```
 */
export async function saveCheckpoint(path: string, c: CheckpointContents): Promise<void> {
  await writeFileAtomic(path, await encodeCheckpoint(c));
}

function parseJson(source: string, key: string, text: string | undefined): unknown {
  if (text === undefined) {
    throw new InputError(`${source}: checkpoint metadata lacks ${key}; re-create it with grpo`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(
      `${source}: checkpoint metadata ${key} is not JSON; re-create it with grpo`,
    );
  }
}

/** Reads and checks the metadata of a decoded checkpoint. */
export function checkpointInfo(file: Safetensors, source: string): CheckpointInfo {
  const m = file.metadata;
  if (m.format !== CHECKPOINT_FORMAT) {
    throw new InputError(
      `${source} is a safetensors file but not a grpo checkpoint (no format=${CHECKPOINT_FORMAT} metadata); give a file written by grpo pretrain or grpo train`,
    );
  }
  const sizes = parseJson(source, "model_config", m.model_config) as Record<string, unknown>;
  const obs = parseJson(source, "obs_scaling", m.obs_scaling) as { mean?: unknown; std?: unknown };
  const ret = parseJson(source, "return_scaling", m.return_scaling) as {
    scale?: unknown;
    target_return?: unknown;
  };
  const numbers = (x: unknown) =>
    Array.isArray(x) && x.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!numbers(obs?.mean) || !numbers(obs?.std)) {
    throw new InputError(
      `${source}: obs_scaling must hold mean and std arrays; re-create it with grpo`,
    );
  }
  if (typeof ret?.target_return !== "number" || !Number.isFinite(ret.target_return)) {
    throw new InputError(`${source}: return_scaling.target_return must be a number`);
  }
  const model = {
    ...(typeof sizes === "object" && sizes !== null ? sizes : {}),
    obsMean: obs.mean,
    obsStd: obs.std,
    returnScale: ret.scale,
  } as DecisionTransformerConfig;
  checkLimits(source, "model_config", model as unknown as Record<string, unknown>, MODEL_LIMITS);
  checkFloat32s(source, "obs_scaling.mean", model.obsMean);
  checkFloat32s(source, "obs_scaling.std", model.obsStd);
  if (Math.abs(ret.target_return) > 1e9) {
    throw new InputError(
      `${source}: return_scaling.target_return ${ret.target_return} is out of range [-1e9, 1e9]; re-create it with grpo`,
    );
  }
  try {
    validateConfig(model);
  } catch (e) {
    throw new InputError(`${source}: ${(e as Error).message}`);
  }
  if (!model.obsStd.every((s) => s >= 1e-30)) {
    throw new InputError(`${source}: obs_scaling.std entries must be at least 1e-30`);
  }
  let value: ValueNetworkConfig | undefined;
  if (m.value_config !== undefined) {
    const v = parseJson(source, "value_config", m.value_config) as Record<string, unknown>;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new InputError(`${source}: value_config must be a JSON object; re-create it with grpo`);
    }
    checkLimits(source, "value_config", v, VALUE_LIMITS);
    if (v.obsDim !== model.obsDim) {
      throw new InputError(
        `${source}: value_config.obsDim ${v.obsDim} differs from model_config.obsDim ${model.obsDim}; re-create it with grpo`,
      );
    }
    value = { ...v, obsMean: model.obsMean, obsStd: model.obsStd } as ValueNetworkConfig;
  }
  if (typeof m.env_id !== "string" || m.env_id === "") {
    throw new InputError(`${source}: checkpoint metadata lacks env_id`);
  }
  return {
    grpoVersion: m.grpo_version ?? "unknown",
    envId: m.env_id,
    userEnv: m.env_source === "user",
    model,
    value,
    targetReturn: ret.target_return,
    trainingArgs:
      (m.training_args ? parseJson(source, "training_args", m.training_args) : {}) as Record<
        string,
        unknown
      >,
    stage: m.stage ?? "unknown",
    metadata: m,
  };
}

/** Throws unless each key of `limits` in `config` is a number in its range (an integer for dims). */
function checkLimits(
  source: string,
  key: string,
  config: Record<string, unknown>,
  limits: Record<string, Range>,
): void {
  for (const [name, range] of Object.entries(limits)) {
    const x = config[name];
    const integer = name !== "dropout" && name !== "returnScale";
    if (typeof x !== "number" || !inRange(x, range) || (integer && !Number.isInteger(x))) {
      throw new InputError(
        `${source}: ${key}.${name} is ${JSON.stringify(x)}, it must be ${
          integer ? "an integer" : "a number"
        } in ${formatRange(range)}; re-create the checkpoint with grpo`,
      );
    }
  }
}

/** Throws unless every value survives float32 (1e39 would become Infinity in a tensor). */
function checkFloat32s(source: string, key: string, xs: number[]): void {
  const i = xs.findIndex((x) => !Number.isFinite(Math.fround(x)));
  if (i >= 0) {
    throw new InputError(
      `${source}: ${key}[${i}] is ${xs[i]}, beyond float32; re-create the checkpoint with grpo`,
    );
  }
}

/** Name and shape of every policy weight a config implies, in {@linkcode DecisionTransformer.namedWeights} order. */
export function policyWeightShapes(c: DecisionTransformerConfig): [string, number[]][] {
  const d = c.embedDim;
  const out: [string, number[]][] = [["embed_timestep.weight", [c.maxTimestep, d]]];
  const linear = (name: string, i: number, o: number) =>
    out.push([`${name}.weight`, [i, o]], [`${name}.bias`, [o]]);
  const norm = (name: string) => out.push([`${name}.weight`, [d]], [`${name}.bias`, [d]]);
  linear("embed_return", 1, d);
  linear("embed_state", c.obsDim, d);
  linear("embed_action", c.actDim, d);
  norm("embed_ln");
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}`;
    norm(`${p}.ln_1`);
    linear(`${p}.attn.c_attn`, d, 3 * d);
    linear(`${p}.attn.c_proj`, d, d);
    norm(`${p}.ln_2`);
    linear(`${p}.mlp.c_fc`, d, 4 * d);
    linear(`${p}.mlp.c_proj`, 4 * d, d);
  }
  norm("transformer.ln_f");
  linear("predict_action", d, c.actDim);
  if (c.actionKind === "continuous") out.push(["action_log_std", [c.actDim]]);
  return out;
}

/** Name and shape of every value-network weight a config implies, in {@linkcode ValueNetwork.namedWeights} order. */
export function valueWeightShapes(c: ValueNetworkConfig): [string, number[]][] {
  return [
    ["value.fc1.weight", [c.obsDim, c.embedDim]],
    ["value.fc1.bias", [c.embedDim]],
    ["value.fc2.weight", [c.embedDim, c.hiddenDim]],
    ["value.fc2.bias", [c.hiddenDim]],
    ["value.out.weight", [c.hiddenDim, 1]],
    ["value.out.bias", [1]],
  ];
}

/**
 * Throws unless the file's tensors are exactly those the config implies
 * (plus training state) and every float is finite; runs before any model
 * is allocated.
 */
export function checkTensors(file: Safetensors, info: CheckpointInfo, source: string): void {
  const expected = new Map(policyWeightShapes(info.model));
  if (info.value) {
    for (const [name, shape] of valueWeightShapes(info.value)) expected.set(name, shape);
  }
  for (const [name, shape] of expected) {
    const t = file.tensors.get(name);
    if (!t) {
      throw new InputError(
        `${source}: tensor ${name} is missing (the model config needs F32[${shape}]); re-create the checkpoint with grpo`,
      );
    }
    if (t.dtype !== "F32" || t.shape.join(",") !== shape.join(",")) {
      throw new InputError(
        `${source}: tensor ${name} is ${t.dtype}[${t.shape}], the model config needs F32[${shape}]; re-create the checkpoint with grpo`,
      );
    }
  }
  for (const [name, t] of file.tensors) {
    if (!expected.has(name) && !TRAINING_STATE_PREFIXES.some((p) => name.startsWith(p))) {
      throw new InputError(
        `${source}: tensor ${name} is not part of the model its config describes; re-create the checkpoint with grpo`,
      );
    }
    const bad = firstNonFinite(t.data);
    if (bad >= 0) {
      throw new InputError(
        `${source}: tensor ${name} holds ${
          t.data[bad]
        } at index ${bad}; the checkpoint is broken, use an earlier one (e.g. best.safetensors or an iteration_N.safetensors)`,
      );
    }
  }
}

/** Index of the first NaN or infinity in `data` (-1 if none; integer arrays have none). */
function firstNonFinite(data: ArrayLike<number>): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Sets `named` variables from checkpoint tensors of the same names, checking each one's dtype and shape first. */
export function assignWeights(
  named: readonly [string, tf.Variable][],
  tensors: Map<string, TensorEntry>,
  source: string,
): void {
  for (const [name, v] of named) {
    const t = tensors.get(name);
    if (!t) throw new InputError(`${source}: tensor ${name} is missing; re-create the checkpoint`);
    if (t.dtype !== "F32" || t.shape.join(",") !== v.shape.join(",")) {
      throw new InputError(
        `${source}: tensor ${name} is ${t.dtype}[${t.shape}], the model config needs F32[${v.shape}]`,
      );
    }
  }
  tf.tidy(() => {
    for (const [name, v] of named) {
      v.assign(tf.tensor(tensors.get(name)!.data as Float32Array, v.shape));
    }
  });
}

/** A loaded checkpoint: models on the active backend, plus everything else in the file. */
export interface LoadedCheckpoint {
  /** Everything the file says besides its tensors. */
  info: CheckpointInfo;
  /** The Decision Transformer, on the active backend. */
  policy: DecisionTransformer;
  /** The value network, when the file holds one. */
  value?: ValueNetwork;
  /** Every tensor of the file (model weights included), for later stages' extras. */
  tensors: Map<string, TensorEntry>;
}

/** Builds the models of decoded checkpoint bytes, checking it was made for `env` (if given). */
export function checkpointFromBytes(
  bytes: Uint8Array,
  source: string,
  env?: Env,
): LoadedCheckpoint {
  const file = decodeSafetensors(bytes, source);
  return buildModels(file, source, env);
}

function buildModels(file: Safetensors, source: string, env?: Env): LoadedCheckpoint {
  const info = checkpointInfo(file, source);
  if (env) checkEnv(info, env, source);
  checkTensors(file, info, source);
  const policy = new DecisionTransformer(info.model);
  let value: ValueNetwork | undefined;
  try {
    assignWeights(policy.namedWeights(), file.tensors, source);
    if (info.value) {
      try {
        value = new ValueNetwork(info.value);
      } catch (e) {
        throw new InputError(`${source}: ${(e as Error).message}`);
      }
      assignWeights(value.namedWeights(), file.tensors, source);
    }
  } catch (e) {
    policy.dispose();
    value?.dispose();
    throw e;
  }
  return { info, policy, value, tensors: file.tensors };
}

/** Throws unless a checkpoint's env and shapes fit `env`. */
export function checkEnv(info: CheckpointInfo, env: Env, source: string): void {
  if (info.envId !== env.id) {
    // A recorded id is suggested as --env only when it names a built-in env.
    const builtin = !info.userEnv && ENVS.some((e) => e.id === info.envId);
    throw new InputError(
      `${source} was trained on ${builtin ? info.envId : quoteName(info.envId)}, not ${env.id}; ${
        builtin ? `pass --env ${info.envId}` : USER_ENV_HINT
      } or a checkpoint for ${env.id}`,
    );
  }
  if (info.model.obsDim !== env.obsSize) {
    throw new InputError(
      `${source} expects ${info.model.obsDim} observation values but ${env.id} has ${env.obsSize}`,
    );
  }
  const { actionKind, actDim } = policyActionSpace(env);
  if (info.model.actionKind !== actionKind || info.model.actDim !== actDim) {
    throw new InputError(
      `${source} has a ${info.model.actionKind} action head of ${info.model.actDim}, but ${env.id} needs ${actionKind} ${actDim}`,
    );
  }
}

/**
 * The action head an env needs: categorical for discrete spaces and for box
 * spaces with `discreteActions`, Gaussian otherwise.
 */
export function policyActionSpace(
  env: Env,
): { actionKind: "discrete" | "continuous"; actDim: number } {
  const n = discreteActionCount(env);
  if (n > 0) return { actionKind: "discrete", actDim: n };
  return { actionKind: "continuous", actDim: actionSize(env) };
}

/**
 * Loads a checkpoint file (see {@linkcode checkpointFromBytes}).
 *
 * @example Usage
 * ```ts
 * import { findEnv, loadCheckpoint } from "@grpo/grpo";
 *
 * const path = Deno.args[0]; // e.g. a best.safetensors written by grpo train
 * if (path) {
 *   const { info, policy } = await loadCheckpoint(path, findEnv("cartpole"));
 *   console.log(info.stage, info.targetReturn, policy.parameterCount());
 * }
 * ```
 */
export async function loadCheckpoint(path: string, env?: Env): Promise<LoadedCheckpoint> {
  return buildModels(await readSafetensors(path), path, env);
}

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
 * Loading checks all of it and names the problem in one line.
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
import { GRPO_VERSION } from "../version.ts";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
  validateConfig,
} from "./decision_transformer.ts";
import { ValueNetwork, type ValueNetworkConfig } from "./value_network.ts";

/** The `format` metadata value of a checkpoint. */
export const CHECKPOINT_FORMAT = "grpo-checkpoint";

/** Everything a checkpoint says besides its tensors. */
export interface CheckpointInfo {
  grpoVersion: string;
  envId: string;
  /** Trained on the user's own env module: running it needs `--env ./path/to/it.ts`. */
  userEnv: boolean;
  model: DecisionTransformerConfig;
  value?: ValueNetworkConfig;
  /** Default return-to-go to condition on. */
  targetReturn: number;
  trainingArgs: Record<string, unknown>;
  stage: string;
  /** All metadata strings, including keys added by later stages. */
  metadata: Record<string, string>;
}

/** What to save. */
export interface CheckpointContents {
  envId: string;
  /** The env is the user's own module (recorded as `env_source: user`). */
  userEnv?: boolean;
  policy: DecisionTransformer;
  value?: ValueNetwork;
  targetReturn: number;
  trainingArgs: Record<string, unknown>;
  stage: string;
  /** More tensors (names must not clash with the models'). */
  extraTensors?: Map<string, TensorEntry>;
  /** More metadata strings. */
  extraMetadata?: Record<string, string>;
}

async function readVariables(
  named: readonly [string, tf.Variable][],
  out: Map<string, TensorEntry>,
): Promise<void> {
  for (const [name, v] of named) {
    out.set(name, { dtype: "F32", shape: v.shape.slice(), data: (await v.data()) as Float32Array });
  }
}

/** Encodes a checkpoint (reads the weights back from the backend). */
export async function encodeCheckpoint(c: CheckpointContents): Promise<Uint8Array> {
  const tensors = new Map<string, TensorEntry>();
  await readVariables(c.policy.namedWeights(), tensors);
  if (c.value) await readVariables(c.value.namedWeights(), tensors);
  for (const [name, t] of c.extraTensors ?? []) {
    if (tensors.has(name)) throw new Error(`extra tensor ${name} clashes with a model weight`);
    tensors.set(name, t);
  }
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

/** Saves a checkpoint atomically. */
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
  try {
    validateConfig(model);
  } catch (e) {
    throw new InputError(`${source}: ${(e as Error).message}`);
  }
  let value: ValueNetworkConfig | undefined;
  if (m.value_config !== undefined) {
    const v = parseJson(source, "value_config", m.value_config) as Record<string, unknown>;
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
  info: CheckpointInfo;
  policy: DecisionTransformer;
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

/** Loads a checkpoint file (see {@linkcode checkpointFromBytes}). */
export async function loadCheckpoint(path: string, env?: Env): Promise<LoadedCheckpoint> {
  return buildModels(await readSafetensors(path), path, env);
}

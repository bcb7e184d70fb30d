/**
 * Stage 1's data: whole episodes of a random policy, collected on the
 * batched envs and stored as one safetensors file (`obs` F32 [T, obsSize],
 * `actions` F32 [T, A] in the policy's action space (for a box env with
 * `discreteActions`, the index of the choice, A = 1; otherwise the env's
 * action), `rewards` F32 [T], `terminals` U8 [T] (the
 * episode terminated at this step, as opposed to being truncated or cut),
 * `episode` I32 [T]) with `format=grpo-dataset` and `env_id` metadata.
 * Collection is `src/play/collect_dataset.ts`'s.
 *
 * @module
 */
import { actionSize, discreteActionCount, type Env } from "../../envs/env.ts";
import { InputError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { encodeSafetensors, readSafetensors, type TensorEntry } from "../io/safetensors.ts";
import { GRPO_VERSION } from "../version.ts";

/** The `format` metadata value of a dataset file. */
export const DATASET_FORMAT = "grpo-dataset";

/** Episodes as flat arrays, episodes one after another. */
export interface Dataset {
  envId: string;
  obsSize: number;
  actionSize: number;
  obs: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  terminals: Uint8Array;
  /** Episode index of each step (0, 0, ..., 1, 1, ...). */
  episode: Int32Array;
}

/** Where each episode starts in the flat arrays, and its length. */
export function episodeBounds(ds: Dataset): { start: number[]; length: number[] } {
  const start: number[] = [], length: number[] = [];
  for (let t = 0; t < ds.episode.length; t++) {
    if (t === 0 || ds.episode[t] !== ds.episode[t - 1]) {
      start.push(t);
      length.push(0);
    }
    length[length.length - 1]++;
  }
  return { start, length };
}

/** Total reward of each episode. */
export function episodeReturns(ds: Dataset): number[] {
  const out: number[] = [];
  for (let t = 0; t < ds.episode.length; t++) {
    if (t === 0 || ds.episode[t] !== ds.episode[t - 1]) out.push(0);
    out[out.length - 1] += ds.rewards[t];
  }
  return out;
}

/**
 * The env seen by the random policy: a box env with `discreteActions` is
 * explored through its discrete choices, as its categorical policy will act.
 */
export function policyView(env: Env): Env {
  if (env.actionSpace.kind === "box" && discreteActionCount(env) > 0) {
    return { ...env, actionSpace: { kind: "discrete", n: discreteActionCount(env) } };
  }
  return env;
}

/** Width of a dataset's `actions` rows for `env`. */
export function datasetActionSize(env: Env): number {
  return actionSize(policyView(env));
}

/** Saves a dataset atomically. */
export async function saveDataset(
  path: string,
  ds: Dataset,
  extra: Record<string, string> = {},
): Promise<void> {
  const T = ds.rewards.length;
  const tensors = new Map<string, TensorEntry>([
    ["obs", { dtype: "F32", shape: [T, ds.obsSize], data: ds.obs }],
    ["actions", { dtype: "F32", shape: [T, ds.actionSize], data: ds.actions }],
    ["rewards", { dtype: "F32", shape: [T], data: ds.rewards }],
    ["terminals", { dtype: "U8", shape: [T], data: ds.terminals }],
    ["episode", { dtype: "I32", shape: [T], data: ds.episode }],
  ]);
  await writeFileAtomic(
    path,
    encodeSafetensors(tensors, {
      ...extra,
      format: DATASET_FORMAT,
      grpo_version: GRPO_VERSION,
      env_id: ds.envId,
      num_episodes: String(episodeBounds(ds).start.length),
    }),
  );
}

/** Loads a dataset for `env`; every mismatch is an {@linkcode InputError}. */
export async function loadDataset(path: string, env: Env): Promise<Dataset> {
  const file = await readSafetensors(path);
  const bad = (why: string) => new InputError(`--dataset ${path}: ${why}`);
  if (file.metadata.format !== DATASET_FORMAT) {
    throw bad(
      `not a grpo dataset (no format=${DATASET_FORMAT} metadata); give a dataset.safetensors written by grpo pretrain`,
    );
  }
  if (file.metadata.env_id !== env.id) {
    throw bad(
      `was collected on ${file.metadata.env_id}, not ${env.id}; pass --env ${file.metadata.env_id}`,
    );
  }
  const get = (name: string, dtype: string, width?: number) => {
    const t = file.tensors.get(name);
    if (!t || t.dtype !== dtype || t.shape.length !== (width === undefined ? 1 : 2)) {
      throw bad(`tensor ${name} must be ${dtype}${width === undefined ? "[T]" : `[T, ${width}]`}`);
    }
    if (width !== undefined && t.shape[1] !== width) {
      throw bad(`tensor ${name} has ${t.shape[1]} columns, ${env.id} needs ${width}`);
    }
    return t;
  };
  const A = datasetActionSize(env);
  const obs = get("obs", "F32", env.obsSize), actions = get("actions", "F32", A);
  const rewards = get("rewards", "F32"), terminals = get("terminals", "U8");
  const episode = get("episode", "I32");
  const T = rewards.shape[0];
  if ([obs, actions, terminals, episode].some((t) => t.shape[0] !== T)) {
    throw bad("tensors obs, actions, rewards, terminals and episode must have the same length");
  }
  if (T === 0) throw bad("holds no steps");
  const ep = episode.data as Int32Array;
  for (let t = 1; t < T; t++) {
    if (ep[t] < ep[t - 1]) throw bad("episode indices must not decrease");
  }
  const finite = (a: ArrayLike<number>) => Array.prototype.every.call(a, Number.isFinite);
  if (!finite(obs.data) || !finite(actions.data) || !finite(rewards.data)) {
    throw bad("holds NaN or infinite values");
  }
  const choices = discreteActionCount(env);
  if (choices > 0 && !actions.data.every((a) => Number.isInteger(a) && a >= 0 && a < choices)) {
    throw bad(`actions must be choice indices 0..${choices - 1} for ${env.id}`);
  }
  return {
    envId: env.id,
    obsSize: env.obsSize,
    actionSize: A,
    obs: obs.data as Float32Array,
    actions: actions.data as Float32Array,
    rewards: rewards.data as Float32Array,
    terminals: terminals.data as Uint8Array,
    episode: ep,
  };
}

/**
 * Stage 1's data: whole episodes of a random policy, collected on the
 * batched envs and stored as one safetensors file (`obs` F32 [T, obsSize],
 * `actions` F32 [T, A] in the policy's action space (for a box env with
 * `discreteActions`, the index of the choice, A = 1; otherwise the env's
 * action), `rewards` F32 [T], `terminals` U8 [T] (the
 * episode terminated at this step, as opposed to being truncated or cut),
 * `episode` I32 [T]) with `format=grpo-dataset` and `env_id` metadata.
 *
 * Env `i` of the batch plays episode `i` (its first episode), with the same
 * counter-based random actions in CPU and GPU mode, so a dataset depends on
 * the seed only (up to GPU mode's f32 physics).
 *
 * @module
 */
import { actionSize, discreteActionCount, type Env } from "../../envs/env.ts";
import { InputError } from "../errors.ts";
import type { Mode } from "../device.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { encodeSafetensors, readSafetensors, type TensorEntry } from "../io/safetensors.ts";
import { GRPO_VERSION } from "../version.ts";
import { createVecEnv, randomAction, TERMINATED } from "./vec_env.ts";

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

/** Per-env step records, joined into a dataset in env order. */
class Recorder {
  private readonly rows: { obs: number[]; act: number[]; r: number[]; term: number[] }[];
  readonly finished: boolean[];

  constructor(readonly env: Env, n: number) {
    this.rows = Array.from({ length: n }, () => ({ obs: [], act: [], r: [], term: [] }));
    this.finished = new Array(n).fill(false);
  }

  record(
    i: number,
    obs: ArrayLike<number>,
    act: ArrayLike<number>,
    reward: number,
    done: number,
  ): void {
    if (this.finished[i]) return;
    const row = this.rows[i];
    for (let k = 0; k < obs.length; k++) row.obs.push(obs[k]);
    for (let k = 0; k < act.length; k++) row.act.push(act[k]);
    row.r.push(reward);
    row.term.push(done & TERMINATED ? 1 : 0);
    if (done !== 0) this.finished[i] = true;
  }

  get allFinished(): boolean {
    return this.finished.every((f) => f);
  }

  dataset(episodeOffset: number): Dataset {
    const flat = (k: "obs" | "act" | "r" | "term") => this.rows.flatMap((row) => row[k]);
    const episode = this.rows.flatMap((row, i) => row.r.map(() => episodeOffset + i));
    return {
      envId: this.env.id,
      obsSize: this.env.obsSize,
      actionSize: datasetActionSize(this.env),
      obs: Float32Array.from(flat("obs")),
      actions: Float32Array.from(flat("act")),
      rewards: Float32Array.from(flat("r")),
      terminals: Uint8Array.from(flat("term")),
      episode: Int32Array.from(episode),
    };
  }
}

/**
 * The env seen by the random policy: a box env with `discreteActions` is
 * explored through its discrete choices, as its categorical policy will act.
 */
function policyView(env: Env): Env {
  if (env.actionSpace.kind === "box" && discreteActionCount(env) > 0) {
    return { ...env, actionSpace: { kind: "discrete", n: discreteActionCount(env) } };
  }
  return env;
}

/** Width of a dataset's `actions` rows for `env`. */
export function datasetActionSize(env: Env): number {
  return actionSize(policyView(env));
}

/** Env actions (N x actionSize) of policy actions: choice indices become their vectors. */
export function envActionsOf(env: Env, policyActions: Float32Array, n: number): Float32Array {
  if (env.actionSpace.kind !== "box" || !env.discreteActions) return policyActions;
  const A = actionSize(env);
  const out = new Float32Array(n * A);
  for (let i = 0; i < n; i++) out.set(env.discreteActions[policyActions[i]], i * A);
  return out;
}

/** Largest batch of envs collected at once. */
const MAX_BATCH = 4096;

/** Collects `numEpisodes` random-policy episodes. */
export async function collectRandomEpisodes(
  env: Env,
  numEpisodes: number,
  seed: number,
  mode: Mode,
): Promise<Dataset> {
  const parts: Dataset[] = [];
  for (let first = 0; first < numEpisodes; first += MAX_BATCH) {
    const n = Math.min(MAX_BATCH, numEpisodes - first);
    // Batches after the first draw from their own seed, so episodes never repeat.
    const batchSeed = (seed + Math.floor(first / MAX_BATCH) * 0x9e3779b9) >>> 0;
    parts.push(
      mode === "cpu"
        ? await collectCpu(env, n, batchSeed, first)
        : await collectGpu(env, n, batchSeed, first),
    );
  }
  return concatDatasets(parts);
}

async function collectCpu(env: Env, n: number, seed: number, offset: number): Promise<Dataset> {
  const vec = createVecEnv(env, n, { seed });
  try {
    await vec.reset();
    const rec = new Recorder(env, n);
    const view = policyView(env);
    const A = actionSize(view), O = env.obsSize;
    const actions = new Float32Array(n * A);
    const obs = new Float32Array(n * O);
    while (!rec.allFinished) {
      for (let i = 0; i < n; i++) {
        randomAction(view, seed, i, vec.episode[i], vec.t[i], actions, i * A);
      }
      obs.set(vec.obs);
      await vec.step(envActionsOf(env, actions, n));
      for (let i = 0; i < n; i++) {
        rec.record(
          i,
          obs.subarray(i * O, i * O + O),
          actions.subarray(i * A, i * A + A),
          vec.reward[i],
          vec.done[i],
        );
      }
    }
    return rec.dataset(offset);
  } finally {
    await vec.close?.();
  }
}

/**
 * GPU mode: the same host-drawn random actions, stepped by the env kernel;
 * the batch is read back once per step (collection runs once per
 * pretraining, for at most the episode limit of steps).
 */
async function collectGpu(env: Env, n: number, seed: number, offset: number): Promise<Dataset> {
  const vec = await GpuVecEnv.create(env, n, { seed });
  try {
    await vec.reset();
    const rec = new Recorder(env, n);
    const view = policyView(env);
    const A = actionSize(view), O = env.obsSize;
    const actions = new Float32Array(n * A);
    let snap = await vec.read();
    while (!rec.allFinished) {
      for (let i = 0; i < n; i++) {
        randomAction(view, seed, i, snap.counters[2 * i + 1], snap.counters[2 * i], actions, i * A);
      }
      const before = snap;
      await vec.stepWith(envActionsOf(env, actions, n) as Float32Array<ArrayBuffer>);
      snap = await vec.read();
      for (let i = 0; i < n; i++) {
        rec.record(
          i,
          before.obs.subarray(i * O, i * O + O),
          actions.subarray(i * A, i * A + A),
          snap.reward[i],
          snap.done[i],
        );
      }
    }
    return rec.dataset(offset);
  } finally {
    vec.destroy();
  }
}

function concatDatasets(parts: Dataset[]): Dataset {
  if (parts.length === 1) return parts[0];
  const cat = <T extends Float32Array | Uint8Array | Int32Array>(
    make: new (n: number) => T,
    key: "obs" | "actions" | "rewards" | "terminals" | "episode",
  ) => {
    const out = new make(parts.reduce((s, p) => s + p[key].length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p[key] as never, at);
      at += p[key].length;
    }
    return out;
  };
  return {
    ...parts[0],
    obs: cat(Float32Array, "obs"),
    actions: cat(Float32Array, "actions"),
    rewards: cat(Float32Array, "rewards"),
    terminals: cat(Uint8Array, "terminals"),
    episode: cat(Int32Array, "episode"),
  };
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

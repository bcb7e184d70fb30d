/**
 * Stage 1's data collection: whole episodes of the random policy on a batch
 * of envs, in CPU or GPU mode, as a {@linkcode Dataset}. The policy draws a
 * fresh action every step, or every `env.randomActionHold` steps.
 *
 * Env `i` of the batch plays episode `i` (its first episode), with the same
 * counter-based random actions in CPU and GPU mode, so a dataset depends on
 * the seed only (up to GPU mode's f32 physics).
 *
 * @module
 */
import { actionSize, type Env, envActionsOf } from "../../envs/env.ts";
import { concatArrays } from "../concat.ts";
import type { Mode } from "../device.ts";
import { type Dataset, datasetActionSize, policyView } from "../rl/dataset.ts";
import { randomAction, TERMINATED } from "../rl/vec_env.ts";
import { openVecEnv } from "./open_vec_env.ts";

/** Per-env step records, joined into a dataset in env order. */
class Recorder {
  private readonly rows: { obs: number[]; act: number[]; r: number[]; term: number[] }[];
  readonly finished: boolean[];

  constructor(readonly env: Env, n: number) {
    this.rows = Array.from({ length: n }, () => ({ obs: [], act: [], r: [], term: [] }));
    this.finished = new Array(n).fill(false);
  }

  /**
   * Records one step of every env (`obs`: the observations acted on, n x
   * obsSize; `act`: n x A; the step's rewards and done flags); an env's
   * record ends with its first episode.
   */
  recordStep(
    obs: Float32Array,
    act: Float32Array,
    reward: ArrayLike<number>,
    done: ArrayLike<number>,
  ): void {
    const n = this.rows.length, O = this.env.obsSize, A = act.length / n;
    for (let i = 0; i < n; i++) {
      if (this.finished[i]) continue;
      const row = this.rows[i];
      for (let k = 0; k < O; k++) row.obs.push(obs[i * O + k]);
      for (let k = 0; k < A; k++) row.act.push(act[i * A + k]);
      row.r.push(reward[i]);
      row.term.push(done[i] & TERMINATED ? 1 : 0);
      if (done[i] !== 0) this.finished[i] = true;
    }
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
    parts.push(await collectBatch(env, n, batchSeed, first, mode));
  }
  return concatDatasets(parts);
}

/**
 * One batch of `n` envs, each playing its first episode with host-drawn
 * random actions; in GPU mode the env kernel steps them and the batch is read
 * back once per step (collection runs once per pretraining, for at most the
 * episode limit of steps).
 */
async function collectBatch(
  env: Env,
  n: number,
  seed: number,
  offset: number,
  mode: Mode,
): Promise<Dataset> {
  const vec = await openVecEnv(env, n, { seed }, mode);
  try {
    await vec.reset();
    const rec = new Recorder(env, n);
    const policyEnv = policyView(env);
    const A = actionSize(policyEnv);
    const actions = new Float32Array(n * A);
    // The observations acted on: a host batch's own arrays change in the step.
    const obs = new Float32Array(n * env.obsSize);
    const hold = env.randomActionHold ?? 1;
    let view = await vec.view();
    while (!rec.allFinished) {
      for (let i = 0; i < n; i++) {
        const draw = Math.floor(view.t[i] / hold);
        randomAction(policyEnv, seed, i, view.episode[i], draw, actions, i * A);
      }
      obs.set(view.obs);
      await vec.step(envActionsOf(env, actions, n));
      view = await vec.view();
      rec.recordStep(obs, actions, view.reward, view.done);
    }
    return rec.dataset(offset);
  } finally {
    await vec.close();
  }
}

function concatDatasets(parts: Dataset[]): Dataset {
  if (parts.length === 1) return parts[0];
  return {
    ...parts[0],
    obs: concatArrays(Float32Array, parts.map((p) => p.obs)),
    actions: concatArrays(Float32Array, parts.map((p) => p.actions)),
    rewards: concatArrays(Float32Array, parts.map((p) => p.rewards)),
    terminals: concatArrays(Uint8Array, parts.map((p) => p.terminals)),
    episode: concatArrays(Int32Array, parts.map((p) => p.episode)),
  };
}

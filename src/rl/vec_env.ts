/**
 * CPU mode's batch of environments: N copies of one env stepped by its
 * TypeScript functions over flat typed arrays (semantics in `envs/env.ts`).
 *
 * @module
 */
import {
  actionSize,
  EnvRandom,
  hashPrefix,
  hashSuffix,
  RESET_STEP,
  uniform01,
} from "../../envs/env.ts";
import type { Env, EnvParams } from "../../envs/env.ts";

/** Bit of `done` set when the episode terminated. */
export const TERMINATED = 1;
/** Bit of `done` set when the episode was truncated by the step limit. */
export const TRUNCATED = 2;
/**
 * Random actions are the env stream's draws at step `t ^ ACTION_STREAM`, apart
 * from the env's own draws (steps never come near 2^30). WGSL: `ACTION_STREAM`.
 */
export const ACTION_STREAM = 0x5bd1e995;

/** Options of a batch of environments. */
export interface VecEnvOptions<P extends EnvParams = EnvParams> {
  /** Seed of all random draws. */
  seed?: number;
  /** Physical parameters (default: the env's). */
  params?: P;
  /** Reset finished envs within the step (default true); replay turns it off. */
  autoreset?: boolean;
}

/** Per-env episode statistics, as kept by both modes. */
export interface EpisodeStats {
  /** Return of the episode in progress. */
  running: Float32Array;
  /** Sum of the returns of episodes finished since the last `clearStats`. */
  returnSum: Float32Array;
  /** Number of episodes finished since the last `clearStats`. */
  count: Float32Array;
  /** Sum of the lengths of episodes finished since the last `clearStats`. */
  lengthSum: Float32Array;
}

/** Zeroed episode statistics of `n` envs. */
export function newEpisodeStats(n: number): EpisodeStats {
  return {
    running: new Float32Array(n),
    returnSum: new Float32Array(n),
    count: new Float32Array(n),
    lengthSum: new Float32Array(n),
  };
}

/** Counts env `i`'s finished episode of `length` steps (its running return) and starts the next at 0. */
export function finishEpisode(stats: EpisodeStats, i: number, length: number): void {
  stats.returnSum[i] += stats.running[i];
  stats.count[i] += 1;
  stats.lengthSum[i] += length;
  stats.running[i] = 0;
}

/** Zeroes the finished-episode sums of `stats` (the running returns go on). */
export function clearEpisodeStats(stats: EpisodeStats): void {
  stats.returnSum.fill(0);
  stats.count.fill(0);
  stats.lengthSum.fill(0);
}

/** Draws one uniformly random action for env `i` at its current position, as the WGSL `random_action` does. */
export function randomAction(
  env: Env,
  seed: number,
  i: number,
  episode: number,
  t: number,
  out: Float32Array,
  oo: number,
): void {
  randomActionFromKey(env, actionKey(seed, i, episode), t, out, oo);
}

/** The hash prefix of env `i`'s draws in an episode, random actions included (WGSL: `rng_key`). */
export function actionKey(seed: number, i: number, episode: number): number {
  return hashPrefix(seed, i, episode);
}

/** {@linkcode randomAction} from a cached {@linkcode actionKey}. */
function randomActionFromKey(
  env: Env,
  key: number,
  t: number,
  out: Float32Array,
  oo: number,
): void {
  const space = env.actionSpace;
  if (space.kind === "discrete") {
    // Integer arithmetic, so that both twins pick the same action at bucket edges.
    out[oo] = Math.floor(
      ((hashSuffix(key, (t ^ ACTION_STREAM) >>> 0, 0) >>> 8) * space.n) / 16777216,
    );
    return;
  }
  for (let k = 0; k < space.low.length; k++) {
    const u = uniform01(hashSuffix(key, (t ^ ACTION_STREAM) >>> 0, k));
    out[oo + k] = Math.fround(space.low[k] + (space.high[k] - space.low[k]) * u);
  }
}

/**
 * What a batch shows after a reset or a step: a host batch's own arrays
 * (valid until its next reset or step), or GPU mode's readback of them.
 */
export interface VecEnvView {
  /** N x stateSize (GPU mode: f32). */
  readonly state: ArrayLike<number>;
  /** N x obsSize: the observation to act on. */
  readonly obs: Float32Array;
  /** Reward of the last step. */
  readonly reward: ArrayLike<number>;
  /** `TERMINATED` | `TRUNCATED` bits of the last step. */
  readonly done: ArrayLike<number>;
  /** Step within the current episode. */
  readonly t: ArrayLike<number>;
  /** Episode number per env (keys the reset draws). */
  readonly episode: ArrayLike<number>;
  /** Per-env episode statistics (running return, finished returns and lengths). */
  readonly stats: EpisodeStats;
}

/**
 * A batch of N envs of one kind, in either mode: a {@linkcode HostVecEnv}
 * (CPU mode, or a Python worker's) or GPU mode's `GpuVecEnv`. Evaluation,
 * scripted rollouts and dataset collection are written once against it.
 * Methods may return a promise (GPU mode's always do); what they change is
 * seen once it settles.
 */
export interface VecEnv {
  /** The env every slot of the batch runs. */
  readonly env: Env;
  /** Number of envs. */
  readonly n: number;
  /** Seed of all random draws. */
  readonly seed: number;
  /** Whether finished envs reset within the step (evaluation turns it off). */
  readonly autoreset: boolean;
  /** Starts a fresh episode in every env. */
  reset(): void | Promise<void>;
  /** One step of every env with `actions` (N x actionSize floats). */
  step(actions: Float32Array<ArrayBuffer>): void | Promise<void>;
  /** `steps` steps with uniformly random actions (the same draws in both modes). */
  stepRandom(steps?: number): void | Promise<void>;
  /** The arrays after the last reset or step (GPU mode: one readback). */
  view(): VecEnvView | Promise<VecEnvView>;
  /** Frees what the batch holds outside the JS heap (device buffers, a worker). */
  close(): void | Promise<void>;
}

/**
 * A batch whose arrays live on the host, as the CPU collector uses it:
 * {@linkcode CpuVecEnv}, or the batch an {@linkcode ExternalEnv} makes (the
 * Gymnasium bridge's Python worker). It holds the arrays and the episode
 * bookkeeping both share; the stepping is theirs.
 */
export abstract class HostVecEnv<P extends EnvParams = EnvParams> implements VecEnv, VecEnvView {
  /** The env every slot of the batch runs. */
  readonly env: Env<P>;
  /** Number of envs. */
  readonly n: number;
  /** Seed of all random draws. */
  readonly seed: number;
  /** Whether finished envs reset within the step (evaluation and replay turn it off). */
  readonly autoreset: boolean;
  /** Physical parameters of the next steps (curriculum). */
  params: P;
  /** N x stateSize, float64. */
  readonly state: Float64Array<ArrayBuffer>;
  /** N x obsSize: the observation to act on. */
  readonly obs: Float32Array<ArrayBuffer>;
  /** N x obsSize: the last observation of the episode that ended in the last step. */
  readonly finalObs: Float32Array<ArrayBuffer>;
  /** Reward of the last step. */
  readonly reward: Float32Array<ArrayBuffer>;
  /** `TERMINATED` | `TRUNCATED` bits of the last step. */
  readonly done: Uint8Array;
  /** Step within the current episode. */
  readonly t: Uint32Array;
  /** Episode number per env (keys the reset draws). */
  readonly episode: Uint32Array;
  /** Per-env episode statistics (running return, finished returns and lengths). */
  readonly stats: EpisodeStats;
  /**
   * Per env, the index its reset draws are keyed by (default: its own).
   * Envs sharing a stream and an episode number start from the same state:
   * the groups of the group advantage modes.
   */
  resetStreams?: Uint32Array;

  /** Allocates the arrays of `n` envs whose states are `stateSize` floats. */
  constructor(env: Env<P>, n: number, options: VecEnvOptions<P>, stateSize: number) {
    this.env = env;
    this.n = n;
    this.seed = (options.seed ?? 0) >>> 0;
    this.autoreset = options.autoreset ?? true;
    this.params = options.params ?? { ...env.params };
    this.state = new Float64Array(n * stateSize);
    this.obs = new Float32Array(n * env.obsSize);
    this.finalObs = new Float32Array(n * env.obsSize);
    this.reward = new Float32Array(n);
    this.done = new Uint8Array(n);
    this.t = new Uint32Array(n);
    this.episode = new Uint32Array(n);
    this.stats = newEpisodeStats(n);
  }

  /** Starts a fresh episode in every env (episode numbers are kept). */
  abstract reset(): void | Promise<void>;
  /** One step of every env with `actions` (N x actionSize floats). */
  abstract step(actions: Float32Array): void | Promise<void>;
  /** `steps` steps with uniformly random actions (the same draws in both modes). */
  abstract stepRandom(steps?: number): void | Promise<void>;
  /** Sets env `i`'s state (e.g. Gymnasium's `unwrapped.state`) and recomputes its observation. */
  abstract setState(i: number, values: ArrayLike<number>): void;

  /**
   * Starts every env on episode number `episode`, each consecutive group of
   * `groupSize` envs from one start state.
   */
  restartInGroups(episode: number, groupSize: number): void | Promise<void> {
    this.resetStreams = Uint32Array.from({ length: this.n }, (_, i) => Math.floor(i / groupSize));
    this.episode.fill(episode);
    return this.reset();
  }

  /** The batch itself: its arrays are the view. */
  view(): VecEnvView {
    return this;
  }

  /** Zeroes the finished-episode sums of `stats` (the running returns go on). */
  clearStats(): void {
    clearEpisodeStats(this.stats);
  }

  /** Nothing to free by default: the arrays are the JS heap's. */
  close(): void | Promise<void> {}
}

/**
 * An env whose dynamics live outside TypeScript (a Python env behind the
 * Gymnasium bridge): its batches come from `createVecEnv`, and its pure
 * functions throw. This is the only place grpo tells such an env apart.
 */
export interface ExternalEnv extends Env {
  createVecEnv(n: number, options: VecEnvOptions): HostVecEnv;
}

/** Whether an env brings its own batches (see {@linkcode ExternalEnv}). */
export function isExternalEnv(env: Env): env is ExternalEnv {
  return typeof (env as Partial<ExternalEnv>).createVecEnv === "function";
}

/** A host batch of `env`: its own for an {@linkcode ExternalEnv}, else a {@linkcode CpuVecEnv}. */
export function createVecEnv<P extends EnvParams>(
  env: Env<P>,
  n: number,
  options: VecEnvOptions<P> = {},
): HostVecEnv {
  return isExternalEnv(env)
    ? env.createVecEnv(n, options as VecEnvOptions)
    : new CpuVecEnv(env, n, options);
}

/**
 * N environments of one kind, stepped on the CPU.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { CpuVecEnv, findEnv, TERMINATED } from "@grpo/grpo";
 *
 * const envs = new CpuVecEnv(findEnv("cartpole"), 4, { seed: 0 });
 * envs.reset();
 * for (let t = 0; t < 100; t++) envs.step(new Float32Array([0, 1, 1, 0]));
 * assert.equal(envs.obs.length, 4 * 4);
 * // Finished envs reset within the step; their last observation is in `finalObs`.
 * console.log(Array.from(envs.done, (d) => (d & TERMINATED) !== 0));
 * ```
 */
export class CpuVecEnv<P extends EnvParams = EnvParams> extends HostVecEnv<P> {
  private readonly rng = new EnvRandom();
  private readonly scratch: Float32Array;
  /** Per env: the episode whose `actionKey` is cached in `keys` (keys are recomputed lazily). */
  private readonly keyEpisode: Uint32Array;
  private readonly keys: Uint32Array;

  /** `n` envs of `env`, not yet reset. */
  constructor(env: Env<P>, n: number, options: VecEnvOptions<P> = {}) {
    super(env, n, options, env.stateSize);
    this.scratch = new Float32Array(n * actionSize(env));
    this.keyEpisode = new Uint32Array(n);
    this.keys = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.keys[i] = actionKey(this.seed, i, 0);
    this.rng.seed = this.seed;
  }

  /** Starts a fresh episode in every env (episode numbers are kept). */
  reset(): void {
    for (let i = 0; i < this.n; i++) this.resetOne(i);
    this.done.fill(0);
    this.reward.fill(0);
    this.stats.running.fill(0);
  }

  /** Resets env `i` from its reset stream and episode number, and observes it. */
  private resetOne(i: number): void {
    const { env, rng } = this;
    rng.env = this.resetStreams?.[i] ?? i;
    rng.episode = this.episode[i];
    rng.step = RESET_STEP;
    env.reset(this.state, i * env.stateSize, this.params, rng);
    env.observe(this.state, i * env.stateSize, this.obs, i * env.obsSize, this.params);
    this.t[i] = 0;
  }

  /** Sets env `i`'s state (e.g. Gymnasium's `unwrapped.state`) and recomputes its observation. */
  setState(i: number, values: ArrayLike<number>): void {
    const { env } = this;
    this.state.set(values, i * env.stateSize);
    env.observe(this.state, i * env.stateSize, this.obs, i * env.obsSize, this.params);
    this.t[i] = 0;
  }

  /** One step of every env with `actions` (N x actionSize floats). */
  step(actions: Float32Array): void {
    const { env, rng, params, state, n, obs, finalObs, reward, done, t: steps, episode } = this;
    const S = env.stateSize, O = env.obsSize, A = actionSize(env);
    const max = env.maxEpisodeSteps;
    const autoreset = this.autoreset;
    const { running } = this.stats;
    for (let i = 0; i < n; i++) {
      const so = i * S, oo = i * O;
      rng.env = i;
      rng.episode = episode[i];
      rng.step = steps[i];
      const r = env.step(state, so, actions, i * A, params, rng);
      const t = steps[i] + 1;
      steps[i] = t;
      running[i] += r;
      reward[i] = r;
      const flags = (env.terminated(state, so, params) ? TERMINATED : 0) |
        (t >= max ? TRUNCATED : 0);
      done[i] = flags;
      env.observe(state, so, obs, oo, params);
      if (flags !== 0 && autoreset) {
        for (let k = 0; k < O; k++) finalObs[oo + k] = obs[oo + k];
        finishEpisode(this.stats, i, t);
        episode[i]++;
        this.resetOne(i);
      }
    }
  }

  /** `steps` steps with uniformly random actions (the benchmark workload; same draws as GPU mode). */
  stepRandom(steps = 1): void {
    const { env, n, scratch, keys, keyEpisode, episode, t } = this;
    const A = actionSize(env);
    for (let j = 0; j < steps; j++) {
      for (let i = 0; i < n; i++) {
        if (keyEpisode[i] !== episode[i]) {
          keyEpisode[i] = episode[i];
          keys[i] = actionKey(this.seed, i, episode[i]);
        }
        randomActionFromKey(env, keys[i], t[i], scratch, i * A);
      }
      this.step(scratch);
    }
  }
}

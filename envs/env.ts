/**
 * The environment contract.
 *
 * An environment is plain data (its Gymnasium id, spaces, limits and physical
 * parameters) plus the same dynamics written twice: TypeScript functions over
 * one env's slice of a `Float64Array` (CPU mode) and a WGSL kernel over one
 * env's private state (GPU mode). Batching is done from outside, by
 * {@linkcode CpuVecEnv} and {@linkcode GpuVecEnv}, gymnax-style.
 *
 * Semantics shared by both modes:
 *
 * - **State** is exactly Gymnasium's `env.unwrapped.state` for the classic
 *   control envs (`stateSize` floats); environments with richer state append
 *   their own fields after it. CPU mode keeps it in float64, GPU mode in f32.
 * - **Actions** are `actionSize` floats per env. A discrete action is its
 *   index written as a float (`actionSize` is 1).
 * - **Randomness** is counter-based: every draw is a hash of (seed, env index,
 *   episode number, step in episode, draw number), so a run is reproducible and
 *   env `i` behaves the same whatever the number of envs.
 * - **Step** advances the state, computes the reward, then `terminated` (the
 *   MDP ended: pole fell, goal reached) and `truncated` (the episode hit
 *   `maxEpisodeSteps`; Gymnasium's TimeLimit) as separate signals; both may be
 *   true at once, as in Gymnasium.
 * - **Auto-reset** happens in the same step (as in gymnax and
 *   Stable-Baselines3): when an episode ends, its last observation is kept in
 *   `finalObs` (use it to bootstrap the value of a truncated episode), the
 *   episode counter advances, the env is reset and `obs` holds the first
 *   observation of the next episode.
 *
 * @module
 */

/** A discrete action space: actions are the integers `0 .. n-1`. */
export interface DiscreteSpace {
  /** Tells the two spaces apart. */
  kind: "discrete";
  /** Number of actions. */
  n: number;
}

/** A continuous box of `low.length` dimensions. Actions are clipped into it. */
export interface BoxSpace {
  /** Tells the two spaces apart. */
  kind: "box";
  /** Lower bound of each dimension. */
  low: number[];
  /** Upper bound of each dimension (may be Infinity). */
  high: number[];
}

/** The action space of an environment. */
export type ActionSpace = DiscreteSpace | BoxSpace;

/** Physical parameters by name; their declaration order is the WGSL `Params` struct's field order. */
export type EnvParams = Record<string, number>;

/**
 * Counter-based random numbers for one env, positioned by the batch driver
 * before each `reset` or `step`. `uniform(k)` is the k-th draw of the current
 * (env, episode, step) and is the same in TypeScript and WGSL.
 */
export class EnvRandom {
  /** Run seed. */
  seed = 0;
  /** Env index in the batch. */
  env = 0;
  /** Episode number of this env (starts at 0). */
  episode = 0;
  /** Step within the episode; resets draw with `step` = 0xffffffff. */
  step = 0;

  private keySeed = -1;
  private keyEnv = -1;
  private keyEpisode = -1;
  private key = 0;

  /** The `k`-th uniform draw in [0, 1) at the current position. */
  uniform(k: number): number {
    if (
      this.seed !== this.keySeed || this.env !== this.keyEnv || this.episode !== this.keyEpisode
    ) {
      this.keySeed = this.seed;
      this.keyEnv = this.env;
      this.keyEpisode = this.episode;
      this.key = hashPrefix(this.seed, this.env, this.episode);
    }
    return uniform01(hashSuffix(this.key, this.step, k));
  }

  /** The `k`-th uniform draw in [low, high). */
  range(k: number, low: number, high: number): number {
    return low + (high - low) * this.uniform(k);
  }
}

/** The `step` counter value used for draws made by `reset`. */
export const RESET_STEP = 0xffffffff;

/**
 * One finalization round of a 32-bit integer hash (the "lowbias32" mixer).
 * WGSL twin: `mix32` in `shaders/random.wgsl`.
 */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hash of five 32-bit counters: `hashSuffix(hashPrefix(a, b, c), d, e)`. WGSL twin: `hash5`. */
export function hash5(a: number, b: number, c: number, d: number, e: number): number {
  return hashSuffix(hashPrefix(a, b, c), d, e);
}

/**
 * The first three rounds of {@linkcode hash5}. Batches cache it per (seed,
 * env, episode), so that a draw within an episode costs two rounds. WGSL
 * twin: `hash_prefix`.
 */
export function hashPrefix(a: number, b: number, c: number): number {
  let h = mix32((a ^ 0x9e3779b9) >>> 0);
  h = mix32((h ^ b) >>> 0);
  return mix32((h ^ c) >>> 0);
}

/** The last two rounds of {@linkcode hash5}, from a {@linkcode hashPrefix}. WGSL twin: `hash_suffix`. */
export function hashSuffix(prefix: number, d: number, e: number): number {
  return mix32((mix32((prefix ^ d) >>> 0) ^ e) >>> 0);
}

/** The top 24 bits of a hash as a float in [0, 1), exact in f32. WGSL twin: `uniform01`. */
export function uniform01(h: number): number {
  return (h >>> 8) * (1 / 16777216);
}

/**
 * An environment: data plus the TypeScript twin of its dynamics and,
 * optionally, its WGSL kernel. Functions work on one env's slice: `s[so ..
 * so + stateSize)`, `a[ao .. ao + actionSize)`, `obs[oo .. oo + obsSize)`.
 *
 * @example Usage
 * An env of your own is a module that default-exports one (`--env ./my_env.ts`):
 * ```ts
 * import assert from "node:assert";
 * import parking from "../examples/my_env.ts";
 *
 * assert.equal(parking.id, "Parking-v0");
 * ```
 */
export interface Env<P extends EnvParams = EnvParams> {
  /** Gymnasium id, e.g. `CartPole-v1`. */
  id: string;
  /** Short CLI name, e.g. `cartpole`. */
  alias: string;
  /** One line shown by `grpo envs`. */
  description: string;
  /** Observation length. */
  obsSize: number;
  /** Floats of state per env (Gymnasium's `unwrapped.state` first). */
  stateSize: number;
  /** How many leading state floats are Gymnasium's `unwrapped.state` (what `replay` sets and reports). */
  gymStateSize: number;
  /**
   * How many leading state floats the two twins compute alike, to f32
   * rounding (default: all). The rest is solver scratch carried between
   * steps (LunarLander's accumulated contact and joint impulses), which an
   * iterative solver converges differently in f32.
   */
  exactStateSize?: number;
  /** The action space. */
  actionSpace: ActionSpace;
  /**
   * For a box action space: the action vectors a discrete policy chooses
   * among (index `i` means `discreteActions[i]`).
   */
  discreteActions?: number[][];
  /** Episode length after which `truncated` is set (Gymnasium's TimeLimit). */
  maxEpisodeSteps: number;
  /**
   * How many steps stage 1's random policy keeps each action it draws
   * (default 1: a fresh draw every step). An env whose goal needs momentum
   * (MountainCar) is never solved by a fresh draw every step, so its random
   * data would hold no return to learn from.
   */
  randomActionHold?: number;
  /** Default physical parameters. */
  params: P;
  /**
   * Parameters a curriculum may vary, with their value at difficulty 0
   * (easy) and 1 (hard). The default `params` are the hard end unless stated.
   */
  difficulty?: Partial<Record<keyof P, [easy: number, hard: number]>>;
  /** Draws an initial state. */
  reset(s: Float64Array, so: number, p: P, rng: EnvRandom): void;
  /** Advances one step and returns the reward. */
  step(s: Float64Array, so: number, a: Float32Array, ao: number, p: P, rng: EnvRandom): number;
  /** Whether the state is terminal (evaluated after `step`). */
  terminated(s: Float64Array, so: number, p: P): boolean;
  /** Writes the observation of a state. */
  observe(s: Float64Array, so: number, obs: Float32Array, oo: number, p: P): void;
  /**
   * Inputs a replay may give in place of the reset's random draws, by name
   * with their lengths (LunarLander: the terrain's chunk heights and the
   * initial force), so that an episode can start from Gymnasium's own draws.
   */
  resetInputs?: Record<string, number>;
  /** Writes `resetInputs` into a state, for the next `reset` (either twin) to use instead of drawing. */
  setResetInputs?(s: Float64Array, so: number, inputs: Record<string, number[]>): void;
  /** Inputs a replay may give in place of a step's random draws (LunarLander: the engine dispersion). */
  stepInputs?: Record<string, number>;
  /** Writes `stepInputs` into a state, for the next `step` to use instead of drawing. */
  setStepInputs?(s: Float64Array, so: number, inputs: Record<string, number[]>): void;
  /**
   * The most steps one dispatch of the kernel may run on a software adapter
   * (default: no limit; GPUs are never limited). Longer runs go as several
   * dispatches. Software adapters (llvmpipe / lavapipe) allow one invocation
   * 65535 loop iterations, all loops counted together; past that every loop
   * quietly stops after one pass, so a heavy kernel must split its steps to
   * stay under the cap (LunarLander: 4).
   */
  stepsPerDispatch?: number;
  /**
   * The WGSL kernel, as files (or generated parts, such as a physics
   * world's constants) concatenated in order (e.g. a physics engine, then
   * the env): together they define `STATE_SIZE`, `OBS_SIZE`, `ACTION_SIZE`,
   * `struct Params` (the fields of `params`, all f32, in order) and the
   * functions `env_reset()`, `env_step() -> f32`, `env_terminated() -> bool`
   * and `env_observe()` over the private arrays `s`, `a` and `o` declared by
   * `shaders/vec_env.wgsl`. Without it, GPU mode steps the env on the CPU.
   * Besides `rand(k)` and `rand_range(k, lo, hi)`, the driver offers
   * `opaque(x)`: x unchanged, but hidden from the shader compiler, which
   * otherwise reassociates float arithmetic and breaks error-free
   * transformations such as TwoSum (see `shaders/envs/pendulum.wgsl`).
   */
  wgsl?: (URL | WgslPart)[];
  /** Gymnasium's `render_fps`: the frame rate of a rendered episode (default 50). */
  renderFps?: number;
  /**
   * Stage-2 hyperparameters that replace docs/spec.md's defaults for this env
   * when the user did not set them (flags always win).
   */
  preset?: TrainingPreset;
  /**
   * A scripted policy (`grpo rollout --policy heuristic`): writes the actions
   * of `n` envs (`out`: n x actionSize) from their observations (`obs`: n x
   * obsSize). Gymnasium ships one for LunarLander.
   */
  heuristic?(obs: ArrayLike<number>, n: number, out: Float32Array): void;
  /**
   * How closely the f32 WGSL kernel follows the float64 TypeScript twin, as
   * relative tolerances of a reset's state and of one step's reward, for the
   * tests that compare them (default 1e-6 and 1e-4: analytic envs agree to
   * f32 rounding).
   */
  twinTolerance?: { reset: number; reward: number };
}

/**
 * The training hyperparameters an env may preset: a subset of src/rl's
 * `GrpoConfig` (stage 2), declared here so that an env module need not import
 * the training code, and how stage 1 picks its best model.
 */
export interface TrainingPreset {
  /**
   * `grpo pretrain --eval-episodes`' default for this env: deterministic
   * episodes played at `targetReturn` after each epoch, the best-playing
   * epoch kept as best_model (without it: the lowest validation loss).
   */
  pretrainEvalEpisodes?: number;
  /** Discount factor of the returns and of GAE. */
  gamma?: number;
  /** Policy (Decision Transformer) learning rate. */
  policyLr?: number;
  /** Value network learning rate. */
  valueLr?: number;
  /** Entropy bonus coefficient. */
  entropyCoef?: number;
  /** Training iterations, where the spec's 100 (its CartPole example) are too few. */
  numIterations?: number;
  /** Parallel environments. */
  numEnvs?: number;
  /** Steps per rollout, per environment. */
  rolloutSteps?: number;
  /** Minibatch size (samples). */
  batchSize?: number;
  /** Decay both learning rates linearly to 0 over the run. */
  annealLr?: boolean;
  /** Return-to-go the policy is conditioned on. */
  targetReturn?: number;
  /** Ramp the env's `difficulty` parameters from easy to hard over the run. */
  curriculum?: boolean;
}

/** Generated WGSL source, named for error messages. */
export interface WgslPart {
  /** What compile errors call it. */
  name: string;
  /** The WGSL text. */
  source: string;
}

/** Number of floats in one action. */
export function actionSize(env: Env): number {
  return env.actionSpace.kind === "discrete" ? 1 : env.actionSpace.low.length;
}

/** Number of discrete choices a categorical policy has in this env, or 0 if it has none. */
export function discreteActionCount(env: Env): number {
  if (env.actionSpace.kind === "discrete") return env.actionSpace.n;
  return env.discreteActions?.length ?? 0;
}

/**
 * Env actions (N x actionSize) of policy actions: for a box env with
 * `discreteActions`, choice indices become their vectors; otherwise the
 * actions are the env's already.
 */
export function envActionsOf(
  env: Env,
  policyActions: Float32Array<ArrayBuffer>,
  n: number,
): Float32Array<ArrayBuffer> {
  if (env.actionSpace.kind !== "box" || !env.discreteActions) return policyActions;
  const A = actionSize(env);
  const out = new Float32Array(n * A);
  for (let i = 0; i < n; i++) out.set(env.discreteActions[policyActions[i]], i * A);
  return out;
}

/** Parameters at a curriculum difficulty in [0, 1]: linear between each declared easy and hard value. */
export function paramsAtDifficulty<P extends EnvParams>(env: Env<P>, difficulty: number): P {
  const out = { ...env.params };
  const d = Math.min(1, Math.max(0, difficulty));
  for (const [name, range] of Object.entries(env.difficulty ?? {})) {
    const [easy, hard] = range as [number, number];
    (out as EnvParams)[name] = easy + (hard - easy) * d;
  }
  return out;
}

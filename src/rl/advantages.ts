/**
 * Advantages: GAE over a rollout, then group or global normalization, and
 * GRPO's outcome advantages. These are the TypeScript twins of
 * `shaders/gae.wgsl`, `shaders/group_norm.wgsl` and `shaders/grpo.wgsl`
 * (run by `src/gpu/advantages.ts`).
 *
 * **Layout.** A rollout of T steps x N envs is stored step-major: the sample
 * of env `i` at step `t` is at index `t * N + i`. Group normalization splits
 * this flattened order into consecutive groups, so with `groupSize` = N a
 * group is every env at one step, and with `groupSize` = 8 < N a group is 8
 * neighbouring envs at one step.
 *
 * **Normalization.** A group becomes `(x - mean) / (std + eps)`, with the
 * population std (divide by the group's size) and `eps` = {@linkcode NORM_EPS}.
 * The mean is computed as `x0 + sum(x - x0) / n` (shifted by the group's first
 * element), so a group of equal values has exactly that mean and becomes
 * exactly zeros, never NaN. A last partial group (`length % groupSize` values)
 * is normalized on its own statistics; a group of one becomes 0.
 *
 * @module
 */

/** What GAE reads from a rollout: step-major arrays of T x N, except `lastValues` (N). */
export interface GaeInput {
  /** T. */
  steps: number;
  /** N. */
  numEnvs: number;
  /** The reward of each step. */
  rewards: Float32Array;
  /** V(obs) of each step. */
  values: Float32Array;
  /** Nonzero where the step ended its episode by termination (the MDP ended). */
  terminated: ArrayLike<number>;
  /** Nonzero where the step ended its episode by truncation (the time limit cut it). */
  truncated: ArrayLike<number>;
  /** V(final observation) at truncated steps (read only there). */
  finalValues: Float32Array;
  /** V(observation after the last step), per env. */
  lastValues: Float32Array;
}

/** GAE's outputs, step-major T x N. */
export interface GaeOutput {
  /** GAE(gamma, lambda) of each step. */
  advantages: Float32Array;
  /** `advantages + values`: the value network's targets (lambda-returns). */
  returns: Float32Array;
}

/**
 * Generalized Advantage Estimation (Schulman et al. 2016) as a backward scan
 * per env:
 *
 * ```text
 * next_value(t) = 0                     if terminated(t)
 *               = finalValues(t)        else if truncated(t)
 *               = values(t + 1)         else (lastValues at t = T - 1)
 * delta(t)      = rewards(t) + gamma * next_value(t) - values(t)
 * A(t)          = delta(t) + gamma * lambda * A(t + 1)   (A(t + 1) := 0 if the episode ended at t, or t = T - 1)
 * ```
 *
 * A step that is both terminated and truncated counts as terminated (as in
 * Gymnasium: the MDP ended, there is nothing to bootstrap). Outputs are
 * written to `out` when given (reused buffers), else allocated.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { gae } from "@grpo/grpo";
 *
 * // One env, three steps; the episode terminates at the last one.
 * const { advantages, returns } = gae({
 *   steps: 3,
 *   numEnvs: 1,
 *   rewards: new Float32Array([1, 1, 1]),
 *   values: new Float32Array([0, 0, 0]),
 *   terminated: new Uint8Array([0, 0, 1]),
 *   truncated: new Uint8Array([0, 0, 0]),
 *   finalValues: new Float32Array(3),
 *   lastValues: new Float32Array([0]),
 * }, 0.99, 0.95);
 * assert.equal(advantages[2], 1);
 * assert.equal(returns[2], 1);
 * ```
 */
export function gae(r: GaeInput, gamma: number, lambda: number, out?: GaeOutput): GaeOutput {
  const { steps: T, numEnvs: N } = r;
  const advantages = out?.advantages ?? new Float32Array(T * N);
  const returns = out?.returns ?? new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let nextAdvantage = 0;
    let nextValue = r.lastValues[i];
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      const terminated = r.terminated[k] !== 0;
      const truncated = r.truncated[k] !== 0;
      if (terminated) {
        nextValue = 0;
        nextAdvantage = 0;
      } else if (truncated) {
        nextValue = r.finalValues[k];
        nextAdvantage = 0;
      }
      const delta = r.rewards[k] + gamma * nextValue - r.values[k];
      advantages[k] = delta + gamma * lambda * nextAdvantage;
      returns[k] = advantages[k] + r.values[k];
      // Carry the f32-rounded value, as the WGSL scan does.
      nextAdvantage = advantages[k];
      nextValue = r.values[k];
    }
  }
  return { advantages, returns };
}

/** Added to the std before dividing (CleanRL's value): a group of equal values becomes zeros. */
export const NORM_EPS = 1e-8;

/**
 * Normalizes consecutive groups of `groupSize` of `x` in place (see the
 * module doc for the order, the partial last group and equal values).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { normalizeGroups } from "@grpo/grpo";
 *
 * const x = normalizeGroups(new Float32Array([1, 3, 10, 10]), 2);
 * assert.deepEqual(Array.from(x, Math.round), [-1, 1, 0, 0]); // equal values become zeros
 * ```
 */
export function normalizeGroups(x: Float32Array, groupSize: number, eps = NORM_EPS): Float32Array {
  if (!(Number.isInteger(groupSize) && groupSize >= 1)) {
    throw new RangeError(`group size must be a positive integer, got ${groupSize}`);
  }
  for (let start = 0; start < x.length; start += groupSize) {
    normalizeRange(x, start, Math.min(x.length, start + groupSize), eps);
  }
  return x;
}

/**
 * Normalizes the whole batch in place as one group (plain PPO's `gae-global`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { normalizeGlobal } from "@grpo/grpo";
 *
 * const x = normalizeGlobal(new Float32Array([1, 3]));
 * assert.deepEqual(Array.from(x, Math.round), [-1, 1]);
 * ```
 */
export function normalizeGlobal(x: Float32Array, eps = NORM_EPS): Float32Array {
  if (x.length > 0) normalizeRange(x, 0, x.length, eps);
  return x;
}

/** Population mean and std of `x[start .. end)`, the mean shifted by the first element. */
export function rangeStats(
  x: ArrayLike<number>,
  start: number,
  end: number,
): { mean: number; std: number } {
  const n = end - start;
  const x0 = x[start];
  let shifted = 0;
  for (let k = start; k < end; k++) shifted += x[k] - x0;
  const mean = x0 + shifted / n;
  let sq = 0;
  for (let k = start; k < end; k++) sq += (x[k] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n) };
}

function normalizeRange(x: Float32Array, start: number, end: number, eps: number): void {
  const { mean, std } = rangeStats(x, start, end);
  const scale = std + eps;
  for (let k = start; k < end; k++) x[k] = (x[k] - mean) / scale;
}

/** GRPO's advantages and the episodes they come from. */
export interface GrpoOutput {
  /** Step-major T x N: the env's normalized episode score at the steps of its scored episode, else 0. */
  advantages: Float32Array;
  /** Per env: the undiscounted return of its scored episode. */
  episodeReturns: Float32Array;
  /** Per env: the number of steps of its scored episode (steps `0 .. length - 1` are trained on). */
  lengths: Uint32Array;
}

/**
 * GRPO (DeepSeekMath, Shao et al. 2024) with outcome supervision, no critic.
 *
 * Each env's *scored episode* is its first one in the rollout: steps `0 ..
 * L - 1`, where step `L - 1` is the first that terminated or truncated (or
 * `L` = T if none did: the rollout's end truncates it). Its score is its
 * undiscounted return. The collector resets the envs `g * groupSize .. (g +
 * 1) * groupSize - 1` to the same start state, so consecutive groups of
 * `groupSize` envs are GRPO's groups: their scores are normalized within the
 * group (as {@linkcode normalizeGroups}), and every step of a scored episode
 * gets its episode's normalized score as advantage. Steps after it belong to
 * no group: advantage 0, and the update should mask them (`t >= lengths[i]`).
 */
export function grpoAdvantages(
  rewards: Float32Array,
  terminated: ArrayLike<number>,
  truncated: ArrayLike<number>,
  steps: number,
  numEnvs: number,
  groupSize: number,
  eps = NORM_EPS,
): GrpoOutput {
  const T = steps, N = numEnvs;
  const episodeReturns = new Float32Array(N);
  const lengths = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    let sum = 0;
    let t = 0;
    while (t < T) {
      const k = t * N + i;
      sum += rewards[k];
      t++;
      if (terminated[k] !== 0 || truncated[k] !== 0) break;
    }
    episodeReturns[i] = sum;
    lengths[i] = t;
  }
  const scores = normalizeGroups(episodeReturns.slice(), groupSize, eps);
  const advantages = new Float32Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < N; i++) if (t < lengths[i]) advantages[t * N + i] = scores[i];
  }
  return { advantages, episodeReturns, lengths };
}

/**
 * Advantages: GAE over a rollout, then normalization (the TypeScript twins of
 * `shaders/gae.wgsl` and `shaders/group_norm.wgsl`).
 *
 * Layout: a rollout of T steps x N envs is step-major, index `t * N + i`.
 *
 * @module
 */

/** What GAE reads from a rollout (all step-major, length T x N, except `lastValues`). */
export interface GaeInput {
  steps: number;
  numEnvs: number;
  rewards: Float32Array;
  values: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** V(final observation) at truncated steps: their episode goes on past the limit, so bootstrap from it. */
  finalValues: Float32Array;
  /** V(observation after the last step), per env. */
  lastValues: Float32Array;
}

/**
 * Generalized Advantage Estimation (Schulman et al. 2016) as a backward scan
 * per env. The next value of a step is 0 when it terminated, V(final obs) when
 * it was truncated (the episode did not end, the time limit cut it), V(next
 * obs) otherwise; the recursion restarts at every episode end. Returns
 * advantages and returns (= advantages + values, the value targets).
 */
export function gae(
  r: GaeInput,
  gamma: number,
  lambda: number,
): { advantages: Float32Array; returns: Float32Array } {
  const { steps: T, numEnvs: N } = r;
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let nextAdvantage = 0;
    let nextValue = r.lastValues[i];
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      const ended = r.terminated[k] !== 0 || r.truncated[k] !== 0;
      const bootstrap = r.terminated[k] !== 0
        ? 0
        : r.truncated[k] !== 0
        ? r.finalValues[k]
        : nextValue;
      const delta = r.rewards[k] + gamma * bootstrap - r.values[k];
      const a = delta + (ended ? 0 : gamma * lambda * nextAdvantage);
      advantages[k] = a;
      returns[k] = a + r.values[k];
      nextAdvantage = a;
      nextValue = r.values[k];
    }
  }
  return { advantages, returns };
}

/** Added to the std before dividing, so a group of equal advantages becomes zeros, not NaN. */
export const NORM_EPS = 1e-8;

/**
 * Normalizes consecutive groups of `groupSize` in place: `(x - mean) / (std +
 * eps)` with the population std. In step-major order with `groupSize` = N,
 * a group is every env at one step. A last partial group is normalized on its
 * own; a group of one becomes 0.
 */
export function normalizeGroups(x: Float32Array, groupSize: number): Float32Array {
  for (let start = 0; start < x.length; start += groupSize) {
    normalizeRange(x, start, Math.min(x.length, start + groupSize));
  }
  return x;
}

/** Normalizes the whole batch in place (plain PPO's `gae-global`). */
export function normalizeGlobal(x: Float32Array): Float32Array {
  normalizeRange(x, 0, x.length);
  return x;
}

function normalizeRange(x: Float32Array, start: number, end: number): void {
  const n = end - start;
  let mean = 0;
  for (let k = start; k < end; k++) mean += x[k];
  mean /= n;
  let variance = 0;
  for (let k = start; k < end; k++) variance += (x[k] - mean) ** 2;
  const std = Math.sqrt(variance / n);
  for (let k = start; k < end; k++) x[k] = (x[k] - mean) / (std + NORM_EPS);
}

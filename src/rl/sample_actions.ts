/**
 * Action sampling from a policy head's outputs with the counter-based RNG:
 * the TypeScript twin of `shaders/sample_actions.wgsl` (run on the GPU by
 * `src/gpu/sample_actions.ts`).
 *
 * **Draws.** Draw `k` of env `i` is `uniform01(hash5(seed, i, episode, step,
 * k))` (`envs/env.ts`), where (step, episode) are the env's counters, laid
 * out as GpuVecEnv's `counters` buffer: per env `[step in episode, episode
 * number]` ({@linkcode countersOf} builds them from a CpuVecEnv's `t` and
 * `episode`). A draw thus depends on the env's position, not on the batch
 * size or the iteration; callers keep the policy's stream apart from the
 * env's own draws by passing a seed of their own (e.g. `seed ^ constant`).
 *
 * **Categorical** (discrete actions, `numChoices` logits per env): the
 * inverse CDF of draw 0 on the unnormalized weights `exp(logit - max)`: the
 * first choice whose running sum exceeds `u * total`, so a choice of weight
 * 0 is never taken. `deterministic`: the first largest logit. The action is
 * the choice index as a float (GpuVecEnv's N x 1 layout); the log-prob is
 * `logit[a] - max - log(total)`.
 *
 * **Gaussian** (box actions, a diagonal Gaussian with state-independent
 * `logStd`): per dimension d, Box-Muller with draws d and A + d, `z =
 * sqrt(-2 log(1 - u1)) cos(2 pi u2)`, sample `x = mean + exp(logStd) z`.
 * `actions` hold the unclipped `x`, and the log-prob is that of `x`, `-0.5
 * sum(z^2 + 2 logStd + log 2 pi)`: the update recomputes the log-prob of the
 * stored action, so it must be the sample itself. `envActions` hold `x`
 * clipped into the box `[low, high]`, what the env steps. `deterministic`:
 * the mean (z = 0).
 *
 * The WGSL computes in f32: it picks the same choice for the same counters
 * (unless `u * total` lies within float rounding of a CDF step, about one
 * draw in a million), and its log-probs and Gaussian samples agree to ~1e-6.
 *
 * @module
 */
import { hash5, uniform01 } from "../../envs/env.ts";

const LOG_2PI = Math.log(2 * Math.PI);

/** Interleaves per-env step and episode counters as `[step, episode]` pairs (GpuVecEnv's layout). */
export function countersOf(step: ArrayLike<number>, episode: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(2 * step.length);
  for (let i = 0; i < step.length; i++) {
    out[2 * i] = step[i];
    out[2 * i + 1] = episode[i];
  }
  return out;
}

/** Draw `k` of env `i` at its counters. */
export function actionDraw(seed: number, counters: Uint32Array, i: number, k: number): number {
  return uniform01(hash5(seed >>> 0, i, counters[2 * i + 1], counters[2 * i], k));
}

/** Sampled actions and their log-probabilities. */
export interface Sampled {
  actions: Float32Array;
  logProbs: Float32Array;
}

/**
 * The choice of one env: logits `logits[offset .. offset + n)`, draw `u` in
 * [0, 1), or the argmax when `u` is undefined. Computed in f32 as the WGSL.
 */
export function categoricalChoice(
  logits: Float32Array,
  offset: number,
  n: number,
  u: number | undefined,
): { choice: number; logProb: number } {
  const f = Math.fround;
  let m = logits[offset];
  let argmax = 0;
  for (let k = 1; k < n; k++) {
    if (logits[offset + k] > m) {
      m = logits[offset + k];
      argmax = k;
    }
  }
  let total = 0;
  let lastPositive = argmax;
  for (let k = 0; k < n; k++) {
    const e = f(Math.exp(f(logits[offset + k] - m)));
    total = f(total + e);
    if (e > 0) lastPositive = k;
  }
  let choice = argmax;
  if (u !== undefined) {
    const threshold = f(u * total);
    choice = lastPositive;
    let cum = 0;
    for (let k = 0; k < n; k++) {
      cum = f(cum + f(Math.exp(f(logits[offset + k] - m))));
      if (threshold < cum) {
        choice = k;
        break;
      }
    }
  }
  return { choice, logProb: logits[offset + choice] - m - Math.log(total) };
}

/** Samples one categorical action per env from `numEnvs x numChoices` logits. */
export function sampleCategorical(
  logits: Float32Array,
  numEnvs: number,
  numChoices: number,
  counters: Uint32Array,
  seed: number,
  deterministic = false,
): Sampled {
  const actions = new Float32Array(numEnvs);
  const logProbs = new Float32Array(numEnvs);
  for (let i = 0; i < numEnvs; i++) {
    const u = deterministic ? undefined : actionDraw(seed, counters, i, 0);
    const { choice, logProb } = categoricalChoice(logits, i * numChoices, numChoices, u);
    actions[i] = choice;
    logProbs[i] = logProb;
  }
  return { actions, logProbs };
}

/** Gaussian samples: `actions` unclipped (their log-prob), `envActions` clipped into the box. */
export interface SampledBox extends Sampled {
  envActions: Float32Array;
}

/** Samples one action per env from a diagonal Gaussian (`numEnvs x A` means, `A` log-stds). */
export function sampleGaussian(
  mean: Float32Array,
  logStd: ArrayLike<number>,
  low: ArrayLike<number>,
  high: ArrayLike<number>,
  numEnvs: number,
  counters: Uint32Array,
  seed: number,
  deterministic = false,
): SampledBox {
  const A = logStd.length;
  const actions = new Float32Array(numEnvs * A);
  const envActions = new Float32Array(numEnvs * A);
  const logProbs = new Float32Array(numEnvs);
  for (let i = 0; i < numEnvs; i++) {
    let lp = 0;
    for (let d = 0; d < A; d++) {
      let z = 0;
      if (!deterministic) {
        const u1 = actionDraw(seed, counters, i, d);
        const u2 = actionDraw(seed, counters, i, A + d);
        z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
      }
      const x = mean[i * A + d] + Math.exp(logStd[d]) * z;
      actions[i * A + d] = x;
      envActions[i * A + d] = Math.min(high[d], Math.max(low[d], x));
      lp += -0.5 * (z * z + 2 * logStd[d] + LOG_2PI);
    }
    logProbs[i] = lp;
  }
  return { actions, envActions, logProbs };
}

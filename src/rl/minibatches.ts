/**
 * Minibatch indices for the PPO update: `numEpochs` passes over a batch of
 * `n` samples (indices into the rollout's step-major arrays), uniformly
 * shuffled or, with `--prioritized`, drawn in proportion to |advantage| with
 * importance weights that correct the bias.
 *
 * Randomness is counter-based (`hash5` of `envs/env.ts`) keyed by (seed,
 * stream, epoch, position), so a run's minibatches depend only on its seed,
 * iteration and epoch, never on what ran before: a resumed run draws the same
 * minibatches as an uninterrupted one when its caller passes, e.g., `seed *
 * 1_000_003 + iteration` as `seed`.
 *
 * @module
 */
import { hash5 } from "../../envs/env.ts";

/** Separates minibatch draws from every other use of the run seed. */
const STREAM = 0x3c6ef372;

/** A uniform double in [0, 1) with 53 random bits: draw `k` of `(seed, epoch, j)`. */
export function minibatchUniform(seed: number, epoch: number, j: number, k = 0): number {
  const hi = hash5(seed >>> 0, STREAM, epoch, j, 2 * k) >>> 5; // 27 bits
  const lo = hash5(seed >>> 0, STREAM, epoch, j, 2 * k + 1) >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** A permutation of `0 .. n - 1` (Fisher-Yates), the `epoch`-th of `seed`. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(minibatchUniform(seed, epoch, i) * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** One minibatch: sample indices, and their importance weights (all 1 when uniform). */
export interface Minibatch {
  epoch: number;
  indices: Uint32Array;
  weights: Float32Array;
}

function split(epoch: number, order: Uint32Array, batchSize: number, weightOf?: Float64Array) {
  const out: Minibatch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const indices = order.slice(start, Math.min(order.length, start + batchSize));
    const weights = weightOf
      ? Float32Array.from(indices, (k) => weightOf[k])
      : new Float32Array(indices.length).fill(1);
    out.push({ epoch, indices, weights });
  }
  return out;
}

function checkSizes(n: number, batchSize: number, numEpochs: number): void {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  if (!(Number.isInteger(numEpochs) && numEpochs >= 0) || !(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(`bad sizes: ${n} samples, ${numEpochs} epochs`);
  }
}

/**
 * `numEpochs` passes over `n` samples: each epoch a fresh permutation cut into
 * `ceil(n / batchSize)` minibatches (the last one smaller when `batchSize`
 * does not divide `n`), so every index appears exactly once per epoch.
 */
export function uniformMinibatches(
  n: number,
  batchSize: number,
  numEpochs: number,
  seed: number,
): Minibatch[] {
  checkSizes(n, batchSize, numEpochs);
  const out: Minibatch[] = [];
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    out.push(...split(epoch, permutation(n, seed, epoch), batchSize));
  }
  return out;
}

/** Options of {@linkcode prioritizedMinibatches}. */
export interface PrioritizedOptions {
  /**
   * Added to every |advantage|, as a fraction of the mean |advantage|
   * (default 0.1): every sample keeps a probability of at least `floor / ((1
   * + floor) n)`, so the raw importance weights stay below `(1 + floor) /
   * floor` (11 by default) instead of exploding on near-zero advantages.
   */
  floor?: number;
  /** Bias correction exponent of the weights (default 1: full correction). */
  beta?: number;
}

/**
 * Sampling probabilities proportional to `|advantage| + floor * mean|advantage|`;
 * uniform when every advantage is 0.
 */
export function priorityProbabilities(advantages: ArrayLike<number>, floor = 0.1): Float64Array {
  const n = advantages.length;
  const p = new Float64Array(n);
  let mean = 0;
  for (let k = 0; k < n; k++) mean += Math.abs(advantages[k]);
  mean /= n;
  if (!(mean > 0) || !Number.isFinite(mean)) return p.fill(1 / n);
  let total = 0;
  for (let k = 0; k < n; k++) total += p[k] = Math.abs(advantages[k]) + floor * mean;
  for (let k = 0; k < n; k++) p[k] /= total;
  return p;
}

/**
 * Importance weights `(1 / (n p_k))^beta`, divided by their largest value.
 *
 * Why this removes the bias: a minibatch mean of `w_k * g_k` over samples
 * drawn with probability `p_k` has expectation `sum_k p_k w_k g_k`; with
 * `w_k = 1 / (n p_k)` (beta = 1) that is `(1/n) sum_k g_k`, the uniform
 * average the unprioritized update estimates. Dividing by the largest weight
 * (Schaul et al. 2016, prioritized replay) scales every step down by the
 * same constant, which keeps the direction unbiased and the steps no larger
 * than uniform sampling's; beta < 1 corrects only partly.
 */
export function importanceWeights(p: Float64Array, beta = 1): Float64Array {
  const n = p.length;
  const w = new Float64Array(n);
  let max = 0;
  for (let k = 0; k < n; k++) {
    // A sample of probability 0 is never drawn; its weight is moot.
    w[k] = p[k] > 0 ? (1 / (n * p[k])) ** beta : 0;
    if (w[k] > max) max = w[k];
  }
  for (let k = 0; k < n; k++) w[k] /= max;
  return w;
}

/**
 * `numEpochs` passes of `n` = `advantages.length` samples each, drawn with
 * replacement with probability {@linkcode priorityProbabilities} and cut into
 * minibatches of `batchSize`, each sample with its {@linkcode importanceWeights}
 * weight: multiply each sample's loss terms by it (the policy loss at least;
 * the value loss too keeps the critic's fit unbiased).
 */
export function prioritizedMinibatches(
  advantages: ArrayLike<number>,
  batchSize: number,
  numEpochs: number,
  seed: number,
  options: PrioritizedOptions = {},
): Minibatch[] {
  const n = advantages.length;
  checkSizes(n, batchSize, numEpochs);
  const p = priorityProbabilities(advantages, options.floor ?? 0.1);
  const weights = importanceWeights(p, options.beta ?? 1);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) cdf[k] = acc += p[k];
  const out: Minibatch[] = [];
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    const order = new Uint32Array(n);
    for (let j = 0; j < n; j++) order[j] = searchCdf(cdf, minibatchUniform(seed, epoch, j) * acc);
    out.push(...split(epoch, order, batchSize, weights));
  }
  return out;
}

/** The first index whose CDF value exceeds `u` (binary search; the last one for rounding at the top). */
function searchCdf(cdf: Float64Array, u: number): number {
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

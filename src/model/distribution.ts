/**
 * Action distributions of a policy head, as tensors that stay on the
 * backend: categorical logits for discrete actions, a diagonal Gaussian for
 * continuous ones. Actions are float tensors [..., A] in the env's action
 * layout (a discrete action is its index written as a float, `A` = 1).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { boolToFloat, oneHot } from "./layers.ts";

/** Categorical over `logits.shape[-1]` choices. */
export interface CategoricalParams {
  kind: "discrete";
  /** [..., n] unnormalized log-probabilities. */
  logits: tf.Tensor;
}

/** Diagonal Gaussian; the env clips samples into its box. */
export interface GaussianParams {
  kind: "continuous";
  /** [..., A] means. */
  mean: tf.Tensor;
  /** [A] state-independent log standard deviations. */
  logStd: tf.Tensor;
}

/** The parameters of a batch of action distributions. */
export type ActionDist = CategoricalParams | GaussianParams;

const LOG_2PI = Math.log(2 * Math.PI);

/** Log-probability of `actions` [..., A] under `dist`: [...]. */
export function logProb(dist: ActionDist, actions: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (dist.kind === "discrete") {
      const n = dist.logits.shape[dist.logits.shape.length - 1]!;
      const index = actions.squeeze([-1]).cast("int32");
      // One-hot product rather than gather: wasm has no gather gradient.
      return tf.logSoftmax(dist.logits).mul(oneHot(index, n)).sum(-1);
    }
    const z = actions.sub(dist.mean).mul(tf.exp(dist.logStd.neg()));
    return z.square().add(dist.logStd.mul(2)).add(LOG_2PI).mul(-0.5).sum(-1);
  });
}

/** Entropy of each distribution: [...]. */
export function entropy(dist: ActionDist): tf.Tensor {
  return tf.tidy(() => {
    if (dist.kind === "discrete") {
      const logp = tf.logSoftmax(dist.logits);
      return tf.exp(logp).mul(logp).sum(-1).neg();
    }
    const perDim = dist.logStd.add(0.5 * (1 + LOG_2PI));
    return perDim.sum().mul(tf.onesLike(dist.mean.sum(-1)));
  });
}

/** The most likely action (argmax or mean): [..., A]. */
export function modeAction(dist: ActionDist): tf.Tensor {
  return tf.tidy(() => dist.kind === "discrete" ? firstArgMax(dist.logits) : dist.mean.clone());
}

/** The first index of the largest logit, as a float [..., 1] (argMax is int32, which WebGPU cannot cast). */
function firstArgMax(logits: tf.Tensor): tf.Tensor {
  const n = logits.shape[logits.shape.length - 1]!;
  const isMax = tf.equal(logits, logits.max(-1, true));
  return tf.where(isMax, tf.range(0, n) as tf.Tensor, tf.scalar(n) as tf.Tensor).min(-1, true);
}

/**
 * Samples with given uniform draws, so the randomness can come from the
 * counter-based RNG of either mode. Discrete: `u` [..., 1], inverse CDF.
 * Continuous: `u` [..., 2A], Box-Muller pairs.
 */
export function sampleWithUniforms(dist: ActionDist, u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (dist.kind === "discrete") {
      const n = dist.logits.shape[dist.logits.shape.length - 1]!;
      // CDF as a matMul with a triangular matrix: wasm's cumsum corrupts its heap.
      const i = tf.range(0, n, 1, "int32");
      const upper = boolToFloat(i.reshape([n, 1]).lessEqual(i.reshape([1, n])));
      const probs = tf.softmax(dist.logits);
      const cdf = tf.matMul(probs.reshape([-1, n]), upper).reshape(probs.shape);
      // Index = number of CDF entries below u, capped for rounding at the top.
      const below = boolToFloat(cdf.less(u)).sum(-1, true);
      return tf.minimum(below, n - 1);
    }
    const a = dist.mean.shape[dist.mean.shape.length - 1]!;
    const [u1, u2] = tf.split(u, [a, a], -1);
    const r = tf.sqrt(tf.log(tf.scalar(1).sub(u1)).mul(-2));
    const z = r.mul(tf.cos(u2.mul(2 * Math.PI)));
    return dist.mean.add(z.mul(tf.exp(dist.logStd)));
  });
}

/**
 * {@linkcode sampleWithUniforms} for a categorical, on the host: from the
 * probabilities `tf.softmax` gives ([rows, n], row-major) and one uniform draw
 * per row, the same f32 running sums and comparisons as the tensor version's
 * triangular matMul (`tests/distribution_test.ts` holds them equal), with
 * no kernel: CPU mode's rollouts sample here, where the ~15 kernels of the
 * tensor version were ~10% of a CartPole rollout step.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { sampleFromProbs } from "./distribution.ts";
 *
 * // CDF [0.25, 1]: a draw of 0.1 picks action 0, a draw of 0.5 action 1.
 * assert.deepStrictEqual([...sampleFromProbs(Float32Array.of(0.25, 0.75, 0.25, 0.75), [0.1, 0.5], 2)], [0, 1]);
 * ```
 */
export function sampleFromProbs(
  probs: ArrayLike<number>,
  u: ArrayLike<number>,
  n: number,
): Float32Array {
  const out = new Float32Array(probs.length / n);
  for (let r = 0; r < out.length; r++) {
    // Index = number of CDF entries below u, capped for rounding at the top.
    let cdf = 0, below = 0;
    for (let j = 0; j < n; j++) {
      cdf = Math.fround(cdf + probs[r * n + j]);
      if (cdf < u[r]) below++;
    }
    out[r] = Math.min(below, n - 1);
  }
  return out;
}

/**
 * Distributions over several batches of rows as one, rows in order (a
 * continuous policy's `logStd` is one for every row: the first's is used).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { concatDists } from "./distribution.ts";
 *
 * await initBackend("cpu");
 * const a = { kind: "discrete", logits: tf.zeros([2, 3]) } as const;
 * const b = { kind: "discrete", logits: tf.ones([1, 3]) } as const;
 * const both = concatDists([a, b]);
 * assert.deepStrictEqual(both.kind === "discrete" && both.logits.shape, [3, 3]);
 * ```
 */
export function concatDists(dists: ActionDist[]): ActionDist {
  const [first] = dists;
  if (first.kind === "discrete") {
    return { kind: "discrete", logits: tf.concat(dists.map((d) => (d as typeof first).logits)) };
  }
  return {
    kind: "continuous",
    mean: tf.concat(dists.map((d) => (d as typeof first).mean)),
    logStd: first.logStd,
  };
}

/** Disposes the tensors of a distribution. */
export function disposeDist(dist: ActionDist): void {
  if (dist.kind === "discrete") dist.logits.dispose();
  else {
    dist.mean.dispose();
    dist.logStd.dispose();
  }
}

/**
 * The losses of one stage-2 minibatch, as in CleanRL's `ppo.py`: the clipped
 * surrogate with an entropy bonus (and, in `outcome` mode, DeepSeekMath's k3
 * KL penalty to the stage-1 policy) for the policy; the squared error,
 * optionally clipped around the rollout's values, for the critic; and the
 * diagnostics PPO users watch (approximate KL, clip fraction).
 *
 * Every mean is a masked sum over the minibatch's rollout steps divided by
 * `count`, the number of those steps (context and padding rows have mask 0).
 * With prioritized minibatches `mask` also carries the importance weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type ActionDist, entropy, logProb } from "../model/distribution.ts";
import { categoricalPpoLossOnWasm } from "./categorical_ppo_loss.ts";

/** A minibatch's rollout-time quantities, [B, K] each. */
export interface MinibatchTargets {
  /** Normalized advantages. */
  advantages: tf.Tensor;
  /** log pi_old(a|s) from the rollout. */
  oldLogProb: tf.Tensor;
  /** 1 (or the importance weight) at trained steps, 0 at context and padding. */
  mask: tf.Tensor;
  /** Number of trained steps (a scalar >= 1). */
  count: tf.Scalar;
  /** `outcome` mode: log pi_ref(a|s) of the frozen stage-1 policy. */
  refLogProb?: tf.Tensor;
}

/** The coefficients of {@linkcode policyLoss}. */
export interface PolicyLossCoefficients {
  clipEpsilon: number;
  entropyCoef: number;
  /** Weight of the k3 KL penalty (used when `refLogProb` is given). */
  klCoef: number;
}

/** What {@linkcode policyLoss} computes; `ratio` and `entropy` feed the metrics. */
export interface PolicyLoss {
  loss: tf.Scalar;
  /** pi(a|s) / pi_old(a|s), [B, K]. */
  ratio: tf.Tensor;
  /** Masked mean entropy. */
  entropy: tf.Scalar;
}

const maskedMean = (x: tf.Tensor, t: MinibatchTargets) => x.mul(t.mask).sum().div(t.count);

/**
 * The clipped surrogate objective, negated, minus the entropy bonus (plus the
 * k3 KL penalty when `t.refLogProb` is given).
 *
 * @example Usage
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { policyLoss } from "./ppo_loss.ts";
 *
 * await initBackend("cpu");
 * const same = tf.tensor2d([[-0.7, -0.7]]);
 * const { loss } = policyLoss(same, tf.zeros([1, 2]), {
 *   advantages: tf.tensor2d([[1, -1]]),
 *   oldLogProb: same,
 *   mask: tf.ones([1, 2]),
 *   count: tf.scalar(2),
 * }, { clipEpsilon: 0.2, entropyCoef: 0.01, klCoef: 0 });
 * console.log(loss.dataSync()[0]); // 0: ratio 1, advantages summing to 0, no entropy
 * ```
 */
export function policyLoss(
  logProb: tf.Tensor,
  entropy: tf.Tensor,
  t: MinibatchTargets,
  c: PolicyLossCoefficients,
): PolicyLoss {
  const ratio = tf.exp(logProb.sub(t.oldLogProb));
  const surrogate = tf.minimum(
    ratio.mul(t.advantages),
    tf.clipByValue(ratio, 1 - c.clipEpsilon, 1 + c.clipEpsilon).mul(t.advantages),
  );
  let pg = maskedMean(surrogate, t).neg();
  if (t.refLogProb) {
    // k3 estimator of KL(pi || pi_ref) (Schulman), as DeepSeekMath's GRPO.
    const d = t.refLogProb.sub(logProb);
    pg = pg.add(maskedMean(tf.exp(d).sub(d).sub(1), t).mul(c.klCoef));
  }
  const meanEntropy = maskedMean(entropy, t) as tf.Scalar;
  return { loss: pg.sub(meanEntropy.mul(c.entropyCoef)) as tf.Scalar, ratio, entropy: meanEntropy };
}

/**
 * Half the value coefficient times the masked mean squared error of `v`
 * against the returns; with `valueClip` > 0, PPO2's pessimistic maximum with
 * the error of `v` clipped to within `valueClip` of the rollout's values.
 * All inputs flat [B*K].
 */
export function valueLoss(
  v: tf.Tensor,
  returns: tf.Tensor,
  oldValue: tf.Tensor,
  t: Pick<MinibatchTargets, "mask" | "count">,
  valueCoef: number,
  valueClip: number,
): tf.Scalar {
  let err = v.sub(returns).square();
  if (valueClip > 0) {
    const clipped = oldValue.add(tf.clipByValue(v.sub(oldValue), -valueClip, valueClip));
    err = tf.maximum(err, clipped.sub(returns).square());
  }
  return err.mul(t.mask).sum().div(t.count).mul(0.5 * valueCoef) as tf.Scalar;
}

/**
 * The update's diagnostics over the unweighted mask: the k3 estimate of
 * KL(old || new) (CleanRL's `approx_kl`), the fraction of ratios clipped, and
 * max |ratio - 1| (0 up to float error on the first minibatch, when rollout
 * and update see the same contexts).
 */
export function ratioMetrics(
  ratio: tf.Tensor,
  mask: tf.Tensor,
  count: tf.Scalar,
  clipEpsilon: number,
): { approxKl: tf.Scalar; clipFraction: tf.Scalar; maxRatioError: tf.Scalar } {
  const off = tf.abs(ratio.sub(1));
  return {
    approxKl: ratio.sub(1).sub(tf.log(ratio)).mul(mask).sum().div(count) as tf.Scalar,
    clipFraction: off.greater(clipEpsilon).cast("float32").mul(mask).sum().div(count) as tf.Scalar,
    maxRatioError: off.mul(mask).max() as tf.Scalar,
  };
}

/** What {@linkcode minibatchPolicyLoss} returns. */
export interface MinibatchPolicyLoss {
  loss: tf.Scalar;
  /**
   * The diagnostics [entropy, approxKl, clipFraction, maxRatioError], made
   * when called (after the gradient tape, which need not record them).
   */
  metrics: () => tf.Tensor1D;
}

/**
 * {@linkcode policyLoss} of a minibatch from the policy's action
 * distributions and the taken actions, and its diagnostics
 * ({@linkcode ratioMetrics} over `realMask`, the unweighted mask). A
 * categorical policy on wasm without a KL term takes the fused path
 * (`categorical_ppo_loss.ts`: one gradient node, the same bits).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { minibatchPolicyLoss } from "./ppo_loss.ts";
 *
 * await initBackend("cpu");
 * const logits = tf.zeros([1, 2, 2]);
 * const { loss, metrics } = minibatchPolicyLoss({ kind: "discrete", logits }, tf.zeros([1, 2, 1]), {
 *   advantages: tf.tensor2d([[1, -1]]),
 *   oldLogProb: tf.fill([1, 2], Math.log(0.5)),
 *   mask: tf.ones([1, 2]),
 *   count: tf.scalar(2),
 * }, tf.ones([1, 2]), { clipEpsilon: 0.2, entropyCoef: 0, klCoef: 0 });
 * assert.strictEqual(Math.abs(loss.dataSync()[0]), 0); // ratio 1, advantages summing to 0
 * assert.strictEqual(metrics().shape[0], 4);
 * ```
 */
export function minibatchPolicyLoss(
  dist: ActionDist,
  actions: tf.Tensor,
  t: MinibatchTargets,
  realMask: tf.Tensor,
  c: PolicyLossCoefficients,
): MinibatchPolicyLoss {
  const backend = tf.backend();
  if (backend instanceof BackendWasm && dist.kind === "discrete" && !t.refLogProb) {
    const { loss, metrics } = categoricalPpoLossOnWasm(
      backend,
      dist.logits,
      actions,
      t,
      realMask,
      c,
    );
    return { loss, metrics: () => tf.tensor1d(metrics) };
  }
  const { loss, ratio, entropy: meanEntropy } = policyLoss(
    logProb(dist, actions),
    entropy(dist),
    t,
    c,
  );
  // Kept past the gradient tape's scope, for the metrics.
  tf.keep(ratio);
  tf.keep(meanEntropy);
  return {
    loss,
    metrics: () => {
      const m = tf.tidy(() => {
        const r = ratioMetrics(ratio, realMask, t.count, c.clipEpsilon);
        return tf.stack([meanEntropy, r.approxKl, r.clipFraction, r.maxRatioError]) as tf.Tensor1D;
      });
      tf.dispose([ratio, meanEntropy]);
      return m;
    },
  };
}

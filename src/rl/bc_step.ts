/**
 * Stage 1's gradient step: the masked negative log-likelihood of a batch's
 * actions and one clipped Adam step on it. In CPU mode the batch is split
 * in two: the main thread takes the first half of its segments and the
 * helper thread (`helper_thread.ts`) the second, each on its own core with
 * the same weights. Each half's loss is its sum over the whole batch's step
 * count, so the two losses and their gradients add up to the batch's; the
 * sum is clipped and applied once, on the main thread. Each half draws its
 * own dropout masks (so CPU mode's numbers differ from an unsplit step's in
 * the dropout they drew, not in what is computed). GPU mode takes the step
 * whole.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
  type SegmentBatch,
} from "../model/decision_transformer.ts";
import { clipAndStep, optimizerStep } from "../model/optim.ts";
import {
  assignValues,
  buffersOf,
  type HelperThread,
  hostCopies,
  modelFor,
} from "./helper_thread.ts";

/**
 * Masked negative log-likelihood of the batch's actions: summed over the
 * mask and divided by `count` (default: the mask's sum, the batch's mean).
 */
export function nllLoss(
  policy: DecisionTransformer,
  batch: SegmentBatch,
  mask: tf.Tensor,
  dropoutSeed?: string,
  count?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const { logProb } = policy.logProbs(batch, dropoutSeed);
    const total = logProb.mul(mask).sum();
    return (count === undefined ? total.div(mask.sum()) : total.div(count)).neg() as tf.Scalar;
  });
}

/** The helper's job: the gradients of the second half of a batch. */
export interface PolicyGradientsJob {
  kind: "policy-gradients";
  config: DecisionTransformerConfig;
  /** The policy's weights, in `trainableVariables()` order. */
  weights: Float32Array[];
  /** The half batch's segments and steps per segment. */
  shape: [number, number];
  returnsToGo: Float32Array;
  obs: Float32Array;
  actions: Float32Array;
  timesteps: Int32Array;
  mask: Float32Array;
  dropoutSeed: string;
  /** Steps in the whole batch: the loss's denominator. */
  count: number;
}

/** The half's loss (its share of the batch's) and gradients, in `trainableVariables()` order. */
export interface PolicyGradientsResult {
  loss: number;
  grads: Float32Array[];
}

/** Segments `[from, from + n)` of a batch and its mask. */
function segments(batch: SegmentBatch, mask: tf.Tensor2D, from: number, n: number) {
  const rows = <T extends tf.Tensor>(t: T) => t.slice(from, n) as T;
  return {
    batch: {
      returnsToGo: rows(batch.returnsToGo),
      obs: rows(batch.obs),
      actions: rows(batch.actions),
      timesteps: rows(batch.timesteps),
    },
    mask: rows(mask),
  };
}

/**
 * One optimizer step of behaviour cloning on `batch` (the loss: the batch's
 * mean negative log-likelihood), gradients clipped to `maxGradNorm`; split
 * with `helper` when there is one and the batch has two segments or more.
 * Returns the loss and the gradient norm before clipping (the caller
 * disposes them).
 */
export async function bcStep(
  policy: DecisionTransformer,
  optimizer: tf.Optimizer,
  batch: SegmentBatch,
  mask: tf.Tensor2D,
  dropoutSeed: string,
  maxGradNorm: number,
  helper?: HelperThread,
): Promise<{ loss: tf.Scalar; gradNorm: tf.Scalar }> {
  const vars = policy.trainableVariables();
  const B = mask.shape[0];
  if (!helper || B < 2) {
    return optimizerStep(
      optimizer,
      vars,
      () => nllLoss(policy, batch, mask, dropoutSeed),
      maxGradNorm,
    );
  }
  const count = tf.tidy(() => mask.sum().dataSync()[0]);
  const half = Math.ceil(B / 2);
  const [mine, theirs] = [segments(batch, mask, 0, half), segments(batch, mask, half, B - half)];
  // Copies with buffers of their own: a posted view would take its whole buffer along.
  const read = <T extends Float32Array | Int32Array>(t: tf.Tensor) =>
    (t.dataSync() as T).slice() as T;
  const job: PolicyGradientsJob = {
    kind: "policy-gradients",
    config: policy.config,
    weights: hostCopies(vars),
    shape: [B - half, mask.shape[1]],
    returnsToGo: read(theirs.batch.returnsToGo),
    obs: read(theirs.batch.obs),
    actions: read(theirs.batch.actions),
    timesteps: read(theirs.batch.timesteps),
    mask: read(theirs.mask),
    dropoutSeed: `${dropoutSeed}/helper`,
    count,
  };
  const pending = helper.run<PolicyGradientsResult>(job, buffersOf(job.weights));
  const { value, grads } = tf.variableGrads(
    () => nllLoss(policy, mine.batch, mine.mask, dropoutSeed, count),
    vars,
  );
  tf.dispose([
    ...Object.values(mine.batch),
    mine.mask,
    ...Object.values(theirs.batch),
    theirs.mask,
  ]);
  const other = await pending;
  const summed = tf.tidy(() =>
    Object.fromEntries(
      vars.map((v, i) => [v.name, grads[v.name].add(tf.tensor(other.grads[i], v.shape))]),
    )
  );
  const gradNorm = clipAndStep(optimizer, summed, maxGradNorm);
  const loss = tf.tidy(() => value.add(other.loss) as tf.Scalar);
  tf.dispose([value, ...Object.values(grads), ...Object.values(summed)]);
  return { loss, gradNorm };
}

/** Runs a {@linkcode PolicyGradientsJob} (on the helper); returns the result and the buffers to hand back. */
export function runPolicyGradientsJob(
  job: PolicyGradientsJob,
): { result: PolicyGradientsResult; transfer: ArrayBuffer[] } {
  const policy = modelFor("policy", job.config, () => new DecisionTransformer(job.config));
  const vars = policy.trainableVariables();
  const [B, k] = job.shape, c = job.config;
  const A = job.actions.length / (B * k);
  assignValues(vars, job.weights);
  // The tidy returns tensors only: tidy walks every property of what it returns, and a
  // Float32Array's are its elements (reading back inside it took ~30% of the helper's time).
  const { value, grads } = tf.tidy(() => {
    const batch: SegmentBatch = {
      returnsToGo: tf.tensor2d(job.returnsToGo, [B, k]),
      obs: tf.tensor3d(job.obs, [B, k, c.obsDim]),
      actions: tf.tensor3d(job.actions, [B, k, A]),
      timesteps: tf.tensor2d(job.timesteps, [B, k], "int32"),
    };
    const mask = tf.tensor2d(job.mask, [B, k]);
    return tf.variableGrads(
      () => nllLoss(policy, batch, mask, job.dropoutSeed, job.count),
      vars,
    );
  });
  const result = {
    loss: value.dataSync()[0],
    grads: hostCopies(vars.map((v) => grads[v.name])),
  };
  tf.dispose([value, ...Object.values(grads)]);
  return { result, transfer: buffersOf(result.grads) };
}

/**
 * The critic's half of a stage-2 update: for each minibatch, the value
 * network's loss on the minibatch's rows, its gradients clipped by global
 * norm, one Adam step. It reads nothing that the policy's half computes, so
 * CPU mode runs it on a second core (`critic_thread.ts`) while the main
 * thread updates the policy; GPU mode runs it after the policy's minibatches.
 * Either way each step is the same sequence of ops on the same values.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ValueNetwork } from "../model/value_network.ts";
import { clipByGlobalNorm } from "../model/optim.ts";
import { valueLoss } from "./ppo_loss.ts";

/** The critic's part of the stage-2 configuration. */
export interface CriticSettings {
  valueCoef: number;
  valueClip: number;
  maxGradNorm: number;
}

/** An iteration's chunks as the critic reads them, [chunks, K, ...], and the minibatches' chunk indices. */
export interface CriticChunks {
  obs: tf.Tensor3D;
  returns: tf.Tensor2D;
  /** The rollout's value estimates (for value clipping). */
  values: tf.Tensor2D;
  /** 1 at the rollout steps trained on (in the chunk, and valid), 0 at context and padding. */
  mask: tf.Tensor2D;
  /** Per chunk: its importance weight (all 1 when uniform). */
  weights: tf.Tensor1D;
  /** Every minibatch's chunk indices, one after another; minibatch b's start at `offsets[b]`. */
  order: tf.Tensor1D;
  offsets: number[];
}

/** Minibatch `b`'s chunk indices (a slice of `order`). */
export function minibatchRows(d: Pick<CriticChunks, "order" | "offsets">, b: number): tf.Tensor1D {
  const end = b + 1 < d.offsets.length ? d.offsets[b + 1] : d.order.size;
  return d.order.slice(d.offsets[b], end - d.offsets[b]);
}

/**
 * One critic step on minibatch `b`; returns `[loss, gradient norm before
 * clipping]`, left on the device (the caller reads every step's at once).
 */
export function criticStep(
  value: ValueNetwork,
  optimizer: tf.Optimizer,
  d: CriticChunks,
  b: number,
  s: CriticSettings,
): tf.Tensor1D {
  const m = tf.tidy(() => {
    const rows = minibatchRows(d, b);
    const pick = <T extends tf.Tensor>(x: T) => tf.gather(x, rows) as T;
    const [B, K, O] = [rows.size, d.obs.shape[1], d.obs.shape[2]];
    const realMask = pick(d.mask);
    const count = realMask.sum().maximum(1) as tf.Scalar;
    const flat = (x: tf.Tensor) => x.reshape([B * K]);
    // The critic sees the minibatch's steps flattened, weighted as the policy's.
    const mask = flat(realMask.mul(pick(d.weights).reshape([B, 1])));
    const v = tf.variableGrads(
      () =>
        valueLoss(
          value.predict(pick(d.obs).reshape([B * K, O])),
          flat(pick(d.returns)),
          flat(pick(d.values)),
          { mask, count },
          s.valueCoef,
          s.valueClip,
        ),
      value.trainableVariables(),
    );
    const clipped = clipByGlobalNorm(v.grads, s.maxGradNorm);
    return { grads: clipped.grads, scalars: tf.stack([v.value, clipped.norm]) as tf.Tensor1D };
  });
  optimizer.applyGradients(m.grads);
  tf.dispose(Object.values(m.grads));
  return m.scalars;
}

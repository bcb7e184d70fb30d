/**
 * Optimizer helpers shared by both stages: global gradient-norm clipping and
 * one clipped Adam step over a variable list.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * WebGPU's AddN binds every input as a storage buffer, and a device may allow
 * as few as 8 per shader (lavapipe: 32; the default DT has 37 weights), so
 * long sums go in groups.
 */
const ADD_N_MAX = 7;

function sumAll(xs: tf.Tensor[]): tf.Tensor {
  while (xs.length > 1) {
    const next: tf.Tensor[] = [];
    for (let k = 0; k < xs.length; k += ADD_N_MAX) {
      const group = xs.slice(k, k + ADD_N_MAX);
      next.push(group.length === 1 ? group[0] : tf.addN(group));
    }
    xs = next;
  }
  return xs[0];
}

/**
 * Scales `grads` so their global L2 norm is at most `maxNorm` (as PyTorch's
 * `clip_grad_norm_`); returns the clipped gradients and the norm before
 * clipping (a scalar tensor, so checking it for NaN needs no extra pass).
 */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = tf.sqrt(sumAll(names.map((k) => tf.sum(tf.square(grads[k]))))) as tf.Scalar;
    const scale = tf.minimum(tf.scalar(1), tf.scalar(maxNorm).div(norm.add(1e-6)));
    const out: tf.NamedTensorMap = {};
    for (const k of names) out[k] = grads[k].mul(scale);
    return { grads: out, norm };
  });
}

/**
 * One optimizer step on `loss` over `vars`, gradients clipped to `maxNorm`
 * (Infinity: no clipping). Returns the loss and the pre-clip gradient norm;
 * the caller disposes them.
 */
export function optimizerStep(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  loss: () => tf.Scalar,
  maxNorm: number,
): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  const { value, grads } = tf.variableGrads(loss, vars);
  const clipped = clipByGlobalNorm(grads, maxNorm);
  optimizer.applyGradients(clipped.grads);
  tf.dispose(grads);
  tf.dispose(clipped.grads);
  return { loss: value, gradNorm: clipped.norm };
}

/** Sets an optimizer's learning rate (tfjs's optimizers read it on every step but keep it protected). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

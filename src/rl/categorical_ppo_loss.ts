/**
 * `policyLoss` and `ratioMetrics` (`ppo_loss.ts`) of a categorical policy
 * on tfjs's wasm backend as one gradient node over the logits.
 *
 * As tfjs ops the log-softmax (twice: log-probabilities and entropy), the
 * clipped surrogate, the masked means and the diagnostics are ~115 kernels a
 * minibatch, forward and back, on tensors of [B, K] or [B, K, actions]: a
 * CartPole minibatch's 60 steps, where each kernel's bookkeeping costs more
 * than its arithmetic. Here they are loops over the heap's values in f32 (a
 * Float32Array store rounds as an f32 operation does; `f` rounds what is not
 * stored), with the exponentials and logarithms left to tfjs's kernels (the
 * platform's own `Math.exp` does not round as they do), and the gradient is
 * the one tfjs's ops give, operation for operation: every bit is the ops'
 * (`tests/categorical_ppo_loss_test.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { MinibatchTargets, PolicyLossCoefficients } from "./ppo_loss.ts";

const f = Math.fround;

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** What {@linkcode categoricalPpoLossOnWasm} returns. */
export interface CategoricalPpoLoss {
  /** The loss, on the gradient tape as one node over the logits. */
  loss: tf.Scalar;
  /** Masked mean entropy, approximate KL, clip fraction and max |ratio - 1| (as `ratioMetrics`). */
  metrics: [number, number, number, number];
}

/**
 * The PPO loss of `logits` ([B, K, n]) at the taken `actions` ([B, K, 1]
 * indices), as `policyLoss(logProb(dist, actions), entropy(dist), targets,
 * c)` (no KL term: `targets.refLogProb` must be absent), and the
 * diagnostics `ratioMetrics` computes over `realMask`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { categoricalPpoLossOnWasm } from "./categorical_ppo_loss.ts";
 *
 * await initBackend("cpu");
 * const same = tf.tensor2d([[Math.log(0.5), Math.log(0.5)]]);
 * const { loss, metrics } = categoricalPpoLossOnWasm(
 *   tf.backend() as BackendWasm,
 *   tf.zeros([1, 2, 2]),
 *   tf.tensor3d([[[0], [1]]]),
 *   { advantages: tf.tensor2d([[1, -1]]), oldLogProb: same, mask: tf.ones([1, 2]), count: tf.scalar(2) },
 *   tf.ones([1, 2]),
 *   { clipEpsilon: 0.2, entropyCoef: 0, klCoef: 0 },
 * );
 * assert.strictEqual(Math.abs(loss.dataSync()[0]), 0); // ratio 1, advantages summing to 0
 * assert.strictEqual(metrics[3], 0); // the rollout's log-probabilities again
 * ```
 */
export function categoricalPpoLossOnWasm(
  backend: BackendWasm,
  logits: tf.Tensor,
  actions: tf.Tensor,
  t: MinibatchTargets,
  realMask: tf.Tensor,
  c: PolicyLossCoefficients,
): CategoricalPpoLoss {
  if (t.refLogProb) throw new Error("categoricalPpoLossOnWasm has no KL term");
  const n = logits.shape[logits.shape.length - 1]!;
  const rows = logits.size / n;
  const view = (x: tf.Tensor) => backend.typedArrayFromHeap(x);
  const [action, adv, old, mask, live] = [actions, t.advantages, t.oldLogProb, t.mask, realMask]
    .map(view);
  const count = view(t.count)[0];
  const lo = f(1 - c.clipEpsilon), hi = f(1 + c.clipEpsilon), eps = f(c.clipEpsilon);
  const entropyCoef = f(c.entropyCoef);
  /** An elementwise tfjs op on host values (its kernel's rounding, not the platform's). */
  const viaTfjs = (op: (x: tf.Tensor) => tf.Tensor, x: Float32Array): Float32Array => {
    const input = tf.tensor1d(x), output = op(input);
    const values = (view(output) as Float32Array).slice();
    tf.dispose([input, output]);
    return values;
  };
  /** x[0] + x[1] + ..., from 0 in f32: the order of tfjs's Sum on wasm. */
  const sum = (x: ArrayLike<number>, from = 0, to = x.length) => {
    let s = 0;
    for (let i = from; i < to; i++) s = f(s + x[i]);
    return s;
  };

  // ---- forward: the log-softmax as tfjs's (max, shift, exp, sum, log), ...
  const z = view(logits);
  const shifted = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let max = z[r * n];
    for (let a = 1; a < n; a++) if (z[r * n + a] > max) max = z[r * n + a];
    for (let a = 0; a < n; a++) shifted[r * n + a] = z[r * n + a] - max;
  }
  const expShifted = viaTfjs(tf.exp, shifted);
  const sums = new Float32Array(rows);
  for (let r = 0; r < rows; r++) sums[r] = sum(expShifted, r * n, r * n + n);
  const logSums = viaTfjs(tf.log, sums);
  const logp = new Float32Array(rows * n);
  for (let i = 0; i < rows * n; i++) logp[i] = shifted[i] - logSums[Math.floor(i / n)];
  // ... the taken action's log-probability (a one-hot product summed), and the ratio's exponent
  const hot = (r: number, a: number) => Math.trunc(action[r]) === a ? 1 : 0;
  const logRatio = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let lp = 0;
    for (let a = 0; a < n; a++) lp = f(lp + f(logp[r * n + a] * hot(r, a)));
    logRatio[r] = lp - old[r];
  }
  // Probabilities and ratios in one call: exp is elementwise.
  const exponents = new Float32Array(rows * n + rows);
  exponents.set(logp);
  exponents.set(logRatio, rows * n);
  const both = viaTfjs(tf.exp, exponents);
  const probs = both.subarray(0, rows * n), ratio = both.subarray(rows * n);
  // ... the entropies, the clipped surrogate and the masked means.
  const entropy = new Float32Array(rows);
  const s1 = new Float32Array(rows), s2 = new Float32Array(rows);
  let surrogateSum = 0, entropySum = 0;
  for (let r = 0; r < rows; r++) {
    let plogp = 0;
    for (let a = 0; a < n; a++) plogp = f(plogp + f(probs[r * n + a] * logp[r * n + a]));
    entropy[r] = -plogp;
    s1[r] = ratio[r] * adv[r];
    s2[r] = Math.min(Math.max(ratio[r], lo), hi) * adv[r];
    surrogateSum = f(surrogateSum + f(Math.min(s1[r], s2[r]) * mask[r]));
    entropySum = f(entropySum + f(entropy[r] * mask[r]));
  }
  const meanEntropy = f(entropySum / count);
  const loss = f(-f(surrogateSum / count) - f(meanEntropy * entropyCoef));

  // ---- the diagnostics, as ratioMetrics.
  const logRatios = viaTfjs(tf.log, Float32Array.from(ratio));
  let kl = 0, clipped = 0, maxError = 0;
  for (let r = 0; r < rows; r++) {
    const off = f(ratio[r] - 1);
    kl = f(kl + f(f(off - logRatios[r]) * live[r]));
    clipped = f(clipped + f((Math.abs(off) > eps ? 1 : 0) * live[r]));
    const error = f(Math.abs(off) * live[r]);
    if (r === 0 || error > maxError) maxError = error;
  }
  const metrics: CategoricalPpoLoss["metrics"] = [
    meanEntropy,
    f(kl / count),
    f(clipped / count),
    maxError,
  ];

  /**
   * The logits' gradient from the loss's `g`: tfjs's gradients of the ops
   * above in the order they chain, ending in two log-softmax gradients (the
   * log-probability's and the entropy's) added.
   */
  const gradient = (g: number): Float32Array => {
    const dMeanEntropy = f(-g * entropyCoef);
    const dEntropySum = f(dMeanEntropy / count);
    const dSurrogateSum = f(-g / count);
    const dz = new Float32Array(rows * n);
    const dLogp = new Float32Array(n), dLogp2 = new Float32Array(n);
    for (let r = 0; r < rows; r++) {
      // The surrogate: min's gradient goes to the smaller side (s1 on ties), clip's inside its range.
      const dSurrogate = f(dSurrogateSum * mask[r]);
      const dS1 = f(dSurrogate * (s1[r] <= s2[r] ? 1 : 0));
      const dS2 = f(dSurrogate * (s1[r] > s2[r] ? 1 : 0));
      const inRange = ratio[r] >= lo && ratio[r] <= hi;
      const dRatio = f((inRange ? f(dS2 * adv[r]) : 0) + f(dS1 * adv[r]));
      const dLogProb = f(dRatio * ratio[r]);
      // The entropy, -sum(p logp) with p = exp(logp): logp's two uses added.
      const dPlogp = -f(dEntropySum * mask[r]);
      for (let a = 0; a < n; a++) {
        const i = r * n + a;
        dLogp[a] = f(dLogProb * hot(r, a));
        const dp = f(dPlogp * logp[i]);
        dLogp2[a] = f(f(dPlogp * probs[i]) + f(dp * probs[i]));
      }
      // Log-softmax's gradient: dy - sum(dy) softmax.
      const sum1 = sum(dLogp), sum2 = sum(dLogp2);
      for (let a = 0; a < n; a++) {
        const i = r * n + a;
        dz[i] = f(dLogp[a] - f(sum1 * probs[i])) + f(dLogp2[a] - f(sum2 * probs[i]));
      }
    }
    return dz;
  };

  const node = tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((_logits: tf.Tensor): any => ({
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor) => tf.tensor(gradient(view(dy)[0]), logits.shape),
    })) as unknown as CustomGradFn,
  ) as unknown as (x: tf.Tensor) => tf.Scalar;
  return { loss: tf.engine().isTapeOn() ? node(logits) : tf.scalar(loss), metrics };
}

/**
 * Many tensors combined into one by an op with a bounded number of inputs.
 * WebGPU binds every input of an op as a storage buffer, and a device may
 * allow as few as 8 per shader (one is the output; lavapipe allows 32), so
 * long sums and concatenations go in groups.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Inputs per op: a device may bind as few as 8 storage buffers per shader, one of them the output. */
export const MAX_OP_INPUTS = 7;

/**
 * Combines `xs` with `combine`, at most {@linkcode MAX_OP_INPUTS} at a time,
 * level by level, until one is left (order kept): tensors, or the numbers of
 * a loop that repeats these ops' order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { combineInGroups } from "./grouped.ts";
 *
 * await initBackend("cpu");
 * const xs = Array.from({ length: 20 }, (_, k) => tf.scalar(k));
 * assert.strictEqual(combineInGroups(xs, (g) => tf.addN(g)).dataSync()[0], 190);
 * ```
 */
export function combineInGroups<T = tf.Tensor>(xs: T[], combine: (group: T[]) => T): T {
  while (xs.length > 1) {
    const next: T[] = [];
    for (let k = 0; k < xs.length; k += MAX_OP_INPUTS) {
      const group = xs.slice(k, k + MAX_OP_INPUTS);
      next.push(group.length === 1 ? group[0] : combine(group));
    }
    xs = next;
  }
  return xs[0];
}

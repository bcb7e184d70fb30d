/**
 * Reading many small tensors with one device readback. In GPU mode every
 * `data()` maps a buffer: the host waits for the queue to drain (at least
 * ~11 ms in Deno) before it can refill it. Training loops therefore keep
 * their per-step scalars on the device and read them all once, at the end of
 * an iteration or epoch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Inputs per concat: a device may bind as few as 8 storage buffers per shader (one is the output). */
const CONCAT_MAX = 7;

/**
 * The values of `tensors` (float32), each as its own array, read with one
 * readback (none on wasm); disposes `tensors`.
 */
export async function readAll(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length === 0) return [];
  const joined = tf.tidy(() => {
    let parts = tensors.map((t) => t.reshape([-1]));
    while (parts.length > 1) {
      const next: tf.Tensor[] = [];
      for (let k = 0; k < parts.length; k += CONCAT_MAX) {
        const group = parts.slice(k, k + CONCAT_MAX);
        next.push(group.length === 1 ? group[0] : tf.concat(group));
      }
      parts = next;
    }
    return parts[0];
  });
  const sizes = tensors.map((t) => t.size);
  tf.dispose(tensors);
  const values = (await joined.data()) as Float32Array;
  joined.dispose();
  const out: Float32Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(values.subarray(at, at + n));
    at += n;
  }
  return out;
}

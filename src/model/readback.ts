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
import { combineInGroups } from "./grouped.ts";

/**
 * The values of `tensors` (float32), each as its own array, read with one
 * readback (none on wasm); disposes `tensors`.
 */
export async function readAll(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length === 0) return [];
  const joined = tf.tidy(() =>
    combineInGroups(tensors.map((t) => t.reshape([-1])), (group) => tf.concat(group))
  );
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

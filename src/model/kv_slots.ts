/**
 * Where a rollout step's new tokens go in its env's KV cache chunk, and what
 * each of them may attend to ({@linkcode DecisionTransformer.act}).
 *
 * Each env appends its step's tokens at slots of its own (`pos`, [N, R]
 * int32; a negative slot writes nothing). As tensor ops (WebGPU's path, and
 * the twin `tests/kv_slots_test.ts` holds the wasm path to) that is a one-hot
 * matMul per cache tensor, and the mask a broadcast comparison: on wasm a
 * batched matMul with a batch axis takes tfjs's naive loop, and a broadcast
 * `where` tiles its scalars, so the two were ~35% of a CartPole `act` (~550
 * of ~1,570 us). On wasm they are plain copies over tfjs's heap instead, with
 * the same values: a one-hot product adds exact zeros and multiplies by
 * exactly one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOutput, heapViews } from "./wasm_heap.ts";
import { boolToFloat, MASKED, matMul, oneHot } from "./layers.ts";

/** Writes a step's tokens ([N, R, D]) into a cache tensor ([N, S, D]), giving the new cache. */
export type SlotWriter = (cache: tf.Tensor3D, tokens: tf.Tensor) => tf.Tensor3D;

/**
 * The slots of one step: `mask` ([N, 1, R, S], additive: {@linkcode MASKED}
 * on the slots after each token's own, 0 elsewhere) and `write`, which puts
 * token r of env n at slot `pos[n, r]` of a cache of `s` slots. Call inside a
 * tidy.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { stepSlots } from "./kv_slots.ts";
 *
 * await initBackend("cpu");
 * const { write } = stepSlots(tf.tensor2d([[1]], [1, 1], "int32"), 3);
 * const cache = write(tf.zeros([1, 3, 2]), tf.ones([1, 1, 2]));
 * assert.deepStrictEqual(Array.from(cache.dataSync()), [0, 0, 1, 1, 0, 0]);
 * ```
 */
export function stepSlots(pos: tf.Tensor, s: number): { mask: tf.Tensor; write: SlotWriter } {
  const backend = tf.backend();
  if (backend instanceof BackendWasm) return slotsOnWasm(backend, pos, s);
  return slotsWithOps(pos, s);
}

/** {@linkcode stepSlots} as tfjs ops (WebGPU's path; the wasm path's twin). */
export function slotsWithOps(pos: tf.Tensor, s: number): { mask: tf.Tensor; write: SlotWriter } {
  // write[n, r, slot] = 1 where token r goes.
  const write = oneHot(pos, s);
  const keep = tf.scalar(1).sub(write.sum(1)).expandDims(-1); // [N, S, 1]
  const slots = tf.range(0, s, 1, "int32").reshape([1, 1, s]);
  const mask = boolToFloat(slots.greater(pos.expandDims(-1))).mul(MASKED).expandDims(1);
  const writeT = write.transpose([0, 2, 1]); // [N, S, R]
  return {
    mask,
    write: (cache, tokens) => cache.mul(keep).add(matMul(writeT, tokens)) as tf.Tensor3D,
  };
}

function slotsOnWasm(
  backend: BackendWasm,
  pos: tf.Tensor,
  s: number,
): { mask: tf.Tensor; write: SlotWriter } {
  const [n, r] = pos.shape as [number, number];
  const slot = Int32Array.from(backend.typedArrayFromHeap(pos) as Int32Array);
  const maskInfo = heapOutput(backend, [n, 1, r, s]);
  const [maskData] = heapViews(backend, [maskInfo]);
  for (let row = 0; row < n * r; row++) {
    // MASKED times 0 or 1, as the ops path computes it (so a 0 is -0 there too).
    for (let j = 0; j < s; j++) maskData[row * s + j] = MASKED * (j > slot[row] ? 1 : 0);
  }
  const write: SlotWriter = (cache, tokens) => {
    const d = cache.shape[2];
    const out = heapOutput(backend, cache.shape);
    const [from, to, token] = heapViews(backend, [cache, out, tokens]);
    to.set(from);
    for (let row = 0; row < n * r; row++) {
      if (slot[row] < 0) continue;
      const env = Math.floor(row / r);
      to.set(token.subarray(row * d, (row + 1) * d), (env * s + slot[row]) * d);
    }
    return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor3D;
  };
  return { mask: tf.engine().makeTensorFromTensorInfo(maskInfo), write };
}

/**
 * Scaled dot-product attention as one kernel each way for CPU mode. tfjs wasm
 * multiplies batched matrices (the attention's `Q K^T` and `P V`, one small
 * matrix per sequence) with a scalar loop at ~0.5 G multiply-adds/s, and the
 * op-by-op version is ~13 kernels forward and ~25 backward. Here the products
 * are `wasm_batched_matmul.ts`'s SIMD loops over the heap (they skip the zero
 * weights of masked keys) and the softmax is a loop over the scores. Its
 * reference is `attention`'s op-by-op path in `layers.ts`, which WebGPU runs
 * (compared in `tests/layers_fused_test.ts`).
 *
 * The products sum in f32 four lanes at a time, the softmax's sums in
 * double, so results can differ from the op-by-op version in the last bits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOutput, heapViews } from "./wasm_heap.ts";
import { type BatchedMatMul, batchedMatMul } from "./wasm_batched_matmul.ts";

/** The scratch argument of a call that does not need it. */
const NONE = new Float32Array(0);

/** Scores at or below this are masked keys (`MASKED` is -1e9): their weight is exactly 0. */
const MASKED_BELOW = -1e8;

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** Sizes of one call: BH sequences of Tq queries and Tk keys, width dh; mask strides by sequence. */
export interface AttentionDims {
  b: number;
  h: number;
  tq: number;
  tk: number;
  dh: number;
  /** Mask offset of sequence (b, h) is `(b % maskB) * maskH + (h % maskH)` times tq * tk. */
  maskB: number;
  maskH: number;
}

/** q [B, H, Tq, dh] or, one head, [B, Tq, dh]; the mask [Tq, Tk], [B or 1, Tq, Tk] or 4-D. */
function dimsOf(q: tf.Tensor, k: tf.Tensor, mask: tf.Tensor): AttentionDims {
  const [b, h, tq, dh] = q.rank === 3
    ? [q.shape[0], 1, q.shape[1]!, q.shape[2]!]
    : q.shape as [number, number, number, number];
  const tk = k.shape[k.rank - 2]!;
  const [maskB, maskH] = mask.rank === 4 ? mask.shape : [mask.rank === 3 ? mask.shape[0] : 1, 1];
  return { b, h, tq, tk, dh, maskB, maskH: maskH! };
}

function maskOffset(d: AttentionDims, s: number): number {
  const bi = Math.floor(s / d.h), hi = s % d.h;
  return ((bi % d.maskB) * d.maskH + (hi % d.maskH)) * d.tq * d.tk;
}

/**
 * Forward: `P = softmax(Q K^T / sqrt(dh) + mask)`, `Y = (P * keep) V`.
 * Writes Y and P (kept for the gradient); `W` is scratch for `P * keep` when
 * dropping (else empty). Without dropout `KEEP` is one element.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { batchedMatMul } from "./wasm_batched_matmul.ts";
 * import { attentionForward } from "./wasm_attention.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const d = { b: 1, h: 1, tq: 1, tk: 2, dh: 4, maskB: 1, maskH: 1 };
 * const inputs = [tf.ones([1, 4]), tf.ones([2, 4]), tf.tensor2d([[1, 1, 1, 1], [3, 3, 3, 3]])];
 * const [mask, keep] = [tf.zeros([1, 2]), tf.ones([1])];
 * const [y, p] = [heapOutput(backend, [1, 4]), heapOutput(backend, [1, 2])];
 * const [Q, K, V, M, KEEP, Y, P] = heapViews(backend, [...inputs, mask, keep, y, p]);
 * attentionForward(batchedMatMul(backend), d, [Q, K, V, M, KEEP, Y, P, new Float32Array(0)]);
 * assert.deepStrictEqual([...P], [0.5, 0.5]); // equal scores
 * assert.deepStrictEqual([...Y], [2, 2, 2, 2]);
 * ```
 */
export function attentionForward(
  mm: BatchedMatMul,
  d: AttentionDims,
  [Q, K, V, M, KEEP, Y, P, W]: Float32Array[],
): void {
  const { tq, tk, dh } = d, bh = d.b * d.h;
  mm.nt(P, Q, K, bh, tq, tk, dh);
  softmaxRows(d, P, M);
  if (KEEP.length > 1) {
    for (let x = 0; x < P.length; x++) W[x] = P[x] * KEEP[x];
    mm.nn(Y, W, V, bh, tq, tk, dh);
  } else mm.nn(Y, P, V, bh, tq, tk, dh);
}

/** Dot products in `P` become `softmax(f32(dot * scale) + mask)` row by row, masked keys 0. */
function softmaxRows(d: AttentionDims, P: Float32Array, M: Float32Array): void {
  const f = Math.fround;
  const { tq, tk } = d;
  const scale = f(1 / Math.sqrt(d.dh));
  for (let s = 0; s < d.b * d.h; s++) {
    const mo = maskOffset(d, s);
    for (let i = 0; i < tq; i++) {
      const pi = (s * tq + i) * tk, mi = mo + i * tk;
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        const m = M[mi + j];
        const score = m <= MASKED_BELOW ? -Infinity : f(f(P[pi + j] * scale) + m);
        P[pi + j] = score;
        if (score > max) max = score;
      }
      // Every key masked: the op-by-op softmax of equal scores is uniform.
      const allMasked = max === -Infinity;
      let sum = 0;
      for (let j = 0; j < tk; j++) {
        const e = allMasked ? 1 : P[pi + j] === -Infinity ? 0 : f(Math.exp(f(P[pi + j] - max)));
        P[pi + j] = e;
        sum += e;
      }
      const sum32 = f(sum);
      for (let j = 0; j < tk; j++) P[pi + j] = f(P[pi + j] / sum32);
    }
  }
}

/**
 * Gradient of {@linkcode attentionForward} from dY: writes dQ, dK, dV. `DS`
 * is scratch for the scores' gradient, `W` for `P * keep` when dropping
 * (else empty).
 */
export function attentionBackward(
  mm: BatchedMatMul,
  d: AttentionDims,
  [Q, K, V, KEEP, P, DY, DQ, DK, DV, DS, W]: Float32Array[],
): void {
  const { tq, tk, dh } = d, bh = d.b * d.h;
  const scale = Math.fround(1 / Math.sqrt(dh));
  const dropping = KEEP.length > 1;
  // dP'_ij = dY_i . V_j; dP = dP' keep; dS_ij = P_ij (dP_ij - sum_j' dP_ij' P_ij') / sqrt(dh).
  mm.nt(DS, DY, V, bh, tq, tk, dh);
  for (let row = 0; row < bh * tq; row++) {
    const o = row * tk;
    let rowDot = 0;
    for (let j = 0; j < tk; j++) {
      if (dropping) DS[o + j] *= KEEP[o + j];
      rowDot += DS[o + j] * P[o + j];
    }
    for (let j = 0; j < tk; j++) DS[o + j] = P[o + j] * (DS[o + j] - rowDot) * scale;
  }
  if (dropping) { for (let x = 0; x < P.length; x++) W[x] = P[x] * KEEP[x]; }
  mm.tn(DV, dropping ? W : P, DY, bh, tq, tk, dh);
  mm.nn(DQ, DS, K, bh, tq, tk, dh);
  mm.tn(DK, DS, Q, bh, tq, tk, dh);
}

/**
 * The differentiable kernel for one call's `mask` and `keep`: constants to
 * it (no gradient), so not its inputs, which would each cost a ZerosLike.
 */
const fused = (mask: tf.Tensor, keep: tf.Tensor) =>
  tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, save: any): any => {
      const [y, p] = forwardOnHeap(q, k, v, mask, keep);
      const [yt, pt] = [y, p].map((t) => tf.engine().makeTensorFromTensorInfo(t));
      // keep is saved too: the gradient needs it after the forward's scope has freed it.
      save([q, k, v, keep, pt]);
      return {
        value: yt,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sq, sk, sv, skeep, sp] = saved;
          const backend = tf.backend() as BackendWasm;
          const d = dimsOf(sq, sk, mask);
          const pShape = sp.shape, dropping = skeep.size > 1;
          const outs = [sq, sk, sv].map((t) => heapOutput(backend, t.shape));
          const scratch = [pShape, ...(dropping ? [pShape] : [])].map((s) =>
            heapOutput(backend, s)
          );
          const views = heapViews(backend, [sq, sk, sv, skeep, sp, dy, ...outs, ...scratch]);
          // Without dropout there is no scratch for `P * keep`.
          attentionBackward(batchedMatMul(backend), d, dropping ? views : [...views, NONE]);
          scratch.forEach((t) => backend.disposeData(t.dataId));
          return outs.map((t) => tf.engine().makeTensorFromTensorInfo(t));
        },
      };
    }) as unknown as CustomGradFn,
  ) as unknown as (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;

/** The forward on the heap: Y and the attention weights P (which the gradient needs). */
function forwardOnHeap(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor,
  keep: tf.Tensor,
): [tf.TensorInfo, tf.TensorInfo] {
  const backend = tf.backend() as BackendWasm;
  const d = dimsOf(q, k, mask);
  const pShape = [d.b, d.h, d.tq, d.tk], dropping = keep.size > 1;
  const y = heapOutput(backend, q.shape);
  const p = heapOutput(backend, pShape);
  const w = dropping ? [heapOutput(backend, pShape)] : [];
  const [Q, K, V, M, KEEP, Y, P, W] = heapViews(backend, [q, k, v, mask, keep, y, p, ...w]);
  attentionForward(batchedMatMul(backend), d, [Q, K, V, M, KEEP, Y, P, W ?? NONE]);
  w.forEach((t) => backend.disposeData(t.dataId));
  return [y, p];
}

/**
 * `softmax(q k^T / sqrt(dh) + mask) * keep @ v` on the wasm backend: q [B, H,
 * Tq, dh], k and v [B, H, Tk, dh], or with one head [B, Tq, dh] and [B, Tk,
 * dh] (the same data: no reshape needed); `mask` additive, [Tq, Tk], [B or 1,
 * Tq, Tk] or [B or 1, H or 1, Tq, Tk]; `keep` the dropout multiplier of the
 * weights, [B, H, Tq, Tk], or a scalar 1 (no dropout). Differentiable in q, k
 * and v; `mask` and `keep` are held as they are.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { wasmAttention } from "./wasm_attention.ts";
 *
 * await initBackend("cpu");
 * const q = tf.ones([1, 1, 2, 4]), kv = tf.ones([1, 1, 2, 4]);
 * const y = wasmAttention(q, kv, kv, tf.zeros([2, 2]), tf.scalar(1));
 * assert.deepStrictEqual(y.shape, [1, 1, 2, 4]);
 * ```
 */
export function wasmAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor,
  keep: tf.Tensor,
): tf.Tensor {
  if (tf.engine().isTapeOn()) return fused(mask, keep)(q, k, v);
  // Off the tape (a rollout step) the kernel alone: a custom gradient's scope costs more than it.
  const [y, p] = forwardOnHeap(q, k, v, mask, keep);
  (tf.backend() as BackendWasm).disposeData(p.dataId);
  return tf.engine().makeTensorFromTensorInfo(y);
}

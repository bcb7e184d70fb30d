/**
 * Scaled dot-product attention as one loop over the wasm heap, forward and
 * gradient, for CPU mode. tfjs wasm multiplies batched matrices (the
 * attention's `Q K^T` and `P V`, one small matrix per sequence) with a scalar
 * loop at ~0.5 G multiply-adds/s, and the op-by-op version is ~13 kernels forward and
 * ~25 backward; this is one kernel each way, and it skips the masked half of a
 * causal score matrix. Its reference is `attention`'s op-by-op path in
 * `layers.ts`, which WebGPU runs (compared in `tests/layers_fused_test.ts`).
 *
 * Each f32 result is `Math.fround` of a double computation, so it can differ
 * from the op-by-op version in the last bits (sums are accumulated in
 * double, not f32).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOutput, heapViews } from "./wasm_heap.ts";

/** Scores at or below this are masked keys (`MASKED` is -1e9): their weight is exactly 0. */
const MASKED_BELOW = -1e8;

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** Sizes of one call: BH sequences of Tq queries and Tk keys, width dh; mask strides by sequence. */
interface Dims {
  b: number;
  h: number;
  tq: number;
  tk: number;
  dh: number;
  /** Mask offset of sequence (b, h) is `(b % maskB) * maskH + (h % maskH)` times tq * tk. */
  maskB: number;
  maskH: number;
}

function dimsOf(q: tf.Tensor, k: tf.Tensor, mask: tf.Tensor): Dims {
  const [b, h, tq, dh] = q.shape;
  const tk = k.shape[2]!;
  const [maskB, maskH] = mask.shape;
  return { b, h, tq, tk, dh, maskB, maskH };
}

function maskOffset(d: Dims, s: number): number {
  const bi = Math.floor(s / d.h), hi = s % d.h;
  return ((bi % d.maskB) * d.maskH + (hi % d.maskH)) * d.tq * d.tk;
}

/**
 * `x[xo..xo+n] . y[yo..yo+n]` in double, with four partial sums: one running
 * sum waits out the latency of each add (forward at 6 x 30 x 30 x 64: 1.07 -> 0.92 ms).
 */
function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, c = 0;
  for (; c + 3 < n; c += 4) {
    s0 += x[xo + c] * y[yo + c];
    s1 += x[xo + c + 1] * y[yo + c + 1];
    s2 += x[xo + c + 2] * y[yo + c + 2];
    s3 += x[xo + c + 3] * y[yo + c + 3];
  }
  for (; c < n; c++) s0 += x[xo + c] * y[yo + c];
  return (s0 + s1) + (s2 + s3);
}

/**
 * Forward: `P = softmax(Q K^T / sqrt(dh) + mask)`, `Y = (P * keep) V`.
 * Writes Y and P (kept for the gradient).
 */
function forwardLoop(
  d: Dims,
  [Q, K, V, M, KEEP, Y, P]: Float32Array[],
): void {
  const f = Math.fround;
  const { tq, tk, dh } = d;
  const scale = f(1 / Math.sqrt(dh));
  const dropping = KEEP.length > 1;
  const row = new Float64Array(tk);
  const acc = new Float64Array(dh);
  for (let s = 0; s < d.b * d.h; s++) {
    const qo = s * tq * dh, ko = s * tk * dh, po = s * tq * tk, mo = maskOffset(d, s);
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      const qi = qo + i * dh;
      for (let j = 0; j < tk; j++) {
        const m = M[mo + i * tk + j];
        let score: number;
        if (m <= MASKED_BELOW) score = -Infinity;
        else {
          const kj = ko + j * dh;
          score = f(f(f(dot(Q, qi, K, kj, dh)) * scale) + m);
        }
        row[j] = score;
        if (score > max) max = score;
      }
      if (max === -Infinity) {
        // Every key masked: the op-by-op softmax of equal scores is uniform.
        row.fill(0);
        max = 0;
      }
      let sum = 0;
      for (let j = 0; j < tk; j++) {
        const e = row[j] === -Infinity ? 0 : f(Math.exp(f(row[j] - max)));
        row[j] = e;
        sum += e;
      }
      const sum32 = f(sum);
      acc.fill(0);
      for (let j = 0; j < tk; j++) {
        const p = f(row[j] / sum32);
        P[po + i * tk + j] = p;
        if (p === 0) continue;
        const w = dropping ? f(p * KEEP[po + i * tk + j]) : p;
        if (w === 0) continue;
        const vj = ko + j * dh;
        for (let c = 0; c < dh; c++) acc[c] += w * V[vj + c];
      }
      const yi = qo + i * dh;
      for (let c = 0; c < dh; c++) Y[yi + c] = acc[c];
    }
  }
}

/** Gradient of {@linkcode forwardLoop} from dY: writes dQ, dK, dV. */
function backwardLoop(
  d: Dims,
  [Q, K, V, KEEP, P, DY, DQ, DK, DV]: Float32Array[],
): void {
  const { tq, tk, dh } = d;
  const scale = Math.fround(1 / Math.sqrt(dh));
  const dropping = KEEP.length > 1;
  const dP = new Float64Array(tk);
  const dq = new Float64Array(dh);
  const dk = new Float64Array(tk * dh);
  const dv = new Float64Array(tk * dh);
  for (let s = 0; s < d.b * d.h; s++) {
    const qo = s * tq * dh, ko = s * tk * dh, po = s * tq * tk;
    dk.fill(0);
    dv.fill(0);
    for (let i = 0; i < tq; i++) {
      const qi = qo + i * dh, pi = po + i * tk;
      // dP'_ij = dY_i . V_j, dV_j += P'_ij dY_i, dP_ij = dP'_ij keep_ij.
      let rowDot = 0;
      for (let j = 0; j < tk; j++) {
        const p = P[pi + j];
        if (p === 0) {
          dP[j] = 0;
          continue;
        }
        const keep = dropping ? KEEP[pi + j] : 1;
        const vj = ko + j * dh, dvj = j * dh;
        const w = p * keep;
        for (let c = 0; c < dh; c++) dv[dvj + c] += w * DY[qi + c];
        dP[j] = dot(DY, qi, V, vj, dh) * keep;
        rowDot += dP[j] * p;
      }
      // dS_ij = P_ij (dP_ij - sum_j' dP_ij' P_ij'), scaled back through Q K^T / sqrt(dh).
      dq.fill(0);
      for (let j = 0; j < tk; j++) {
        const p = P[pi + j];
        if (p === 0) continue;
        const ds = p * (dP[j] - rowDot) * scale;
        const kj = ko + j * dh, dkj = j * dh;
        for (let c = 0; c < dh; c++) {
          dq[c] += ds * K[kj + c];
          dk[dkj + c] += ds * Q[qi + c];
        }
      }
      for (let c = 0; c < dh; c++) DQ[qi + c] = dq[c];
    }
    for (let x = 0; x < tk * dh; x++) {
      DK[ko + x] = dk[x];
      DV[ko + x] = dv[x];
    }
  }
}

const fused: (
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor,
  keep: tf.Tensor,
) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, keep: tf.Tensor, save: any): any => {
    const backend = tf.backend() as BackendWasm;
    const d = dimsOf(q, k, mask);
    const y = heapOutput(backend, q.shape);
    const p = heapOutput(backend, [d.b, d.h, d.tq, d.tk]);
    forwardLoop(d, heapViews(backend, [q, k, v, mask, keep, y, p]));
    const [yt, pt] = [y, p].map((t) => tf.engine().makeTensorFromTensorInfo(t));
    save([q, k, v, keep, pt]);
    return {
      value: yt,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, skeep, sp] = saved;
        const outs = [sq, sk, sv].map((t) => heapOutput(backend, t.shape));
        backwardLoop(d, heapViews(backend, [sq, sk, sv, skeep, sp, dy, ...outs]));
        const [dq, dk, dv] = outs.map((t) => tf.engine().makeTensorFromTensorInfo(t));
        return [dq, dk, dv, tf.zerosLike(mask), tf.zerosLike(keep)];
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor,
  keep: tf.Tensor,
) => tf.Tensor;

/**
 * `softmax(q k^T / sqrt(dh) + mask) * keep @ v` on the wasm backend: q [B, H,
 * Tq, dh], k and v [B, H, Tk, dh]; `mask` additive, [Tq, Tk], [B or 1, Tq,
 * Tk] or [B or 1, H or 1, Tq, Tk]; `keep` the dropout multiplier of the
 * weights, [B, H, Tq, Tk], or a scalar 1 (no dropout). Differentiable in q, k
 * and v.
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
  const [tq, tk] = mask.shape.slice(-2);
  const mask4 = mask.rank === 4
    ? mask
    : mask.rank === 3
    ? mask.expandDims(1)
    : mask.reshape([1, 1, tq, tk]);
  return fused(q, k, v, mask4, keep);
}

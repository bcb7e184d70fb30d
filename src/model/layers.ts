/**
 * The few layers the models are built from, as plain functions of tensors
 * and weights (nanoGPT style: no layer objects, the forward pass is readable
 * top to bottom).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { wasmAttention } from "./wasm_attention.ts";
import { wasmLayerNorm } from "./wasm_layer_norm.ts";
import { gemmOnHeap } from "./wasm_gemm.ts";
import { columnSumOnHeap } from "./wasm_column_sum.ts";
import { geluOnHeap } from "./wasm_gelu.ts";
import { elementwiseOnHeap } from "./wasm_elementwise.ts";
import { copyFloatRows } from "./wasm_copy_kernels.ts";
import { heapOutput, heapViews } from "./wasm_heap.ts";

/** `tf.tidy` for results that hold tensors in plain interfaces (tidy keeps every tensor it returns). */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}

/**
 * A bool tensor as 0/1 floats. Not `cast`: tfjs WebGPU casts bool and int32
 * to float32 by relabelling the buffer without converting it, which some
 * kernels then read as float bits.
 */
export function boolToFloat(b: tf.Tensor): tf.Tensor {
  return tf.where(b, tf.scalar(1) as tf.Tensor, tf.scalar(0) as tf.Tensor);
}

/**
 * One-hot float rows of int32 indices ([...] -> [..., n]; out-of-range
 * indices give zero rows). On WebGPU not `tf.oneHot`, whose int32 result
 * cannot be cast (see {@linkcode boolToFloat}); on wasm `tf.oneHot` asked for
 * a float32 result writes integer bits, so it is cast from int32.
 */
export function oneHot(index: tf.Tensor, n: number): tf.Tensor {
  // wasm's oneHot is fast and its int32 result casts correctly; a broadcast
  // comparison there costs ~50 ns per element.
  if (tf.getBackend() === "wasm") return tf.oneHot(index, n).cast("float32");
  return boolToFloat(tf.equal(index.expandDims(-1), tf.range(0, n, 1, "int32")));
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** The additive value that hides an attention key (exp underflows to exactly 0). */
export const MASKED = -1e9;

/** Swaps the last two axes (a real copy, see {@linkcode matMul}). */
export function transposeLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return x.transpose(perm);
}

/**
 * `a @ b` of 2-D float32 tensors, or `a^T @ b` with `transposeA` (a then [k,
 * m]), or `a @ b^T` with `transposeB` (b then [n, k], transposed by tfjs),
 * outside a gradient tape (inside a `tf.customGrad`, or in inference). On
 * wasm it is {@linkcode gemmOnHeap}: tfjs's matMul (XNNPACK) builds an
 * operator for each right operand it has not seen, 30-75 us each, and in
 * training every operand is new; the kernel sums in XNNPACK's order, so the
 * bits are tfjs's (`tests/wasm_gemm_test.ts`), and `a^T` needs no transpose.
 * No weight is ever XNNPACK's operand, which is what lets Adam write weights
 * in place (`optim.ts`): XNNPACK's operators keep a packed copy of theirs.
 */
function matMul2d(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (transposeB) b = transposeLast(b);
  const backend = tf.backend();
  if (
    !(backend instanceof BackendWasm) || a.rank !== 2 || b.rank !== 2 ||
    a.dtype !== "float32" || b.dtype !== "float32"
  ) {
    return tf.matMul(transposeA ? transposeLast(a) : a, b);
  }
  const [m, k] = transposeA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const out = heapOutput(backend, [m, b.shape[1]!]);
  gemm(backend, transposeA ? "tn" : "nn", out, a, b, m, k);
  return tf.engine().makeTensorFromTensorInfo(out);
}

/**
 * `out = a b` over the heap (`tn`: a^T b, a read as [k, m]; `bias`: plus the
 * bias), b's columns any number: the kernels take them in fours, so where
 * there are others b's and the bias's are padded with zeros (as XNNPACK pads
 * its packed weights) and the padding's outputs dropped. Each output column
 * is its own sum, so the padding changes no bit. Tensors are read as the
 * matrices the sizes say, whatever their shapes.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { gemm } from "./layers.ts";
 * import { heapOutput } from "./wasm_heap.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const out = heapOutput(backend, [1, 3]);
 * gemm(backend, "nn", out, tf.tensor2d([[1, 2]]), tf.tensor2d([[1, 0, 1], [0, 1, 1]]), 1, 2);
 * assert.deepStrictEqual([...tf.engine().makeTensorFromTensorInfo(out).dataSync()], [1, 2, 3]);
 * ```
 */
export function gemm(
  backend: BackendWasm,
  kind: "nn" | "tn",
  out: tf.TensorInfo,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  m: number,
  k: number,
  bias?: tf.TensorInfo,
): void {
  const n = b.shape[1]!;
  const kernels = gemmOnHeap(backend);
  const product = kind === "tn" ? kernels.tn : bias ? kernels.nnBias : kernels.nn;
  if (n % 4 === 0) {
    const [o, av, bv, biasv] = heapViews(backend, [out, a, b, ...(bias ? [bias] : [])]);
    product(o, av, bv, m, k, n, biasv);
    return;
  }
  const n4 = Math.ceil(n / 4) * 4;
  const padded = [[k, n4], [m, n4], [n4]].map((shape) => heapOutput(backend, shape));
  const [o, av, bv, bp, op, biasp, biasv] = heapViews(backend, [
    out,
    a,
    b,
    ...padded,
    ...(bias ? [bias] : []),
  ]);
  bp.fill(0);
  for (let r = 0; r < k; r++) bp.set(bv.subarray(r * n, r * n + n), r * n4);
  biasp.fill(0);
  if (biasv) biasp.set(biasv);
  product(op, av, bp, m, k, n4, biasp);
  for (let r = 0; r < m; r++) o.set(op.subarray(r * n4, r * n4 + n), r * n);
  padded.forEach((t) => backend.disposeData(t.dataId));
}

const matMulWithGradient: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((a: tf.Tensor, b: tf.Tensor, save: (ts: tf.Tensor[]) => void): any => {
    save([a, b]);
    return {
      value: matMul2d(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved;
        let da = matMul2d(dy, sb, false, true);
        let db = matMul2d(sa, dy, true);
        // Broadcast batch axes (e.g. a shared weight) are summed back.
        if (db.rank > sb.rank) db = db.sum([...Array(db.rank - sb.rank).keys()]);
        if (da.rank > sa.rank) da = da.sum([...Array(da.rank - sa.rank).keys()]);
        return [da, db];
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * `a @ b` over the last two axes, with a gradient that never asks the
 * backend for a transposed matMul: tfjs wasm multiplies with a transposed
 * operand ~8x slower than it copies the transpose and multiplies plainly.
 * Outside a gradient tape (rollouts, evaluation) it has no custom-gradient
 * scope (12% of a rollout step).
 */
export function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.engine().isTapeOn() ? matMulWithGradient(a, b) : matMul2d(a, b);
}

/**
 * Rows `index` of the table `w` ([...] int32 -> [..., D]). Forward is a
 * gather; the gradient is a scatter-add (ScatterNd sums duplicate indices),
 * because tfjs wasm has no gradient for gather and a one-hot matMul costs
 * rows x table size.
 */
export function embeddingLookup(w: tf.Tensor, index: tf.Tensor): tf.Tensor {
  if (tf.engine().isTapeOn()) return embeddingLookupWithGradient(w, index);
  return tf.gather(w, index.reshape([-1])).reshape([...index.shape, w.shape[1]!]);
}

const embeddingLookupWithGradient: (w: tf.Tensor, index: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((w: tf.Tensor, index: tf.Tensor, save: (ts: tf.Tensor[]) => void): any => {
    save([index]);
    const flat = index.reshape([-1]);
    const d = w.shape[1]!;
    return {
      value: tf.gather(w, flat).reshape([...index.shape, d]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const rows = saved[0].reshape([-1, 1]);
        const dw = tf.scatterND(rows, dy.reshape([-1, d]), w.shape);
        return [dw, tf.zerosLike(saved[0])];
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (w: tf.Tensor, index: tf.Tensor) => tf.Tensor;

/**
 * {@linkcode dense} outside a gradient tape. On wasm one kernel, the product
 * with the bias added, writes the output in its shape: a tensor's data is the
 * same in any shape, so no reshapes, and no bias add.
 */
function denseOps(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [k, n] = w.shape as [number, number];
  const outShape = [...x.shape.slice(0, -1), n];
  const backend = tf.backend();
  if (backend instanceof BackendWasm && x.dtype === "float32") {
    const out = heapOutput(backend, outShape);
    gemm(backend, "nn", out, x, w, x.size / k, k, b);
    return tf.engine().makeTensorFromTensorInfo(out);
  }
  return matMul2d(x.reshape([-1, k]), w).add(b).reshape(outShape);
}

/**
 * {@linkcode dense} as one gradient node: on the tape, its two reshapes, the
 * product and the bias add were four nodes, each a kernel and bookkeeping
 * both ways (~10 us a reshape here); inside a custom gradient they run
 * untaped, and on wasm not at all (see {@linkcode denseOps}). The gradients
 * are the ones tfjs's ops give: dy w^T, x^T dy and the sum of dy's rows.
 */
const denseWithGradient: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: (ts: tf.Tensor[]) => void): any => {
    save([x, w]);
    return {
      value: denseOps(x, w, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved;
        const [k, n] = sw.shape as [number, number];
        const backend = tf.backend();
        if (!(backend instanceof BackendWasm) || sx.dtype !== "float32") {
          const dy2 = dy.reshape([-1, n]);
          const dx = matMul2d(dy2, sw, false, true).reshape(sx.shape);
          const dw = matMul2d(sx.reshape([-1, k]), dy2, true);
          return [dx, dw, dy2.sum(0)];
        }
        return denseGradOnHeap(backend, dy, sx, sw, sx.shape)
          .map((t) => tf.engine().makeTensorFromTensorInfo(t));
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * {@linkcode dense}'s gradients on the wasm heap, from `dy` and the layer's
 * input `x` (each read as the matrix its data is: [rows, n] and [rows, k])
 * and weight `w` ([k, n]): dx = dy w^T (shaped `dxShape`), dw = x^T dy and
 * db = dy's column sums, the ops tfjs's gradients run. New heap outputs.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { denseGradOnHeap } from "./layers.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const [dy, x, w] = [tf.tensor2d([[1, 2]]), tf.tensor2d([[3]]), tf.tensor2d([[4, 5]])];
 * const [dx, dw, db] = denseGradOnHeap(backend, dy, x, w, [1, 1])
 *   .map((t) => [...tf.engine().makeTensorFromTensorInfo(t).dataSync()]);
 * assert.deepStrictEqual([dx, dw, db], [[14], [3, 6], [1, 2]]);
 * ```
 */
export function denseGradOnHeap(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  w: tf.Tensor,
  dxShape: number[],
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const [k, n] = w.shape as [number, number];
  const rows = dxShape.reduce((a, c) => a * c, 1) / k;
  // The kernels read dy and x as the matrices [rows, n] and [rows, k]: no reshapes.
  const matrix = (t: tf.TensorInfo, cols: number): tf.TensorInfo => ({
    dataId: t.dataId,
    dtype: t.dtype,
    shape: [rows, cols],
  });
  const [dy2, x2] = [matrix(dy, n), matrix(x, k)];
  const wT = transposeLast(w);
  const outs: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] = [
    heapOutput(backend, dxShape),
    heapOutput(backend, [k, n]),
    heapOutput(backend, [n]),
  ];
  gemm(backend, "nn", outs[0], dy2, wT, rows, n);
  gemm(backend, "tn", outs[1], x2, dy2, k, rows);
  const [db, dyv] = heapViews(backend, [outs[2], dy]);
  columnSumOnHeap(backend)(dyv, db);
  wT.dispose();
  return outs;
}

/** `x @ w + b` over the last axis of a tensor of any rank. */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.engine().isTapeOn() ? denseWithGradient(x, w, b) : denseOps(x, w, b);
}

/** Layer normalization over the last axis (on wasm one fused kernel, {@linkcode wasmLayerNorm}). */
export function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  if (tf.getBackend() === "wasm") return wasmLayerNorm(x, w, b, eps);
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(w).add(b);
}

/**
 * GELU in its sigmoid form `x * sigmoid(1.702 x)` (as in CLIP): within 0.02 of
 * the erf form, and three ops instead of eight on backends without a GELU
 * kernel (neither wasm nor WebGPU tfjs has one).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (tf.engine().isTapeOn()) return geluWithGradient(x);
  const { s, y } = geluParts(x);
  s.dispose();
  return y;
}

/**
 * `s = sigmoid(1.702 x)` and GELU's output `y = x s`: on wasm the two
 * products are loops over the heap ({@linkcode geluOnHeap}'s slope and
 * {@linkcode elementwiseOnHeap}'s mul; tfjs's product by a scalar uploads the
 * scalar and broadcasts it), the sigmoid tfjs's own.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { geluParts } from "./layers.ts";
 *
 * await initBackend("cpu");
 * const { s, y } = geluParts(tf.tensor1d([0]));
 * assert.deepStrictEqual([s.dataSync()[0], y.dataSync()[0]], [0.5, 0]);
 * ```
 */
export function geluParts(x: tf.Tensor): { s: tf.Tensor; y: tf.Tensor } {
  const backend = tf.backend();
  if (!(backend instanceof BackendWasm) || x.dtype !== "float32") {
    const s = tf.sigmoid(x.mul(1.702));
    return { s, y: x.mul(s) };
  }
  const onHeap = (f: (out: tf.TensorInfo) => void) => {
    const out = heapOutput(backend, x.shape);
    f(out);
    return tf.engine().makeTensorFromTensorInfo(out);
  };
  const u = onHeap((out) => {
    const [X, U] = heapViews(backend, [x, out]);
    geluOnHeap(backend).slope(X, U);
  });
  const s = tf.sigmoid(u);
  u.dispose();
  const y = onHeap((out) => {
    const [X, S, Y] = heapViews(backend, [x, s, out]);
    elementwiseOnHeap(backend).mul(X, S, Y);
  });
  return { s, y };
}

/**
 * {@linkcode gelu} as one gradient node instead of three: the ops tfjs's
 * gradients of Multiply, Sigmoid and Multiply run, in their order, so the
 * same bits (the fingerprint tests hold them); on wasm those seven ops are
 * one loop ({@linkcode geluOnHeap}).
 */
const geluWithGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor, save: (ts: tf.Tensor[]) => void): any => {
    const { s, y } = geluParts(x);
    save([x, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [sx, ss]: tf.Tensor[]) => {
        const backend = tf.backend();
        if (backend instanceof BackendWasm) {
          const out = heapOutput(backend, sx.shape);
          const [DY, X, S, DX] = heapViews(backend, [dy, sx, ss, out]);
          geluOnHeap(backend).grad(DY, X, S, DX);
          return tf.engine().makeTensorFromTensorInfo(out);
        }
        // Sigmoid's gradient is dy * (y * (1 - y)); x's two uses are summed.
        const dz = dy.mul(sx).mul(ss.mul(tf.scalar(1).sub(ss)));
        return dy.mul(ss).add(dz.mul(1.702));
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (x: tf.Tensor) => tf.Tensor;

/**
 * Every `every`-th token of x ([B, T, D] -> [B, T / every, D]) from token
 * `offset`: the state tokens of the interleaved (R, s, a) sequence. As ops a
 * reshape, a slice and a reshape each way (the gradient pads with zeros); on
 * wasm one copy each way, the same values.
 */
export function everyNthToken(x: tf.Tensor, every: number, offset: number): tf.Tensor {
  const [b, t, d] = x.shape as [number, number, number];
  const k = t / every;
  const backend = tf.backend();
  if (!(backend instanceof BackendWasm) || x.dtype !== "float32") {
    return x.reshape([b, k, every, d]).slice([0, 0, offset, 0], [b, k, 1, d]).reshape([b, k, d]);
  }
  // Picked row r is row r * every + offset of x (t is k * every, so across sequences too).
  const copy = (from: tf.TensorInfo, toShape: number[], picked: boolean): tf.Tensor => {
    const out = heapOutput(backend, toShape);
    const [src, dst] = heapViews(backend, [from, out]);
    if (picked) copyFloatRows(backend, dst, d, src.subarray(offset * d), every * d, b * k, d);
    else {
      dst.fill(0);
      copyFloatRows(backend, dst.subarray(offset * d), every * d, src, d, b * k, d);
    }
    return tf.engine().makeTensorFromTensorInfo(out);
  };
  if (!tf.engine().isTapeOn()) return copy(x, [b, k, d], true);
  return (tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((x: tf.Tensor): any => ({
      value: copy(x, [b, k, d], true),
      gradFunc: (dy: tf.Tensor) => copy(dy, [b, t, d], false),
    })) as unknown as CustomGradFn,
  ) as unknown as (x: tf.Tensor) => tf.Tensor)(x);
}

/** Splits [B, T, H*dh] into heads: [B, H, T, dh]. */
export function splitHeads(x: tf.Tensor, nHead: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  // One head (the default model): the transpose would only copy.
  if (nHead === 1) return x.reshape([b, 1, t, d]);
  return x.reshape([b, t, nHead, d / nHead]).transpose([0, 2, 1, 3]);
}

/** Merges heads back: [B, H, T, dh] -> [B, T, H*dh]. */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  const [b, h, t, dh] = x.shape;
  if (h === 1) return x.reshape([b, t, dh]);
  return x.transpose([0, 2, 1, 3]).reshape([b, t, h * dh]);
}

/**
 * Scaled dot-product attention: q [B, H, Tq, dh], k and v [B, H, Tk, dh],
 * `mask` additive and broadcastable to [B, H, Tq, Tk]; `keep` (dropout while
 * training) multiplies the attention weights. On wasm one fused kernel
 * ({@linkcode wasmAttention}), elsewhere tfjs's ops.
 */
export function attention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  mask: tf.Tensor,
  keep?: tf.Tensor,
): tf.Tensor {
  if (tf.getBackend() === "wasm") return wasmAttention(q, k, v, mask, keep ?? tf.scalar(1));
  const dh = q.shape[q.shape.length - 1]!;
  const att = tf.softmax(matMul(q, transposeLast(k)).mul(1 / Math.sqrt(dh)).add(mask));
  return matMul(keep ? att.mul(keep) : att, v);
}

/**
 * {@linkcode attention} over tokens: q [B, Tq, D], k and v [B, Tk, D] split
 * into `nHead` heads, the result merged back to [B, Tq, D]. One head on wasm
 * needs neither: [B, T, D] is [B, 1, T, D]'s data, and the kernel reads it as
 * it is (on the tape each reshape was a node and a gradient).
 */
export function multiHeadAttention(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  nHead: number,
  mask: tf.Tensor,
  keep?: tf.Tensor,
): tf.Tensor {
  if (nHead === 1 && tf.getBackend() === "wasm") {
    return wasmAttention(q, k, v, mask, keep ?? tf.scalar(1));
  }
  const [qh, kh, vh] = [q, k, v].map((t) => splitHeads(t, nHead));
  return mergeHeads(attention(qh, kh, vh, mask, keep));
}

/** The causal mask of T tokens: [T, T], 0 on and below the diagonal, {@linkcode MASKED} above. */
export function causalMask(t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = tf.range(0, t, 1, "int32").reshape([t, 1]);
    const cols = tf.range(0, t, 1, "int32").reshape([1, t]);
    return boolToFloat(cols.greater(rows)).mul(MASKED) as tf.Tensor2D;
  });
}

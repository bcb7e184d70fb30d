/**
 * The few layers the models are built from, as plain functions of tensors
 * and weights (nanoGPT style: no layer objects, the forward pass is readable
 * top to bottom).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { wasmAttention } from "./wasm_attention.ts";
import { wasmLayerNorm } from "./wasm_layer_norm.ts";

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
 * `a^T dy` for a weight [K, N] that is wider than it is tall, on wasm, as
 * `(dy^T a)^T`: XNNPACK packs the right operand on every call (its cache is
 * keyed by tensor, and activations are new tensors), so the narrower [M, K]
 * activation goes on the right (measured [64,3000]x[3000,256] 21.7 ms,
 * [256,3000]x[3000,64] 8.4 ms). Undefined where the plain order is as good.
 */
function weightGradOnWasm(a: tf.Tensor, dy: tf.Tensor): tf.Tensor | undefined {
  if (tf.getBackend() !== "wasm" || a.rank !== 2 || dy.rank !== 2) return undefined;
  if (dy.shape[1]! <= a.shape[1]!) return undefined;
  return transposeLast(tf.matMul(transposeLast(dy), a));
}

const matMulWithGradient: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((a: tf.Tensor, b: tf.Tensor, save: (ts: tf.Tensor[]) => void): any => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved;
        let da = tf.matMul(dy, transposeLast(sb));
        let db = weightGradOnWasm(sa, dy) ?? tf.matMul(transposeLast(sa), dy);
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
 * Outside a gradient tape (rollouts, evaluation) it is the plain matMul: the
 * same kernel, without the custom-gradient scope (12% of a rollout step).
 */
export function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.engine().isTapeOn() ? matMulWithGradient(a, b) : tf.matMul(a, b);
}

/**
 * Rows `index` of the table `w` ([...] int32 -> [..., D]). Forward is a
 * gather; the gradient is a scatter-add (ScatterNd sums duplicate indices),
 * because tfjs wasm has no gradient for gather and a one-hot matMul costs
 * rows x table size.
 */
export const embeddingLookup: (w: tf.Tensor, index: tf.Tensor) => tf.Tensor = tf.customGrad(
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

/** `x @ w + b` over the last axis of a tensor of any rank. */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const shape = x.shape;
  const inDim = shape[shape.length - 1];
  const y = matMul(x.reshape([-1, inDim]), w).add(b);
  return y.reshape([...shape.slice(0, -1), w.shape[1]!]);
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
  return x.mul(tf.sigmoid(x.mul(1.702)));
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

/** The causal mask of T tokens: [T, T], 0 on and below the diagonal, {@linkcode MASKED} above. */
export function causalMask(t: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = tf.range(0, t, 1, "int32").reshape([t, 1]);
    const cols = tf.range(0, t, 1, "int32").reshape([1, t]);
    return boolToFloat(cols.greater(rows)).mul(MASKED) as tf.Tensor2D;
  });
}

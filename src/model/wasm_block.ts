/**
 * A pre-norm transformer block (GPT-2's, one attention head) on
 * tfjs's wasm backend as one gradient node: `x + attn(ln_1(x))`, then
 * `x + mlp(ln_2(x))`, with the kernels its op-by-op form in
 * `decision_transformer.ts` runs (layer norm, the gemm, attention and GELU
 * over the heap, tfjs's sigmoid), called directly.
 *
 * Op by op a block is ~14 nodes on the gradient tape and ~12 more kernels in
 * its gradient (weight transposes, the split's concat, the residuals'
 * reshapes and adds), each with tfjs's bookkeeping: on a CartPole minibatch
 * of 180 tokens that costs about as much as a kernel's arithmetic. Here the
 * forward keeps what the gradient needs, and the gradient runs the same
 * kernels in reverse, adding a residual's two gradients as tfjs's tape does
 * (two terms: the order cannot matter): every bit is the ops'
 * (`tests/wasm_block_test.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { denseGradOnHeap, geluParts, gemm } from "./layers.ts";
import { attentionBackward, type AttentionDims, attentionForward } from "./wasm_attention.ts";
import { batchedMatMul } from "./wasm_batched_matmul.ts";
import { copyFloatRows } from "./wasm_copy_kernels.ts";
import { elementwiseOnHeap } from "./wasm_elementwise.ts";
import { geluOnHeap } from "./wasm_gelu.ts";
import { heapOutput } from "./wasm_heap.ts";
import { layerNormGradOnHeap, layerNormKernels } from "./wasm_layer_norm.ts";

/** A block's weights, named as GPT-2's: `[weight, bias]` pairs, matrices [in, out]. */
export interface BlockWeights {
  ln1: [tf.Tensor, tf.Tensor];
  attn: [tf.Tensor, tf.Tensor];
  attnProj: [tf.Tensor, tf.Tensor];
  ln2: [tf.Tensor, tf.Tensor];
  fc: [tf.Tensor, tf.Tensor];
  mlpProj: [tf.Tensor, tf.Tensor];
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** `layerNorm`'s epsilon. */
const EPS = 1e-5;
/** The attention's dropout multiplier when there is none. */
const NO_DROPOUT = Float32Array.of(1);
const NONE = new Float32Array(0);

/** What a block attends over and computes its outputs for (default: every token, over themselves). */
export interface BlockOptions {
  /**
   * Outputs only at every `every`-th token from `offset` (the state tokens
   * of (R, s, a) triples): the queries, attention and MLP run at those
   * tokens alone, all still giving keys and values.
   */
  pick?: { every: number; offset: number };
  /**
   * The keys and values attended over, given the tokens' own ([B, T, D]
   * each): a KV cache's chunks with the new tokens written in
   * (`DecisionTransformer.act`). Off the gradient tape only.
   */
  context?: (k: tf.Tensor, v: tf.Tensor) => [tf.Tensor, tf.Tensor];
  /**
   * Dropout, as the multipliers `tf.dropout` draws (0 or 1 / keep): of the
   * attention weights ([B, 1, Tq, Tk]) and of the attention's and the MLP's
   * outputs ([B, Tq, D]) before each is added to the residual stream.
   */
  dropout?: { attention: tf.Tensor; attnProj: tf.Tensor; mlp: tf.Tensor };
}

/**
 * One block over `x` ([B, T, D]) with an additive attention `mask` ([Tq,
 * Tk], or [B, 1, Tq, Tk] for a mask per sequence); the output is [B, Tq, D]
 * (Tq = T / every with `options.pick`). Differentiable in `x` and every
 * weight.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { causalMask } from "./layers.ts";
 * import { wasmBlock } from "./wasm_block.ts";
 *
 * await initBackend("cpu");
 * const d = 4, pair = (shape: number[]) => [tf.ones(shape), tf.zeros([shape.at(-1)!])];
 * const weights = {
 *   ln1: pair([d]), attn: pair([d, 3 * d]), attnProj: pair([d, d]),
 *   ln2: pair([d]), fc: pair([d, 4 * d]), mlpProj: pair([4 * d, d]),
 * } as Parameters<typeof wasmBlock>[1];
 * const y = wasmBlock(tf.randomNormal([2, 6, d]), weights, causalMask(6));
 * assert.deepStrictEqual(y.shape, [2, 6, d]);
 * ```
 */
export function wasmBlock(
  x: tf.Tensor,
  blk: BlockWeights,
  mask: tf.Tensor,
  options: BlockOptions = {},
): tf.Tensor {
  const backend = tf.backend() as BackendWasm;
  const [b, t, d] = x.shape as [number, number, number];
  const { every, offset } = options.pick ?? { every: 1, offset: 0 };
  const tq = t / every;
  const rows = b * t, qRows = b * tq;
  const [maskB, maskH] = mask.rank === 4 ? mask.shape : [mask.rank === 3 ? mask.shape[0] : 1, 1];
  const dims: AttentionDims = { b, h: 1, tq, tk: t, dh: d, maskB, maskH: maskH! };
  const weights = [blk.ln1, blk.attn, blk.attnProj, blk.ln2, blk.fc, blk.mlpProj].flat();
  const [ln1w, ln1b, wAttn, bAttn, wProj, bProj, ln2w, ln2b, wFc, bFc, wMlp, bMlp] = weights;
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const temps: tf.TensorInfo[] = [];
  const alloc = (shape: number[]) => {
    const out = heapOutput(backend, shape);
    temps.push(out);
    return out;
  };
  const free = () => temps.splice(0).forEach((t) => backend.disposeData(t.dataId));
  const elementwise = elementwiseOnHeap(backend);
  /** `out = a * b` (`out` may be `a`), elementwise in f32: tf.dropout's product. */
  const times = (out: tf.TensorInfo, a: tf.TensorInfo, b: tf.TensorInfo) =>
    elementwise.mul(view(a), view(b), view(out));
  /** `out = a + b`, elementwise in f32. */
  const add = (out: tf.TensorInfo, a: tf.TensorInfo, b: tf.TensorInfo) =>
    elementwise.add(view(a), view(b), view(out));
  /** Rows `r * every + offset` of `from` (`cols` wide, from column `col`) into `to` ([n, width]). */
  const pickRows = (
    to: tf.TensorInfo,
    from: tf.TensorInfo,
    cols: number,
    col: number,
    every: number,
    offset: number,
  ) => {
    const width = to.shape[to.shape.length - 1]!;
    const n = view(to).length / width;
    copyFloatRows(
      backend,
      view(to),
      width,
      view(from).subarray(offset * cols + col),
      every * cols,
      n,
      width,
    );
  };

  // ---- forward; `forGradient`, it keeps what the gradient reads.
  const forward = (forGradient: boolean) => {
    const dropout = options.dropout;
    const ln = layerNormKernels(backend);
    const h1 = alloc([rows, d]);
    ln.forward(view(x), view(ln1w), view(ln1b), view(h1), d, EPS);
    const qkv = alloc([rows, 3 * d]);
    gemm(backend, "nn", qkv, h1, wAttn, rows, d, bAttn);
    const q = alloc([qRows, d]);
    pickRows(q, qkv, 3 * d, 0, every, offset);
    // k and v as tensors: a context takes them so.
    let [k, v] = [d, 2 * d].map((col) => {
      const out = heapOutput(backend, [b, t, d]);
      pickRows(out, qkv, 3 * d, col, 1, 0);
      return tf.engine().makeTensorFromTensorInfo(out);
    });
    if (options.context) {
      const own = [k, v];
      [k, v] = options.context(k, v);
      tf.dispose(own);
      dims.tk = k.shape[1]!;
    }
    let xq: tf.TensorInfo = x;
    if (every > 1) {
      xq = alloc([qRows, d]);
      pickRows(xq, x, d, 0, every, offset);
    }
    const [y, p] = [alloc([qRows, d]), alloc([b, 1, tq, dims.tk])];
    const weighted = dropout ? [alloc(p.shape)] : [];
    const [Q, K, V, M, Y, P, W] = [q, k, v, mask, y, p, ...weighted].map(view);
    const keep = dropout ? view(dropout.attention) : NO_DROPOUT;
    attentionForward(batchedMatMul(backend), dims, [Q, K, V, M, keep, Y, P, W ?? NONE]);
    const a = alloc([qRows, d]);
    gemm(backend, "nn", a, y, wProj, qRows, d, bProj);
    if (dropout) times(a, a, dropout.attnProj);
    const x2 = alloc([qRows, d]);
    add(x2, xq, a);
    const h2 = alloc([qRows, d]);
    ln.forward(view(x2), view(ln2w), view(ln2b), view(h2), d, EPS);
    const u = tf.engine().makeTensorFromTensorInfo(heapOutput(backend, [qRows, 4 * d]));
    gemm(backend, "nn", u, h2, wFc, qRows, d, bFc);
    const { s, y: g } = geluParts(u);
    const m = alloc([qRows, d]);
    gemm(backend, "nn", m, g, wMlp, qRows, 4 * d, bMlp);
    if (dropout) times(m, m, dropout.mlp);
    const out = heapOutput(backend, [b, tq, d]);
    add(out, x2, m);
    if (!forGradient) {
      free();
      // A context's keys and values are its caller's.
      if (!options.context) tf.dispose([k, v]);
      tf.dispose([u, s, g]);
      return { out, saved: [] };
    }
    // What the gradient reads leaves `temps`; the rest is freed.
    const kept = [h1, q, p, y, x2, h2];
    temps.splice(0).filter((t) => !kept.includes(t)).forEach((t) => backend.disposeData(t.dataId));
    const [h1t, qt, ...rest] = kept.map((t) => tf.engine().makeTensorFromTensorInfo(t));
    return { out, saved: [h1t, qt, k, v, ...rest, u, g, s] };
  };

  // ---- gradient: the forward's kernels in reverse.
  const gradient = (dOut: tf.TensorInfo, saved: tf.Tensor[]): tf.Tensor[] => {
    const [x, h1, q, k, v, p, y, x2, h2, u, g, s, ...multipliers] = saved;
    const [attention, attnProj, mlp] = multipliers;
    const dropout = options.dropout && { attention, attnProj, mlp };
    const dense = (dy: tf.TensorInfo, input: tf.TensorInfo, w: tf.Tensor, n: number) =>
      denseGradOnHeap(backend, dy, input, w, [n, w.shape[0]!]);
    const layerNorm = (dy: tf.TensorInfo, input: tf.TensorInfo, w: tf.TensorInfo) =>
      layerNormGradOnHeap(backend, input, w, dy, EPS);
    /** The gradient through a dropout: dy times its multiplier (else dy itself). */
    const dropped = (dy: tf.TensorInfo, multiplier?: tf.TensorInfo) => {
      if (!multiplier) return dy;
      const out = alloc([qRows, d]);
      times(out, dy, multiplier);
      return out;
    };
    // The MLP and its residual.
    const [dg, dwMlp, dbMlp] = dense(dropped(dOut, dropout?.mlp), g, wMlp, qRows);
    const du = alloc([qRows, 4 * d]);
    geluOnHeap(backend).grad(view(dg), view(u), view(s), view(du));
    backend.disposeData(dg.dataId);
    const [dh2, dwFc, dbFc] = dense(du, h2, wFc, qRows);
    const [dx2Norm, dln2w, dln2b] = layerNorm(dh2, x2, ln2w);
    [dh2, dx2Norm].forEach((t) => temps.push(t));
    const dx2 = alloc([qRows, d]);
    add(dx2, dx2Norm, dOut);
    // The attention and its residual.
    const [dy, dwProj, dbProj] = dense(dropped(dx2, dropout?.attnProj), y, wProj, qRows);
    temps.push(dy);
    const [dq, dk, dv, ds] = [
      alloc([qRows, d]),
      alloc([rows, d]),
      alloc([rows, d]),
      alloc(p.shape),
    ];
    const weighted = dropout ? [alloc(p.shape)] : [];
    const [Q, K, V, P, DY, DQ, DK, DV, DS, W] = [q, k, v, p, dy, dq, dk, dv, ds, ...weighted].map(
      view,
    );
    const keep = dropout ? view(dropout.attention) : NO_DROPOUT;
    attentionBackward(batchedMatMul(backend), dims, [
      Q,
      K,
      V,
      keep,
      P,
      DY,
      DQ,
      DK,
      DV,
      DS,
      W ?? NONE,
    ]);
    // The split's gradient: q's, k's and v's side by side (q's zero off the picked tokens).
    const dqkv = alloc([rows, 3 * d]);
    if (every > 1) view(dqkv).fill(0);
    copyFloatRows(
      backend,
      view(dqkv).subarray(offset * 3 * d),
      every * 3 * d,
      view(dq),
      d,
      qRows,
      d,
    );
    copyFloatRows(backend, view(dqkv).subarray(d), 3 * d, view(dk), d, rows, d);
    copyFloatRows(backend, view(dqkv).subarray(2 * d), 3 * d, view(dv), d, rows, d);
    const [dh1, dwAttn, dbAttn] = dense(dqkv, h1, wAttn, rows);
    const [dxNorm, dln1w, dln1b] = layerNorm(dh1, x, ln1w);
    [dh1, dxNorm].forEach((t) => temps.push(t));
    // x's residual gradient (zero off the picked tokens), added to its layer norm's.
    let dxResidual = dx2;
    if (every > 1) {
      dxResidual = alloc([rows, d]);
      view(dxResidual).fill(0);
      copyFloatRows(
        backend,
        view(dxResidual).subarray(offset * d),
        every * d,
        view(dx2),
        d,
        qRows,
        d,
      );
    }
    const dx = heapOutput(backend, [b, t, d]);
    add(dx, dxNorm, dxResidual);
    free();
    return [
      dx,
      dln1w,
      dln1b,
      dwAttn,
      dbAttn,
      dwProj,
      dbProj,
      dln2w,
      dln2b,
      dwFc,
      dbFc,
      dwMlp,
      dbMlp,
    ]
      .map((t) => tf.engine().makeTensorFromTensorInfo(t));
  };

  if (!tf.engine().isTapeOn()) return tf.engine().makeTensorFromTensorInfo(forward(false).out);
  if (options.context) throw new Error("wasmBlock: a context is for rollouts, off the tape");
  return (tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((...args: any[]): any => {
      const save = args[1 + weights.length] as (ts: tf.Tensor[]) => void;
      const { out, saved } = forward(true);
      // x and the dropout multipliers too: the forward's scope frees them before the gradient runs.
      const d = options.dropout;
      save([x, ...saved, ...(d ? [d.attention, d.attnProj, d.mlp] : [])]);
      return {
        value: tf.engine().makeTensorFromTensorInfo(out),
        gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => gradient(dy, kept),
      };
    }) as unknown as CustomGradFn,
  ) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor)(x, ...weights);
}

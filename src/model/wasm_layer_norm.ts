/**
 * Layer normalization over the last axis as one loop over the wasm heap,
 * forward and gradient, for CPU mode: tfjs's ops take ~10 kernels forward and
 * ~20 backward, each paying tfjs's fixed cost per kernel, for rows of 64
 * values. Its reference is `layerNorm`'s op-by-op path in `layers.ts`, which
 * WebGPU runs (compared in `tests/layers_fused_test.ts`). Results are
 * `Math.fround` of double arithmetic, so they may differ from the op-by-op
 * version in the last bits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOutput, heapViews } from "./wasm_heap.ts";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** Mean and 1 / sqrt(variance + eps) of row `r` (population variance, as `tf.moments`). */
function rowStats(x: Float32Array, r: number, d: number, eps: number): [number, number] {
  const o = r * d;
  let sum = 0;
  for (let c = 0; c < d; c++) sum += x[o + c];
  const mean = sum / d;
  let sq = 0;
  for (let c = 0; c < d; c++) sq += (x[o + c] - mean) ** 2;
  return [mean, 1 / Math.sqrt(sq / d + eps)];
}

function forwardLoop(d: number, eps: number, [X, W, B, Y]: Float32Array[]): void {
  for (let r = 0; r < X.length / d; r++) {
    const [mean, inv] = rowStats(X, r, d, eps);
    const o = r * d;
    for (let c = 0; c < d; c++) Y[o + c] = (X[o + c] - mean) * inv * W[c] + B[c];
  }
}

/**
 * With `xh = (x - mean) * inv` and `g = dy * w`:
 * `dx = inv * (g - mean(g) - xh * mean(g * xh))`, `dw = sum(dy * xh)`, `db = sum(dy)`.
 */
function backwardLoop(d: number, eps: number, [X, W, DY, DX, DW, DB]: Float32Array[]): void {
  const dw = new Float64Array(d), db = new Float64Array(d);
  for (let r = 0; r < X.length / d; r++) {
    const [mean, inv] = rowStats(X, r, d, eps);
    const o = r * d;
    let gMean = 0, gxMean = 0;
    for (let c = 0; c < d; c++) {
      const xh = (X[o + c] - mean) * inv, dy = DY[o + c], g = dy * W[c];
      gMean += g;
      gxMean += g * xh;
      dw[c] += dy * xh;
      db[c] += dy;
    }
    gMean /= d;
    gxMean /= d;
    for (let c = 0; c < d; c++) {
      const xh = (X[o + c] - mean) * inv;
      DX[o + c] = inv * (DY[o + c] * W[c] - gMean - xh * gxMean);
    }
  }
  DW.set(dw);
  DB.set(db);
}

/**
 * `(x - mean) / sqrt(variance + eps) * w + b` over the last axis of `x` on
 * the wasm backend; `w` and `b` are [D]. Differentiable in all three.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { wasmLayerNorm } from "./wasm_layer_norm.ts";
 *
 * await initBackend("cpu");
 * const y = wasmLayerNorm(tf.tensor2d([[1, 3]]), tf.ones([2]), tf.zeros([2]), 0);
 * assert.deepStrictEqual([...y.dataSync()], [-1, 1]);
 * ```
 */
export function wasmLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  return fusedFor(eps)(x, w, b);
}

const byEps = new Map<number, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** The differentiable kernel for one `eps` (a number, so not a customGrad input). */
function fusedFor(eps: number): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  let fused = byEps.get(eps);
  if (fused) return fused;
  fused = tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: any): any => {
      const backend = tf.backend() as BackendWasm;
      const d = w.size;
      const y = heapOutput(backend, x.shape);
      forwardLoop(d, eps, heapViews(backend, [x, w, b, y]));
      save([x, w]);
      return {
        value: tf.engine().makeTensorFromTensorInfo(y),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sw] = saved;
          const outs = [sx.shape, [d], [d]].map((shape) => heapOutput(backend, shape));
          backwardLoop(d, eps, heapViews(backend, [sx, sw, dy, ...outs]));
          return outs.map((t) => tf.engine().makeTensorFromTensorInfo(t));
        },
      };
    }) as unknown as CustomGradFn,
  ) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  byEps.set(eps, fused);
  return fused;
}

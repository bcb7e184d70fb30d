/**
 * Layer normalization over the last axis as one kernel each way for CPU mode:
 * tfjs's ops take ~10 kernels forward and ~20 backward, each paying tfjs's
 * fixed cost per kernel, for rows of 64 values. The kernels are WebAssembly
 * SIMD loops over tfjs's heap, assembled at start-up (`wasm_assembler.ts`),
 * with a TypeScript twin held to the same bits
 * (`tests/wasm_layer_norm_test.ts`). Their reference is `layerNorm`'s
 * op-by-op path in `layers.ts`, which WebGPU runs (compared in
 * `tests/layers_fused_test.ts`); sums run in f32 four lanes at a time, so
 * results may differ from the op-by-op version in the last bits.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOutput, heapViews, kernelsOnHeap } from "./wasm_heap.ts";
import {
  accumulate,
  arith,
  either,
  F32,
  f32,
  get,
  I32,
  i32,
  lanesThenTail,
  laneSum,
  load,
  MEMORY_FILL,
  op,
  rowByteCounts,
  set,
  splat,
  store,
  times,
  V128,
  type WasmFunction,
  type Width,
} from "./wasm_assembler.ts";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

// The kernels' parameters (forward reads X, W, B and writes Y; backward reads
// X, W, DY and writes DX, DW, DB), then their locals.
const X = 0, W = 1, B_OR_DY = 2, Y_OR_DX = 3, DW = 4, DB = 5, ROWS = 6, D = 7, EPS = 8;
const R = 9, C = 10, RO = 11, DBYTES = 12, DB4 = 13;
const DF = 14, MEAN = 15, INV = 16, SUM = 17, SUM2 = 18, GMEAN = 19, GXMEAN = 20;
const ACC = 21, ACC2 = 22, VMEAN = 23, VINV = 24, VGMEAN = 25, VGXMEAN = 26;
const PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, F32];
const LOCALS = [
  I32,
  I32,
  I32,
  I32,
  I32,
  F32,
  F32,
  F32,
  F32,
  F32,
  F32,
  F32,
  V128,
  V128,
  V128,
  V128,
  V128,
  V128,
];

/** The address of column C of row R of the tensor at `base` (or of a [d] vector). */
const at = (base: number, perRow = true) => [
  ...get(base),
  ...(perRow ? [...get(RO), op.i32Add] : []),
  ...get(C),
  op.i32Add,
];
/** `body(w)` over a row's bytes, then `between`, then the tail. */
const overRow = (body: (w: Width) => number[], between: number[] = []) =>
  lanesThenTail(C, get(DB4), get(DBYTES), body, between);
const { add, sub, mul } = arith;

/** `(x - mean) * inv`. */
const normalized = (w: Width) => [
  ...load(w, at(X)),
  ...either(w, VMEAN, MEAN),
  ...sub(w),
  ...either(w, VINV, INV),
  ...mul(w),
];

/** Sizes, then for row R: MEAN and INV = 1 / sqrt(mean((x - MEAN)^2) + eps), and their splats. */
const setUp = [
  ...rowByteCounts(get(D), DBYTES, DB4),
  ...get(D),
  op.f32ConvertI32U,
  ...set(DF),
];
const rowStats = [
  ...get(R),
  ...get(DBYTES),
  op.i32Mul,
  ...set(RO),
  ...splat(f32(0), ACC),
  ...overRow((w) => accumulate(w, ACC, SUM, load(w, at(X))), [...laneSum(ACC), ...set(SUM)]),
  ...get(SUM),
  ...get(DF),
  op.f32Div,
  ...set(MEAN),
  ...splat(get(MEAN), VMEAN),
  ...splat(f32(0), ACC),
  ...overRow(
    (w) =>
      accumulate(w, ACC, SUM, [
        ...load(w, at(X)),
        ...either(w, VMEAN, MEAN),
        ...sub(w),
        ...load(w, at(X)),
        ...either(w, VMEAN, MEAN),
        ...sub(w),
        ...mul(w),
      ]),
    [...laneSum(ACC), ...set(SUM)],
  ),
  ...f32(1),
  ...get(SUM),
  ...get(DF),
  op.f32Div,
  ...get(EPS),
  op.f32Add,
  op.f32Sqrt,
  op.f32Div,
  ...set(INV),
  ...splat(get(INV), VINV),
];

/** `y = ((x - mean) * inv) * w + b`, row by row. */
const forwardKernel: WasmFunction = {
  name: "forward",
  params: PARAMS,
  locals: LOCALS,
  body: [
    ...setUp,
    ...times(R, get(ROWS), [
      ...rowStats,
      ...overRow((w) =>
        store(w, at(Y_OR_DX), [
          ...normalized(w),
          ...load(w, at(W, false)),
          ...mul(w),
          ...load(w, at(B_OR_DY, false)),
          ...add(w),
        ])
      ),
    ]),
  ],
};

/**
 * With `xh = (x - mean) * inv` and `g = dy * w`:
 * `dx = inv * ((g - mean(g)) - xh * mean(g * xh))`, `dw = sum(dy * xh)`, `db = sum(dy)`.
 */
const backwardKernel: WasmFunction = {
  name: "backward",
  params: PARAMS,
  locals: LOCALS,
  body: [
    ...setUp,
    ...get(DW),
    ...i32(0),
    ...get(DBYTES),
    ...MEMORY_FILL,
    ...get(DB),
    ...i32(0),
    ...get(DBYTES),
    ...MEMORY_FILL,
    ...times(R, get(ROWS), [
      ...rowStats,
      ...splat(f32(0), ACC),
      ...splat(f32(0), ACC2),
      ...overRow(
        (w) => {
          const g = [...load(w, at(B_OR_DY)), ...load(w, at(W, false)), ...mul(w)];
          return [
            ...accumulate(w, ACC, SUM, g),
            ...accumulate(w, ACC2, SUM2, [...g, ...normalized(w), ...mul(w)]),
            ...store(w, at(DW, false), [
              ...load(w, at(DW, false)),
              ...load(w, at(B_OR_DY)),
              ...normalized(w),
              ...mul(w),
              ...add(w),
            ]),
            ...store(w, at(DB, false), [
              ...load(w, at(DB, false)),
              ...load(w, at(B_OR_DY)),
              ...add(w),
            ]),
          ];
        },
        [...laneSum(ACC), ...set(SUM), ...laneSum(ACC2), ...set(SUM2)],
      ),
      ...get(SUM),
      ...get(DF),
      op.f32Div,
      ...set(GMEAN),
      ...splat(get(GMEAN), VGMEAN),
      ...get(SUM2),
      ...get(DF),
      op.f32Div,
      ...set(GXMEAN),
      ...splat(get(GXMEAN), VGXMEAN),
      ...overRow((w) =>
        store(w, at(Y_OR_DX), [
          ...either(w, VINV, INV),
          ...load(w, at(B_OR_DY)),
          ...load(w, at(W, false)),
          ...mul(w),
          ...either(w, VGMEAN, GMEAN),
          ...sub(w),
          ...normalized(w),
          ...either(w, VGXMEAN, GXMEAN),
          ...mul(w),
          ...sub(w),
          ...mul(w),
        ])
      ),
    ]),
  ],
};

/** Forward and backward over `rows` rows of `d` values; arguments are views on the heap. */
export interface LayerNormKernels {
  forward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    y: Float32Array,
    d: number,
    eps: number,
  ): void;
  backward(
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
    db: Float32Array,
    d: number,
    eps: number,
  ): void;
}

/**
 * The kernels on `backend`'s heap.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { layerNormKernels } from "./wasm_layer_norm.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor2d([[1, 3]]), w = tf.ones([2]), b = tf.zeros([2]);
 * const y = heapOutput(backend, [1, 2]);
 * const [X, W, B, Y] = heapViews(backend, [x, w, b, y]);
 * layerNormKernels(backend).forward(X, W, B, Y, 2, 0);
 * assert.deepStrictEqual([...Y], [-1, 1]);
 * backend.disposeData(y.dataId);
 * ```
 */
export const layerNormKernels: (backend: BackendWasm) => LayerNormKernels = kernelsOnHeap(
  [forwardKernel, backwardKernel],
  (exports) => {
    const forward = exports.forward as (...args: number[]) => void;
    const backward = exports.backward as (...args: number[]) => void;
    return {
      forward: (x, w, b, y, d, eps) =>
        forward(x.byteOffset, w.byteOffset, b.byteOffset, y.byteOffset, 0, 0, x.length / d, d, eps),
      backward: (x, w, dy, dx, dw, db, d, eps) =>
        backward(
          x.byteOffset,
          w.byteOffset,
          dy.byteOffset,
          dx.byteOffset,
          dw.byteOffset,
          db.byteOffset,
          x.length / d,
          d,
          eps,
        ),
    };
  },
);

/**
 * The kernels' TypeScript twin: the same f32 operations in the same order
 * (each row's sums in four lanes over its first `4 floor(d / 4)` values,
 * summed as (l0 + l1) + (l2 + l3), then the rest). The reference of
 * `tests/wasm_layer_norm_test.ts`.
 */
export const layerNormTwin: LayerNormKernels = {
  forward(x, w, b, y, d, eps) {
    const f = Math.fround;
    for (let r = 0; r < x.length / d; r++) {
      const [mean, inv] = twinStats(x, r * d, d, eps);
      for (let c = 0; c < d; c++) {
        y[r * d + c] = f(f(f(f(x[r * d + c] - mean) * inv) * w[c]) + b[c]);
      }
    }
  },
  backward(x, w, dy, dx, dw, db, d, eps) {
    const f = Math.fround;
    dw.fill(0, 0, d);
    db.fill(0, 0, d);
    for (let r = 0; r < x.length / d; r++) {
      const o = r * d;
      const [mean, inv] = twinStats(x, o, d, eps);
      const xh = (c: number) => f(f(x[o + c] - mean) * inv);
      const g = (c: number) => f(dy[o + c] * w[c]);
      const gMean = f(twinSum(d, g) / d);
      const gxMean = f(twinSum(d, (c) => f(g(c) * xh(c))) / d);
      for (let c = 0; c < d; c++) {
        dw[c] = f(dw[c] + f(dy[o + c] * xh(c)));
        db[c] = f(db[c] + dy[o + c]);
        dx[o + c] = f(inv * f(f(g(c) - gMean) - f(xh(c) * gxMean)));
      }
    }
  },
};

/** `sum of term(c)` over c < d as the kernels add it: four lanes, (l0 + l1) + (l2 + l3), then the tail. */
function twinSum(d: number, term: (c: number) => number): number {
  const f = Math.fround, d4 = d & ~3;
  const lanes = [0, 0, 0, 0];
  for (let c = 0; c < d4; c++) lanes[c & 3] = f(lanes[c & 3] + term(c));
  let sum = f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3]));
  for (let c = d4; c < d; c++) sum = f(sum + term(c));
  return sum;
}

/** Mean and 1 / sqrt(variance + eps) of the row at `o`, as the kernels compute them. */
function twinStats(x: Float32Array, o: number, d: number, eps: number): [number, number] {
  const f = Math.fround;
  const mean = f(twinSum(d, (c) => x[o + c]) / d);
  const variance = f(twinSum(d, (c) => f(f(x[o + c] - mean) * f(x[o + c] - mean))) / d);
  return [mean, f(1 / f(Math.sqrt(f(variance + f(eps)))))];
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
  // Off the tape (a rollout step) the kernel alone: a custom gradient's scope costs more than it.
  if (!tf.engine().isTapeOn()) return tf.engine().makeTensorFromTensorInfo(forward(x, w, b, eps));
  return fusedFor(eps)(x, w, b);
}

function forward(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.TensorInfo {
  const backend = tf.backend() as BackendWasm;
  const y = heapOutput(backend, x.shape);
  const [X, W, B, Y] = heapViews(backend, [x, w, b, y]);
  layerNormKernels(backend).forward(X, W, B, Y, w.size, eps);
  return y;
}

/**
 * The layer norm's gradients on the heap from `dy`, its input `x` and weight
 * `w`: dx (shaped as x), dw and db, as new heap outputs.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { layerNormGradOnHeap } from "./wasm_layer_norm.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const [, , db] = layerNormGradOnHeap(backend, tf.tensor2d([[1, 3]]), tf.ones([2]), tf.ones([1, 2]), 0);
 * assert.deepStrictEqual([...tf.engine().makeTensorFromTensorInfo(db).dataSync()], [1, 1]);
 * ```
 */
export function layerNormGradOnHeap(
  backend: BackendWasm,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  dy: tf.TensorInfo,
  eps: number,
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const d = w.shape[0]!;
  const outs: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] = [
    heapOutput(backend, x.shape),
    heapOutput(backend, [d]),
    heapOutput(backend, [d]),
  ];
  const [X, W, DY, DX, DW, DB] = heapViews(backend, [x, w, dy, ...outs]);
  layerNormKernels(backend).backward(X, W, DY, DX, DW, DB, d, eps);
  return outs;
}

const byEps = new Map<number, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** The differentiable kernel for one `eps` (a number, so not a customGrad input). */
function fusedFor(eps: number): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  let fused = byEps.get(eps);
  if (fused) return fused;
  fused = tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: any): any => {
      const y = forward(x, w, b, eps);
      save([x, w]);
      return {
        value: tf.engine().makeTensorFromTensorInfo(y),
        gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) =>
          layerNormGradOnHeap(tf.backend() as BackendWasm, sx, sw, dy, eps)
            .map((t) => tf.engine().makeTensorFromTensorInfo(t)),
      };
    }) as unknown as CustomGradFn,
  ) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  byEps.set(eps, fused);
  return fused;
}

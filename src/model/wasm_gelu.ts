/**
 * GELU's sigmoid form `x * sigmoid(1.702 x)` as WebAssembly SIMD loops over
 * tfjs's heap, for CPU mode: its two products (tfjs's scalar product uploads
 * its scalar and broadcasts it; the sigmoid stays tfjs's own) and its
 * gradient. tfjs's gradients of its Multiply, Sigmoid and Multiply are seven
 * elementwise kernels over the MLP's widest activation (~0.45 ms of a
 * CartPole policy minibatch on the 2-core machine, 6% of its gradients); here
 * each element takes the same f32 operations in the same order, each
 * correctly rounded, so the bits are tfjs's (`tests/wasm_gelu_test.ts` holds
 * the gradient to its TypeScript twin, and all three loops to tfjs's ops).
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  arith,
  f32,
  get,
  I32,
  i32,
  lanesThenTail,
  load,
  op,
  set,
  splat,
  store,
  V128,
  type WasmFunction,
  type Width,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/** The slope inside the sigmoid, as the f32 that tfjs's `mul(1.702)` multiplies by. */
export const GELU_SLOPE = Math.fround(1.702);

/** GELU's loops, all over views of one length on one heap, each operation rounded to f32. */
export interface GeluKernels {
  /** `out = x 1.702`, the sigmoid's argument. */
  slope(x: Float32Array, out: Float32Array): void;
  /** `out = x s`, GELU's output from `s = sigmoid(1.702 x)`. */
  times(x: Float32Array, s: Float32Array, out: Float32Array): void;
  /** `dx = dy s + ((dy x) (s (1 - s))) 1.702`, the gradient. */
  grad(dy: Float32Array, x: Float32Array, s: Float32Array, dx: Float32Array): void;
}

// Parameters: the four addresses and the byte length; then C, LANES, the splats of 1 and the slope.
const DY = 0, X = 1, S = 2, DX = 3, BYTES = 4, C = 5, LANES = 6, ONES = 7, SLOPES = 8;

const at = (base: number) => [...get(base), ...get(C), op.i32Add];

function body(w: Width): number[] {
  const [add, sub, mul] = [arith.add(w), arith.sub(w), arith.mul(w)];
  const constant = (splatted: number, value: number) => w === "v" ? get(splatted) : f32(value);
  return store(w, at(DX), [
    // dy s
    ...load(w, at(DY)),
    ...load(w, at(S)),
    ...mul,
    // ((dy x) (s (1 - s))) 1.702
    ...load(w, at(DY)),
    ...load(w, at(X)),
    ...mul,
    ...load(w, at(S)),
    ...constant(ONES, 1),
    ...load(w, at(S)),
    ...sub,
    ...mul,
    ...mul,
    ...constant(SLOPES, GELU_SLOPE),
    ...mul,
    ...add,
  ]);
}

const geluGrad: WasmFunction = {
  name: "geluGrad",
  params: [I32, I32, I32, I32, I32],
  locals: [I32, I32, V128, V128],
  body: [
    ...get(BYTES),
    ...i32(-16),
    op.i32And,
    ...set(LANES),
    ...splat(f32(1), ONES),
    ...splat(f32(GELU_SLOPE), SLOPES),
    ...lanesThenTail(C, get(LANES), get(BYTES), body),
  ],
};

// slope and times: two inputs' addresses (slope reads only the first), the output's, the byte
// length; then C, LANES and the slope's splat.
const [IN_A, IN_B, OUT, N, CC, LL, SLOPE_SPLAT] = [0, 1, 2, 3, 4, 5, 6];
const inputAt = (p: number) => [...get(p), ...get(CC), op.i32Add];

/** `out[c] = value` for every element c, four lanes at a time then one by one. */
function elementwise(name: string, value: (w: Width) => number[]): WasmFunction {
  return {
    name,
    params: [I32, I32, I32, I32],
    locals: [I32, I32, V128],
    body: [
      ...get(N),
      ...i32(-16),
      op.i32And,
      ...set(LL),
      ...splat(f32(GELU_SLOPE), SLOPE_SPLAT),
      ...lanesThenTail(CC, get(LL), get(N), (w) => store(w, inputAt(OUT), value(w))),
    ],
  };
}
const slope = elementwise("slope", (w) => [
  ...load(w, inputAt(IN_A)),
  ...(w === "v" ? get(SLOPE_SPLAT) : f32(GELU_SLOPE)),
  ...arith.mul(w),
]);
const times = elementwise("times", (w) => [
  ...load(w, inputAt(IN_A)),
  ...load(w, inputAt(IN_B)),
  ...arith.mul(w),
]);

/**
 * The loops on `backend`'s heap (views of that heap only).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { geluOnHeap } from "./wasm_gelu.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const [dy, x, s] = [[1], [0], [0.5]].map((v) => tf.tensor1d(v));
 * const out = heapOutput(backend, [1]);
 * const [DY, X, S, DX] = heapViews(backend, [dy, x, s, out]);
 * geluOnHeap(backend).grad(DY, X, S, DX);
 * assert.strictEqual(DX[0], 0.5); // at 0 the slope of x sigmoid(1.702 x) is sigmoid(0)
 * backend.disposeData(out.dataId);
 * ```
 */
export const geluOnHeap: (backend: BackendWasm) => GeluKernels = kernelsOnHeap(
  [geluGrad, slope, times],
  (exports) => {
    const [grad, slope, times] = ["geluGrad", "slope", "times"].map((name) =>
      exports[name] as (...args: number[]) => void
    );
    return {
      slope: (x, out) => slope(x.byteOffset, 0, out.byteOffset, out.byteLength),
      times: (x, s, out) => times(x.byteOffset, s.byteOffset, out.byteOffset, out.byteLength),
      grad: (dy, x, s, dx) =>
        grad(dy.byteOffset, x.byteOffset, s.byteOffset, dx.byteOffset, dx.byteLength),
    };
  },
);

/** The gradient loop's TypeScript twin: the same f32 operations in the same order. */
export function geluGradTwin(dy: Float32Array, x: Float32Array, s: Float32Array, dx: Float32Array) {
  const f = Math.fround;
  for (let i = 0; i < dx.length; i++) {
    const dz = f(f(dy[i] * x[i]) * f(s[i] * f(1 - s[i])));
    dx[i] = f(f(dy[i] * s[i]) + f(dz * GELU_SLOPE));
  }
}

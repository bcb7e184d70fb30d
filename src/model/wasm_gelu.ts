/**
 * GELU's sigmoid form `x * sigmoid(1.702 x)` as WebAssembly SIMD loops over
 * tfjs's heap, for CPU mode: its product by the slope (tfjs's scalar product
 * uploads its scalar and broadcasts it; the sigmoid stays tfjs's own, and the
 * product x s is `wasm_elementwise.ts`'s) and its gradient. tfjs's gradients
 * of its Multiply, Sigmoid and Multiply are seven elementwise kernels over
 * the MLP's widest activation (~0.45 ms of a CartPole policy minibatch on the
 * 2-core machine, 6% of its gradients); here each element takes the same f32
 * operations in the same order, each correctly rounded, so the bits are
 * tfjs's (`tests/wasm_gelu_test.ts` holds the gradient to its TypeScript
 * twin, and GELU and its gradient to tfjs's ops).
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { arith, f32, get, splat, type Width } from "./wasm_assembler.ts";
import { elementwise, IN_0, IN_1, IN_2, input, SPLAT_0, SPLAT_1 } from "./wasm_elementwise.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/** The slope inside the sigmoid, as the f32 that tfjs's `mul(1.702)` multiplies by. */
export const GELU_SLOPE = Math.fround(1.702);

/** GELU's loops, all over views of one length on one heap, each operation rounded to f32. */
export interface GeluKernels {
  /** `out = x 1.702`, the sigmoid's argument. */
  slope(x: Float32Array, out: Float32Array): void;
  /** `dx = dy s + ((dy x) (s (1 - s))) 1.702`, the gradient. */
  grad(dy: Float32Array, x: Float32Array, s: Float32Array, dx: Float32Array): void;
}

// The splats of 1 and of the slope, made before each loop.
const [ONES, SLOPES] = [SPLAT_0, SPLAT_1];
const splats = [...splat(f32(1), ONES), ...splat(f32(GELU_SLOPE), SLOPES)];

/** 1 or the slope: the splat in the lanes, a constant in the tail. */
const constant = (w: Width, splatted: number, value: number) =>
  w === "v" ? get(splatted) : f32(value);

// slope: IN_0 x; geluGrad: IN_0 dy, IN_1 x, IN_2 s. (GELU's output x s is elementwiseOnHeap's mul.)
const slope = elementwise(
  "slope",
  (w) => [...input(w, IN_0), ...constant(w, SLOPES, GELU_SLOPE), ...arith.mul(w)],
  splats,
);
const geluGrad = elementwise("geluGrad", (w) => {
  const [add, sub, mul] = [arith.add(w), arith.sub(w), arith.mul(w)];
  const [dy, x, s] = [IN_0, IN_1, IN_2].map((p) => input(w, p));
  return [
    // dy s
    ...dy,
    ...s,
    ...mul,
    // ((dy x) (s (1 - s))) 1.702
    ...dy,
    ...x,
    ...mul,
    ...s,
    ...constant(w, ONES, 1),
    ...s,
    ...sub,
    ...mul,
    ...mul,
    ...constant(w, SLOPES, GELU_SLOPE),
    ...mul,
    ...add,
  ];
}, splats);

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
  [geluGrad, slope],
  (exports) => {
    const [grad, slope] = ["geluGrad", "slope"].map((name) =>
      exports[name] as (...args: number[]) => void
    );
    // Inputs, then the output and its byte length; unused input addresses 0.
    const call = (f: (...args: number[]) => void, inputs: Float32Array[], out: Float32Array) =>
      f(...[0, 1, 2].map((k) => inputs[k]?.byteOffset ?? 0), out.byteOffset, out.byteLength);
    return {
      slope: (x, out) => call(slope, [x], out),
      grad: (dy, x, s, dx) => call(grad, [dy, x, s], dx),
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

/**
 * Elementwise loops over tfjs's wasm heap in WebAssembly SIMD: the builder
 * every such loop of grpo's is made with (GELU's in `wasm_gelu.ts` too), and
 * the two plain ones, `a + b` and `a * b`. Each element's operation is one
 * f32 operation, correctly rounded, so the results are tfjs's Add's and
 * Multiply's bits (`tests/wasm_elementwise_test.ts`), at a kernel call's cost
 * rather than a tfjs kernel's, and faster than a TypeScript loop over
 * Float32Arrays from a few thousand elements on.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  arith,
  get,
  I32,
  lanesOf,
  lanesThenTail,
  load,
  op,
  store,
  V128,
  type WasmFunction,
  type Width,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/**
 * Every loop's parameters: three inputs' addresses (unused ones 0), the
 * output's, the byte length; then its locals: the element's byte offset, the
 * bytes in whole lanes, and two v128s a loop may splat constants into.
 */
export const [IN_0, IN_1, IN_2, OUT, BYTES, C, LANES, SPLAT_0, SPLAT_1] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
];

/** Element C of input `p`, as v128 lanes or one f32. */
export const input = (w: Width, p: number): number[] => load(w, [...get(p), ...get(C), op.i32Add]);

/**
 * A loop `out[c] = value` over every element c, four lanes at a time, then
 * one by one; `prelude` runs first (to splat constants).
 */
export function elementwise(
  name: string,
  value: (w: Width) => number[],
  prelude: number[] = [],
): WasmFunction {
  return {
    name,
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, V128, V128],
    body: [
      ...lanesOf(BYTES, LANES),
      ...prelude,
      ...lanesThenTail(
        C,
        get(LANES),
        get(BYTES),
        (w) => store(w, [...get(OUT), ...get(C), op.i32Add], value(w)),
      ),
    ],
  };
}

/** A loop over inputs and an output of one length; views of one heap. */
export type ElementwiseKernel = (a: Float32Array, b: Float32Array, out: Float32Array) => void;

const add = elementwise("add", (w) => [...input(w, IN_0), ...input(w, IN_1), ...arith.add(w)]);
const mul = elementwise("mul", (w) => [...input(w, IN_0), ...input(w, IN_1), ...arith.mul(w)]);

/**
 * `out = a + b` and `out = a * b` on `backend`'s heap (`out` may be `a`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapViews } from "./wasm_heap.ts";
 * import { elementwiseOnHeap } from "./wasm_elementwise.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const [a, b] = heapViews(backend, [tf.tensor1d([1, 2, 3, 4, 5]), tf.tensor1d([2, 2, 2, 2, 2])]);
 * elementwiseOnHeap(backend).mul(a, b, a);
 * assert.deepStrictEqual([...a], [2, 4, 6, 8, 10]);
 * ```
 */
export const elementwiseOnHeap: (
  backend: BackendWasm,
) => { add: ElementwiseKernel; mul: ElementwiseKernel } = kernelsOnHeap(
  [add, mul],
  (exports) => {
    const bind = (f: (...args: number[]) => void): ElementwiseKernel => (a, b, out) =>
      f(a.byteOffset, b.byteOffset, 0, out.byteOffset, out.byteLength);
    return {
      add: bind(exports.add as (...args: number[]) => void),
      mul: bind(exports.mul as (...args: number[]) => void),
    };
  },
);

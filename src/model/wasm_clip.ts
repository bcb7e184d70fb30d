/**
 * The two loops of a global-norm gradient clip as WebAssembly over tfjs's
 * heap, for CPU mode: a sum of squares in f32 from 0 in index order (as
 * tfjs's wasm Sum of a Square adds them, so the same bits), and a scale by
 * one factor four lanes at a time (each lane's product correctly rounded, as
 * tfjs's Multiply). As TypeScript loops they were ~3.5% of a CartPole
 * iteration's main-thread time, the sum being a chain of rounded additions
 * that V8 ran as f64 additions each rounded to f32.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  arith,
  F32,
  get,
  I32,
  i32,
  lanesOf,
  lanesThenTail,
  load,
  loop,
  op,
  set,
  splat,
  store,
  V128,
  type WasmFunction,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/** The clip's loops over views of one heap. */
export interface ClipKernels {
  /** Writes into `out[at]` the f32 sum of `x`'s squares, added in index order from 0. */
  sumOfSquares(x: Float32Array, out: Float32Array, at: number): void;
  /** The same for four arrays at once, into `out[at]` to `out[at + 3]`. */
  sumsOfSquares4(xs: Float32Array[], out: Float32Array, at: number): void;
  /** Writes `x * factor` (f32 products) into `out`, of `x`'s length. */
  scale(x: Float32Array, out: Float32Array, factor: number): void;
}

// sumOfSquares: the address of x, its byte length, the result's address; then C, ACC.
const X = 0, BYTES = 1, RESULT = 2, C = 3, ACC = 4;
const sumOfSquares: WasmFunction = {
  name: "sumOfSquares",
  params: [I32, I32, I32],
  locals: [I32, F32],
  body: [
    ...loop(C, i32(0), get(BYTES), i32(4), [
      ...get(ACC),
      ...load("s", [...get(X), ...get(C), op.i32Add]),
      ...load("s", [...get(X), ...get(C), op.i32Add]),
      op.f32Mul,
      op.f32Add,
      ...set(ACC),
    ]),
    ...store("s", get(RESULT), get(ACC)),
  ],
};

// sumsOfSquares4: four (address, byte length) pairs and the results' address; then C, the shortest
// length, and the four sums. Each sum is its own chain of f32 additions in index order, as
// sumOfSquares's; four at once, so one's addition need not wait for the one before it (a lone
// chain runs at the add's latency, ~3 cycles an element).
const CHAINS = 4, RESULTS = 2 * CHAINS, C4 = RESULTS + 1, SHORTEST = C4 + 1, SUMS = SHORTEST + 1;
const square = (chain: number) => [
  ...get(SUMS + chain),
  ...load("s", [...get(2 * chain), ...get(C4), op.i32Add]),
  ...load("s", [...get(2 * chain), ...get(C4), op.i32Add]),
  op.f32Mul,
  op.f32Add,
  ...set(SUMS + chain),
];
const chains = [...Array(CHAINS).keys()];
const sumsOfSquares4: WasmFunction = {
  name: "sumsOfSquares4",
  params: [...chains.flatMap(() => [I32, I32]), I32],
  locals: [I32, I32, ...chains.map(() => F32)],
  body: [
    // The shortest length: min of the four.
    ...get(1),
    ...set(SHORTEST),
    ...chains.slice(1).flatMap((chain) => [
      ...get(2 * chain + 1),
      ...get(SHORTEST),
      ...get(2 * chain + 1),
      ...get(SHORTEST),
      op.i32LtU,
      op.select,
      ...set(SHORTEST),
    ]),
    ...loop(C4, i32(0), get(SHORTEST), i32(4), chains.flatMap(square)),
    ...chains.flatMap((chain) => [
      ...loop(C4, get(SHORTEST), get(2 * chain + 1), i32(4), square(chain)),
      ...store("s", [...get(RESULTS), ...i32(4 * chain), op.i32Add], get(SUMS + chain)),
    ]),
  ],
};

// scale: the addresses of x and out, the byte length, the factor; then C, LANES, the factor's splat.
const OUT = 1, SCALE_BYTES = 2, FACTOR = 3, SC = 4, LANES = 5, FACTORS = 6;
const scale: WasmFunction = {
  name: "scale",
  params: [I32, I32, I32, F32],
  locals: [I32, I32, V128],
  body: [
    ...lanesOf(SCALE_BYTES, LANES),
    ...splat(get(FACTOR), FACTORS),
    ...lanesThenTail(
      SC,
      get(LANES),
      get(SCALE_BYTES),
      (w) =>
        store(w, [...get(OUT), ...get(SC), op.i32Add], [
          ...load(w, [...get(X), ...get(SC), op.i32Add]),
          ...get(w === "v" ? FACTORS : FACTOR),
          ...arith.mul(w),
        ]),
    ),
  ],
};

/**
 * The kernels on `backend`'s heap (views of that heap only).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { clipOnHeap } from "./wasm_clip.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor1d([3, 4, 0, 0, 0]);
 * const outs = [heapOutput(backend, [1]), heapOutput(backend, [5])];
 * const [xs, sum, scaled] = heapViews(backend, [x, ...outs]);
 * clipOnHeap(backend).sumOfSquares(xs, sum, 0);
 * clipOnHeap(backend).scale(xs, scaled, 0.5);
 * assert.deepStrictEqual([sum[0], ...scaled], [25, 1.5, 2, 0, 0, 0]);
 * outs.forEach((t) => backend.disposeData(t.dataId));
 * ```
 */
export const clipOnHeap: (backend: BackendWasm) => ClipKernels = kernelsOnHeap(
  [sumOfSquares, sumsOfSquares4, scale],
  (exports) => {
    const sum = exports.sumOfSquares as (...args: number[]) => void;
    const sum4 = exports.sumsOfSquares4 as (...args: number[]) => void;
    const mul = exports.scale as (...args: number[]) => void;
    return {
      sumOfSquares: (x, out, at) => sum(x.byteOffset, x.byteLength, out.byteOffset + 4 * at),
      sumsOfSquares4: (xs, out, at) =>
        sum4(...xs.flatMap((x) => [x.byteOffset, x.byteLength]), out.byteOffset + 4 * at),
      scale: (x, out, factor) => mul(x.byteOffset, out.byteOffset, x.byteLength, factor),
    };
  },
);

/**
 * The column sums of a [rows, columns] float32 matrix as one WebAssembly SIMD
 * loop over tfjs's heap: each column summed in row order from 0 in f32, four
 * columns at a time. That is the order tfjs's wasm Sum adds a column in
 * (after the transpose it makes first to bring the summed axes last), so the
 * results are its bits (`tests/wasm_backend_test.ts`). A bias's gradient is
 * such a sum.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  arith,
  get,
  I32,
  i32,
  inc,
  lanesThenTail,
  load,
  MEMORY_FILL,
  op,
  rowByteCounts,
  set,
  store,
  times,
  type WasmFunction,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/** Writes into `sums` ([columns]) the column sums of `x` ([rows, columns], row-major). */
export type ColumnSumKernel = (x: Float32Array, sums: Float32Array) => void;

// Parameters: x's address, the sums' address, rows, columns; then locals.
const X = 0, SUMS = 1, ROWS = 2, COLS = 3;
const R = 4, C = 5, BYTES = 6, LANES = 7, ROW = 8;

const columnSum: WasmFunction = {
  name: "columnSum",
  params: [I32, I32, I32, I32],
  locals: [I32, I32, I32, I32, I32],
  body: [
    ...rowByteCounts(get(COLS), BYTES, LANES),
    ...get(SUMS),
    ...i32(0),
    ...get(BYTES),
    ...MEMORY_FILL,
    ...get(X),
    ...set(ROW),
    ...times(R, get(ROWS), [
      ...lanesThenTail(C, get(LANES), get(BYTES), (w) => {
        const sum = [...get(SUMS), ...get(C), op.i32Add];
        return store(w, sum, [
          ...load(w, sum),
          ...load(w, [...get(ROW), ...get(C), op.i32Add]),
          ...arith.add(w),
        ]);
      }),
      ...inc(ROW, get(BYTES)),
    ]),
  ],
};

/**
 * The kernel on `backend`'s heap (views of that heap only).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { columnSumOnHeap } from "./wasm_column_sum.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor2d([[1, 2, 3, 4, 5], [10, 20, 30, 40, 50]]);
 * const out = heapOutput(backend, [5]);
 * const [xs, sums] = heapViews(backend, [x, out]);
 * columnSumOnHeap(backend)(xs, sums);
 * assert.deepStrictEqual(Array.from(sums), [11, 22, 33, 44, 55]);
 * backend.disposeData(out.dataId);
 * ```
 */
export const columnSumOnHeap: (backend: BackendWasm) => ColumnSumKernel = kernelsOnHeap(
  [columnSum],
  (exports) => {
    const kernel = exports.columnSum as (...args: number[]) => void;
    return (x, sums) => kernel(x.byteOffset, sums.byteOffset, x.length / sums.length, sums.length);
  },
);

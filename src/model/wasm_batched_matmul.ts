/**
 * Batched products of small f32 matrices (one per attention sequence) as
 * WebAssembly SIMD loops over tfjs's wasm heap, for the fused attention of
 * `wasm_attention.ts`. tfjs wasm multiplies batched matrices with a scalar
 * loop, and a TypeScript loop does ~1 G multiply-adds/s; these do four lanes
 * at a time with no call per element. The module is assembled at start-up
 * (`wasm_assembler.ts`) and imports the backend's own memory, so its
 * arguments are byte addresses of tensors already on the heap.
 *
 * Each kernel has a TypeScript twin below with the very same f32 operations
 * in the same order; `tests/wasm_batched_matmul_test.ts` holds them to the
 * same bits.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  accumulate,
  arith,
  either,
  F32,
  f32,
  get,
  I32,
  i32,
  inc,
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
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/**
 * Three products of `batch` pairs of row-major matrices, each taking
 * `(out, a, b, batch, m, n, k)` with `out`, `a` and `b` Float32Arrays on the
 * heap of the backend they were made for:
 * - `nt`: out [m, n] = a [m, k] b [n, k]^T (rows of dot products);
 * - `nn`: out [m, k] = a [m, n] b [n, k];
 * - `tn`: out [n, k] = a [m, n]^T b [m, k].
 * `nn` and `tn` skip the zero entries of `a` (the masked half of attention).
 */
export interface BatchedMatMul {
  nt: MatMulFn;
  nn: MatMulFn;
  tn: MatMulFn;
}

/** One kernel: see {@linkcode BatchedMatMul}. */
export type MatMulFn = (
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  batch: number,
  m: number,
  n: number,
  k: number,
) => void;

// Parameters of every kernel.
const OUT = 0, A = 1, B = 2, BATCH = 3, M = 4, N = 5, K = 6;
// Locals shared by the kernels' layouts: counters, running byte addresses, row bytes.
const S = 7, I = 8, J = 9, C = 10, PA = 11, PB = 12, PO = 13, KB = 14, KB4 = 15, BASE = 16;
const W = 17, SUM = 18, ACC = 19;
const LOCALS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, V128];

/** The byte address of column C of the row at local `p`. */
const at = (p: number) => [...get(p), ...get(C), op.i32Add];

/** `out[PO + c] += W * b[PB + c]` for the row's k values: 4 lanes, then the rest one by one. */
const axpyRow = [
  ...splat(get(W), ACC),
  ...lanesThenTail(C, get(KB4), get(KB), (w) =>
    store(w, at(PO), [
      ...load(w, at(PO)),
      ...either(w, ACC, W),
      ...load(w, at(PB)),
      ...arith.mul(w),
      ...arith.add(w),
    ])),
];

/** `W = a[PA]; PA += 4; if (W != 0) axpyRow`. */
const axpyIfNonZero = [
  ...load("s", get(PA)),
  ...set(W),
  ...inc(PA, i32(4)),
  ...get(W),
  ...f32(0),
  op.f32Ne,
  op.if,
  op.void,
  ...axpyRow,
  op.end,
];

/** Zeroes `bytes` bytes from the address in local `from`. */
const zero = (from: number, bytes: number[]) => [...get(from), ...i32(0), ...bytes, ...MEMORY_FILL];

/** For each pair: for each row i of a, for each row j of b, out = a_i . b_j (4 lanes, then the rest). */
const nt: WasmFunction = {
  name: "nt",
  params: [I32, I32, I32, I32, I32, I32, I32],
  locals: LOCALS,
  body: [
    ...rowByteCounts(get(K), KB, KB4),
    ...get(A),
    ...set(PA),
    ...get(B),
    ...set(BASE),
    ...get(OUT),
    ...set(PO),
    ...times(S, get(BATCH), [
      ...times(I, get(M), [
        ...get(BASE),
        ...set(PB),
        ...times(J, get(N), [
          ...splat(f32(0), ACC),
          ...lanesThenTail(
            C,
            get(KB4),
            get(KB),
            (w) =>
              accumulate(w, ACC, SUM, [...load(w, at(PA)), ...load(w, at(PB)), ...arith.mul(w)]),
            [...laneSum(ACC), ...set(SUM)],
          ),
          ...store("s", get(PO), get(SUM)),
          ...inc(PO, i32(4)),
          ...inc(PB, get(KB)),
        ]),
        ...inc(PA, get(KB)),
      ]),
      ...inc(BASE, [...get(N), ...get(KB), op.i32Mul]),
    ]),
  ],
};

/** For each pair: for each row i of out, zero it, then out_i += a_ij b_j over j. */
const nn: WasmFunction = {
  name: "nn",
  params: [I32, I32, I32, I32, I32, I32, I32],
  locals: LOCALS,
  body: [
    ...rowByteCounts(get(K), KB, KB4),
    ...get(A),
    ...set(PA),
    ...get(B),
    ...set(BASE),
    ...get(OUT),
    ...set(PO),
    ...times(S, get(BATCH), [
      ...times(I, get(M), [
        ...zero(PO, get(KB)),
        ...get(BASE),
        ...set(PB),
        ...times(J, get(N), [...axpyIfNonZero, ...inc(PB, get(KB))]),
        ...inc(PO, get(KB)),
      ]),
      ...inc(BASE, [...get(N), ...get(KB), op.i32Mul]),
    ]),
  ],
};

/** For each pair: zero out, then for each row i of a and b, out_j += a_ij b_i over j. */
const tn: WasmFunction = {
  name: "tn",
  params: [I32, I32, I32, I32, I32, I32, I32],
  locals: LOCALS,
  body: [
    ...rowByteCounts(get(K), KB, KB4),
    ...get(A),
    ...set(PA),
    ...get(B),
    ...set(PB),
    ...get(OUT),
    ...set(BASE),
    ...times(S, get(BATCH), [
      ...zero(BASE, [...get(N), ...get(KB), op.i32Mul]),
      ...times(I, get(M), [
        ...get(BASE),
        ...set(PO),
        ...times(J, get(N), [...axpyIfNonZero, ...inc(PO, get(KB))]),
        ...inc(PB, get(KB)),
      ]),
      ...inc(BASE, [...get(N), ...get(KB), op.i32Mul]),
    ]),
  ],
};

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
 * import { batchedMatMul } from "./wasm_batched_matmul.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const a = tf.tensor2d([[1, 2]]), b = tf.tensor2d([[3, 4], [5, 6]]);
 * const out = heapOutput(backend, [1, 2]);
 * const [o, av, bv] = heapViews(backend, [out, a, b]);
 * batchedMatMul(backend).nt(o, av, bv, 1, 1, 2, 2);
 * assert.deepStrictEqual([...o], [11, 17]);
 * backend.disposeData(out.dataId);
 * ```
 */
export const batchedMatMul: (backend: BackendWasm) => BatchedMatMul = kernelsOnHeap(
  [nt, nn, tn],
  (exports) => {
    const call = (name: string): MatMulFn => {
      const f = exports[name] as (...args: number[]) => void;
      return (out, a, b, batch, m, n, k) =>
        f(out.byteOffset, a.byteOffset, b.byteOffset, batch, m, n, k);
    };
    return { nt: call("nt"), nn: call("nn"), tn: call("tn") };
  },
);

/**
 * The kernels' TypeScript twins: the same f32 operations in the same order
 * (`nt`'s four lanes summed as (l0 + l1) + (l2 + l3), then the tail), on
 * plain arrays. The reference of `tests/wasm_batched_matmul_test.ts`.
 */
export const batchedMatMulTwin: BatchedMatMul = {
  nt(out, a, b, batch, m, n, k) {
    const f = Math.fround, k4 = k & ~3;
    for (let s = 0; s < batch; s++) {
      for (let i = 0; i < m; i++) {
        const ao = (s * m + i) * k;
        for (let j = 0; j < n; j++) {
          const bo = (s * n + j) * k;
          const lanes = [0, 0, 0, 0];
          for (let c = 0; c < k4; c++) lanes[c & 3] = f(lanes[c & 3] + f(a[ao + c] * b[bo + c]));
          let sum = f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3]));
          for (let c = k4; c < k; c++) sum = f(sum + f(a[ao + c] * b[bo + c]));
          out[(s * m + i) * n + j] = sum;
        }
      }
    }
  },
  nn(out, a, b, batch, m, n, k) {
    const f = Math.fround;
    for (let s = 0; s < batch; s++) {
      for (let i = 0; i < m; i++) {
        const oo = (s * m + i) * k;
        out.fill(0, oo, oo + k);
        for (let j = 0; j < n; j++) {
          const w = a[(s * m + i) * n + j], bo = (s * n + j) * k;
          if (w === 0) continue;
          for (let c = 0; c < k; c++) out[oo + c] = f(out[oo + c] + f(w * b[bo + c]));
        }
      }
    }
  },
  tn(out, a, b, batch, m, n, k) {
    const f = Math.fround;
    for (let s = 0; s < batch; s++) {
      out.fill(0, s * n * k, (s + 1) * n * k);
      for (let i = 0; i < m; i++) {
        const bo = (s * m + i) * k;
        for (let j = 0; j < n; j++) {
          const w = a[(s * m + i) * n + j], oo = (s * n + j) * k;
          if (w === 0) continue;
          for (let c = 0; c < k; c++) out[oo + c] = f(out[oo + c] + f(w * b[bo + c]));
        }
      }
    }
  },
};

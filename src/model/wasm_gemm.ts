/**
 * Dense-layer products for CPU-mode training as WebAssembly SIMD over tfjs's
 * heap: `nn`, out = a b, `nnBias`, out = a b + bias (a layer's forward), and
 * `tn`, out = a^T b (a weight's gradient, with no transpose of `a` first).
 *
 * tfjs's wasm matMul is XNNPACK's, which packs the right operand into an
 * operator on every call whose operand it has not seen (its cache is keyed by
 * tensor): during training every operand is new (weights change after each
 * Adam step, gradients and activations are new tensors), and making the
 * operator cost 30-75 us a product (measured: [180, 64] x [64, 192] 157 us
 * with the operator cached, 205 fresh; [24, 64] x [64, 192] 24 against 77;
 * [8, 256] x [256, 512] 68 against 625). These kernels need no operator:
 * each block of 5 rows x 8 columns of `out` stays in ten SIMD registers while
 * k runs, as in XNNPACK's own register-blocked kernels (see `MR` for why 5).
 *
 * Each output is summed in k order from 0, a product then a sum, both
 * rounded to f32, which is XNNPACK's order too: `tests/wasm_gemm_test.ts`
 * holds the kernels to the TypeScript twin {@linkcode gemmTwin} and to tfjs's
 * matMul, bit for bit.
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
  inc,
  load,
  loadSplat,
  loop,
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
 * `(out, a, b, m, k, n)`, all Float32Arrays on one heap, `n` a multiple of 4:
 * `nn` reads `a` as [m, k], `tn` as [k, m] (out = a^T b); `b` is [k, n] and
 * `out` [m, n], row-major. `nnBias` also takes `bias` [n] and adds it to
 * each row of `a b`, each sum rounded to f32 as a separate add would be.
 */
export type GemmFn = (
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  bias?: Float32Array,
) => void;

/** The three products: see {@linkcode GemmFn}. */
export interface Gemm {
  nn: GemmFn;
  tn: GemmFn;
  nnBias: GemmFn;
}

/**
 * Rows of out per block: 5 x 8 columns take 10 of the 15 SIMD registers V8
 * allocates on x64, b's two vectors, a's splat and a product two more. At 6
 * rows (12 accumulators) some spilled: 13-14 G multiply-adds/s here against
 * 15-16 at 5 rows, 13.7-14.4 at 4 (bench/gemm_bench.ts).
 */
const MR = 5;

// Parameters, then locals: the row block, the column block's byte offset, k, b's running address,
// b's (and out's) row bytes, the column bytes in blocks of 8 and of 4, a's strides (from k to k + 1,
// and from row r to r + 1), out's row address, the rows in blocks of MR and then of 2, a's running
// address of each of a block's rows.
const OUT = 0, A = 1, B = 2, M = 3, K = 4, N = 5, BIAS = 6;
const I = 7, J = 8, KK = 9, PB = 10, NB = 11, N8 = 12, N4 = 13, ASTEP = 14, AROW = 15, PO = 16;
const MB = 17, M2 = 18, PA = 19;
/** The accumulators (row r, vector h at ACC + 2r + h), b's two vectors, a's splat. */
const ACC = PA + MR, BV = ACC + 2 * MR, AV = BV + 2;
const LOCALS = [...Array(ACC - I).fill(I32), ...Array(2 * MR + 3).fill(V128)];

/**
 * One block of `rows` rows (from I) x `vectors` x 4 columns (from byte J) of
 * out: accumulators in locals over k, then (`bias`) plus the bias, stored.
 */
function block(rows: number, vectors: number, bias: boolean): number[] {
  const acc = (r: number, h: number) => ACC + 2 * r + h;
  const rowsOf = Array.from({ length: rows }, (_, r) => r);
  const vectorsOf = Array.from({ length: vectors }, (_, h) => h);
  const cells = rowsOf.flatMap((r) => vectorsOf.map((h) => [r, h]));
  return [
    ...cells.flatMap(([r, h]) => splat(f32(0), acc(r, h))),
    // PA + r: a's entry (I + r, 0); PB: b's (0, J).
    ...rowsOf.flatMap((r) => [
      ...get(A),
      ...get(I),
      ...i32(r),
      op.i32Add,
      ...get(AROW),
      op.i32Mul,
      op.i32Add,
      ...set(PA + r),
    ]),
    ...get(B),
    ...get(J),
    op.i32Add,
    ...set(PB),
    ...times(KK, get(K), [
      ...vectorsOf.flatMap((h) => [...load("v", get(PB), 16 * h), ...set(BV + h)]),
      ...rowsOf.flatMap((r) => [
        ...loadSplat(get(PA + r)),
        ...set(AV),
        ...vectorsOf.flatMap((h) => [
          ...get(acc(r, h)),
          ...get(AV),
          ...get(BV + h),
          ...arith.mul("v"),
          ...arith.add("v"),
          ...set(acc(r, h)),
        ]),
        ...inc(PA + r, get(ASTEP)),
      ]),
      ...inc(PB, get(NB)),
    ]),
    ...(bias
      ? cells.flatMap(([r, h]) => [
        ...get(acc(r, h)),
        ...load("v", [...get(BIAS), ...get(J), op.i32Add], 16 * h),
        ...arith.add("v"),
        ...set(acc(r, h)),
      ])
      : []),
    // out's row I, column J.
    ...get(OUT),
    ...get(I),
    ...get(NB),
    op.i32Mul,
    op.i32Add,
    ...get(J),
    op.i32Add,
    ...set(PO),
    ...cells.flatMap(([r, h]) => [
      ...store("v", get(PO), get(acc(r, h)), 16 * h),
      ...(h === vectors - 1 && r < rows - 1 ? inc(PO, get(NB)) : []),
    ]),
  ];
}

/**
 * Every row block of the columns from J: MR rows at a time, then 2, then 1
 * (a single row's block loads as much of b for a fifth of the work). Column
 * blocks outside, rows inside: a block's panel of b (k rows of 8 columns)
 * stays in L1 while the rows of a stream past it, as in XNNPACK's loop.
 */
const columnBlock = (vectors: number, bias: boolean) => [
  ...loop(I, i32(0), get(MB), i32(MR), block(MR, vectors, bias)),
  ...loop(I, get(MB), get(M2), i32(2), block(2, vectors, bias)),
  ...loop(I, get(M2), get(M), i32(1), block(1, vectors, bias)),
];

/**
 * A product whose a is read with strides `aStep` (k to k + 1) and `aRow` (row
 * to row), in bytes; `bias`: plus the bias row (every kernel takes its address).
 */
function gemm(name: string, aStep: number[], aRow: number[], bias = false): WasmFunction {
  return {
    name,
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: LOCALS,
    body: [
      ...rowByteCounts(get(N), NB, N4),
      ...get(N),
      ...i32(-8),
      op.i32And,
      ...i32(2),
      op.i32Shl,
      ...set(N8),
      ...get(M),
      ...i32(MR),
      op.i32DivU,
      ...i32(MR),
      op.i32Mul,
      ...set(MB),
      // M2 = MB + ((M - MB) & -2)
      ...get(MB),
      ...get(M),
      ...get(MB),
      op.i32Sub,
      ...i32(-2),
      op.i32And,
      op.i32Add,
      ...set(M2),
      ...aStep,
      ...set(ASTEP),
      ...aRow,
      ...set(AROW),
      ...loop(J, i32(0), get(N8), i32(32), columnBlock(2, bias)),
      ...loop(J, get(N8), get(N4), i32(16), columnBlock(1, bias)),
    ],
  };
}

// nn: a [m, k], so k steps 4 bytes and rows k * 4; tn: a [k, m], so k steps m * 4 and rows 4.
const bytesOf = (l: number) => [...get(l), ...i32(2), op.i32Shl];
const nn = gemm("nn", i32(4), bytesOf(K));
const tn = gemm("tn", bytesOf(M), i32(4));
const nnBias = gemm("nnBias", i32(4), bytesOf(K), true);

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
 * import { gemmOnHeap } from "./wasm_gemm.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const a = tf.tensor2d([[1, 2]]), b = tf.tensor2d([[1, 0, 0, 1], [0, 1, 1, 0]]);
 * const out = heapOutput(backend, [1, 4]);
 * const [o, av, bv] = heapViews(backend, [out, a, b]);
 * gemmOnHeap(backend).nn(o, av, bv, 1, 2, 4);
 * assert.deepStrictEqual([...o], [1, 2, 2, 1]);
 * backend.disposeData(out.dataId);
 * ```
 */
export const gemmOnHeap: (backend: BackendWasm) => Gemm = kernelsOnHeap(
  [nn, tn, nnBias],
  (exports) => {
    const call = (name: string): GemmFn => {
      const f = exports[name] as (...args: number[]) => void;
      return (out, a, b, m, k, n, bias) =>
        f(out.byteOffset, a.byteOffset, b.byteOffset, m, k, n, bias?.byteOffset ?? 0);
    };
    return { nn: call("nn"), tn: call("tn"), nnBias: call("nnBias") };
  },
);

/**
 * The kernels' TypeScript twin: each output summed in k order from 0, each
 * product and each sum rounded to f32, then plus `bias` (rounded) if given.
 * `transposeA` reads `a` as [k, m].
 */
export function gemmTwin(
  out: Float32Array,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  transposeA = false,
  bias?: ArrayLike<number>,
): void {
  const f = Math.fround;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let c = 0; c < k; c++) {
        sum = f(sum + f((transposeA ? a[c * m + i] : a[i * k + c]) * b[c * n + j]));
      }
      out[i * n + j] = bias ? f(sum + bias[j]) : sum;
    }
  }
}

/**
 * The SIMD batched products of `src/model/wasm_batched_matmul.ts` against
 * their TypeScript twins, bit for bit, on the attention's shapes and on odd
 * ones (rows whose length is not a multiple of 4 take the scalar tail; zero
 * entries of `a` are skipped by `nn` and `tn`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import {
  type BatchedMatMul,
  batchedMatMul,
  batchedMatMulTwin,
} from "../src/model/wasm_batched_matmul.ts";
import { assert, assertEquals } from "./assert.ts";

/** Deterministic values in [-1, 1), a third of them 0. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return u < 1 / 3 ? 0 : u * 2 - 1;
  });
}

/** Operand and output shapes of each kernel for `batch` pairs of sizes m, n, k. */
function shapes(kind: keyof BatchedMatMul, [batch, m, n, k]: number[]): number[][] {
  if (kind === "nt") return [[batch, m, k], [batch, n, k], [batch, m, n]];
  if (kind === "nn") return [[batch, m, n], [batch, n, k], [batch, m, k]];
  return [[batch, m, n], [batch, m, k], [batch, n, k]];
}

const SIZES = [[1, 1, 1, 1], [2, 3, 4, 1], [3, 5, 7, 9], [4, 30, 30, 64], [2, 10, 30, 16], [
  1,
  6,
  2,
  7,
]];

for (const kind of ["nt", "nn", "tn"] as const) {
  Deno.test(`wasm ${kind} products equal their TypeScript twin bit for bit`, async () => {
    await initBackend("cpu");
    const backend = tf.backend() as BackendWasm;
    let multiplied = false;
    for (const [seed, sizes] of SIZES.entries()) {
      const [aShape, bShape, outShape] = shapes(kind, sizes);
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const a = tf.tensor(values(size(aShape), 2 * seed + 1), aShape);
      const b = tf.tensor(values(size(bShape), 2 * seed + 2), bShape);
      // NaN everywhere first: every output element must be written.
      const out = heapOutput(backend, outShape);
      const [o, av, bv] = heapViews(backend, [out, a, b]);
      o.fill(NaN);
      batchedMatMul(backend)[kind](o, av, bv, ...(sizes as [number, number, number, number]));
      const twin = new Float32Array(o.length);
      batchedMatMulTwin[kind](twin, av, bv, ...(sizes as [number, number, number, number]));
      multiplied ||= twin.some((x) => x !== 0);
      assertEquals([...o], [...twin], `${kind} ${sizes}`);
      backend.disposeData(out.dataId);
      tf.dispose([a, b]);
    }
    assert(multiplied, "the cases multiply something");
  });
}

Deno.test("the twins compute matrix products", () => {
  // [[1, 2], [3, 4]] times [[5, 6], [7, 8]]: nn is that, nt takes b transposed, tn a.
  const a = Float32Array.of(1, 2, 3, 4), b = Float32Array.of(5, 6, 7, 8), out = new Float32Array(4);
  batchedMatMulTwin.nn(out, a, b, 1, 2, 2, 2);
  assertEquals([...out], [19, 22, 43, 50]);
  batchedMatMulTwin.nt(out, a, b, 1, 2, 2, 2);
  assertEquals([...out], [17, 23, 39, 53]);
  batchedMatMulTwin.tn(out, a, b, 1, 2, 2, 2);
  assertEquals([...out], [26, 30, 38, 44]);
});

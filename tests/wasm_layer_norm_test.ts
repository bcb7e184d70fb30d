/**
 * The SIMD layer-norm kernels of `src/model/wasm_layer_norm.ts` against
 * their TypeScript twin, bit for bit: rows of 64 (the model's width), rows
 * whose length is not a multiple of 4 (the scalar tail) and rows shorter
 * than 4 (no lanes at all).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import { layerNormKernels, layerNormTwin } from "../src/model/wasm_layer_norm.ts";
import { assertEquals } from "./assert.ts";

/** Deterministic values in [-scale, scale) plus `shift`. */
function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 * 2 - 1) * scale + shift;
  });
}

const CASES = [[30, 64], [5, 7], [3, 24], [4, 3], [2, 1]];

Deno.test("wasm layer norm, forward and gradient, equals its TypeScript twin bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const wasm = layerNormKernels(backend);
  for (const [seed, [rows, d]] of CASES.entries()) {
    const eps = 1e-5;
    const x = tf.tensor(values(rows * d, seed, 3, 0.5), [rows, d]);
    const w = tf.tensor(values(d, seed + 10, 1, 1), [d]);
    const b = tf.tensor(values(d, seed + 20), [d]);
    const dy = tf.tensor(values(rows * d, seed + 30), [rows, d]);
    const outs = [[rows, d], [rows, d], [d], [d]].map((s) => heapOutput(backend, s));
    const [X, W, B, DY, Y, DX, DW, DB] = heapViews(backend, [x, w, b, dy, ...outs]);
    for (const out of [Y, DX, DW, DB]) out.fill(NaN);
    wasm.forward(X, W, B, Y, d, eps);
    wasm.backward(X, W, DY, DX, DW, DB, d, eps);
    const twin = [rows * d, rows * d, d, d].map((n) => new Float32Array(n));
    layerNormTwin.forward(X, W, B, twin[0], d, eps);
    layerNormTwin.backward(X, W, DY, twin[1], twin[2], twin[3], d, eps);
    [Y, DX, DW, DB].forEach((out, k) =>
      assertEquals([...out], [...twin[k]], `${["y", "dx", "dw", "db"][k]}, ${rows} x ${d}`)
    );
    outs.forEach((t) => backend.disposeData(t.dataId));
    tf.dispose([x, w, b, dy]);
  }
});

Deno.test("the layer-norm twin normalizes: mean 0, variance 1 before gain and bias", () => {
  const y = new Float32Array(4);
  layerNormTwin.forward(
    Float32Array.of(1, 2, 3, 4),
    Float32Array.of(1, 1, 1, 1),
    new Float32Array(4),
    y,
    4,
    0,
  );
  const inv = 1 / Math.sqrt(1.25);
  [-1.5, -0.5, 0.5, 1.5].forEach((v, c) => assertEquals(Math.abs(y[c] - v * inv) < 1e-6, true));
});

/**
 * `deno bench -A bench/gemm_bench.ts`: the dense products of CPU mode
 * (`src/model/wasm_gemm.ts`) at the default policy's shapes in a CartPole
 * minibatch (6 segments x 30 tokens = 180 rows; the last block's 60 state
 * rows; a rollout step's 24 rows), beside tfjs's matMul (XNNPACK) on the same
 * operands. Divide m k n by the time for multiply-adds per second.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import { gemmOnHeap } from "../src/model/wasm_gemm.ts";

await initBackend("cpu");
const backend = tf.backend() as BackendWasm;

/** [m, k, n, a^T b] */
const shapes: [number, number, number, boolean][] = [
  [180, 64, 192, false],
  [180, 64, 256, false],
  [180, 256, 64, false],
  [60, 256, 64, false],
  [24, 64, 256, false],
  [64, 180, 192, true],
  [256, 180, 64, true],
];

for (const [m, k, n, transposed] of shapes) {
  const a = tf.randomNormal(transposed ? [k, m] : [m, k], 0, 1, "float32", 1);
  const b = tf.randomNormal([k, n], 0, 1, "float32", 2);
  const out = heapOutput(backend, [m, n]);
  const group = `${transposed ? "a^T b" : "a b"}, [${m}, ${k}] x [${k}, ${n}]`;
  Deno.bench(`gemm ${transposed ? "tn" : "nn"}`, { group, baseline: true }, () => {
    const [o, av, bv] = heapViews(backend, [out, a, b]);
    (transposed ? gemmOnHeap(backend).tn : gemmOnHeap(backend).nn)(o, av, bv, m, k, n);
  });
  Deno.bench("tfjs matMul (operator cached)", { group }, () => {
    tf.matMul(a, b, transposed).dispose();
  });
}

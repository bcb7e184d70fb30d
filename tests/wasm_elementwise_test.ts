/**
 * The elementwise loops (`src/model/wasm_elementwise.ts`) against tfjs's Add
 * and Multiply and their TypeScript twin (one f32 operation per element), bit
 * for bit, on lengths with and without a scalar tail and values across
 * scales, in place too.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import { elementwiseOnHeap } from "../src/model/wasm_elementwise.ts";
import { assertEquals } from "./assert.ts";

Deno.test("the elementwise add and product equal tfjs's and their twin bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  for (const [n, seed] of [[1, 1], [7, 2], [4099, 3]]) {
    const [a, b] = [0, 1].map((k) =>
      tf.tidy(() =>
        tf.randomNormal([n], 0, 1, "float32", seed * 10 + k)
          .mul(tf.pow(10, tf.randomUniform([n], -6, 6, "float32", seed * 10 + k + 5)))
      )
    );
    for (
      const [name, op, twin] of [
        ["add", tf.add, (x: number, y: number) => x + y],
        ["mul", tf.mul, (x: number, y: number) => x * y],
      ] as const
    ) {
      const want = op(a, b);
      const out = heapOutput(backend, [n]);
      const [A, B, OUT, WANT] = heapViews(backend, [a, b, out, want]);
      elementwiseOnHeap(backend)[name](A, B, OUT);
      assertEquals(Array.from(OUT), Array.from(WANT), `${name}, ${n}, tfjs`);
      assertEquals(
        Array.from(OUT),
        Array.from(Float32Array.from(A, (x, i) => twin(x, B[i]))),
        `${name}, ${n}, twin`,
      );
      // In place: the output over its first input.
      const copy = tf.tidy(() => a.clone().add(0));
      const [C] = heapViews(backend, [copy]);
      elementwiseOnHeap(backend)[name](C, heapViews(backend, [b])[0], C);
      assertEquals(
        Array.from(heapViews(backend, [copy])[0]),
        Array.from(WANT),
        `${name}, ${n}, in place`,
      );
      backend.disposeData(out.dataId);
      tf.dispose([want, copy]);
    }
    tf.dispose([a, b]);
  }
  assertEquals(tf.memory().numTensors, before);
});

/**
 * GELU's gradient kernel (`src/model/wasm_gelu.ts`) against its TypeScript
 * twin and against tfjs's gradient of the same ops, bit for bit, on lengths
 * with and without a scalar tail and values from tiny to saturating.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import { geluGradTwin, geluOnHeap } from "../src/model/wasm_gelu.ts";
import { gelu } from "../src/model/layers.ts";
import { assertEquals } from "./assert.ts";

Deno.test("GELU and its gradient on wasm equal their twin and tfjs's ops bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  for (const [n, seed] of [[1, 1], [7, 2], [46083, 3]]) {
    // Values across scales: sigmoid saturates to exactly 0 and 1 at the ends.
    const x = tf.tidy(() =>
      tf.randomNormal([n], 0, 1, "float32", seed).mul(tf.pow(10, tf.randomUniform([n], -3, 2)))
    );
    const dy = tf.randomNormal([n], 0, 1, "float32", seed + 10);
    // tfjs's gradient of the three ops, taped one by one.
    const want = tf.grad((v: tf.Tensor) => v.mul(tf.sigmoid(v.mul(1.702))).mul(dy).sum())(x);
    const got = tf.grad((v: tf.Tensor) => gelu(v).mul(dy).sum())(x);
    const s = tf.tidy(() => tf.sigmoid(x.mul(1.702)));
    const out = heapOutput(backend, [n]);
    const [DY, X, S, DX] = heapViews(backend, [dy, x, s, out]);
    geluOnHeap(backend).grad(DY, X, S, DX);
    const twin = new Float32Array(n);
    geluGradTwin(DY, X, S, twin);
    assertEquals(Array.from(DX), Array.from(twin), `twin, ${n}`);
    assertEquals(Array.from(got.dataSync()), Array.from(want.dataSync()), `tfjs, ${n}`);
    // The forward's two products as loops, on and off the tape, against tfjs's ops.
    const forward = tf.tidy(() => [
      tf.tensor(x.mul(tf.sigmoid(x.mul(1.702))).dataSync()),
      gelu(x),
      tf.valueAndGrads((v: tf.Tensor) => gelu(v))([x], dy).value,
    ]);
    const [opsY, offTape, onTape] = forward.map((t) => Array.from(t.dataSync()));
    assertEquals(offTape, opsY, `forward off the tape, ${n}`);
    assertEquals(onTape, opsY, `forward on the tape, ${n}`);
    tf.dispose(forward);
    backend.disposeData(out.dataId);
    tf.dispose([x, dy, want, got, s]);
  }
  assertEquals(tf.memory().numTensors, before);
});

/**
 * The dense-layer products of `src/model/wasm_gemm.ts` against their
 * TypeScript twin, bit for bit, on shapes that take every path (row blocks of
 * 5, 2 and 1, column blocks of 8 and of 4), and against tfjs's own
 * matMul (XNNPACK), which sums in the same order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
import { gemmOnHeap, gemmTwin } from "../src/model/wasm_gemm.ts";
import { matMul } from "../src/model/layers.ts";
import { assertEquals } from "./assert.ts";

Deno.test("gemm nn, tn and nnBias on wasm equal their twin and tfjs's ops bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  let seed = 1;
  for (const [m, k, n] of [[1, 1, 4], [7, 5, 12], [180, 64, 192], [6, 33, 20], [64, 180, 64]]) {
    const a = tf.randomNormal([m, k], 0, 1, "float32", seed++);
    const at = tf.transpose(a);
    const b = tf.randomNormal([k, n], 0, 1, "float32", seed++);
    const bias = tf.randomNormal([n], 0, 1, "float32", seed++);
    const want = tf.matMul(a, b), wantBias = want.add(bias);
    const outs = [0, 1, 2].map(() => heapOutput(backend, [m, n]));
    const [nnOut, tnOut, biasOut, av, atv, bv, biasv] = heapViews(backend, [
      ...outs,
      a,
      at,
      b,
      bias,
    ]);
    gemmOnHeap(backend).nn(nnOut, av, bv, m, k, n);
    gemmOnHeap(backend).tn(tnOut, atv, bv, m, k, n);
    gemmOnHeap(backend).nnBias(biasOut, av, bv, m, k, n, biasv);
    const twins = [0, 1, 2].map(() => new Float32Array(m * n));
    gemmTwin(twins[0], av, bv, m, k, n);
    gemmTwin(twins[1], atv, bv, m, k, n, true);
    gemmTwin(twins[2], av, bv, m, k, n, false, biasv);
    const shape = `[${m}, ${k}] x [${k}, ${n}]`;
    assertEquals(Array.from(nnOut), Array.from(twins[0]), `nn ${shape}`);
    assertEquals(Array.from(tnOut), Array.from(twins[1]), `tn ${shape}`);
    assertEquals(Array.from(biasOut), Array.from(twins[2]), `nnBias ${shape}`);
    assertEquals(Array.from(nnOut), Array.from(want.dataSync()), `tfjs ${shape}`);
    assertEquals(Array.from(biasOut), Array.from(wantBias.dataSync()), `tfjs + bias ${shape}`);
    outs.forEach((t) => backend.disposeData(t.dataId));
    tf.dispose([a, at, b, bias, want, wantBias]);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("matMul and its gradient on wasm, with columns not in fours, are tfjs's bits", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  let seed = 100;
  // [60, 64] x [64, 2] is CartPole's action head; [8, 512] x [512, 1] the value network's last layer.
  for (const [m, k, n] of [[60, 64, 2], [8, 512, 1], [7, 5, 3], [6, 9, 5]]) {
    const a = tf.randomNormal([m, k], 0, 1, "float32", seed++);
    const b = tf.randomNormal([k, n], 0, 1, "float32", seed++);
    const dy = tf.randomNormal([m, n], 0, 1, "float32", seed++);
    const shape = `[${m}, ${k}] x [${k}, ${n}]`;
    const [ours, want] = [matMul(a, b), tf.matMul(a, b)];
    assertEquals(Array.from(ours.dataSync()), Array.from(want.dataSync()), `product ${shape}`);
    // The gradient's a^T dy has n columns too (the padded tn kernel).
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul(x, y).mul(dy).sum())([a, b]);
    const [daWant, dbWant] = tf.tidy(() => [
      tf.matMul(dy, tf.transpose(b)),
      tf.matMul(tf.transpose(a), dy),
    ]);
    assertEquals(Array.from(da.dataSync()), Array.from(daWant.dataSync()), `da ${shape}`);
    assertEquals(Array.from(db.dataSync()), Array.from(dbWant.dataSync()), `db ${shape}`);
    tf.dispose([a, b, dy, ours, want, da, db, daWant, dbWant]);
  }
  assertEquals(tf.memory().numTensors, before);
});

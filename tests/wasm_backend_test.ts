/**
 * The CPU backend's Identity shares data instead of copying it
 * (`src/model/backend.ts`): clones must still behave as copies wherever tfjs
 * or grpo could tell the difference.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals } from "./assert.ts";
import { initBackend } from "../src/model/backend.ts";

Deno.test("a clone on wasm shares data, outlives its source and keeps a variable's old value after assign", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const x = tf.tensor([1, 2, 3]);
  const buffers = tf.memory().numDataBuffers;
  const y = x.clone();
  assertEquals(tf.memory().numDataBuffers, buffers, "the clone shares its source's data");
  x.dispose();
  assertEquals(Array.from(y.dataSync()), [1, 2, 3]);
  const v = tf.tidy(() => tf.variable(tf.tensor([4, 5])));
  const saved = v.clone();
  tf.tidy(() => v.assign(tf.tensor([6, 7])));
  assertEquals(Array.from(saved.dataSync()), [4, 5]);
  assertEquals(Array.from(v.dataSync()), [6, 7]);
  tf.dispose([y, v, saved]);
  assertEquals(tf.memory().numTensors, before);
});

/**
 * A rollout step's KV cache slots (`src/model/kv_slots.ts`): the wasm path's
 * copies over the heap give the tensor ops' values bit for bit, on slots that
 * include a chunk start's "nowhere" (-1) and the last slot.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend.ts";
import { slotsWithOps, stepSlots } from "../src/model/kv_slots.ts";
import { assertEquals } from "./assert.ts";

Deno.test("step slots on wasm equal the tensor ops' mask and written caches, bit for bit", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const n = 4, s = 9, d = 5;
  // Env 0 starts a chunk (a_{t-1} nowhere), env 3 fills the chunk's last slots.
  const pos = tf.tensor2d([[-1, 0, 1], [2, 3, 4], [5, 6, 7], [6, 7, 8]], [n, 3], "int32");
  const cache = tf.randomNormal([n, s, d], 0, 1, "float32", 1) as tf.Tensor3D;
  const tokens = tf.randomNormal([n, 3, d], 0, 1, "float32", 2) as tf.Tensor3D;
  const run = (slots: typeof stepSlots) =>
    tf.tidy(() => {
      const { mask, write } = slots(pos, s);
      const once = write(cache, tokens);
      // A second write into the first's result, as the next layer's cache is not: the same slots.
      return [mask, once, write(once, tokens.mul(2))].map((t) => Array.from(t.dataSync()));
    });
  const [mask, once, twice] = run(stepSlots);
  const [maskOps, onceOps, twiceOps] = run(slotsWithOps);
  assertEquals(mask, maskOps);
  assertEquals(once, onceOps);
  assertEquals(twice, twiceOps);
  // The written slots hold the tokens, the rest the cache: not a vacuous agreement.
  const c = cache.arraySync(), k = tokens.arraySync();
  assertEquals(once.slice((3 * s + 8) * d, (3 * s + 9) * d), k[3][2]);
  assertEquals(once.slice(0, d), k[0][1]);
  assertEquals(once.slice(2 * d, 3 * d), c[0][2]);
  assertEquals(mask.slice(0, s).every((m) => m === -1e9), true, "slot -1 sees nothing");
  tf.dispose([pos, cache, tokens]);
  assertEquals(tf.memory().numTensors, before);
});

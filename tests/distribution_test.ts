/**
 * Sampling a categorical on the host (`sampleFromProbs`, CPU mode's rollouts)
 * against the tensor version it stands in for (`sampleWithUniforms`), action
 * for action, with draws that fall exactly on CDF entries and beyond the last.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend.ts";
import { sampleFromProbs, sampleWithUniforms } from "../src/model/distribution.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("categorical sampling on the host picks the tensor version's actions", async () => {
  await initBackend("cpu");
  for (const n of [2, 3, 4, 7]) {
    const rows = 600;
    const logits = tf.randomNormal([rows, n], 0, 2, "float32", n);
    const probs = tf.softmax(logits).dataSync();
    // A third of the draws uniform, a third exactly on an entry of the row's CDF, a third near 1.
    let seed = n;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const u = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      if (r % 3 === 0) u[r] = rand();
      else if (r % 3 === 1) {
        const upTo = Math.floor(rand() * n);
        let cdf = 0;
        for (let j = 0; j <= upTo; j++) cdf = Math.fround(cdf + probs[r * n + j]);
        u[r] = cdf;
      } else u[r] = 1 - rand() * 1e-6;
    }
    const host = Array.from(sampleFromProbs(probs, u, n));
    const tensor = tf.tidy(() =>
      Array.from(
        sampleWithUniforms({ kind: "discrete", logits }, tf.tensor2d(u, [rows, 1])).dataSync(),
      )
    );
    assertEquals(host, tensor, `n = ${n}`);
    assert(new Set(host).size === n, `every action drawn (n = ${n})`);
    logits.dispose();
  }
});

/**
 * Minibatch sampling (uniform epochs, prioritized draws and their importance
 * weights) and the clip-epsilon schedule.
 */
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  importanceWeights,
  minibatchUniform,
  permutation,
  prioritizedMinibatches,
  priorityProbabilities,
  uniformMinibatches,
} from "../src/rl/minibatches.ts";
import { clipEpsilonAt } from "../src/rl/schedules.ts";

Deno.test("uniform minibatches: every index exactly once per epoch, fresh order each epoch", () => {
  const n = 1000, batch = 64, epochs = 4;
  const mbs = uniformMinibatches(n, batch, epochs, 7);
  assertEquals(mbs.length, epochs * Math.ceil(n / batch));
  for (let e = 0; e < epochs; e++) {
    const of = mbs.filter((m) => m.epoch === e);
    assertEquals(of.map((m) => m.indices.length), [...new Array(15).fill(64), 1000 - 15 * 64]);
    const seen = of.flatMap((m) => Array.from(m.indices)).sort((a, b) => a - b);
    assertEquals(seen, Array.from({ length: n }, (_, i) => i));
    assert(of.every((m) => m.weights.every((w) => w === 1)));
  }
  const first = (e: number) => Array.from(mbs.find((m) => m.epoch === e)!.indices);
  assert(first(0).join() !== first(1).join(), "epochs differ");
  // Same seed, same minibatches; another seed, others.
  assertEquals(uniformMinibatches(n, batch, epochs, 7), mbs);
  assert(uniformMinibatches(n, batch, 1, 8)[0].indices.join() !== first(0).join());
});

Deno.test("permutations are uniform: each index lands in each position equally often", () => {
  const n = 5, trials = 20000;
  const counts = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let t = 0; t < trials; t++) {
    permutation(n, 1, t).forEach((v, pos) => counts[v][pos]++);
  }
  // 25 cells, each expected trials / n; chi-square with 16 dof: 39.25 is the 0.001 quantile.
  const expected = trials / n;
  const chi2 = counts.flat().reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert(chi2 < 39.25, `chi2 ${chi2}`);
  for (let j = 0; j < 1000; j++) {
    const u = minibatchUniform(3, 0, j);
    assert(u >= 0 && u < 1);
  }
});

Deno.test("prioritized draws follow |advantage| + floor (chi-square)", () => {
  const adv = [0, 1, -2, 4, 0.5, -0.5];
  const p = priorityProbabilities(adv, 0.1);
  const mean = adv.reduce((s, a) => s + Math.abs(a), 0) / adv.length;
  const total = adv.reduce((s, a) => s + Math.abs(a) + 0.1 * mean, 0);
  adv.forEach((a, k) => assertAlmostEquals(p[k], (Math.abs(a) + 0.1 * mean) / total, 1e-12));
  const epochs = 5000;
  const counts = new Array(adv.length).fill(0);
  for (const m of prioritizedMinibatches(adv, 4, epochs, 11)) m.indices.forEach((k) => counts[k]++);
  const draws = epochs * adv.length;
  assertEquals(counts.reduce((a, b) => a + b, 0), draws);
  const chi2 = counts.reduce((s, c, k) => s + (c - draws * p[k]) ** 2 / (draws * p[k]), 0);
  // 5 degrees of freedom: 20.52 is the 0.001 quantile.
  assert(chi2 < 20.52, `chi2 ${chi2}, counts ${counts}`);
  assertEquals(Array.from(priorityProbabilities([0, 0, 0, 0])), [0.25, 0.25, 0.25, 0.25]);
});

Deno.test("importance weights undo the prioritization: weighted means match uniform ones", () => {
  const n = 50;
  const adv = Array.from({ length: n }, (_, k) => Math.sin(k) * (k % 7));
  const g = Array.from({ length: n }, (_, k) => Math.cos(3 * k) + 0.1 * k); // a per-sample "gradient"
  const p = priorityProbabilities(adv);
  const w = importanceWeights(p);
  assertAlmostEquals(Math.max(...w), 1, 1e-12);
  // Exactly: sum_k p_k w_k g_k = (1 / n) sum_k g_k / max_k raw weight.
  const maxRaw = Math.max(...Array.from(p, (x) => 1 / (n * x)));
  const uniformMean = g.reduce((a, b) => a + b, 0) / n;
  const expected = Array.from(p).reduce((s, pk, k) => s + pk * w[k] * g[k], 0);
  assertAlmostEquals(expected, uniformMean / maxRaw, 1e-12);
  // Empirically, from the drawn minibatches' weights.
  let sum = 0, count = 0;
  for (const m of prioritizedMinibatches(adv, 32, 2000, 5)) {
    m.indices.forEach((k, j) => {
      assertEquals(m.weights[j], Math.fround(w[k]));
      sum += m.weights[j] * g[k];
      count++;
    });
  }
  assertAlmostEquals(sum / count * maxRaw, uniformMean, 0.02);
  // Without the correction the estimate is biased toward high-|advantage| samples.
  const biased = Array.from(p).reduce((s, pk, k) => s + pk * g[k], 0);
  assert(Math.abs(biased - uniformMean) > 0.05, `biased ${biased} vs ${uniformMean}`);
});

Deno.test("clip epsilon: constant, or linear from 0.2 to 0.05 over the run", () => {
  const config = {
    clipSchedule: "linear" as const,
    clipEpsilon: 0.2,
    clipEpsilonFinal: 0.05,
    numIterations: 101,
  };
  assertAlmostEquals(clipEpsilonAt(config, 0), 0.2, 1e-12);
  assertAlmostEquals(clipEpsilonAt(config, 50), 0.125, 1e-12);
  assertAlmostEquals(clipEpsilonAt(config, 100), 0.05, 1e-12);
  assertAlmostEquals(clipEpsilonAt(config, 150), 0.05, 1e-12, "stays at the end past the plan");
  assertEquals(clipEpsilonAt({ ...config, clipSchedule: "constant" }, 70), 0.2);
  assertEquals(clipEpsilonAt({ ...config, numIterations: 1 }, 0), 0.2);
});

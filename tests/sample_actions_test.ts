/**
 * Action sampling: the WGSL kernel picks the same actions as its TypeScript
 * twin for the same counters and agrees on log-probs; draws follow the
 * softmax (chi-square) and the Gaussian; deterministic mode and the box.
 */
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { readF32, storage, testRandom, upload } from "./gpu_io.ts";
import {
  categoricalChoice,
  countersOf,
  sampleCategorical,
  sampleGaussian,
} from "../src/rl/sample_actions.ts";
import { GpuActionSampler } from "../src/gpu/sample_actions.ts";
import { requireGpu } from "../src/device.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";
import { CpuVecEnv } from "../src/rl/vec_env.ts";
import { cartpole } from "../envs/cartpole.ts";

function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Random counters: step and episode of each env. */
function randomCounters(n: number, rand: () => number): Uint32Array {
  const step = Array.from({ length: n }, () => Math.floor(rand() * 500));
  const episode = Array.from({ length: n }, () => Math.floor(rand() * 50));
  return countersOf(step, episode);
}

Deno.test("categorical inverse CDF: choice boundaries, weight-0 choices, log-prob", () => {
  const logits = new Float32Array([Math.log(0.25), -1000, Math.log(0.75)]);
  assertEquals(categoricalChoice(logits, 0, 3, 0).choice, 0);
  assertEquals(categoricalChoice(logits, 0, 3, 0.2499).choice, 0);
  // Past 0.25 the next choice of nonzero weight is 2: choice 1 has weight 0.
  assertEquals(categoricalChoice(logits, 0, 3, 0.2501).choice, 2);
  assertEquals(categoricalChoice(logits, 0, 3, 1 - 2 ** -24).choice, 2);
  const zeroFirst = new Float32Array([-1000, 0]);
  assertEquals(categoricalChoice(zeroFirst, 0, 2, 0).choice, 1, "u = 0 skips a weight-0 choice");
  const { choice, logProb } = categoricalChoice(logits, 0, 3, 0.9);
  assertEquals(choice, 2);
  assert(Math.abs(logProb - Math.log(0.75)) < 1e-6, `log-prob ${logProb}`);
  // Deterministic: the first largest logit.
  assertEquals(categoricalChoice(new Float32Array([1, 3, 3]), 0, 3, undefined).choice, 1);
});

Deno.test("categorical draws follow the softmax (chi-square)", () => {
  const logits = [1, 0, -1, 2, 0.5];
  const p = softmax(logits);
  const n = 50000;
  const row = new Float32Array(logits);
  const all = new Float32Array(n * logits.length);
  for (let i = 0; i < n; i++) all.set(row, i * logits.length);
  // Every env at step 0 of episode 0: the env index alone varies the draw.
  const { actions, logProbs } = sampleCategorical(
    all,
    n,
    logits.length,
    new Uint32Array(2 * n),
    42,
  );
  const counts = new Array(logits.length).fill(0);
  actions.forEach((a) => counts[a]++);
  const chi2 = counts.reduce((s, c, k) => s + (c - n * p[k]) ** 2 / (n * p[k]), 0);
  // 4 degrees of freedom: 18.47 is the 0.001 quantile.
  assert(chi2 < 18.47, `chi2 ${chi2}, counts ${counts}`);
  for (let i = 0; i < 100; i++) {
    assert(Math.abs(logProbs[i] - Math.log(p[actions[i]])) < 1e-5);
  }
});

/** The process's GPU device and an action sampler compiled on it. */
async function gpuSampler(): Promise<{ device: GPUDevice; sampler: GpuActionSampler }> {
  const { device } = await requireGpu();
  return { device, sampler: await GpuActionSampler.create(device) };
}

/** The buffers of `sampleCategorical` for `n` envs: logits and counters uploaded, outputs empty. */
function categoricalBuffers(
  device: GPUDevice,
  n: number,
  logits: Float32Array,
  counters: Uint32Array,
) {
  return {
    logits: upload(device, logits),
    counters: upload(device, counters),
    actions: storage(device, n),
    logProbs: storage(device, n),
  };
}

gpuTest("categorical sampling in WGSL equals its twin (same choices, log-probs 1e-5)", async () => {
  const { device, sampler } = await gpuSampler();
  const rand = testRandom(5);
  const n = 4096, c = 6;
  const logits = Float32Array.from({ length: n * c }, () => 4 * (rand() - 0.5));
  const counters = randomCounters(n, rand);
  const b = categoricalBuffers(device, n, logits, counters);
  for (const deterministic of [false, true]) {
    const seed = 0x6a09e667 ^ 3;
    sampler.sampleCategorical(b, n, c, seed, deterministic);
    const cpu = sampleCategorical(logits, n, c, counters, seed, deterministic);
    assertEquals(Array.from(await readF32(device, b.actions, n)), Array.from(cpu.actions));
    assertAllClose(await readF32(device, b.logProbs, n), cpu.logProbs, 1e-5, "log-probs");
  }
  Object.values(b).forEach((x) => x.destroy());
  sampler.destroy();
});

gpuTest("categorical draws in WGSL follow the softmax (chi-square)", async () => {
  const { device, sampler } = await gpuSampler();
  const logits = [0.3, -0.7, 1.2];
  const p = softmax(logits);
  const n = 30000;
  const all = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) all.set(logits, i * 3);
  const counters = countersOf(new Uint32Array(n).fill(7), new Uint32Array(n).fill(2));
  const b = categoricalBuffers(device, n, all, counters);
  sampler.sampleCategorical(b, n, 3, 1234);
  const counts = [0, 0, 0];
  (await readF32(device, b.actions, n)).forEach((a) => counts[a]++);
  const chi2 = counts.reduce((s, c, k) => s + (c - n * p[k]) ** 2 / (n * p[k]), 0);
  // 2 degrees of freedom: 13.82 is the 0.001 quantile.
  assert(chi2 < 13.82, `chi2 ${chi2}, counts ${counts}`);
  Object.values(b).forEach((x) => x.destroy());
  sampler.destroy();
});

gpuTest("Gaussian sampling in WGSL equals its twin; the env gets the clipped sample", async () => {
  const { device, sampler } = await gpuSampler();
  const rand = testRandom(9);
  const n = 2048, A = 2;
  const mean = Float32Array.from({ length: n * A }, () => 2 * (rand() - 0.5));
  const logStd = new Float32Array([-0.5, 0.3]);
  const low = [-1, -2], high = [1, Infinity];
  const counters = randomCounters(n, rand);
  const b = {
    mean: upload(device, mean),
    logStd: upload(device, logStd),
    counters: upload(device, counters),
    actions: storage(device, n * A),
    envActions: storage(device, n * A),
    logProbs: storage(device, n),
  };
  for (const deterministic of [false, true]) {
    sampler.sampleGaussian(b, n, low, high, 77, deterministic);
    const cpu = sampleGaussian(mean, logStd, low, high, n, counters, 77, deterministic);
    const actions = await readF32(device, b.actions, n * A);
    const envActions = await readF32(device, b.envActions, n * A);
    assertAllClose(actions, cpu.actions, 1e-5, "actions");
    assertAllClose(envActions, cpu.envActions, 1e-5, "env actions");
    assertAllClose(await readF32(device, b.logProbs, n), cpu.logProbs, 1e-5, "log-probs");
    if (deterministic) assertAllClose(actions, mean, 0, "deterministic is the mean");
    let clipped = 0;
    for (let k = 0; k < n * A; k++) {
      const d = k % A;
      assert(envActions[k] >= low[d] && envActions[k] <= high[d]);
      if (envActions[k] !== actions[k]) clipped++;
    }
    if (!deterministic) assert(clipped > 0, "some samples left the box");
  }
  Object.values(b).forEach((x) => x.destroy());
  sampler.destroy();
});

Deno.test("Gaussian draws have the mean and std asked for; log-prob is the unclipped sample's", () => {
  const n = 40000;
  const mean = new Float32Array(n).fill(0.5);
  const logStd = [Math.log(2)];
  const s = sampleGaussian(mean, logStd, [-1], [1], n, new Uint32Array(2 * n), 3);
  const m = s.actions.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(s.actions.reduce((a, b) => a + (b - m) ** 2, 0) / n);
  assert(Math.abs(m - 0.5) < 4 * 2 / Math.sqrt(n), `mean ${m}`);
  assert(Math.abs(sd - 2) < 0.03, `std ${sd}`);
  const within = s.actions.filter((x) => Math.abs(x - 0.5) < 2).length / n;
  assert(Math.abs(within - 0.6827) < 0.01, `within one std: ${within}`);
  for (let i = 0; i < 100; i++) {
    const z = (s.actions[i] - 0.5) / 2;
    const expected = -0.5 * (z * z + 2 * Math.log(2) + Math.log(2 * Math.PI));
    assert(Math.abs(s.logProbs[i] - expected) < 1e-5);
    assertEquals(s.envActions[i], Math.fround(Math.min(1, Math.max(-1, s.actions[i]))));
  }
});

gpuTest("the sampler drives GpuVecEnv from its counters as the twin drives CpuVecEnv", async () => {
  const { device, sampler } = await gpuSampler();
  const n = 64, steps = 60, seed = 0x5eed;
  const rand = testRandom(13);
  // Strong, env-specific preferences: episodes end early, inside the test.
  const logits = Float32Array.from({ length: n * 2 }, () => 6 * (rand() - 0.5));
  const cpu = new CpuVecEnv(cartpole, n, { seed: 4 });
  const gpu = await GpuVecEnv.create(cartpole, n, { seed: 4 });
  cpu.reset();
  await gpu.reset();
  const logitsBuffer = upload(device, logits);
  const logProbs = storage(device, n);
  let episodesEnded = 0;
  for (let t = 0; t < steps; t++) {
    sampler.sampleCategorical(
      {
        logits: logitsBuffer,
        counters: gpu.buffers.counters,
        actions: gpu.buffers.actions,
        logProbs,
      },
      n,
      2,
      seed,
    );
    const twin = sampleCategorical(logits, n, 2, countersOf(cpu.t, cpu.episode), seed);
    assertEquals(
      Array.from(await readF32(device, gpu.buffers.actions, n)),
      Array.from(twin.actions),
      `step ${t}`,
    );
    await gpu.stepDeviceActions();
    cpu.step(twin.actions);
    episodesEnded += cpu.done.reduce((a, d) => a + (d ? 1 : 0), 0);
  }
  const snapshot = await gpu.read();
  assertEquals(Array.from(snapshot.counters), Array.from(countersOf(cpu.t, cpu.episode)));
  assert(episodesEnded > 10, `episodes ended: ${episodesEnded}`);
  logitsBuffer.destroy();
  logProbs.destroy();
  gpu.close();
  sampler.destroy();
});

releaseGpuAfterTests();

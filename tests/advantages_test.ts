/**
 * Advantages: GAE (episode boundaries, truncation bootstrapped from the final
 * observation's value), group and global normalization (equal values,
 * partial groups), GRPO's outcome advantages; each TypeScript twin against a
 * hand computation and against its WGSL kernel on random inputs.
 */
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { readF32, readU32, storage, testRandom, upload } from "./gpu_io.ts";
import {
  gae,
  type GaeInput,
  grpoAdvantages,
  NORM_EPS,
  normalizeGlobal,
  normalizeGroups,
} from "../src/rl/advantages.ts";
import { GpuAdvantages, SMALL_GROUP_MAX } from "../src/gpu/advantages.ts";
import { requireGpu } from "../src/device.ts";
import { TERMINATED, TRUNCATED } from "../src/rl/vec_env.ts";

/** Env 0 runs on; env 1 terminates at t = 0 and is truncated at t = 1. */
function handRollout(): GaeInput {
  // Step-major: [env0, env1] per step.
  return {
    steps: 3,
    numEnvs: 2,
    rewards: new Float32Array([1, 1, 2, 1, 3, 1]),
    values: new Float32Array([0.5, 1, 1, 1, 1.5, 1]),
    terminated: new Uint8Array([0, 1, 0, 0, 0, 0]),
    truncated: new Uint8Array([0, 0, 0, 1, 0, 0]),
    finalValues: new Float32Array([0, 0, 0, 4, 0, 0]),
    lastValues: new Float32Array([2, 10]),
  };
}

Deno.test("GAE matches a hand computation across episode boundaries", () => {
  const { advantages, returns } = gae(handRollout(), 0.9, 0.5);
  // Env 0: deltas 1.4, 2.35, 3.3; A = delta + 0.45 * A(next).
  // Env 1: t=2 bootstraps from lastValues (9); t=1 truncated, from V(final obs) = 4 (3.6);
  // t=0 terminated, nothing to bootstrap (0). Neither ended step sees the next episode's advantage.
  assertAllClose(advantages, [3.12575, 0, 3.835, 3.6, 3.3, 9], 1e-6, "advantages");
  assertAllClose(returns, [3.62575, 1, 4.835, 4.6, 4.8, 10], 1e-6, "returns");
});

Deno.test("GAE bootstraps a truncated step from V(final obs), a terminated one from 0", () => {
  const base = (): GaeInput => ({
    steps: 1,
    numEnvs: 1,
    rewards: new Float32Array([1]),
    values: new Float32Array([0]),
    terminated: new Uint8Array([0]),
    truncated: new Uint8Array([0]),
    finalValues: new Float32Array([5]),
    lastValues: new Float32Array([7]),
  });
  const gamma = 0.5;
  const running = gae(base(), gamma, 1).advantages[0];
  const truncated = gae({ ...base(), truncated: new Uint8Array([1]) }, gamma, 1).advantages[0];
  const terminated = gae({ ...base(), terminated: new Uint8Array([1]) }, gamma, 1).advantages[0];
  const both = gae(
    { ...base(), terminated: new Uint8Array([1]), truncated: new Uint8Array([1]) },
    gamma,
    1,
  ).advantages[0];
  assertEquals([running, truncated, terminated, both], [1 + 0.5 * 7, 1 + 0.5 * 5, 1, 1]);
});

Deno.test("GAE with lambda 1 and no episode end is the discounted return minus the value", () => {
  const T = 5;
  const r = handRollout();
  const input: GaeInput = {
    ...r,
    steps: T,
    numEnvs: 1,
    rewards: new Float32Array([1, 2, 3, 4, 5]),
    values: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5]),
    terminated: new Uint8Array(T),
    truncated: new Uint8Array(T),
    finalValues: new Float32Array(T),
    lastValues: new Float32Array([6]),
  };
  const gamma = 0.9;
  const { advantages, returns } = gae(input, gamma, 1);
  for (let t = 0; t < T; t++) {
    let g = 6 * gamma ** (T - t);
    for (let u = t; u < T; u++) g += input.rewards[u] * gamma ** (u - t);
    assertAllClose([returns[t], advantages[t]], [g, g - input.values[t]], 1e-6, `t=${t}`);
  }
});

Deno.test("group normalization: full groups, a group of equal values, a partial last group", () => {
  const x = new Float32Array([1, 2, 3, 4, 0.1, 0.1, 0.1, 0.1, 1, 3]);
  normalizeGroups(x, 4);
  const s = Math.sqrt(1.25);
  assertAllClose(x.subarray(0, 4), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-6, "full group");
  // Exactly zero: the mean of equal values is that value, so nothing is divided by eps.
  assertEquals(Array.from(x.subarray(4, 8)), [0, 0, 0, 0]);
  // The partial group [1, 3] uses its own mean 2 and std 1.
  assertAllClose(x.subarray(8), [-1, 1], 1e-6, "partial group");
  const single = normalizeGroups(new Float32Array([1, 2, 3, 4, 5]), 4);
  assertEquals(single[4], 0, "a last group of one becomes 0");
  assert(Array.from(single).every(Number.isFinite));
});

Deno.test("global normalization gives mean 0 and std 1", () => {
  const rand = testRandom(3);
  const x = Float32Array.from({ length: 1000 }, () => 5 + 3 * rand());
  normalizeGlobal(x);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
  assertAllClose([mean, std], [0, 1], 1e-5);
  assertEquals(Array.from(normalizeGlobal(new Float32Array([2, 2, 2]))), [0, 0, 0]);
});

Deno.test("GRPO scores each env's first episode and normalizes within groups", () => {
  // N = 4 envs in groups of 2, T = 3 (step-major).
  const rewards = new Float32Array([1, 1, 0, 0, 1, 1, 5, 5, 1, 1, 0, 0]);
  const terminated = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  const truncated = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const out = grpoAdvantages(rewards, terminated, truncated, 3, 4, 2);
  // Returns: env0 ends at t=1 (2), env1 never ends (3: the rollout's end cuts it),
  // env2 truncated at t=0 (0), env3 truncated at t=2 (5).
  assertEquals(Array.from(out.episodeReturns), [2, 3, 0, 5]);
  assertEquals(Array.from(out.lengths), [2, 3, 1, 3]);
  const a = 1 / (1 + NORM_EPS / 0.5), b = 1 / (1 + NORM_EPS / 2.5);
  assertAllClose(out.advantages, [-a, a, -b, b, -a, a, 0, b, 0, a, 0, b], 1e-7);
});

/** A random rollout with episode ends (some both terminated and truncated). */
function randomRollout(T: number, N: number, seed: number): GaeInput & { done: Uint32Array } {
  const rand = testRandom(seed);
  const n = T * N;
  const terminated = new Uint8Array(n), truncated = new Uint8Array(n);
  const done = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    terminated[k] = rand() < 0.05 ? 1 : 0;
    truncated[k] = rand() < 0.03 ? 1 : 0;
    done[k] = (terminated[k] ? TERMINATED : 0) | (truncated[k] ? TRUNCATED : 0);
  }
  const f = (len: number, lo: number, hi: number) =>
    Float32Array.from({ length: len }, () => lo + (hi - lo) * rand());
  return {
    steps: T,
    numEnvs: N,
    rewards: f(n, -1, 2),
    values: f(n, -5, 20),
    terminated,
    truncated,
    done,
    finalValues: f(n, -5, 20),
    lastValues: f(N, -5, 20),
  };
}

gpuTest("GAE in WGSL equals its TypeScript twin on random rollouts", async () => {
  const { device } = await requireGpu();
  const runner = await GpuAdvantages.create(device);
  for (const [T, N, seed] of [[37, 13, 1], [128, 8, 2], [5, 130, 3]]) {
    const r = randomRollout(T, N, seed);
    const cpu = gae(r, 0.99, 0.95);
    const b = {
      rewards: upload(device, r.rewards),
      values: upload(device, r.values),
      done: upload(device, r.done),
      finalValues: upload(device, r.finalValues),
      lastValues: upload(device, r.lastValues),
      advantages: storage(device, T * N),
      returns: storage(device, T * N),
    };
    runner.gae(b, T, N, 0.99, 0.95);
    assertAllClose(await readF32(device, b.advantages, T * N), cpu.advantages, 1e-5, "advantages");
    assertAllClose(await readF32(device, b.returns, T * N), cpu.returns, 1e-5, "returns");
    Object.values(b).forEach((x) => x.destroy());
  }
  runner.destroy();
});

gpuTest(
  "group normalization in WGSL equals its twin (small and large groups, partial, equal)",
  async () => {
    const { device } = await requireGpu();
    const runner = await GpuAdvantages.create(device);
    const rand = testRandom(7);
    // [length, group size]: small path, small with a partial group, large path
    // with a partial group, large with two chunks per group, and global.
    const cases: [number, number][] = [
      [1024, 8],
      [1003, 5],
      [1000, SMALL_GROUP_MAX + 36],
      [10000, 6000],
      [10000, 10000],
    ];
    for (const [len, g] of cases) {
      const x = Float32Array.from({ length: len }, () => 3 + 10 * rand());
      // One group of equal values, which must become exact zeros on both sides.
      x.fill(0.1, 0, Math.min(g, len));
      if (g === len) x[0] = 1; // global: keep the one group nonconstant
      const cpu = normalizeGroups(x.slice(), g);
      const buffer = upload(device, x);
      runner.normalizeGroups(buffer, len, g);
      const gpu = await readF32(device, buffer, len);
      assertAllClose(gpu, cpu, 1e-5, `length ${len} group ${g}`);
      if (g < len) assert(gpu.subarray(0, g).every((v) => v === 0), "equal values give zeros");
      assert(gpu.every(Number.isFinite));
      buffer.destroy();
    }
    // normalizeGlobal, and a constant batch on the large path.
    const x = Float32Array.from({ length: 5000 }, () => rand());
    const buffer = upload(device, x);
    runner.normalizeGlobal(buffer, 5000);
    assertAllClose(await readF32(device, buffer, 5000), normalizeGlobal(x.slice()), 1e-5, "global");
    device.queue.writeBuffer(buffer, 0, new Float32Array(5000).fill(-2.7));
    runner.normalizeGlobal(buffer, 5000);
    assert(
      (await readF32(device, buffer, 5000)).every((v) => v === 0),
      "constant batch gives zeros",
    );
    buffer.destroy();
    runner.destroy();
  },
);

gpuTest("GRPO advantages in WGSL equal their twin", async () => {
  const { device } = await requireGpu();
  const runner = await GpuAdvantages.create(device);
  const T = 40, N = 24, G = 8;
  const r = randomRollout(T, N, 11);
  const cpu = grpoAdvantages(r.rewards, r.terminated, r.truncated, T, N, G);
  const b = {
    rewards: upload(device, r.rewards),
    done: upload(device, r.done),
    episodeReturns: storage(device, N),
    scores: storage(device, N),
    lengths: storage(device, N),
    advantages: storage(device, T * N),
  };
  runner.grpo(b, T, N, G);
  assertEquals(Array.from(await readU32(device, b.lengths, N)), Array.from(cpu.lengths));
  assertAllClose(await readF32(device, b.episodeReturns, N), cpu.episodeReturns, 1e-5, "returns");
  assertAllClose(await readF32(device, b.advantages, T * N), cpu.advantages, 1e-5, "advantages");
  Object.values(b).forEach((x) => x.destroy());
  runner.destroy();
});

releaseGpuAfterTests();

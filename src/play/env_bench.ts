/**
 * Env throughput: steps per second of a batch with uniformly random actions
 * and auto-reset, in CPU and GPU mode.
 *
 * @module
 */
import type { Env } from "../../envs/env.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import { CpuVecEnv } from "../rl/vec_env.ts";
import type { Mode } from "../device.ts";

/** One measurement: the best of its repeats. */
export interface EnvBenchResult {
  env: string;
  mode: Mode;
  numEnvs: number;
  stepsPerSecond: number;
  /** Steps timed in the best repeat (numEnvs x steps per env). */
  steps: number;
  /** Seconds of the best repeat. */
  seconds: number;
  /** Timed repeats; the result is the fastest, as `timeit` reports, since other processes share the CPU. */
  repeats: number;
  /** GPU mode: env steps inside one dispatch. */
  stepsPerDispatch?: number;
}

/** Measures CPU mode: `repeats` timings of about `seconds` each, keeping the fastest. */
export function benchCpu(
  env: Env,
  numEnvs: number,
  seconds = 0.5,
  repeats = 3,
): EnvBenchResult {
  const vec = new CpuVecEnv(env, numEnvs, { seed: 1 });
  vec.reset();
  vec.stepRandom(Math.max(1, Math.ceil(10000 / numEnvs))); // warm up the JIT
  const k = Math.max(1, Math.ceil(20000 / numEnvs));
  let best = { steps: 0, elapsed: Infinity };
  for (let r = 0; r < repeats; r++) {
    let steps = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < seconds * 1000) {
      vec.stepRandom(k);
      steps += k * numEnvs;
      elapsed = performance.now() - start;
    }
    if (steps / elapsed > best.steps / best.elapsed) best = { steps, elapsed };
  }
  return {
    env: env.id,
    mode: "cpu",
    numEnvs,
    steps: best.steps,
    seconds: best.elapsed / 1000,
    stepsPerSecond: best.steps / (best.elapsed / 1000),
    repeats,
  };
}

/**
 * Env steps per dispatch for a GPU measurement: 100, or more for small
 * batches, so that each dispatch does at least ~1M env steps and the fixed
 * cost of a dispatch (~0.1 ms) does not dominate; at most 10000.
 */
export function defaultStepsPerDispatch(numEnvs: number): number {
  return Math.min(10000, Math.max(100, Math.ceil(1_000_000 / numEnvs)));
}

/**
 * Measures GPU mode: `repeats` timings of about `seconds` each, keeping the
 * fastest. Each dispatch loops `stepsPerDispatch` env steps (a rollout of
 * random actions never leaves the device) and a timing reads back once, at
 * its end.
 */
export async function benchGpu(
  env: Env,
  numEnvs: number,
  seconds = 0.5,
  stepsPerDispatch = defaultStepsPerDispatch(numEnvs),
  repeats = 3,
): Promise<EnvBenchResult> {
  const vec = await GpuVecEnv.create(env, numEnvs, { seed: 1 });
  const time = async (dispatches: number) => {
    const start = performance.now();
    for (let d = 0; d < dispatches; d++) await vec.stepRandom(stepsPerDispatch);
    await vec.readBuffer(vec.buffers.reward, Float32Array);
    return performance.now() - start;
  };
  try {
    await vec.reset();
    await time(1);
    // Calibrate dispatches per timing so the round trip is a small part of it.
    let dispatches = 1;
    let elapsed = await time(dispatches);
    while (elapsed < seconds * 1000 && dispatches < 1 << 16) {
      dispatches *= Math.min(8, Math.max(2, Math.ceil((seconds * 1000) / Math.max(elapsed, 1))));
      elapsed = await time(dispatches);
    }
    for (let r = 1; r < repeats; r++) elapsed = Math.min(elapsed, await time(dispatches));
    const steps = dispatches * stepsPerDispatch * numEnvs;
    return {
      env: env.id,
      mode: "gpu",
      numEnvs,
      steps,
      seconds: elapsed / 1000,
      stepsPerSecond: steps / (elapsed / 1000),
      repeats,
      // A heavy kernel on a software adapter splits the work into dispatches of its own size.
      stepsPerDispatch: Math.min(stepsPerDispatch, vec.stepsPerDispatch),
    };
  } finally {
    vec.close();
  }
}

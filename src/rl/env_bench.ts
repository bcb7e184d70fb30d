/**
 * Env throughput: steps per second of a batch with uniformly random actions
 * and auto-reset, in CPU and GPU mode.
 *
 * @module
 */
import type { Env } from "../../envs/env.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import { CpuVecEnv } from "./vec_env.ts";
import type { Mode } from "../gpu/device.ts";

/** One measurement. */
export interface EnvBenchResult {
  env: string;
  mode: Mode;
  numEnvs: number;
  stepsPerSecond: number;
  /** Steps timed (numEnvs x steps per env). */
  steps: number;
  seconds: number;
  /** GPU mode: env steps inside one dispatch. */
  stepsPerDispatch?: number;
}

/** Measures CPU mode for about `seconds`. */
export function benchCpu(env: Env, numEnvs: number, seconds = 0.5): EnvBenchResult {
  const vec = new CpuVecEnv(env, numEnvs, { seed: 1 });
  vec.reset();
  vec.stepRandom(Math.max(1, Math.ceil(10000 / numEnvs))); // warm up the JIT
  let steps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    const k = Math.max(1, Math.ceil(20000 / numEnvs));
    vec.stepRandom(k);
    steps += k * numEnvs;
    elapsed = performance.now() - start;
  }
  return {
    env: env.id,
    mode: "cpu",
    numEnvs,
    steps,
    seconds: elapsed / 1000,
    stepsPerSecond: steps / (elapsed / 1000),
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
 * Measures GPU mode for about `seconds`, looping `stepsPerDispatch` env steps
 * inside each dispatch (a rollout of random actions never leaves the device)
 * and reading back once at the end.
 */
export async function benchGpu(
  env: Env,
  numEnvs: number,
  seconds = 0.5,
  stepsPerDispatch = defaultStepsPerDispatch(numEnvs),
): Promise<EnvBenchResult> {
  const vec = await GpuVecEnv.create(env, numEnvs, { seed: 1 });
  try {
    await vec.reset();
    await vec.stepRandom(stepsPerDispatch);
    await vec.readBuffer(vec.buffers.reward, Float32Array);
    // Calibrate dispatches per timing so the round trip is a small part of it.
    let dispatches = 1;
    for (;;) {
      const start = performance.now();
      for (let d = 0; d < dispatches; d++) await vec.stepRandom(stepsPerDispatch);
      await vec.readBuffer(vec.buffers.reward, Float32Array);
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000 || dispatches >= 1 << 16) {
        const steps = dispatches * stepsPerDispatch * numEnvs;
        return {
          env: env.id,
          mode: "gpu",
          numEnvs,
          steps,
          seconds: elapsed / 1000,
          stepsPerSecond: steps / (elapsed / 1000),
          stepsPerDispatch,
        };
      }
      dispatches *= Math.min(8, Math.max(2, Math.ceil((seconds * 1000) / Math.max(elapsed, 1))));
    }
  } finally {
    vec.destroy();
  }
}

/**
 * GPU mode's multi-step dispatch (a rollout that never leaves the device;
 * heavy kernels split it into dispatches of `stepsPerDispatch` steps, to
 * stay under a software adapter's loop-iteration cap)
 * keeps the per-step semantics: k steps in one go leave every array
 * exactly as k one-step dispatches do, including the episode statistics and
 * the final observation of the last episode that ended, which the kernel keeps
 * in registers until the end of the dispatch.
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { exactState, twinTolerance } from "./twins.ts";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { actionSize, type EnvParams, paramsAtDifficulty } from "../envs/env.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";
import { getGpu } from "../src/device.ts";
import { CpuVecEnv, randomAction } from "../src/rl/vec_env.ts";

for (const env of ENVS.filter((e) => e.wgsl)) {
  gpuTest(`${env.id}: ${env.maxEpisodeSteps + 30} steps in one go equal single steps`, async () => {
    const n = 70, steps = env.maxEpisodeSteps + 30;
    const many = await GpuVecEnv.create(env, n, { seed: 9 });
    const single = await GpuVecEnv.create(env, n, { seed: 9 });
    // The split is the env's on a software adapter (its loop cap), none on a GPU.
    const { adapter } = (await getGpu())!;
    assertEquals(
      many.stepsPerDispatch,
      adapter.isFallback ? env.stepsPerDispatch ?? Infinity : Infinity,
    );
    await many.reset();
    await single.reset();
    await many.stepRandom(steps);
    for (let j = 0; j < steps; j++) await single.stepRandom(1);
    const a = await many.read(), b = await single.read();
    for (
      const key of ["state", "obs", "finalObs", "reward", "done", "counters", "stats"] as const
    ) {
      assertEquals(Array.from(a[key]), Array.from(b[key]), key);
    }
    // Every env has finished at least one episode (truncation at the latest).
    for (let i = 0; i < n; i++) assert(a.stats[4 * i + 2] >= 1, `env ${i} finished an episode`);
    many.close();
    single.close();
  });
}

for (const env of ENVS.filter((e) => e.wgsl)) {
  gpuTest(`${env.id}: the kernel reads every physical parameter in declaration order`, async () => {
    // Each parameter scaled by its own factor, so that two swapped fields differ.
    const names = Object.keys(env.params);
    const params: EnvParams = { ...paramsAtDifficulty(env, 0.3) };
    // A switch that is off (LunarLander's enable_wind) is turned on, so that its fields are read.
    names.forEach((name, k) => (params[name] = (params[name] || 1) * (1 + 0.07 * (k + 1))));
    const n = 64, A = actionSize(env);
    const source = new CpuVecEnv(env, n, { seed: 21 });
    source.reset();
    source.stepRandom(7);
    const cpu = new CpuVecEnv(env, n, { seed: 21, params, autoreset: false });
    const gpu = await GpuVecEnv.create(env, n, { seed: 21, params, autoreset: false });
    for (let i = 0; i < n; i++) {
      cpu.setState(i, source.state.subarray(i * env.stateSize, (i + 1) * env.stateSize));
    }
    await gpu.setStates(Float32Array.from(source.state));
    const actions = new Float32Array(n * A);
    for (let i = 0; i < n; i++) randomAction(env, 5, i, 0, 0, actions, i * A);
    cpu.step(actions);
    await gpu.step(actions);
    const g = await gpu.read();
    assertAllClose(exactState(env, g.state), exactState(env, cpu.state), 1e-4, "state");
    assertAllClose(g.reward, cpu.reward, twinTolerance(env).reward, "reward");
    gpu.close();
  });
}

releaseGpuAfterTests();

/**
 * Every env's WGSL kernel against its TypeScript twin: resets from the same
 * counters, and single steps from many random mid-episode states.
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { exactState, twinTolerance } from "./twins.ts";
import { assertAllClose, assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { actionSize, hash5, uniform01 } from "../envs/env.ts";
import { CpuVecEnv, randomAction } from "../src/rl/vec_env.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";

const N = 257; // not a multiple of the workgroup size
for (const env of ENVS.filter((e) => e.wgsl)) {
  gpuTest(`${env.id} kernel resets like its TypeScript twin`, async () => {
    const cpu = new CpuVecEnv(env, N, { seed: 7 });
    const gpu = await GpuVecEnv.create(env, N, { seed: 7 });
    cpu.reset();
    await gpu.reset();
    const g = await gpu.read();
    const tolerance = twinTolerance(env).reset;
    assertAllClose(exactState(env, g.state), exactState(env, cpu.state), tolerance, "state");
    assertAllClose(g.obs, cpu.obs, tolerance, "obs");
    gpu.close();
  });

  gpuTest(`${env.id} kernel steps like its TypeScript twin from random states`, async () => {
    // Random mid-episode states: a random-action run of a different length per env.
    const source = new CpuVecEnv(env, N, { seed: 11 });
    source.reset();
    const A = actionSize(env);
    const actions = new Float32Array(N * A);
    for (let j = 0; j < 60; j++) {
      for (let i = 0; i < N; i++) {
        const skip = uniform01(hash5(3, i, j, 0, 0)) < 0.5;
        randomAction(env, 99, i, j, skip ? 1 : 0, actions, i * A);
      }
      source.step(actions);
    }
    const cpu = new CpuVecEnv(env, N, { seed: 5, autoreset: false });
    const gpu = await GpuVecEnv.create(env, N, { seed: 5, autoreset: false });
    for (let i = 0; i < N; i++) {
      cpu.setState(i, source.state.subarray(i * env.stateSize, (i + 1) * env.stateSize));
    }
    await gpu.setStates(Float32Array.from(source.state));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < N; i++) randomAction(env, 42, i, round, 0, actions, i * A);
      cpu.step(actions);
      await gpu.step(actions);
      const g = await gpu.read();
      assertAllClose(
        exactState(env, g.state),
        exactState(env, cpu.state),
        1e-4,
        `round ${round} state`,
      );
      assertAllClose(g.obs, cpu.obs, 1e-4, `round ${round} obs`);
      assertAllClose(g.reward, cpu.reward, twinTolerance(env).reward, `round ${round} reward`);
      assertEquals(Array.from(g.done), Array.from(cpu.done), `round ${round} done`);
    }
    gpu.close();
  });

  gpuTest(`${env.id} random-action rollouts agree between modes, with auto-reset`, async () => {
    const n = 64;
    const cpu = new CpuVecEnv(env, n, { seed: 3 });
    const gpu = await GpuVecEnv.create(env, n, { seed: 3 });
    cpu.reset();
    await gpu.reset();
    // Few steps: chaotic envs drift apart in f32 over long horizons.
    cpu.stepRandom(8);
    await gpu.stepRandom(8);
    const g = await gpu.read();
    const counters = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      counters[2 * i] = cpu.t[i];
      counters[2 * i + 1] = cpu.episode[i];
    }
    assertEquals(Array.from(g.counters), Array.from(counters), "step and episode counters");
    assertAllClose(g.obs, cpu.obs, 1e-3, "obs");
    gpu.close();
  });
}

releaseGpuAfterTests();

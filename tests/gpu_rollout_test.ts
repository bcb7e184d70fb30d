/**
 * GPU mode's multi-step dispatch (a rollout that never leaves the device)
 * keeps the per-step semantics: k steps in one dispatch leave every array
 * exactly as k one-step dispatches do, including the episode statistics and
 * the final observation of the last episode that ended, which the kernel keeps
 * in registers until the end of the dispatch.
 */
import { releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";

for (const env of ENVS.filter((e) => e.wgsl)) {
  Deno.test(`${env.id}: one ${env.maxEpisodeSteps + 30}-step dispatch equals single steps`, async () => {
    const n = 70, steps = env.maxEpisodeSteps + 30;
    const many = await GpuVecEnv.create(env, n, { seed: 9 });
    const single = await GpuVecEnv.create(env, n, { seed: 9 });
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
    many.destroy();
    single.destroy();
  });
}

releaseGpuAfterTests();

/**
 * Every built-in env, in both modes, against Gymnasium's own trajectories
 * (`tests/fixtures/gymnasium/`). Classic-control envs: whole episodes,
 * observations within 1e-4 and the same termination step. LunarLander's
 * episodes, with every random draw of Gymnasium's, are replayed in
 * `tests/lunar_lander_test.ts`.
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { replay, type ReplayJob } from "../src/play/replay.ts";
import { actionSize, type Env } from "../envs/env.ts";
import { episodeActions, type GymEpisode, loadGymnasium } from "./gymnasium.ts";
import type { Mode } from "../src/device.ts";

const TOLERANCE = 1e-4;

async function matchesWholeEpisodes(env: Env, mode: Mode): Promise<void> {
  const episodes = await loadGymnasium<GymEpisode>(env.id);
  const jobs: ReplayJob[] = episodes.map((ep) => ({
    env,
    initState: ep.init_state,
    actions: Float32Array.from(episodeActions(ep).flat()),
    steps: ep.steps.length,
  }));
  assertEquals(jobs[0].actions.length, jobs[0].steps * actionSize(env));
  const results = await replay(jobs, mode);
  episodes.forEach((ep, e) => {
    const ours = results[e];
    const endsEarly = ep.steps.findIndex((s) => s.terminated || s.truncated);
    const expectedLength = endsEarly >= 0 ? endsEarly + 1 : ep.steps.length;
    assertEquals(ours.obs.length, expectedLength, `seed ${ep.seed}: episode length`);
    ep.steps.slice(0, expectedLength).forEach((step, t) => {
      const where = `seed ${ep.seed} step ${t}`;
      step.obs.forEach((v, k) =>
        assertAlmostEquals(ours.obs[t][k], v, TOLERANCE, `${where} obs[${k}]`)
      );
      assertAlmostEquals(
        ours.reward[t],
        step.reward,
        TOLERANCE * Math.max(1, Math.abs(step.reward)),
        `${where} reward`,
      );
      assertEquals(ours.terminated[t], step.terminated, `${where} terminated`);
      assertEquals(ours.truncated[t], step.truncated, `${where} truncated`);
    });
    assert(ours.obs.length > 0);
  });
}

// LunarLander's episodes, with every random draw, are replayed in tests/lunar_lander_test.ts.
for (const env of ENVS.filter((e) => e.resetInputs === undefined)) {
  for (const mode of ["cpu", "gpu"] as Mode[]) {
    const name = `${env.id} matches Gymnasium in ${mode} mode`;
    const check = () => matchesWholeEpisodes(env, mode);
    if (mode === "gpu") gpuTest(name, check);
    else Deno.test(name, check);
  }
}

releaseGpuAfterTests();

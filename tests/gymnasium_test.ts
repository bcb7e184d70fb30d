/**
 * Every built-in env, in both modes, against Gymnasium's own trajectories
 * (`tests/fixtures/gymnasium/`). Classic-control envs: whole episodes,
 * observations within 1e-4 and the same termination step.
 *
 * LunarLander: only the first 15 steps of each episode, from Gymnasium's reset
 * and per-step draws: observations within 1e-4. That is all that matches
 * today. At step 15 or 16 of every recorded episode, well before any ground
 * contact, ours parts from Gymnasium's at once by up to 8e-3 (a Box2D event
 * our engine does not reproduce yet), and after touchdown further (issue 15).
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { parseReplayInput, replay, type ReplayJob } from "../src/rl/replay.ts";
import { actionSize, type Env } from "../envs/env.ts";
import { episodeActions, type GymEpisode, type LanderEpisode, loadGymnasium } from "./gymnasium.ts";
import type { Mode } from "../src/gpu/device.ts";

const TOLERANCE = 1e-4;
/** LunarLander steps that match: every recorded episode parts from ours at step 15 or 16. */
const LANDER_MATCHING_STEPS = 15;
/** The reward is 100x a distance or speed (shaping), so 1e-4 in obs is 1e-2 in reward. */
const LANDER_REWARD_TOLERANCE = 1e-2;

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

async function matchesFirstSteps(env: Env, mode: Mode): Promise<void> {
  const episodes = await loadGymnasium<LanderEpisode>(env.id);
  const steps = (ep: LanderEpisode) => ep.steps.slice(0, LANDER_MATCHING_STEPS);
  const jobs = await parseReplayInput({
    episodes: episodes.map((ep) => ({
      env: env.id,
      terrain: ep.terrain_heights_raw,
      initial_force: ep.initial_force,
      actions: steps(ep).map((s) => s.action),
      dispersion: steps(ep).map((s) => s.dispersion),
    })),
  });
  const results = await replay(jobs, mode);
  episodes.forEach((ep, e) => {
    const ours = results[e];
    assertEquals(ours.obs.length, LANDER_MATCHING_STEPS, `seed ${ep.seed}: episode length`);
    steps(ep).forEach((step, t) => {
      const where = `seed ${ep.seed} (${ep.policy}) step ${t}`;
      assert(!step.leg_contact[0] && !step.leg_contact[1], `${where}: in free flight`);
      step.obs.forEach((v, k) =>
        assertAlmostEquals(ours.obs[t][k], v, TOLERANCE, `${where} obs[${k}]`)
      );
      assertAlmostEquals(ours.reward[t], step.reward, LANDER_REWARD_TOLERANCE, `${where} reward`);
      assertEquals(ours.terminated[t], step.terminated, `${where} terminated`);
    });
  });
}

for (const env of ENVS) {
  const lander = env.resetInputs !== undefined;
  for (const mode of ["cpu", "gpu"] as Mode[]) {
    const name = lander
      ? `${env.id} matches Gymnasium in ${mode} mode for the first ${LANDER_MATCHING_STEPS} steps only (issue 15)`
      : `${env.id} matches Gymnasium in ${mode} mode`;
    const check = () => lander ? matchesFirstSteps(env, mode) : matchesWholeEpisodes(env, mode);
    if (mode === "gpu") gpuTest(name, check);
    else Deno.test(name, check);
  }
}

releaseGpuAfterTests();

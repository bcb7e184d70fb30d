/**
 * LunarLander on our Box2D engine: Gymnasium's rules for a lander left
 * alone, a gentle landing coming to rest, the WGSL kernel against its
 * TypeScript twin through touchdown, and replays from Gymnasium's draws.
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertAllClose, assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  LANDER_STATE,
  landerBodyPose,
  lunarLander,
  lunarLanderContinuous,
  smoothTerrain,
} from "../envs/lunar_lander.ts";
import { createHash } from "node:crypto";
import { envActionsOf } from "../envs/env.ts";
import { CpuVecEnv, randomAction, TERMINATED } from "../src/rl/vec_env.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";
import { parseReplayInput, replay } from "../src/play/replay.ts";
import { InputError } from "../src/errors.ts";
import { landerHeuristicDiscrete } from "../envs/lunar_lander_heuristic.ts";
import { LANDER_COLORS, landerSceneFromState } from "../src/render/lunar_lander.ts";
import { envDrawer } from "../src/render/episode.ts";
import { rasterize } from "../src/render/raster.ts";

/** Steps `vec` with `policy` until every env's first episode ends; returns per-env reward lists. */
function runEpisodes(vec: CpuVecEnv, policy: (obs: Float32Array, i: number) => number): {
  rewards: number[][];
  obs: number[][][];
} {
  const n = vec.n;
  const rewards: number[][] = Array.from({ length: n }, () => []);
  const obs: number[][][] = Array.from({ length: n }, () => []);
  const live = new Array(n).fill(true);
  const actions = new Float32Array(n);
  for (let t = 0; t < lunarLander.maxEpisodeSteps && live.some(Boolean); t++) {
    for (let i = 0; i < n; i++) actions[i] = policy(vec.obs, i);
    vec.step(actions);
    for (let i = 0; i < n; i++) {
      if (!live[i]) continue;
      rewards[i].push(vec.reward[i]);
      obs[i].push(Array.from(vec.obs.subarray(8 * i, 8 * i + 8)));
      if (vec.done[i]) live[i] = false;
    }
  }
  return { rewards, obs };
}

Deno.test("a lander left alone falls freely, touches down and ends as Gymnasium's rules say", () => {
  const vec = new CpuVecEnv(lunarLander, 16, { seed: 0, autoreset: false });
  vec.reset();
  const { rewards, obs } = runEpisodes(vec, () => 0);
  for (let i = 0; i < 16; i++) {
    const o = obs[i], r = rewards[i];
    const touch = o.findIndex((x) => x[6] === 1 || x[7] === 1);
    assert(touch > 20, `env ${i} touches down after falling (step ${touch})`);
    // In free fall vy drops by g dt per step: 10 / 50 m/s, scaled by (H / 2) / FPS (the legs'
    // springs pull on the hull a little).
    for (let t = 1; t < touch - 1; t++) {
      assertAlmostEquals(o[t][3] - o[t - 1][3], (-0.2 * (400 / 30 / 2)) / 50, 1e-3, `vy ${t}`);
    }
    const last = r.length - 1;
    assert(last < lunarLander.maxEpisodeSteps - 1, "the episode terminates");
    assert(r[last] === 100 || r[last] === -100, `ends with +-100, got ${r[last]}`);
    // Leg contact is worth +10 in the shaping.
    if (r[last] === 100) assertEquals(o[last][6] + o[last][7] > 0, true);
  }
});

Deno.test("on flat ground with no push the heuristic pilot lands on both legs and comes to rest", () => {
  const vec = new CpuVecEnv(lunarLander, 1, { seed: 0, autoreset: false });
  lunarLander.setResetInputs!(vec.state, 0, {
    terrain: new Array(12).fill(400 / 30 / 4),
    initial_force: [0, 0],
  });
  vec.reset();
  const { rewards, obs } = runEpisodes(vec, (o, i) => landerHeuristicDiscrete(o, 8 * i));
  const last = rewards[0].length - 1;
  assertEquals(rewards[0][last], 100, "comes to rest (+100)");
  assertEquals(obs[0][last].slice(6), [1, 1], "on both legs");
  // Between the flags (x in [8, 12] of [0, 20]), upright.
  assertAlmostEquals(obs[0][last][0], 0, 0.2, "on the pad");
  assertAlmostEquals(obs[0][last][4], 0, 0.1, "upright");
  // Resting on the legs at the pad: y is about 0 in Gymnasium's scaling.
  assertAlmostEquals(obs[0][last][1], 0, 0.01, "height");
});

Deno.test("smooth terrain: the helipad is flat and each height averages its neighbours", () => {
  const h = Array.from({ length: 12 }, (_, k) => k * 0.5);
  const y = smoothTerrain(h);
  assertEquals(y.length, 11);
  for (let i = 4; i <= 6; i++) assertAlmostEquals(y[i], 0.99 * (400 / 30 / 4), 1e-12);
  // Python's height[-1] is the last of the 12.
  assertAlmostEquals(y[0], 0.33 * (h[11] + h[0] + h[1]), 1e-12);
});

gpuTest("the WGSL kernel follows its TypeScript twin through touchdown for 100 steps", async () => {
  const n = 32;
  for (const policy of ["noop", "random"]) {
    const cpu = new CpuVecEnv(lunarLander, n, { seed: 1, autoreset: false });
    const gpu = await GpuVecEnv.create(lunarLander, n, { seed: 1, autoreset: false });
    cpu.reset();
    await gpu.reset();
    const actions = new Float32Array(n);
    const ended = new Array(n).fill(false);
    let contacts = 0;
    for (let t = 0; t < 100; t++) {
      for (let i = 0; i < n; i++) {
        if (policy === "noop") actions[i] = 0;
        else randomAction(lunarLander, 5, i, 0, t, actions, i);
      }
      cpu.step(actions);
      await gpu.step(actions);
      const g = await gpu.read();
      for (let i = 0; i < n; i++) {
        if (ended[i]) continue;
        const where = `${policy} env ${i} step ${t}`;
        assertAllClose(
          g.obs.subarray(8 * i, 8 * i + 8),
          cpu.obs.subarray(8 * i, 8 * i + 8),
          2e-3,
          where,
        );
        assertEquals(g.done[i], cpu.done[i], `${where} done`);
        // A reward is a difference of shapings 100 times the obs: 1e-3 in obs is up to 0.3.
        assertAlmostEquals(g.reward[i], cpu.reward[i], 0.25, `${where} reward`);
        if (cpu.obs[8 * i + 6] || cpu.obs[8 * i + 7]) contacts++;
        ended[i] = cpu.done[i] !== 0;
      }
    }
    assert(contacts > 20, `${policy}: legs touched in ${contacts} env-steps`);
    assert(ended.filter(Boolean).length > n / 2, `${policy}: most episodes ended`);
    gpu.close();
  }
});

const TERRAIN = [1.2, 5.5, 0.3, 4, 6.1, 2.2, 3.3, 0.5, 2.5, 6.5, 1, 3.9];

gpuTest(
  "replay starts LunarLander from Gymnasium's draws, with the dispersion given, in both modes",
  async () => {
    const actions = Array.from({ length: 60 }, (_, t) => (t * 7) % 4);
    const dispersion = actions.map((_, t) => [((t % 5) - 2) / 60, ((t % 3) - 1) / 60]);
    const reset = { reset_dispersion: [0.01, -0.02] };
    const jobs = await parseReplayInput({
      episodes: [
        {
          env: "LunarLander-v3",
          terrain: TERRAIN,
          initial_force: [300, -200],
          ...reset,
          actions,
          dispersion,
        },
        {
          env: "lunar_lander",
          terrain: TERRAIN,
          initial_force: [300, -200],
          ...reset,
          actions,
          dispersion,
        },
      ],
    });
    const [cpu, twin] = await replay(jobs, "cpu");
    assertEquals(cpu, twin, "no hidden randomness: the same draws give the same episode");
    const [gpu] = await replay(jobs, "gpu");
    assertEquals(gpu.obs.length, cpu.obs.length);
    for (let t = 0; t < cpu.obs.length; t++) {
      assertAllClose(gpu.obs[t], cpu.obs[t], 2e-3, `step ${t}`);
    }
    // The state rows are the hull's centre, angle and velocities.
    assertEquals(cpu.state[0].length, 6);
    // Another dispersion changes the flight; the terrain is Gymnasium's smooth_y.
    const other = await parseReplayInput({
      episodes: [{
        env: "lunar_lander",
        terrain: TERRAIN,
        initial_force: [300, -200],
        ...reset,
        actions,
      }],
    });
    const [drawn] = await replay(other, "cpu");
    assert(JSON.stringify(drawn.obs) !== JSON.stringify(cpu.obs));
    const vec = new CpuVecEnv(lunarLander, 1, { autoreset: false });
    lunarLander.setResetInputs!(vec.state, 0, { terrain: TERRAIN, initial_force: [300, -200] });
    vec.reset();
    const heights = smoothTerrain(TERRAIN);
    // Box2D keeps the edges' vertices in float32, and so do we.
    for (let i = 0; i < 11; i++) {
      assertEquals(vec.state[LANDER_STATE.TERRAIN + 2 * i + 1], Math.fround(heights[i]));
    }
    assertEquals(vec.done[0] & TERMINATED, 0);
  },
);

Deno.test("replay rejects LunarLander input without its draws or with misshapen ones", async () => {
  const bad = async (episode: Record<string, unknown>, parts: string[]) => {
    try {
      await parseReplayInput({ episodes: [episode] });
    } catch (e) {
      assert(e instanceof InputError, String(e));
      for (const part of parts) assert(e.message.includes(part), `"${e.message}" names ${part}`);
      return;
    }
    throw new Error(`accepted ${JSON.stringify(episode)}`);
  };
  const good = {
    env: "LunarLander-v3",
    terrain: TERRAIN,
    initial_force: [0, 0],
    reset_dispersion: [0, 0],
    actions: [0, 2],
  };
  await bad({ ...good, terrain: undefined, init_state: [0, 0, 0, 0, 0, 0] }, [
    "episode 0",
    '"terrain"',
    "12 finite numbers",
    "LunarLander-v3",
  ]);
  await bad({ ...good, initial_force: [1] }, ['"initial_force"', "2 finite numbers"]);
  await bad({ ...good, reset_dispersion: undefined }, ['"reset_dispersion"', "2 finite numbers"]);
  await bad({ ...good, actions: [0, 4] }, ['"actions"[1]', "integer in [0, 3]"]);
  await bad({ ...good, dispersion: [[0, 0]] }, ['"dispersion"', "2 rows"]);
  await bad({ ...good, dispersion: [[0, 0], [0, "x"]] }, ['"dispersion"[1]', "2 finite numbers"]);
});

/** One of Gymnasium's episodes in `fixtures/gymnasium/lunar_lander_contact/` (see its README). */
interface GymLanderEpisode {
  seed: number;
  policy: string;
  terrain: number[];
  initial_force: number[];
  reset_dispersion: number[];
  actions: (number | number[])[];
  dispersion: number[][];
  obs: number[][];
  reward: number[];
  terminated: boolean;
  truncated: boolean;
  leg_contact: number[][];
}

async function gymLanderEpisodes(
  file: string,
): Promise<{ env: string; episodes: GymLanderEpisode[] }> {
  const url = new URL(`./fixtures/gymnasium/lunar_lander_contact/${file}.json`, import.meta.url);
  const data = JSON.parse(await Deno.readTextFile(url));
  return { env: data.env_id, episodes: data.episodes };
}

/**
 * Replays Gymnasium's episodes and checks what our engine matches: the end
 * (step, terminated or truncated, +-100), obs within 1e-3 through the first
 * leg contact, obs within 1e-2 to the end of heuristic episodes, the legs'
 * contact flags at every step, and the return within 1.
 */
async function checkGymLanderReplay(
  file: string,
  mode: "cpu" | "gpu",
  pick: (e: GymLanderEpisode) => boolean,
): Promise<void> {
  const { env, episodes: all } = await gymLanderEpisodes(file);
  const episodes = all.filter(pick);
  const jobs = await parseReplayInput({
    episodes: episodes.map((e) => ({ env, ...e })),
  });
  const outs = await replay(jobs, mode);
  episodes.forEach((e, i) => {
    const out = outs[i], where = `${env} ${e.policy} seed ${e.seed} (${mode})`;
    const n = e.obs.length;
    let firstContact = e.leg_contact.findIndex(([a, b]) => a + b > 0);
    if (firstContact < 0) firstContact = n - 1;
    for (let t = 0; t <= firstContact; t++) {
      assertAllClose(out.obs[t], e.obs[t], 1e-3, `${where} step ${t}`);
    }
    assertEquals(out.obs.length, n, `${where}: ends at the same step`);
    assertEquals(out.terminated[n - 1], e.terminated, `${where}: terminated`);
    assertEquals(out.truncated[n - 1], e.truncated, `${where}: truncated`);
    assertEquals(out.reward[n - 1], e.reward[n - 1], `${where}: ends with the same +-100`);
    for (let t = 0; t < n; t++) {
      assertEquals(out.obs[t].slice(6), e.leg_contact[t], `${where} step ${t}: leg contact`);
      if (e.policy === "heuristic") {
        assertAllClose(out.obs[t], e.obs[t], 1e-2, `${where} step ${t}`);
      }
    }
    const sum = (r: number[]) => r.reduce((a, b) => a + b, 0);
    assertAlmostEquals(sum(out.reward), sum(e.reward), 1, `${where}: return`);
  });
}

Deno.test("replays of Gymnasium's LunarLander episodes (CPU): same end, contacts and returns", async () => {
  await checkGymLanderReplay("lunar_lander_v3", "cpu", () => true);
  await checkGymLanderReplay("lunar_lander_continuous_v3", "cpu", () => true);
});

gpuTest(
  "replays of Gymnasium's LunarLander episodes (GPU): same end, contacts and returns",
  async () => {
    await checkGymLanderReplay("lunar_lander_v3", "gpu", () => true);
    await checkGymLanderReplay("lunar_lander_continuous_v3", "gpu", () => true);
  },
);

Deno.test("eval's drawer shows a LunarLander state as simulated: terrain, hull and legs", () => {
  const vec = new CpuVecEnv(lunarLander, 1, { seed: 2, autoreset: false });
  vec.reset();
  for (let t = 0; t < 30; t++) vec.step(new Float32Array([t % 4]));
  const scene = landerSceneFromState(vec.state);
  const hull = landerBodyPose(vec.state, 0);
  assertEquals(scene.hull, hull);
  assertEquals(
    scene.terrainY,
    Array.from({ length: 11 }, (_, i) => vec.state[LANDER_STATE.TERRAIN + 2 * i + 1]),
  );
  // The hull's origin in the observation's scaling.
  assertAlmostEquals((hull.x - 10) / 10, vec.obs[0], 1e-6);
  // Each leg's joint (its point (i * 20, 18) px) stays pinned to the hull's origin.
  scene.legs.forEach((leg, k) => {
    const i = k === 0 ? -1 : 1, c = Math.cos(leg.angle), s = Math.sin(leg.angle);
    assertAlmostEquals(leg.x + (c * i * 20 - s * 18) / 30, hull.x, 1e-3, `leg ${k} x`);
    assertAlmostEquals(leg.y + (s * i * 20 + c * 18) / 30, hull.y, 1e-3, `leg ${k} y`);
  });
  const frame = rasterize(envDrawer("lunar_lander")!(vec.state));
  const at = (x: number, y: number) => {
    const o = 3 * (Math.round(400 - y * 30) * 600 + Math.round(x * 30));
    return Array.from(frame.data.subarray(o, o + 3));
  };
  assertEquals(at(hull.x, hull.y + 0.2), [...LANDER_COLORS.body], "the hull is drawn at its pose");
});

releaseGpuAfterTests();

Deno.test("the CPU engine's bits are pinned: 16 envs x 400 steps of each variant hash as recorded", () => {
  // Speed work on the solver must not change a single bit (the Gymnasium replays above would
  // let small changes through). Record again only with a change meant to move the physics,
  // after the replays and the 1000-episode statistics are checked anew.
  const recorded: Record<string, string> = {
    "LunarLander-v3": "3932b996b3bce775",
    "LunarLanderContinuous-v3": "0f4744250a6fc4b1",
  };
  for (const env of [lunarLander, lunarLanderContinuous]) {
    const n = 16, A = env.id === "LunarLander-v3" ? 1 : 2;
    const vec = new CpuVecEnv(env, n, { seed: 7 });
    vec.reset();
    const actions = new Float32Array(n * A);
    const hash = createHash("sha256");
    for (let t = 0; t < 400; t++) {
      // The heuristic pilot (landings, resting contacts) alternating with fixed patterns (crashes).
      if (t % 2 === 0) env.heuristic!(vec.obs, n, actions);
      else {
        for (let i = 0; i < actions.length; i++) {
          actions[i] = A === 1 ? (t * 7 + i * 3) % 4 : Math.sin(t * 0.37 + i);
        }
      }
      vec.step(actions);
      hash.update(new Uint8Array(vec.state.buffer));
      hash.update(new Uint8Array(vec.obs.buffer));
    }
    assertEquals(hash.digest("hex").slice(0, 16), recorded[env.id], env.id);
  }
});

Deno.test("LunarLanderContinuous through its four discrete actions steps as LunarLander, bit for bit", () => {
  // A categorical policy on the continuous variant picks among `discreteActions` (no engine, left,
  // main, right at full throttle). Gymnasium's continuous mapping fires the same engines at the
  // same power, so the variants' trajectories and returns are the same: a preset measured on one
  // is measured on the other.
  const n = 32;
  const discrete = new CpuVecEnv(lunarLander, n, { seed: 3 });
  const continuous = new CpuVecEnv(lunarLanderContinuous, n, { seed: 3 });
  discrete.reset();
  continuous.reset();
  const choices = new Float32Array(n);
  let episodesEnded = 0;
  for (let t = 0; t < 600; t++) {
    for (let i = 0; i < n; i++) choices[i] = (t * 5 + i * 3 + (t >> 4)) % 4;
    discrete.step(choices);
    continuous.step(envActionsOf(lunarLanderContinuous, choices, n));
    assertEquals(continuous.state, discrete.state, `state at step ${t}`);
    assertEquals(continuous.reward, discrete.reward, `reward at step ${t}`);
    assertEquals(continuous.done, discrete.done, `done at step ${t}`);
    episodesEnded += discrete.done.filter((d) => d !== 0).length;
  }
  assert(episodesEnded > n, `episodes ended: ${episodesEnded}`);
});

/**
 * Stage 2: advantages by hand, the ratio-1 proof that rollout and update see
 * the same context, flat memory, and exact resume.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { tinyGrpoConfig, tinyTrainingModels } from "./fixtures.ts";
import { cartpole } from "../envs/cartpole.ts";
import { initBackend } from "../src/model/backend.ts";
import { adamState } from "../src/model/optim.ts";
import { checkpointFromBytes, encodeCheckpoint } from "../src/model/checkpoint.ts";
import { gae, type GaeInput, normalizeGlobal, normalizeGroups } from "../src/rl/advantages.ts";
import {
  createOptimizers,
  type GrpoState,
  type IterationMetrics,
  newGrpoState,
  trainGrpo,
} from "../src/rl/grpo.ts";
import type { GrpoConfig } from "../src/rl/grpo_config.ts";
import { chunkBatch, chunks, Rollout } from "../src/rl/rollout.ts";
import { restoreTrainingState, saveTrainingCheckpoint } from "../src/rl/grpo_checkpoint.ts";
import { RolloutCollector } from "../src/rl/collect.ts";

Deno.test("GAE restarts at episode ends and bootstraps truncation from the final observation", () => {
  // One env, 4 steps: terminated at t=1, truncated at t=3.
  const r = {
    steps: 4,
    numEnvs: 1,
    rewards: Float32Array.of(1, 2, 3, 4),
    values: Float32Array.of(0.5, 0.25, 1, 2),
    terminated: Uint8Array.of(0, 1, 0, 0),
    truncated: Uint8Array.of(0, 0, 0, 1),
    finalValues: Float32Array.of(0, 0, 0, 10),
    lastValues: Float32Array.of(99), // unused: the last step ended an episode
  };
  const g = 0.9, l = 0.8;
  const { advantages, returns } = gae(r, g, l);
  const d3 = 4 + g * 10 - 2;
  const d2 = 3 + g * 2 - 1;
  const a2 = d2 + g * l * d3;
  const d1 = 2 - 0.25;
  const d0 = 1 + g * 0.25 - 0.5;
  const expected = [d0 + g * l * d1, d1, a2, d3];
  expected.forEach((x, t) => assertAlmostEquals(advantages[t], x, 1e-5, `advantage ${t}`));
  expected.forEach((x, t) => assertAlmostEquals(returns[t], x + r.values[t], 1e-5, `return ${t}`));
});

/** A GAE input of `steps` x `numEnvs`: zero rewards and values, no episode ends, then `fields`. */
function gaeInput(steps: number, numEnvs: number, fields: Partial<GaeInput>): GaeInput {
  const T = steps * numEnvs;
  return {
    steps,
    numEnvs,
    rewards: new Float32Array(T),
    values: new Float32Array(T),
    terminated: new Uint8Array(T),
    truncated: new Uint8Array(T),
    finalValues: new Float32Array(T),
    lastValues: new Float32Array(numEnvs),
    ...fields,
  };
}

Deno.test("GAE bootstraps an unfinished rollout from the value after its last step", () => {
  const r = gaeInput(2, 2, {
    rewards: Float32Array.of(1, 0, 1, 0),
    lastValues: Float32Array.of(5, -5),
  });
  const { advantages } = gae(r, 1, 1);
  // env 0: rewards 1, 1 then V=5; env 1: rewards 0, 0 then V=-5.
  assertEquals(Array.from(advantages), [7, -5, 6, -5]);
});

Deno.test("group normalization: each group to mean 0 and std 1; a zero-std group to zeros", () => {
  const x = Float32Array.of(1, 2, 3, 4, 7, 7, 7, 7, 5);
  normalizeGroups(x, 4);
  assertAlmostEquals(x[0] + x[1] + x[2] + x[3], 0, 1e-6);
  assertAlmostEquals(x[0], -3 / Math.sqrt(5), 1e-5);
  assertEquals(Array.from(x.slice(4, 8)), [0, 0, 0, 0]);
  assertEquals(x[8], 0, "a partial group of one");
  const y = normalizeGlobal(Float32Array.of(2, 4));
  assertEquals(Array.from(y).map((v) => Math.round(v * 1e6) / 1e6), [-1, 1]);
});

function tinyState(seed = 0, overrides: Partial<GrpoConfig> = {}): GrpoState {
  const config = tinyGrpoConfig({ numIterations: 3, ...overrides });
  return newGrpoState(cartpole, config, tinyTrainingModels(seed));
}

async function run(state: GrpoState): Promise<IterationMetrics[]> {
  const out: IterationMetrics[] = [];
  await trainGrpo(state, { onIteration: (m) => void out.push(m) });
  return out;
}

Deno.test("before the first update of each iteration the recomputed log-probs equal the rollout's", async () => {
  await initBackend("cpu");
  const state = tinyState();
  const metrics = await run(state);
  assertEquals(metrics.length, 3);
  for (const m of metrics) assert(m.first_ratio_error < 1e-3, `ratio error ${m.first_ratio_error}`);
  assert(metrics.every((m) => Number.isFinite(m.policy_loss) && Number.isFinite(m.value_loss)));
  // The time split adds up to the iteration's wall time, which steps_per_second is measured over.
  for (const m of metrics) {
    assert(m.rollout_seconds > 0 && m.update_seconds > 0, JSON.stringify(m));
    const steps = m.steps_per_second * (m.rollout_seconds + m.update_seconds);
    assert(Math.abs(steps - state.config.numEnvs * state.config.rolloutSteps) < 1e-6 * steps);
  }
});

Deno.test("tensor count stays flat across iterations", async () => {
  await initBackend("cpu");
  const state = tinyState(1, { numIterations: 2 });
  await run(state);
  const after2 = tf.memory().numTensors;
  state.config.numIterations = 4;
  await run(state);
  assertEquals(tf.memory().numTensors, after2);
});

Deno.test("CPU mode: the critic on its own thread gives the same bits as the critic in line", async () => {
  await initBackend("cpu");
  const weights = async (state: GrpoState) =>
    await Promise.all(
      [...state.value.trainableVariables(), ...state.policy.trainableVariables()].map((v) =>
        v.data()
      ),
    );
  const threaded = tinyState(3, { valueClip: 0.5 });
  const inLine = { ...tinyState(3, { valueClip: 0.5 }), helperThread: false };
  const a = await run(threaded), b = await run(inLine);
  assertEquals(
    a.map((m) => [m.value_loss, m.policy_loss, m.explained_variance]),
    b.map((m) => [m.value_loss, m.policy_loss, m.explained_variance]),
  );
  assertEquals(await weights(threaded), await weights(inLine));
  // And the Adam states the checkpoints would save.
  assertEquals(adamState(threaded.valueOptimizer), adamState(inLine.valueOptimizer));
});

Deno.test("--resume continues exactly as the uninterrupted run", async () => {
  await initBackend("cpu");
  const straight = await run(tinyState(2));

  const first = tinyState(2, { numIterations: 2 });
  await run(first);
  const places = { trainingArgs: {}, runDir: "r", logDir: "l", stage1: "s", bestMeanReward: 0 };
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await saveTrainingCheckpoint(path, first, places);
  const bytes = await Deno.readFile(path);
  await Deno.remove(path);
  const loaded = checkpointFromBytes(bytes, "resume test", cartpole);
  const resumed: GrpoState = {
    ...tinyState(99),
    policy: loaded.policy,
    value: loaded.value!,
  };
  resumed.config = { ...first.config, numIterations: 3 };
  Object.assign(resumed, createOptimizers(resumed.config));
  await restoreTrainingState(resumed, loaded, "resume test");
  assertEquals(resumed.iteration, 2);
  const [third] = await run(resumed);
  assertEquals(third.iteration, 3);
  assertEquals(third.mean_reward, straight[2].mean_reward);
  assertEquals(third.episodes, straight[2].episodes);
  assertAlmostEquals(third.policy_loss, straight[2].policy_loss, 1e-5, "policy loss");
  assertAlmostEquals(
    third.value_loss,
    straight[2].value_loss,
    1e-4 * Math.abs(straight[2].value_loss),
    "value loss",
  );
  void encodeCheckpoint;
});

Deno.test("chunks cover every rollout sample once, in episode-aligned context", () => {
  const N = 2, T = 7, K = 3;
  const r = new Rollout(T, N, 1, 1);
  // env 0: one episode going on from step 5 before the rollout; env 1: resets at t = 4.
  r.prefixes[0] = {
    obs: [[-2], [-1]],
    actions: [[0], [1]],
    returnsToGo: [9, 8],
    timesteps: [3, 4],
  };
  for (let t = 0; t < T; t++) {
    r.timesteps[t * N] = 5 + t;
    r.timesteps[t * N + 1] = t < 4 ? 10 + t : t - 4;
    r.obs[t * N] = t;
  }
  const cs = chunks(r, K);
  const seen = new Set<number>();
  for (const c of cs) {
    for (let t = c.start; t < c.start + c.length; t++) {
      assert(!seen.has(t * N + c.env));
      seen.add(t * N + c.env);
    }
  }
  assertEquals(seen.size, N * T);
  const b = chunkBatch(r, cs.filter((c) => c.env === 0), K);
  // First chunk of env 0: timesteps 3, 4 from the prefix, 5 from the rollout.
  assertEquals(Array.from(b.timesteps.slice(0, 3)), [3, 4, 5]);
  assertEquals(Array.from(b.mask.slice(0, 3)), [0, 0, 1]);
  assertEquals(Array.from(b.obs.slice(0, 3)), [-2, -1, 0]);
});

Deno.test("chunks of a collect that stopped early ignore the stale rows after it", () => {
  const N = 1, T = 12, K = 4;
  const r = new Rollout(T, N, 1, 1);
  // Collected: timesteps 0..5 of a fresh episode; rows 6.. are left from an older rollout.
  const stale = [37, 38, 39, 41, 42, 43];
  for (let t = 0; t < T; t++) r.timesteps[t] = t < 6 ? t : stale[t - 6];
  const cs = chunks(r, K, 6);
  assertEquals(cs.map((c) => [c.start, c.length]), [[0, 4], [4, 2]]);
  for (const c of chunks(r, K, 6)) assert(c.prefix + c.length <= K);
  // Over all rows the stale run joins the fresh chunk: longer than K.
  assert(chunks(r, K).some((c) => c.prefix + c.length > K));
});

Deno.test("outcome mode (--advantage outcome, formerly grpo): groups start together, play whole episodes, and keep ratio 1", async () => {
  await initBackend("cpu");
  const state = tinyState(4, {
    advantage: "outcome",
    groupSize: 2,
    numIterations: 2,
    klCoef: 0.04,
  });
  const reference = tinyState(4).policy; // same seed: the stage-1 weights
  state.reference = reference;
  const starts: number[][] = [];
  const collector = new RolloutCollector(
    state.env,
    state.policy,
    state.value,
    4,
    state.config.seed,
  );
  const restart = collector.restartInGroups.bind(collector);
  collector.restartInGroups = (episode, groupSize) => {
    restart(episode, groupSize);
    starts.push(Array.from(collector.vec.obs));
  };
  state.collector = collector;
  const metrics = await run(state);
  assertEquals(metrics.length, 2);
  for (const obs of starts) {
    assertEquals(obs.slice(0, 4), obs.slice(4, 8), "envs 0 and 1 share a start");
    assertEquals(obs.slice(8, 12), obs.slice(12, 16), "envs 2 and 3 share a start");
    assert(obs.slice(0, 4).some((v, k) => v !== obs[8 + k]), "groups differ");
  }
  assert(starts[0].some((v, k) => v !== starts[1][k]), "iterations differ");
  for (const m of metrics) {
    assert(m.first_ratio_error < 1e-3, `ratio error ${m.first_ratio_error}`);
    assertEquals(m.episodes >= 4, true, "every env finished its scored episode");
    assert(Number.isFinite(m.policy_loss));
  }
  reference.dispose();
});

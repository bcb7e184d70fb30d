/**
 * GPU mode's rollout collector: its record kernel against the TypeScript
 * twin, its rollouts against CPU mode's (same seed and weights), at most 2
 * readbacks per collect, flat tensor count, and the ratio-1 proof of a GPU
 * mode training iteration.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { tinyGrpoConfig, tinyTrainingModels } from "./fixtures.ts";
import { newGrpoState } from "../src/rl/grpo.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { readF32, storage, testRandom, upload } from "./gpu_io.ts";
import { countGpuCalls } from "../bench/gpu_counters.ts";
import { cartpole } from "../envs/cartpole.ts";
import { pendulum } from "../envs/pendulum.ts";
import type { Env } from "../envs/env.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { requireGpu } from "../src/device.ts";
import { GpuRolloutRecorder } from "../src/gpu/rollout_record.ts";
import { createCollector, GpuRolloutCollector } from "../src/gpu/rollout_collector.ts";
import { RolloutCollector } from "../src/rl/collect.ts";
import { beginStep, endStep, mapActions, recordLayout } from "../src/rl/rollout_record.ts";
import { Rollout } from "../src/rl/rollout.ts";
import { type IterationMetrics, trainGrpo } from "../src/rl/grpo.ts";
import type { GrpoConfig } from "../src/rl/grpo_config.ts";

/** Two collects gave the same steps, values, log-probs and open context chunks. */
function assertSameRollout(again: Rollout, straight: Rollout): void {
  for (const key of ["obs", "actions", "rewards", "values", "logProbs", "timesteps"] as const) {
    assertEquals(Array.from(again[key]), Array.from(straight[key]), key);
  }
  assertEquals(again.prefixes, straight.prefixes, "prefixes");
}

gpuTest("rollout record kernel equals its TypeScript twin on random inputs", async () => {
  const { device } = await requireGpu();
  for (const [T, N, O, P, seed] of [[3, 5, 4, 1, 1], [2, 70, 3, 2, 2]]) {
    const rand = testRandom(seed);
    const f = (n: number, lo = -5, hi = 5) =>
      Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
    const u = (n: number, hi: number) =>
      Uint32Array.from({ length: n }, () => Math.floor(rand() * hi));
    const layout = recordLayout(T, N, O, P);
    const host = {
      stats: f(4 * N, -50, 50),
      counters: u(2 * N, 600),
      obs: f(N * O),
      finalObs: f(N * O),
      reward: f(N),
      done: u(N, 4),
      actions: f(N * P),
      logProbs: f(N, -3, 0),
      rtg: new Float32Array(N),
      timestep: new Int32Array(N),
      prevAction: new Float32Array(N * P),
      record: f(layout.length),
    };
    const b = {
      stats: upload(device, host.stats),
      counters: upload(device, host.counters),
      obs: upload(device, host.obs),
      finalObs: upload(device, host.finalObs),
      reward: upload(device, host.reward),
      done: upload(device, host.done),
      actions: upload(device, host.actions),
      logProbs: upload(device, host.logProbs),
      rtg: storage(device, N),
      timestep: storage(device, N),
      prevAction: storage(device, N * P),
      record: upload(device, host.record),
    };
    const recorder = await GpuRolloutRecorder.create(device, layout, b);
    for (const step of [T - 1, 0]) {
      recorder.beginStep(step, 123.25);
      recorder.endStep(step);
      beginStep(layout, step, 123.25, host);
      endStep(layout, step, host);
    }
    assertEquals(Array.from(await readF32(device, b.rtg, N)), Array.from(host.rtg), "rtg");
    const ts = new Int32Array((await readF32(device, b.timestep, N)).buffer);
    assertEquals(Array.from(ts), Array.from(host.timestep), "timestep");
    const prev = await readF32(device, b.prevAction, N * P);
    assertEquals(Array.from(prev), Array.from(host.prevAction), "prev action");
    const record = await readF32(device, b.record, layout.length);
    assertEquals(Array.from(record), Array.from(host.record), "record");
    recorder.destroy();
    Object.values(b).forEach((x) => x.destroy());
  }
});

gpuTest(
  "map_actions in WGSL equals its twin: each choice becomes its row of the action table",
  async () => {
    const { device } = await requireGpu();
    const rand = testRandom(7);
    const N = 70, choices = 5, E = 2;
    const picked = Float32Array.from({ length: N }, () => Math.floor(rand() * choices));
    const table = Float32Array.from({ length: choices * E }, () => rand() * 4 - 2);
    const layout = recordLayout(1, N, 3, 1);
    const b = {
      stats: storage(device, 4 * N),
      counters: storage(device, 2 * N),
      obs: storage(device, 3 * N),
      finalObs: storage(device, 3 * N),
      reward: storage(device, N),
      done: storage(device, N),
      actions: upload(device, picked),
      logProbs: storage(device, N),
      rtg: storage(device, N),
      timestep: storage(device, N),
      prevAction: storage(device, N),
      record: storage(device, layout.length),
    };
    const actionTable = { table: upload(device, table), envActions: storage(device, N * E) };
    const recorder = await GpuRolloutRecorder.create(device, layout, {
      ...b,
      actionTable: { ...actionTable, envActionSize: E },
    });
    recorder.mapActions();
    const expected = new Float32Array(N * E);
    mapActions(picked, table, E, expected);
    const got = await readF32(device, actionTable.envActions, N * E);
    assertEquals(Array.from(got), Array.from(expected));
    assertEquals(
      Array.from(expected.subarray(2, 4)),
      Array.from(table.subarray(picked[1] * E, picked[1] * E + E)),
    );
    recorder.destroy();
    [...Object.values(b), ...Object.values(actionTable)].forEach((x) => x.destroy());
  },
);

/** CartPole with a 7-step limit, so that a short rollout sees truncations as well as terminations. */
const shortCartpole: Env = { ...cartpole, maxEpisodeSteps: 7 };
/** Pendulum with a 9-step limit, with Gaussian actions (no discrete action table) and with its table. */
const boxPendulum: Env = { ...pendulum, discreteActions: undefined, maxEpisodeSteps: 9 };
const tablePendulum: Env = { ...pendulum, id: "Pendulum-v1 (action table)", maxEpisodeSteps: 9 };

function tinyModels(env: Env, seed: number) {
  return tinyTrainingModels(seed, env);
}

/** Frees `held` (collectors, models, caches), then leaves the GPU backend for the CPU one. */
async function leaveGpu(...held: { dispose(): void }[]): Promise<void> {
  for (const h of held) h.dispose();
  await initBackend("cpu");
  disposeGpuBackend();
}

/** On the GPU backend: tiny models of `env` drawn from `seed`, and a GPU collector of 4 envs. */
async function gpuCollector(env: Env, seed: number, collectorSeed: number) {
  await initBackend("gpu");
  const { policy, value } = tinyModels(env, seed);
  return { policy, value, c: new GpuRolloutCollector(env, policy, value, 4, collectorSeed) };
}

/** Two 12-step collects of 4 envs; the collector's class picks the mode. */
async function collectTwice(
  env: Env,
  Collector: typeof RolloutCollector | typeof GpuRolloutCollector,
): Promise<Rollout[]> {
  const { policy, value } = tinyModels(env, 5);
  const c = new Collector(env, policy, value, 4, 11);
  const A = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
  const out: Rollout[] = [];
  for (let k = 0; k < 2; k++) {
    const r = new Rollout(12, 4, env.obsSize, A);
    await c.collect(r, 150);
    out.push(r);
  }
  c.dispose();
  policy.dispose();
  value.dispose();
  return out;
}

for (const env of [shortCartpole, boxPendulum, tablePendulum]) {
  gpuTest(`${env.id}: the GPU collector's rollouts equal the CPU collector's`, async () => {
    await initBackend("cpu");
    const cpu = await collectTwice(env, RolloutCollector);
    await initBackend("gpu");
    // Small value chunks, so that the chunked value forward (with a partial last chunk) runs too.
    const valueRows = GpuRolloutCollector.valueRows;
    GpuRolloutCollector.valueRows = 7;
    const gpu = await collectTwice(env, GpuRolloutCollector).finally(() =>
      GpuRolloutCollector.valueRows = valueRows
    );
    await leaveGpu();
    let ended = 0;
    cpu.forEach((c, k) => {
      const g = gpu[k], at = `collect ${k}`;
      const discrete = env.actionSpace.kind === "discrete" || env.discreteActions;
      if (discrete) assertEquals(Array.from(g.actions), Array.from(c.actions), `${at} actions`);
      else assertAllClose(g.actions, c.actions, 1e-4, `${at} actions`);
      assertEquals(Array.from(g.timesteps), Array.from(c.timesteps), `${at} timesteps`);
      assertEquals(Array.from(g.terminated), Array.from(c.terminated), `${at} terminated`);
      assertEquals(Array.from(g.truncated), Array.from(c.truncated), `${at} truncated`);
      for (const key of ["obs", "rewards", "returnsToGo", "values", "logProbs"] as const) {
        assertAllClose(g[key], c[key], 1e-4, `${at} ${key}`);
      }
      assertAllClose(g.finalValues, c.finalValues, 1e-4, `${at} finalValues`);
      assertAllClose(g.lastValues, c.lastValues, 1e-4, `${at} lastValues`);
      assertEquals(
        g.prefixes.map((p) => p.timesteps),
        c.prefixes.map((p) => p.timesteps),
        `${at} prefixes`,
      );
      ended += c.truncated.reduce((a, b) => a + b, 0);
    });
    assert(ended > 0, "the rollouts include truncated steps");
  });
}

gpuTest(
  "outcome mode: the GPU collector restarts in groups and stops counting when all envs ended",
  async () => {
    // T = 12 > the 7-step limit: every env ends by step 7; the device runs on to step 12.
    const run = async (Collector: typeof RolloutCollector | typeof GpuRolloutCollector) => {
      const { policy, value } = tinyModels(shortCartpole, 4);
      const c = new Collector(shortCartpole, policy, value, 4, 6);
      const r = new Rollout(12, 4, cartpole.obsSize, 1);
      c.vec.clearStats();
      c.restartInGroups(3 << 16, 2);
      const collected = await c.collect(r, 200, true);
      const stats = structuredClone(c.vec.stats);
      c.dispose();
      policy.dispose();
      value.dispose();
      return { r, collected, stats };
    };
    await initBackend("cpu");
    const cpu = await run(RolloutCollector);
    await initBackend("gpu");
    const gpu = await run(GpuRolloutCollector);
    await leaveGpu();
    assertEquals(gpu.collected, cpu.collected, "steps until all ended");
    assert(cpu.collected < 12, "the rollout stopped early");
    const n = cpu.collected * 4;
    assertEquals(
      Array.from(gpu.r.actions.subarray(0, n)),
      Array.from(cpu.r.actions.subarray(0, n)),
    );
    assertAllClose(gpu.r.obs.subarray(0, 4 * n), cpu.r.obs.subarray(0, 4 * n), 1e-4, "obs");
    // Envs 0 and 1 (one group) start from the same state.
    assertEquals(Array.from(gpu.r.obs.subarray(0, 4)), Array.from(gpu.r.obs.subarray(4, 8)));
    for (const key of ["running", "returnSum", "count", "lengthSum"] as const) {
      assertAllClose(gpu.stats[key], cpu.stats[key], 1e-4, key);
    }
  },
);

gpuTest(
  "the GPU collector reads back at most twice per collect, and keeps the tensor count flat",
  async () => {
    const { policy, value, c } = await gpuCollector(cartpole, 1, 3);
    const r = new Rollout(12, 4, cartpole.obsSize, 1);
    await c.collect(r, 100); // compiles the kernels
    const before = tf.memory().numTensors;
    const mapAsync = GPUBuffer.prototype.mapAsync;
    let readbacks = 0;
    GPUBuffer.prototype.mapAsync = function (...args) {
      readbacks++;
      return mapAsync.apply(this, args);
    };
    try {
      for (let k = 0; k < 3; k++) {
        readbacks = 0;
        await c.collect(r, 100);
        assert(readbacks <= 2, `collect ${k} read back ${readbacks} times`);
        assert(readbacks >= 1, "the count sees the readback");
      }
    } finally {
      GPUBuffer.prototype.mapAsync = mapAsync;
    }
    assertEquals(tf.memory().numTensors, before);
    await leaveGpu(c, policy, value);
  },
);

gpuTest("a GPU collector restored from a snapshot continues exactly as the original", async () => {
  const { policy, value, c: original } = await gpuCollector(shortCartpole, 2, 8);
  const first = new Rollout(6, 4, cartpole.obsSize, 1);
  await original.collect(first, 120);
  // What a checkpoint keeps: the envs' arrays (as grpo_checkpoint.ts saves them) and the kept
  // state with its KV cache read back.
  const v = original.vec;
  const saved = {
    state: v.state.slice(),
    obs: v.obs.slice(),
    t: v.t.slice(),
    episode: v.episode.slice(),
    running: v.stats.running.slice(),
  };
  const kept = original.keep();
  const snapshot = { ...kept, cache: await kept.cache.entries() };
  kept.cache.dispose();
  const straight = new Rollout(6, 4, cartpole.obsSize, 1);
  await original.collect(straight, 120);

  const resumed = new GpuRolloutCollector(shortCartpole, policy, value, 4, 8);
  resumed.vec.state.set(saved.state);
  resumed.vec.obs.set(saved.obs);
  resumed.vec.t.set(saved.t);
  resumed.vec.episode.set(saved.episode);
  resumed.vec.stats.running.set(saved.running);
  resumed.restore(snapshot);
  const again = new Rollout(6, 4, cartpole.obsSize, 1);
  await resumed.collect(again, 120);
  assertSameRollout(again, straight);
  await leaveGpu(original, resumed, policy, value);
});

gpuTest(
  "a GPU collector put back from its device-side copy (keep) collects the same again, with no readback",
  async () => {
    const { policy, value, c } = await gpuCollector(shortCartpole, 2, 8);
    await c.collect(new Rollout(6, 4, cartpole.obsSize, 1), 120);
    const v = c.vec;
    const saved = [v.state.slice(), v.obs.slice(), v.t.slice(), v.episode.slice()] as const;
    const running = v.stats.running.slice();
    const { result: kept, counts } = await countGpuCalls(() => Promise.resolve(c.keep()));
    assertEquals(counts.mapAsync, 0);
    const straight = new Rollout(6, 4, cartpole.obsSize, 1);
    await c.collect(straight, 120);
    [v.state, v.obs, v.t, v.episode].forEach((a, k) => a.set(saved[k]));
    v.stats.running.set(running);
    c.restoreKept(kept);
    const again = new Rollout(6, 4, cartpole.obsSize, 1);
    await c.collect(again, 120);
    assertSameRollout(again, straight);
    await leaveGpu(kept.cache, c, policy, value);
  },
);

async function trainOnGpu(env: Env, overrides: Partial<GrpoConfig>): Promise<IterationMetrics[]> {
  await initBackend("gpu");
  const { policy, value } = tinyModels(env, 0);
  const config = tinyGrpoConfig({ numEpochs: 1, ...overrides });
  const reference = tinyModels(env, 0).policy;
  const state = newGrpoState(env, config, { policy, value }, {
    reference,
    makeCollector: createCollector,
  });
  const metrics: IterationMetrics[] = [];
  await trainGrpo(state, { onIteration: (m) => void metrics.push(m) });
  assert(state.collector instanceof GpuRolloutCollector, "GPU mode picks the GPU collector");
  await leaveGpu(state.collector, policy, value, reference);
  return metrics;
}

gpuTest("a GPU mode training iteration recomputes the rollout's log-probs (ratio 1)", async () => {
  const metrics = await trainOnGpu(cartpole, {});
  assertEquals(metrics.length, 2);
  for (const m of metrics) assert(m.first_ratio_error < 1e-3, `ratio error ${m.first_ratio_error}`);
});

gpuTest("outcome mode in GPU mode: whole episodes, ratio 1", async () => {
  const metrics = await trainOnGpu(shortCartpole, {
    advantage: "outcome",
    groupSize: 2,
    klCoef: 0.04,
  });
  assertEquals(metrics.length, 2);
  for (const m of metrics) {
    assert(m.first_ratio_error < 1e-3, `ratio error ${m.first_ratio_error}`);
    assert(m.episodes >= 4, "every env finished its scored episode");
    assert(Number.isFinite(m.policy_loss));
  }
});

releaseGpuAfterTests();

/**
 * Host round trips of training: wall time, readbacks (`mapAsync`), queue
 * submissions, compute dispatches and uploads of one warm stage-2 iteration
 * (collect, advantages, all epochs of updates, metrics) of the CartPole
 * preset, and of one stage-1 epoch (training and validation), per mode.
 *
 * Models have the default sizes, random weights; the stage-1 data is random
 * CartPole episodes. Each row is the faster of two warm runs (the machine is
 * shared; interference only slows). Keep sizes small on a 2-core machine:
 * `--rollout-steps 32` gives 16 minibatches per iteration (the preset's 128
 * gives 64).
 *
 * ```sh
 * deno run -A bench/gpu_sync.ts [--modes gpu,cpu] [--rollout-steps 32] [--episodes 60] [--json]
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { cartpole } from "../envs/cartpole.ts";
import { getGpu, releaseGpu } from "../src/gpu/device.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { DecisionTransformer, DEFAULT_DT_SIZES } from "../src/model/decision_transformer.ts";
import { DEFAULT_VALUE_SIZES, ValueNetwork } from "../src/model/value_network.ts";
import { DEFAULT_BC_CONFIG, trainBehaviourCloning } from "../src/rl/behaviour_cloning.ts";
import { collectRandomEpisodes } from "../src/rl/dataset.ts";
import { createOptimizers, type GrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { presetFor, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { countGpuCalls, type GpuCallCounts } from "./gpu_counters.ts";

/** One measured row. */
export interface SyncBenchRow {
  what: "stage-2 iteration" | "stage-1 epoch";
  mode: "cpu" | "gpu";
  seconds: number;
  /**
   * CPU seconds of the process over the same stretch (lavapipe's threads included): less
   * sensitive than wall time to other processes on a shared machine.
   */
  cpuSeconds: number;
  /** Zero in CPU mode (nothing is counted there). */
  counts: GpuCallCounts;
}

const zero = (): GpuCallCounts => ({
  mapAsync: 0,
  submits: 0,
  dispatches: 0,
  uploads: 0,
  tensorUploads: 0,
  tensorUploadBytes: 0,
});

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function measure(mode: "cpu" | "gpu", fn: () => Promise<void>) {
  const started = performance.now(), cpu = cpuSeconds();
  const counts = mode === "gpu" ? (await countGpuCalls(fn)).counts : (await fn(), zero());
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds() - cpu, counts };
}

/** Times warm stage-2 iterations of the CartPole preset (best of `repeats`). */
export async function benchIteration(
  mode: "cpu" | "gpu",
  rolloutSteps: number,
  repeats: number,
): Promise<SyncBenchRow> {
  await initBackend(mode);
  const stats = { obsMean: [0, 0, 0, 0], obsStd: [1, 1, 1, 1] };
  const policy = new DecisionTransformer({
    obsDim: 4,
    actionKind: "discrete",
    actDim: 2,
    ...DEFAULT_DT_SIZES,
    maxTimestep: 500,
    returnScale: 100,
    ...stats,
  }, 1);
  const value = new ValueNetwork({ obsDim: 4, ...DEFAULT_VALUE_SIZES, ...stats }, 1);
  const config = {
    ...SPEC_DEFAULTS,
    ...presetFor(cartpole),
    rolloutSteps,
    numIterations: 1,
    seed: 1,
  };
  const state: GrpoState = {
    env: cartpole,
    config,
    policy,
    value,
    ...createOptimizers(config),
    iteration: 0,
    envSteps: 0,
  };
  await trainGrpo(state); // warm-up: compiles the kernels
  let best: Awaited<ReturnType<typeof measure>> | undefined;
  for (let r = 0; r < repeats; r++) {
    config.numIterations = state.iteration + 1;
    const m = await measure(mode, () => trainGrpo(state));
    if (!best || m.seconds < best.seconds) best = m;
  }
  state.collector?.dispose();
  policy.dispose();
  value.dispose();
  state.policyOptimizer.dispose();
  state.valueOptimizer.dispose();
  return { what: "stage-2 iteration", mode, ...best! };
}

/** Times stage-1 epochs on `episodes` random CartPole episodes (best of `repeats` after one). */
export async function benchEpoch(
  mode: "cpu" | "gpu",
  episodes: number,
  repeats: number,
): Promise<SyncBenchRow> {
  await initBackend(mode);
  const ds = await collectRandomEpisodes(cartpole, episodes, 1, "cpu");
  // Epochs are timed between onEpoch calls (the first, compiling, is left out); the counts are
  // over the whole run, divided per epoch.
  const times: number[] = [], cpuTimes: number[] = [];
  let previous = performance.now(), previousCpu = cpuSeconds();
  const epochs = repeats + 1;
  const counted = await measure(mode, async () => {
    const r = await trainBehaviourCloning(
      cartpole,
      ds,
      { ...DEFAULT_BC_CONFIG, numEpochs: epochs },
      {
        onEpoch: () => {
          const now = performance.now();
          times.push((now - previous) / 1000);
          previous = now;
          const cpu = cpuSeconds();
          cpuTimes.push(cpu - previousCpu);
          previousCpu = cpu;
        },
      },
    );
    r.policy.dispose();
  });
  const perEpoch = Object.fromEntries(
    Object.entries(counted.counts).map(([k, v]) => [k, Math.round(v / epochs)]),
  ) as unknown as GpuCallCounts;
  const best = {
    seconds: Math.min(...times.slice(1)),
    cpuSeconds: Math.min(...cpuTimes.slice(1)),
    counts: perEpoch,
  };
  return { what: "stage-1 epoch", mode, ...best };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      modes: { type: "string", default: "gpu,cpu" },
      "rollout-steps": { type: "string", default: "32" },
      episodes: { type: "string", default: "60" },
      repeats: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
    },
  });
  const gpu = await getGpu();
  const rows: SyncBenchRow[] = [];
  const repeats = Number(values.repeats);
  for (const mode of values.modes.split(",") as ("cpu" | "gpu")[]) {
    if (mode === "gpu" && !gpu) {
      console.error("skipping gpu: no WebGPU adapter");
      continue;
    }
    rows.push(await benchIteration(mode, Number(values["rollout-steps"]), repeats));
    rows.push(await benchEpoch(mode, Number(values.episodes), repeats));
    if (mode === "gpu") {
      await initBackend("cpu");
      disposeGpuBackend();
    }
  }
  for (const r of rows) {
    const c = r.counts;
    console.log(
      `${r.what.padEnd(17)} ${r.mode}: ${r.seconds.toFixed(2)} s (${
        r.cpuSeconds.toFixed(2)
      } CPU s), ${c.mapAsync} readbacks, ` +
        `${c.submits} submits, ${c.dispatches} dispatches, ${c.uploads} uploads`,
    );
  }
  if (values.json) console.log(JSON.stringify(rows));
  if (gpu) console.log(`adapter: ${gpu.adapter.description}`);
  await releaseGpu();
}

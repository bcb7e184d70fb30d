/**
 * Host round trips of training: wall time, readbacks (`mapAsync`), queue
 * submissions, compute dispatches and uploads of one warm stage-2 iteration
 * (collect, advantages, all epochs of updates, metrics) of the CartPole
 * preset, alone and as `grpo train` runs it (with the interrupt snapshot
 * after it), of one stage-2 checkpoint save, and of one stage-1 epoch
 * (training and validation), per mode.
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
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { cartpole } from "../envs/cartpole.ts";
import { getGpu, releaseGpu } from "../src/device.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { DecisionTransformer, DEFAULT_DT_SIZES } from "../src/model/decision_transformer.ts";
import { DEFAULT_VALUE_SIZES, ValueNetwork } from "../src/model/value_network.ts";
import { DEFAULT_BC_CONFIG, trainBehaviourCloning } from "../src/rl/behaviour_cloning.ts";
import { collectRandomEpisodes } from "../src/play/collect_dataset.ts";
import { createCollector } from "../src/gpu/rollout_collector.ts";
import { newGrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { presetFor, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { IterationSnapshot, saveTrainingCheckpoint } from "../src/rl/grpo_checkpoint.ts";
import { countGpuCalls, type GpuCallCounts, zeroCounts } from "./gpu_counters.ts";

/** One measured row. */
export interface SyncBenchRow {
  /**
   * "stage-2 CLI iteration": as `grpo train` runs one, with the interrupt
   * snapshot it takes after each iteration (no checkpoint written);
   * "stage-2 checkpoint": one `saveTrainingCheckpoint` of that state.
   */
  what: "stage-2 iteration" | "stage-2 CLI iteration" | "stage-2 checkpoint" | "stage-1 epoch";
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

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function measure(mode: "cpu" | "gpu", fn: () => Promise<void>) {
  const started = performance.now(), cpu = cpuSeconds();
  const counts = mode === "gpu" ? (await countGpuCalls(fn)).counts : (await fn(), zeroCounts());
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds() - cpu, counts };
}

/**
 * Times warm stage-2 iterations of the CartPole preset (best of `repeats`):
 * `trainGrpo`'s alone, then as the CLI runs them (each followed by the
 * interrupt snapshot), then one checkpoint save.
 */
export async function benchIteration(
  mode: "cpu" | "gpu",
  rolloutSteps: number,
  repeats: number,
): Promise<SyncBenchRow[]> {
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
  const state = newGrpoState(cartpole, config, { policy, value }, {
    makeCollector: createCollector,
  });
  await trainGrpo(state); // warm-up: compiles the kernels
  type Measured = Awaited<ReturnType<typeof measure>>;
  const better = (a: Measured | undefined, b: Measured) => !a || b.seconds < a.seconds ? b : a;
  let iteration: Measured | undefined, cliIteration: Measured | undefined;
  let checkpoint: Measured | undefined;
  for (let r = 0; r < repeats; r++) {
    iteration = better(
      iteration,
      await measure(mode, async () => {
        config.numIterations = state.iteration + 1;
        await trainGrpo(state);
      }),
    );
  }
  // train.ts's loop: after each iteration, the snapshot a stop mid-iteration goes back to.
  let snapshot = await IterationSnapshot.take(state);
  const dir = await Deno.makeTempDir();
  for (let r = 0; r < repeats; r++) {
    cliIteration = better(
      cliIteration,
      await measure(mode, async () => {
        config.numIterations = state.iteration + 1;
        await trainGrpo(state, {
          onIteration: async () => {
            snapshot.dispose();
            snapshot = await IterationSnapshot.take(state);
          },
        });
      }),
    );
    // Right after an iteration: tfjs keeps what it read back, so saving the same state again
    // would read nothing.
    checkpoint = better(
      checkpoint,
      await measure(mode, () =>
        saveTrainingCheckpoint(join(dir, "bench.safetensors"), state, {
          trainingArgs: {},
          bestMeanReward: 0,
        })),
    );
  }
  snapshot.dispose();
  await Deno.remove(dir, { recursive: true });
  state.collector?.dispose();
  policy.dispose();
  value.dispose();
  state.policyOptimizer.dispose();
  state.valueOptimizer.dispose();
  return [
    { what: "stage-2 iteration", mode, ...iteration! },
    { what: "stage-2 CLI iteration", mode, ...cliIteration! },
    { what: "stage-2 checkpoint", mode, ...checkpoint! },
  ];
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
    rows.push(...await benchIteration(mode, Number(values["rollout-steps"]), repeats));
    rows.push(await benchEpoch(mode, Number(values.episodes), repeats));
    if (mode === "gpu") {
      await initBackend("cpu");
      disposeGpuBackend();
    }
  }
  for (const r of rows) {
    const c = r.counts;
    console.log(
      `${r.what.padEnd(21)} ${r.mode}: ${r.seconds.toFixed(2)} s (${
        r.cpuSeconds.toFixed(2)
      } CPU s), ${c.mapAsync} readbacks, ` +
        `${c.submits} submits, ${c.dispatches} dispatches, ${c.uploads} uploads ` +
        `(${c.tensorUploads} tensor uploads, ${c.tensorUploadBytes} bytes)`,
    );
  }
  if (values.json) console.log(JSON.stringify(rows));
  if (gpu) console.log(`adapter: ${gpu.adapter.description}`);
  await releaseGpu();
}

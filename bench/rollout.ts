/**
 * Stage-2 throughput: rollout steps per second (one `collect` of N envs x T
 * steps) and training samples per second (the update of one GRPO iteration:
 * `num-epochs` passes over the T x N samples), per mode:
 *
 * - `cpu`: TypeScript envs, tfjs wasm (`RolloutCollector`);
 * - `gpu`: the device-resident collector (`GpuRolloutCollector`): env kernel,
 *   tfjs WebGPU policy, sampling kernel, one readback per collect;
 * - `gpu-host`: `RolloutCollector` on tfjs WebGPU (envs on the host, a
 *   readback per step), the GPU path before the device-resident collector.
 *
 * Models have the default sizes (`DEFAULT_DT_SIZES`, value network 256/512),
 * random weights. Each figure is the fastest of `--repeats` timings after one
 * warm-up (the machine is shared; interference only slows).
 *
 * ```sh
 * deno run -A bench/rollout.ts [--env cartpole] [--num-envs 8] [--steps 128] [--modes cpu,gpu,gpu-host] [--repeats 2] [--num-epochs 4] [--batch-size 64] [--json]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { findEnv } from "../envs/registry.ts";
import type { Env } from "../envs/env.ts";
import { getGpu, releaseGpu } from "../src/device.ts";
import { GpuRolloutCollector } from "../src/gpu/rollout_collector.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { DecisionTransformer, DEFAULT_DT_SIZES } from "../src/model/decision_transformer.ts";
import { DEFAULT_VALUE_SIZES, ValueNetwork } from "../src/model/value_network.ts";
import { RolloutCollector } from "../src/rl/collect.ts";
import { newGrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { Rollout } from "../src/rl/rollout.ts";

/** The modes this benchmark compares. */
export type RolloutBenchMode = "cpu" | "gpu" | "gpu-host";

/** One row of the table. */
export interface RolloutBenchResult {
  mode: RolloutBenchMode;
  numEnvs: number;
  steps: number;
  /** Env steps (N x T) per second through `collect`. */
  rolloutStepsPerSecond: number;
  /** Samples x epochs per second through the update of one iteration (rollout excluded). */
  trainSamplesPerSecond: number;
}

/**
 * A policy of the default sizes and a value network of `valueSizes` for
 * `env`, random weights (seed 1), unit observation statistics.
 */
export function randomModels(
  env: Env,
  valueSizes: { embedDim: number; hiddenDim: number } = DEFAULT_VALUE_SIZES,
): { policy: DecisionTransformer; value: ValueNetwork } {
  const O = env.obsSize;
  const discrete = env.actionSpace.kind === "discrete" || env.discreteActions !== undefined;
  const actDim = env.actionSpace.kind === "discrete"
    ? env.actionSpace.n
    : env.discreteActions?.length ?? env.actionSpace.low.length;
  const stats = { obsMean: new Array(O).fill(0), obsStd: new Array(O).fill(1) };
  const policy = new DecisionTransformer({
    obsDim: O,
    actionKind: discrete ? "discrete" : "continuous",
    actDim,
    ...DEFAULT_DT_SIZES,
    maxTimestep: env.maxEpisodeSteps,
    returnScale: 100,
    ...stats,
  }, 1);
  const value = new ValueNetwork({ obsDim: O, ...valueSizes, ...stats }, 1);
  return { policy, value };
}

/** Times one mode. */
export async function benchRollout(
  env: Env,
  mode: RolloutBenchMode,
  numEnvs: number,
  steps: number,
  repeats: number,
  numEpochs: number,
  batchSize: number,
): Promise<RolloutBenchResult> {
  await initBackend(mode === "cpu" ? "cpu" : "gpu");
  const { policy, value } = randomModels(env);
  const config = {
    ...SPEC_DEFAULTS,
    numEnvs,
    rolloutSteps: steps,
    numEpochs,
    batchSize,
    numIterations: 0,
    seed: 1,
  };
  const Collector = mode === "gpu" ? GpuRolloutCollector : RolloutCollector;
  const collector = new Collector(env, policy, value, numEnvs, config.seed);
  const A = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
  const rollout = new Rollout(steps, numEnvs, env.obsSize, A);
  const target = SPEC_DEFAULTS.targetReturn;

  let rolloutSeconds = Infinity;
  for (let r = 0; r <= repeats; r++) {
    const started = performance.now();
    await collector.collect(rollout, target);
    if (r > 0) rolloutSeconds = Math.min(rolloutSeconds, (performance.now() - started) / 1000);
  }

  // One iteration per timing; its collect is timed separately and subtracted.
  const state = newGrpoState(env, config, { policy, value }, { collector });
  let collectSeconds = 0;
  const collect = collector.collect.bind(collector);
  collector.collect = async (r: Rollout, t: number, untilAllEnded?: boolean) => {
    const started = performance.now();
    const steps = await collect(r, t, untilAllEnded);
    collectSeconds = (performance.now() - started) / 1000;
    return steps;
  };
  let updateSeconds = Infinity;
  for (let r = 0; r <= repeats; r++) {
    config.numIterations = state.iteration + 1;
    const started = performance.now();
    await trainGrpo(state);
    const seconds = (performance.now() - started) / 1000 - collectSeconds;
    if (r > 0) updateSeconds = Math.min(updateSeconds, seconds);
  }
  collector.dispose();
  policy.dispose();
  value.dispose();
  state.policyOptimizer.dispose();
  state.valueOptimizer.dispose();
  if (mode !== "cpu") {
    await initBackend("cpu");
    disposeGpuBackend();
  }
  return {
    mode,
    numEnvs,
    steps,
    rolloutStepsPerSecond: (numEnvs * steps) / rolloutSeconds,
    trainSamplesPerSecond: (numEnvs * steps * numEpochs) / updateSeconds,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      env: { type: "string", default: "cartpole" },
      "num-envs": { type: "string", default: "8" },
      steps: { type: "string", default: "128" },
      modes: { type: "string", default: "cpu,gpu,gpu-host" },
      repeats: { type: "string", default: "2" },
      "num-epochs": { type: "string", default: "4" },
      "batch-size": { type: "string", default: "64" },
      json: { type: "boolean", default: false },
    },
  });
  const env = findEnv(values.env);
  const gpu = await getGpu();
  const rows: RolloutBenchResult[] = [];
  for (const mode of values.modes.split(",") as RolloutBenchMode[]) {
    if (mode !== "cpu" && !gpu) {
      console.error(`skipping ${mode}: no WebGPU adapter`);
      continue;
    }
    rows.push(
      await benchRollout(
        env,
        mode,
        Number(values["num-envs"]),
        Number(values.steps),
        Number(values.repeats),
        Number(values["num-epochs"]),
        Number(values["batch-size"]),
      ),
    );
    if (!values.json) {
      const r = rows.at(-1)!;
      console.log(
        `${r.mode.padEnd(8)} ${r.numEnvs}x${r.steps}: rollout ${
          r.rolloutStepsPerSecond.toFixed(0)
        } steps/s, training ${r.trainSamplesPerSecond.toFixed(0)} samples/s`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify(rows));
  if (gpu) console.log(`adapter: ${gpu.adapter.description}`);
  console.log(`tensors left: ${tf.memory().numTensors}`);
  await releaseGpu();
}

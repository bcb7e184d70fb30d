/**
 * Stage-2 training throughput in CPU mode: env steps per wall second over
 * whole iterations (rollout, advantages, every update minibatch), for the
 * CartPole and LunarLander presets, with where an iteration's time goes.
 * Models have the preset's sizes and random weights (throughput does not
 * depend on what they learned: every iteration steps N x T times). Prints each
 * figure beside the one saved by the previous run (`--out`'s JSON as
 * committed), then saves the new one.
 *
 * ```sh
 * deno run -A bench/train_speed.ts [--envs cartpole,lunar_lander] [--iterations 3] [--set batchSize=256 ...] [--profile-only] [--out bench/results/train_speed.json]
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { findEnv } from "../envs/registry.ts";
import type { Env } from "../envs/env.ts";
import { initBackend } from "../src/model/backend.ts";
import { randomModels } from "./rollout.ts";
import {
  createOptimizers,
  type IterationMetrics,
  newGrpoState,
  trainGrpo,
} from "../src/rl/grpo.ts";
import { type GrpoConfig, presetFor, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { writeTextAtomic } from "../src/io/atomic.ts";

/** One preset's figures. */
export interface TrainSpeed {
  env: string;
  numEnvs: number;
  rolloutSteps: number;
  batchSize: number;
  numEpochs: number;
  /** Env steps per wall second over the timed iterations, update included. */
  stepsPerSecond: number;
  /**
   * Env steps per second of this process's CPU time (user + system) over the
   * same iterations: on a shared machine whose speed drifts, the figure to
   * compare between commits.
   */
  stepsPerCpuSecond: number;
  /** Mean seconds per iteration of the rollout and of advantages + update. */
  rolloutSeconds: number;
  updateSeconds: number;
  numTensorsGrowth: number;
}

/** Milliseconds per call of the pieces of an iteration, at the preset's sizes. */
export interface IterationProfile {
  env: string;
  /** One rollout step's forward (`act` with its KV cache) for `numEnvs` envs. */
  actMs: number;
  /** One minibatch of the policy's loss and gradients (about `batchSize` samples in chunks of K). */
  policyGradsMs: number;
  /** The same minibatch through the value network, with gradients. */
  valueGradsMs: number;
  /** One Adam step of each network. */
  adamMs: number;
  /**
   * tfjs kernels in one `act` and in one policy minibatch (`tf.profile`): exact
   * and repeatable where the times drift, and most of a small model's time
   * is tfjs's fixed cost per kernel.
   */
  actKernels: number;
  policyGradsKernels: number;
  minibatchesPerIteration: number;
  rolloutStepsPerIteration: number;
}

function timeMs(f: () => void, repeats: number): number {
  f();
  const started = performance.now();
  for (let r = 0; r < repeats; r++) f();
  return (performance.now() - started) / repeats;
}

/** tfjs kernels that one call of `f` runs. */
async function kernelsOf(f: () => void): Promise<number> {
  return (await tf.profile(f)).kernels.length;
}

/** Times the pieces of `env`'s preset iteration one by one (random inputs, random weights). */
export async function profileIteration(
  env: Env,
  overrides: Partial<GrpoConfig> = {},
  repeats = 10,
): Promise<IterationProfile> {
  await initBackend("cpu");
  const config = { ...SPEC_DEFAULTS, ...presetFor(env), ...overrides };
  const { policy, value } = randomModels(env, {
    embedDim: config.valueEmbedDim,
    hiddenDim: config.valueHiddenDim,
  });
  const { contextLength: K } = policy.config;
  const N = config.numEnvs, O = env.obsSize;
  const A = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
  const B = Math.max(1, Math.round(config.batchSize / K));
  const cache = policy.createCache(N);
  let t = 0;
  const act = () => {
    const input = {
      returnToGo: tf.fill([N], 100) as tf.Tensor1D,
      obs: tf.randomNormal([N, O]) as tf.Tensor2D,
      prevAction: tf.zeros([N, A]) as tf.Tensor2D,
      timestep: tf.fill([N], t++ % 200, "int32") as tf.Tensor1D,
    };
    const dist = policy.act(cache, input);
    tf.dispose([...Object.values(input), ...Object.values(dist)]);
  };
  const actMs = timeMs(act, repeats * 5);
  const actKernels = await kernelsOf(act);
  cache.dispose();
  const batch = {
    returnsToGo: tf.fill([B, K], 100) as tf.Tensor2D,
    obs: tf.randomNormal([B, K, O]) as tf.Tensor3D,
    actions: tf.zeros([B, K, A]) as tf.Tensor3D,
    timesteps: tf.randomUniform([B, K], 0, 200, "int32") as tf.Tensor2D,
  };
  const grads = (f: () => tf.Scalar, vars: tf.Variable[]) => {
    const g = tf.variableGrads(f, vars);
    tf.dispose([g.value, ...Object.values(g.grads)]);
    return g.grads;
  };
  const policyGrads = () =>
    grads(() => policy.logProbs(batch).logProb.mean(), policy.trainableVariables());
  const policyGradsMs = timeMs(policyGrads, repeats);
  const policyGradsKernels = await kernelsOf(policyGrads);
  const flat = batch.obs.reshape([B * K, O]);
  const valueGradsMs = timeMs(
    () => grads(() => value.predict(flat).square().mean(), value.trainableVariables()),
    repeats,
  );
  const { policyOptimizer, valueOptimizer } = createOptimizers(config);
  const zeros = (vars: tf.Variable[]) =>
    Object.fromEntries(vars.map((v) => [v.name, tf.zerosLike(v)]));
  const pg = zeros(policy.trainableVariables()), vg = zeros(value.trainableVariables());
  const adamMs = timeMs(() => {
    policyOptimizer.applyGradients(pg);
    valueOptimizer.applyGradients(vg);
  }, repeats);
  tf.dispose([...Object.values(batch), flat, ...Object.values(pg), ...Object.values(vg)]);
  policyOptimizer.dispose();
  valueOptimizer.dispose();
  policy.dispose();
  value.dispose();
  const samples = config.numEnvs * config.rolloutSteps;
  return {
    env: env.alias,
    actMs,
    policyGradsMs,
    valueGradsMs,
    adamMs,
    actKernels,
    policyGradsKernels,
    minibatchesPerIteration: config.numEpochs * Math.max(1, Math.round(samples / config.batchSize)),
    rolloutStepsPerIteration: config.rolloutSteps,
  };
}

/** Times `iterations` iterations of `env`'s preset after one warm-up iteration. */
export async function benchTrainSpeed(
  env: Env,
  iterations: number,
  overrides: Partial<GrpoConfig> = {},
): Promise<TrainSpeed> {
  await initBackend("cpu");
  const config = {
    ...SPEC_DEFAULTS,
    ...presetFor(env),
    ...overrides,
    numIterations: 1 + iterations,
    seed: 1,
  };
  const { policy, value } = randomModels(env, {
    embedDim: config.valueEmbedDim,
    hiddenDim: config.valueHiddenDim,
  });
  const state = newGrpoState(env, config, { policy, value });
  const rows: IterationMetrics[] = [];
  let tensorsAfterWarmUp = 0, started = 0, cpuAtStart = process.cpuUsage();
  await trainGrpo(state, {
    onIteration: (m) => {
      if (m.iteration === 1) {
        tensorsAfterWarmUp = tf.memory().numTensors;
        started = performance.now();
        cpuAtStart = process.cpuUsage();
      } else rows.push(m);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const growth = tf.memory().numTensors - tensorsAfterWarmUp;
  state.collector?.dispose();
  policy.dispose();
  value.dispose();
  state.policyOptimizer.dispose();
  state.valueOptimizer.dispose();
  const mean = (f: (m: IterationMetrics) => number) =>
    rows.reduce((s, m) => s + f(m), 0) / rows.length;
  return {
    env: env.alias,
    numEnvs: config.numEnvs,
    rolloutSteps: config.rolloutSteps,
    batchSize: config.batchSize,
    numEpochs: config.numEpochs,
    stepsPerSecond: (iterations * config.numEnvs * config.rolloutSteps) / seconds,
    stepsPerCpuSecond: (iterations * config.numEnvs * config.rolloutSteps) / cpuSeconds,
    rolloutSeconds: mean((m) => m.rollout_seconds),
    updateSeconds: mean((m) => m.update_seconds),
    numTensorsGrowth: growth,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      envs: { type: "string", default: "cartpole,lunar_lander" },
      iterations: { type: "string", default: "3" },
      out: { type: "string", default: "bench/results/train_speed.json" },
      set: { type: "string", multiple: true, default: [] },
      // Only the per-piece timings (seconds, not minutes; they also vary less between runs).
      "profile-only": { type: "boolean", default: false },
    },
  });
  // --set batchSize=256: try a config change without editing the presets.
  const overrides = Object.fromEntries(
    values.set.map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])]),
  ) as Partial<GrpoConfig>;
  let previous: TrainSpeed[] = [];
  try {
    previous = JSON.parse(await Deno.readTextFile(values.out)).rows;
  } catch { /* first run */ }
  const rows: TrainSpeed[] = [];
  const profiles: IterationProfile[] = [];
  for (const id of values.envs.split(",")) {
    const p = await profileIteration(findEnv(id), overrides);
    profiles.push(p);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      `${p.env.padEnd(24)} act ${
        ms(p.actMs)
      } (${p.actKernels} kernels) x ${p.rolloutStepsPerIteration}; ` +
        `per minibatch: policy ${ms(p.policyGradsMs)} (${p.policyGradsKernels} kernels), ` +
        `value ${ms(p.valueGradsMs)}, Adam ${ms(p.adamMs)} x ${p.minibatchesPerIteration}`,
    );
    if (values["profile-only"]) continue;
    const r = await benchTrainSpeed(findEnv(id), Number(values.iterations), overrides);
    rows.push(r);
    const before = previous.find((p) => p.env === r.env);
    console.log(
      `${
        r.env.padEnd(24)
      } ${r.numEnvs}x${r.rolloutSteps}, batch ${r.batchSize} x ${r.numEpochs} epochs: ` +
        `${r.stepsPerSecond.toFixed(0)} steps/s` +
        (before ? ` (previous ${before.stepsPerSecond.toFixed(0)})` : "") +
        `, ${r.stepsPerCpuSecond.toFixed(0)} per CPU second` +
        (before?.stepsPerCpuSecond ? ` (previous ${before.stepsPerCpuSecond.toFixed(0)})` : "") +
        `; per iteration rollout ${r.rolloutSeconds.toFixed(2)} s, update ${
          r.updateSeconds.toFixed(2)
        } s; tensors +${r.numTensorsGrowth}`,
    );
  }
  if (values["profile-only"]) Deno.exit(0);
  const machine = `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`;
  await writeTextAtomic(
    values.out,
    JSON.stringify({ machine, date: new Date().toISOString(), rows, profiles }, null, 2) + "\n",
  );
}

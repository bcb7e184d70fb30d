/**
 * A fixed tiny training run of each stage and what it produced: the metrics
 * and a digest of how far the weights moved from their initial values. The
 * numbers in `gpu_sync_test.ts` were recorded by {@linkcode fingerprints}
 * from the code before the update moved its checks to the device (one
 * readback per minibatch), so the test compares today's code with that one.
 * The stage-1 rows were recorded again when the last block began to run at
 * the state tokens alone: its dropout masks have a third of the rows, so
 * they are drawn differently (stage 2, without dropout, kept its bits), and
 * again when the warmup was capped at a tenth of the run.
 *
 * Run `deno run -A tests/training_fingerprint.ts` to print them.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { cartpole } from "../envs/cartpole.ts";
import type { Env } from "../envs/env.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { DecisionTransformer } from "../src/model/decision_transformer.ts";
import { DEFAULT_BC_CONFIG, trainBehaviourCloning } from "../src/rl/behaviour_cloning.ts";
import { type GrpoState, newGrpoState, trainGrpo } from "../src/rl/grpo.ts";
import type { GrpoConfig } from "../src/rl/grpo_config.ts";
import type { Mode } from "../src/device.ts";
import { fixedDataset, tinyGrpoConfig, tinyTrainingModels } from "./fixtures.ts";
import { createCollector } from "../src/gpu/rollout_collector.ts";
import { concatArrays } from "../src/concat.ts";

/** What a run produced: metric rows (selected keys) and weight-movement digests. */
export interface Fingerprint {
  metrics: Record<string, number>[];
  /** Sum of |w - w0| and a fixed-weight sum of (w - w0) over every weight. */
  moved: [number, number];
}

/** CartPole with a 12-step limit: outcome mode's whole episodes stay short. */
export const shortCartpole: Env = { ...cartpole, maxEpisodeSteps: 12 };

/** The stage-2 runs compared: each advantage mode, and prioritized minibatches. */
export const STAGE2_CASES: Record<string, Partial<GrpoConfig>> = {
  "gae-group": {},
  "gae-global": { advantage: "gae-global" },
  outcome: { advantage: "outcome", groupSize: 2, klCoef: 0.04 },
  prioritized: { prioritized: true },
};

/** The tiny policy and value network of these runs. */
export function tinyModels(seed: number) {
  return tinyTrainingModels(seed);
}

/** The tiny stage-2 state of these runs (4 envs x 10 steps, 2 epochs of ~3 minibatches). */
export function tinyGrpoState(overrides: Partial<GrpoConfig>): GrpoState {
  const outcome = overrides.advantage === "outcome";
  const models = tinyModels(0);
  return newGrpoState(outcome ? shortCartpole : cartpole, tinyGrpoConfig(overrides), models, {
    reference: outcome ? tinyModels(0).policy : undefined,
    makeCollector: createCollector,
  });
}

/** Frees a state's models, optimizers and collector. */
export function disposeState(state: GrpoState): void {
  state.collector?.dispose();
  state.policy.dispose();
  state.value.dispose();
  state.reference?.dispose();
  state.policyOptimizer.dispose();
  state.valueOptimizer.dispose();
}

async function weights(vars: tf.Variable[]): Promise<Float32Array> {
  const parts = await Promise.all(vars.map((v) => v.data() as Promise<Float32Array>));
  return concatArrays(Float32Array, parts);
}

function moved(before: Float32Array, after: Float32Array): [number, number] {
  let abs = 0, signed = 0;
  for (let k = 0; k < before.length; k++) {
    const d = after[k] - before[k];
    abs += Math.abs(d);
    signed += d * (1 + (k % 7));
  }
  return [abs, signed];
}

const STAGE2_KEYS = [
  "mean_reward",
  "episodes",
  "policy_loss",
  "value_loss",
  "entropy",
  "approx_kl",
  "clip_fraction",
  "explained_variance",
  "first_ratio_error",
] as const;

/** Two tiny stage-2 iterations in `mode`. */
export async function stage2Fingerprint(
  mode: Mode,
  overrides: Partial<GrpoConfig>,
): Promise<Fingerprint> {
  await initBackend(mode);
  const state = tinyGrpoState(overrides);
  const vars = [...state.policy.trainableVariables(), ...state.value.trainableVariables()];
  const before = await weights(vars);
  const metrics: Record<string, number>[] = [];
  await trainGrpo(state, {
    onIteration: (m) => void metrics.push(Object.fromEntries(STAGE2_KEYS.map((k) => [k, m[k]]))),
  });
  const after = await weights(vars);
  disposeState(state);
  return { metrics, moved: moved(before, after) };
}

/** The tiny stage-1 config of these runs (dropout on: the seeded masks are part of the run). */
export const TINY_BC = {
  ...DEFAULT_BC_CONFIG,
  numEpochs: 2,
  batchSize: 8,
  warmupSteps: 3,
  valFraction: 0.25,
  embedDim: 16,
  nLayer: 1,
  nHead: 1,
  contextLength: 3,
  // The rate the golden runs were recorded at (the default was 0.1 then).
  dropout: 0.1,
};

/** Two tiny stage-1 epochs in `mode`. */
export async function stage1Fingerprint(mode: Mode): Promise<Fingerprint> {
  await initBackend(mode);
  const ds = fixedDataset(12, 7);
  // The split step with the helper thread, as at the spec's batch sizes.
  const result = await trainBehaviourCloning(cartpole, ds, TINY_BC, {}, { helperThread: true });
  const metrics = result.history.map((m) => ({
    train_loss: m.train_loss,
    val_loss: m.val_loss,
    val_accuracy: m.val_accuracy,
  }));
  const after = await weights(result.policy.trainableVariables());
  const initial = new DecisionTransformer(result.policy.config, TINY_BC.seed);
  const before = await weights(initial.trainableVariables());
  initial.dispose();
  result.policy.dispose();
  return { metrics, moved: moved(before, after) };
}

/** Every fingerprint, by `<mode> <case>`. */
export async function fingerprints(modes: Mode[]): Promise<Record<string, Fingerprint>> {
  const out: Record<string, Fingerprint> = {};
  for (const mode of modes) {
    for (const [name, overrides] of Object.entries(STAGE2_CASES)) {
      out[`${mode} ${name}`] = await stage2Fingerprint(mode, overrides);
    }
    out[`${mode} stage1`] = await stage1Fingerprint(mode);
    if (mode === "gpu") {
      await initBackend("cpu");
      disposeGpuBackend();
    }
  }
  return out;
}

if (import.meta.main) {
  const { releaseGpu } = await import("../src/device.ts");
  console.log(JSON.stringify(await fingerprints(["cpu", "gpu"]), null, 1));
  await releaseGpu();
}

/**
 * Stage-2 checkpoints: the policy and value network plus everything a
 * resumed run needs to continue exactly where it stopped: both Adam states
 * (moments, step count and the running powers of beta), the iteration, the
 * rollout collector (env states and counters, the policy's KV cache,
 * previous actions and chunk prefixes) and, in outcome mode, the frozen stage-1
 * reference policy. With the counter-based randomness this makes `--resume`
 * give the same checkpoints and metrics as an uninterrupted run, byte for
 * byte (tested).
 *
 * A checkpoint records no path to read or write: where a resumed run writes
 * comes from the command line only.
 *
 * {@linkcode IterationSnapshot} keeps the same state at an iteration
 * boundary in memory, so that a run interrupted mid-iteration can save the
 * last completed iteration.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { isBuiltinEnv } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { assignWeights, type LoadedCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { DecisionTransformer } from "../model/decision_transformer.ts";
import { TrainingSnapshot } from "../model/snapshot.ts";
import { adamInternals } from "../model/optim.ts";
import type { TensorEntry } from "../io/safetensors.ts";
import type { GrpoState } from "./grpo.ts";
import {
  type Collector,
  type CollectorSnapshot,
  cpuCollector,
  type KeptCollector,
} from "./collect.ts";
import type { ChunkPrefix } from "./rollout.ts";
import { isExternalEnv } from "./vec_env.ts";

/** What a stage-2 checkpoint records besides the training state. */
export interface TrainingRecord {
  /** The flags of the run (restored by `--resume`); informational paths only. */
  trainingArgs: Record<string, unknown>;
  /** Best score so far (decides when best.safetensors is replaced). */
  bestMeanReward: number;
}

/** The prefix of the frozen stage-1 policy's tensors in an outcome-mode checkpoint. */
const REFERENCE = "reference.";

const f32 = (shape: number[], data: Float32Array): TensorEntry => ({ dtype: "F32", shape, data });

/**
 * An optimizer's state as checkpoint tensors: its step count (from the host)
 * and its state variables and Adam's running beta powers as device tensors,
 * read back with the rest of the checkpoint. Dispose the device tensors
 * this adds (`made`); the others are the optimizer's own.
 */
async function optimizerTensors(
  prefix: string,
  opt: tf.Optimizer,
  out: Map<string, TensorEntry | tf.Tensor>,
  made: tf.Tensor[],
) {
  const [iter, ...state] = await opt.getWeights();
  // getWeights makes the step count from the host's number: no readback needed for it.
  iter.tensor.dispose();
  out.set(`${prefix}.0`, f32([], Float32Array.of(opt.iterations)));
  state.forEach((w, k) => out.set(`${prefix}.${k + 1}`, w.tensor));
  const adam = adamInternals(opt, "stage 2 checkpoints");
  const beta = tf.stack([adam.accBeta1, adam.accBeta2]);
  made.push(beta);
  out.set(`${prefix}.acc_beta`, beta);
}

/** The collector's host-side state (envs, previous actions) as checkpoint tensors. */
function collectorHostEntries(c: Collector, prevAction: Float32Array): Map<string, TensorEntry> {
  const vec = c.vec, N = vec.n;
  const tensors = new Map<string, TensorEntry>();
  tensors.set("collector.state", {
    dtype: "F64",
    shape: [N, c.env.stateSize],
    data: vec.state.slice(),
  });
  tensors.set("collector.obs", f32([N, c.env.obsSize], vec.obs.slice()));
  tensors.set("collector.t", { dtype: "U32", shape: [N], data: vec.t.slice() });
  tensors.set("collector.episode", { dtype: "U32", shape: [N], data: vec.episode.slice() });
  tensors.set("collector.running", f32([N], vec.stats.running.slice()));
  tensors.set("collector.prev_action", f32([N, prevAction.length / N], prevAction));
  return tensors;
}

/**
 * Sets a collector's envs from {@linkcode collectorHostEntries}' tensors;
 * returns the previous actions.
 */
function loadCollectorHost(c: Collector, t: Map<string, TensorEntry>): Float32Array {
  const get = (name: string) => t.get(`collector.${name}`)!.data;
  c.vec.state.set(get("state") as Float64Array);
  c.vec.obs.set(get("obs") as Float32Array);
  c.vec.t.set(get("t") as Uint32Array);
  c.vec.episode.set(get("episode") as Uint32Array);
  c.vec.stats.running.set(get("running") as Float32Array);
  return get("prev_action") as Float32Array;
}

/** Sets a collector from a checkpoint's `collector.*` tensors. */
function loadCollector(
  c: Collector,
  t: Map<string, TensorEntry>,
  prefixes: CollectorSnapshot["prefixes"],
): void {
  const prevAction = loadCollectorHost(c, t);
  const cache = new Map<string, TensorEntry>();
  for (const [name, e] of t) {
    if (name.startsWith("collector.cache.")) cache.set(name.slice(16), e);
  }
  c.restore({ prevAction, cache, prefixes });
}

/** Saves a stage-2 checkpoint with the full training state. */
export async function saveTrainingCheckpoint(
  path: string,
  state: GrpoState,
  record: TrainingRecord,
): Promise<void> {
  // Device tensors stay on the device here: saveCheckpoint reads them with the weights in one
  // readback (GPU mode pays >= ~11 ms per readback).
  const extra = new Map<string, TensorEntry | tf.Tensor>();
  const made: tf.Tensor[] = [];
  try {
    await optimizerTensors("optimizer.policy", state.policyOptimizer, extra, made);
    await optimizerTensors("optimizer.value", state.valueOptimizer, extra, made);
    if (state.reference) {
      for (const [name, v] of state.reference.namedWeights()) extra.set(REFERENCE + name, v);
    }
    const metadata: Record<string, string> = {
      iteration: String(state.iteration),
      env_steps: String(state.envSteps),
      best_mean_reward: String(record.bestMeanReward),
    };
    const c = state.collector;
    if (c) {
      const s = c.keep();
      made.push(...s.cache.keys, ...s.cache.values);
      for (const [k, t] of collectorHostEntries(c, s.prevAction)) extra.set(k, t);
      for (const [k, t] of s.cache.named()) extra.set(`collector.cache.${k}`, t);
      metadata.collector_prefixes = JSON.stringify(s.prefixes ?? null);
    }
    await saveCheckpoint(path, {
      envId: state.env.id,
      userEnv: !isBuiltinEnv(state.env) && !isExternalEnv(state.env),
      policy: state.policy,
      value: state.value,
      targetReturn: state.config.targetReturn,
      trainingArgs: record.trainingArgs,
      stage: "grpo",
      extraTensors: extra,
      extraMetadata: metadata,
    });
  } finally {
    tf.dispose(made);
  }
}

async function restoreOptimizer(
  prefix: string,
  opt: tf.Optimizer,
  tensors: Map<string, TensorEntry>,
  source: string,
) {
  const weights: { name: string; tensor: tf.Tensor }[] = [];
  for (let k = 0; tensors.has(`${prefix}.${k}`); k++) {
    const e = tensors.get(`${prefix}.${k}`)!;
    weights.push({ name: `${prefix}.${k}`, tensor: tf.tensor(e.data as Float32Array, e.shape) });
  }
  if (weights.length === 0) {
    throw new InputError(`${source} has no optimizer state; resume needs a grpo train checkpoint`);
  }
  await opt.setWeights(weights);
  tf.dispose(weights.map((w) => w.tensor));
  // Checkpoints from before acc_beta was recorded keep setWeights' pow(beta, t + 1).
  const beta = tensors.get(`${prefix}.acc_beta`);
  if (beta) {
    const adam = adamInternals(opt, "stage 2 checkpoints");
    adam.accBeta1.assign(tf.scalar(beta.data[0] as number));
    adam.accBeta2.assign(tf.scalar(beta.data[1] as number));
  }
}

/** A finite number from a checkpoint's metadata, or an error naming the key. */
function metadataNumber(source: string, key: string, text: string | undefined): number {
  const x = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(x)) {
    throw new InputError(
      `${source}: metadata ${key} must be a number, got ${
        JSON.stringify(text)
      }; give a checkpoint written by grpo train`,
    );
  }
  return x;
}

/**
 * Restores a stage-2 checkpoint's training state into `state` (models were
 * loaded already, the optimizers made for `state.config`); returns the best
 * score so far.
 */
export async function restoreTrainingState(
  state: GrpoState,
  loaded: LoadedCheckpoint,
  source: string,
): Promise<{ bestMeanReward: number }> {
  const m = loaded.info.metadata;
  if (loaded.info.stage !== "grpo" || m.iteration === undefined) {
    throw new InputError(
      `${source} is a ${loaded.info.stage} checkpoint; --resume needs one written by grpo train (use --checkpoint for stage-1 models)`,
    );
  }
  if (!loaded.value) {
    throw new InputError(`${source} has no value network; resume needs a grpo train checkpoint`);
  }
  const iteration = metadataNumber(source, "iteration", m.iteration);
  if (!Number.isInteger(iteration) || iteration < 0) {
    throw new InputError(`${source}: metadata iteration must be a whole number, got ${iteration}`);
  }
  state.iteration = iteration;
  // Checkpoints from before env_steps was recorded: fixed-length rollouts.
  state.envSteps = m.env_steps !== undefined
    ? metadataNumber(source, "env_steps", m.env_steps)
    : state.iteration * state.config.numEnvs * state.config.rolloutSteps;
  await restoreOptimizer("optimizer.policy", state.policyOptimizer, loaded.tensors, source);
  await restoreOptimizer("optimizer.value", state.valueOptimizer, loaded.tensors, source);
  if (state.config.advantage === "outcome") state.reference = loadReference(loaded, source);
  const t = loaded.tensors;
  const vecState = t.get("collector.state");
  // A Python env's state cannot be restored: its resumed run starts fresh episodes.
  if (vecState && !isExternalEnv(state.env)) {
    const N = vecState.shape[0];
    if (N !== state.config.numEnvs) {
      throw new InputError(
        `${source} was trained with --num-envs ${N}; resume with the same --num-envs`,
      );
    }
    const make = state.makeCollector ?? cpuCollector;
    const c = make(state.env, state.policy, state.value, N, state.config.seed);
    let prefixes: ChunkPrefix[] | undefined;
    try {
      prefixes = JSON.parse(m.collector_prefixes ?? "null") ?? undefined;
    } catch {
      throw new InputError(`${source}: metadata collector_prefixes is not JSON`);
    }
    loadCollector(c, t, prefixes);
    state.collector = c;
  }
  return {
    bestMeanReward: m.best_mean_reward === undefined || m.best_mean_reward === "-Infinity"
      ? -Infinity
      : metadataNumber(source, "best_mean_reward", m.best_mean_reward),
  };
}

/** The frozen stage-1 policy an outcome-mode checkpoint carries (the KL penalty's reference). */
function loadReference(loaded: LoadedCheckpoint, source: string): DecisionTransformer {
  const weights = new Map<string, TensorEntry>();
  for (const [name, e] of loaded.tensors) {
    if (name.startsWith(REFERENCE)) weights.set(name.slice(REFERENCE.length), e);
  }
  if (weights.size === 0) {
    throw new InputError(
      `${source} carries no stage-1 reference policy (--advantage outcome needs one); start stage 2 again with --checkpoint STAGE1, or resume with the checkpoint's own --advantage`,
    );
  }
  const reference = new DecisionTransformer(loaded.policy.config);
  try {
    assignWeights(reference.namedWeights(), weights, `${source} (reference policy)`);
  } catch (e) {
    reference.dispose();
    throw e;
  }
  return reference;
}

/**
 * The training state at an iteration boundary, kept in memory: weights and
 * optimizer state as a {@linkcode TrainingSnapshot}, the collector's KV
 * cache as device-side copies (the collector's `keep`) and its
 * host-side arrays as copies. Taking one reads nothing back, so the CLI takes
 * one every iteration at no round trip in GPU mode; a checkpoint reads the
 * state back only when one is written. {@linkcode IterationSnapshot.restore}
 * puts it back, so a run stopped mid-iteration saves the last completed
 * iteration and resumes exactly.
 */
export class IterationSnapshot {
  private constructor(
    private readonly iteration: number,
    private readonly envSteps: number,
    private readonly training: TrainingSnapshot,
    private readonly collector:
      | { host: Map<string, TensorEntry>; kept: KeptCollector }
      | undefined,
  ) {}

  /** Copies `state` (its collector should exist, so that it is covered too). No readback. */
  static async take(state: GrpoState): Promise<IterationSnapshot> {
    const named = [...state.policy.namedWeights(), ...state.value.namedWeights()];
    const c = state.collector;
    const kept = c?.keep();
    return new IterationSnapshot(
      state.iteration,
      state.envSteps,
      await TrainingSnapshot.take(named.map(([, v]) => v), [
        state.policyOptimizer,
        state.valueOptimizer,
      ]),
      c && kept ? { host: collectorHostEntries(c, kept.prevAction), kept } : undefined,
    );
  }

  /** The iteration the snapshot was taken at. */
  get at(): number {
    return this.iteration;
  }

  /** Puts `state` back as it was when the snapshot was taken (no readback). */
  async restore(state: GrpoState): Promise<void> {
    state.iteration = this.iteration;
    state.envSteps = this.envSteps;
    await this.training.restore();
    if (this.collector && state.collector) {
      loadCollectorHost(state.collector, this.collector.host);
      state.collector.restoreKept(this.collector.kept);
    }
  }

  /** Frees the copies. */
  dispose(): void {
    this.training.dispose();
    this.collector?.kept.cache.dispose();
  }
}

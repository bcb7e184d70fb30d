/**
 * Stage-2 checkpoints: the policy and value network plus everything a
 * resumed run needs to continue exactly where it stopped: both Adam states,
 * the iteration, and the rollout collector (env states and counters, the
 * policy's KV cache, previous actions and chunk prefixes). With the
 * counter-based randomness this makes `--resume` give the same next
 * iteration as an uninterrupted run (tested).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { type LoadedCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import type { TensorEntry } from "../io/safetensors.ts";
import type { GrpoState } from "./grpo.ts";
import { createCollector } from "../gpu/rollout_collector.ts";
import type { ChunkPrefix } from "./rollout.ts";
import { isExternalEnv } from "./vec_env.ts";

/** Where a resumed run keeps writing. */
export interface RunPlaces {
  trainingArgs: Record<string, unknown>;
  runDir: string;
  logDir: string;
  /** The stage-1 checkpoint the run started from. */
  stage1: string;
  /** Best mean reward so far (decides when best.safetensors is replaced). */
  bestMeanReward: number;
}

const f32 = (shape: number[], data: Float32Array): TensorEntry => ({ dtype: "F32", shape, data });

async function optimizerTensors(prefix: string, opt: tf.Optimizer, out: Map<string, TensorEntry>) {
  const weights = await opt.getWeights();
  for (const [k, w] of weights.entries()) {
    out.set(`${prefix}.${k}`, f32(w.tensor.shape, Float32Array.from(await w.tensor.data())));
  }
}

/** Saves a stage-2 checkpoint with the full training state. */
export async function saveTrainingCheckpoint(
  path: string,
  state: GrpoState,
  places: RunPlaces,
): Promise<void> {
  const extra = new Map<string, TensorEntry>();
  await optimizerTensors("optimizer.policy", state.policyOptimizer, extra);
  await optimizerTensors("optimizer.value", state.valueOptimizer, extra);
  const metadata: Record<string, string> = {
    iteration: String(state.iteration),
    env_steps: String(state.envSteps),
    run_dir: places.runDir,
    log_dir: places.logDir,
    stage1_checkpoint: places.stage1,
    best_mean_reward: String(places.bestMeanReward),
  };
  const c = state.collector;
  if (c) {
    const vec = c.vec, N = vec.n;
    extra.set("collector.state", {
      dtype: "F64",
      shape: [N, c.env.stateSize],
      data: vec.state.slice(),
    });
    extra.set("collector.obs", f32([N, c.env.obsSize], vec.obs.slice()));
    extra.set("collector.t", { dtype: "U32", shape: [N], data: vec.t.slice() });
    extra.set("collector.episode", { dtype: "U32", shape: [N], data: vec.episode.slice() });
    extra.set("collector.running", f32([N], vec.stats.running.slice()));
    const snapshot = await c.snapshot();
    extra.set(
      "collector.prev_action",
      f32([N, snapshot.prevAction.length / N], snapshot.prevAction),
    );
    for (const [k, t] of snapshot.cache.entries()) extra.set(`collector.cache.${k}`, t);
    metadata.collector_prefixes = JSON.stringify(snapshot.prefixes ?? null);
  }
  await saveCheckpoint(path, {
    envId: state.env.id,
    policy: state.policy,
    value: state.value,
    targetReturn: state.config.targetReturn,
    trainingArgs: places.trainingArgs,
    stage: "grpo",
    extraTensors: extra,
    extraMetadata: metadata,
  });
}

function restoreOptimizer(
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
  return opt.setWeights(weights);
}

/**
 * Restores a stage-2 checkpoint's training state into `state` (models were
 * loaded already); returns where the run writes.
 */
export async function restoreTrainingState(
  state: GrpoState,
  loaded: LoadedCheckpoint,
  source: string,
): Promise<{ runDir: string; logDir: string; bestMeanReward: number }> {
  const m = loaded.info.metadata;
  if (loaded.info.stage !== "grpo" || m.iteration === undefined) {
    throw new InputError(
      `${source} is a ${loaded.info.stage} checkpoint; --resume needs one written by grpo train (use --checkpoint for stage-1 models)`,
    );
  }
  if (!loaded.value) {
    throw new InputError(`${source} has no value network; resume needs a grpo train checkpoint`);
  }
  state.iteration = Number(m.iteration);
  // Checkpoints from before env_steps was recorded: fixed-length rollouts.
  state.envSteps = m.env_steps !== undefined
    ? Number(m.env_steps)
    : state.iteration * state.config.numEnvs * state.config.rolloutSteps;
  await restoreOptimizer("optimizer.policy", state.policyOptimizer, loaded.tensors, source);
  await restoreOptimizer("optimizer.value", state.valueOptimizer, loaded.tensors, source);
  const t = loaded.tensors;
  const get = (name: string) => t.get(`collector.${name}`);
  const vecState = get("state");
  // A Python env's state cannot be restored: its resumed run starts fresh episodes.
  if (vecState && !isExternalEnv(state.env)) {
    const N = vecState.shape[0];
    if (N !== state.config.numEnvs) {
      throw new InputError(
        `${source} was trained with --num-envs ${N}; resume with the same --num-envs`,
      );
    }
    const c = createCollector(state.env, state.policy, state.value, N, state.config.seed);
    c.vec.state.set(vecState.data as Float64Array);
    c.vec.obs.set(get("obs")!.data as Float32Array);
    c.vec.t.set(get("t")!.data as Uint32Array);
    c.vec.episode.set(get("episode")!.data as Uint32Array);
    c.vec.stats.running.set(get("running")!.data as Float32Array);
    const cache = new Map<string, TensorEntry>();
    for (const [name, e] of t) {
      if (name.startsWith("collector.cache.")) cache.set(name.slice(16), e);
    }
    c.restore({
      prevAction: get("prev_action")!.data as Float32Array,
      cache,
      prefixes: JSON.parse(m.collector_prefixes ?? "null") as ChunkPrefix[] | null ?? undefined,
    });
    state.collector = c;
  }
  return {
    runDir: m.run_dir,
    logDir: m.log_dir,
    bestMeanReward: Number(m.best_mean_reward ?? -Infinity),
  };
}

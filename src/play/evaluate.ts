/**
 * Evaluation of a Decision Transformer policy (docs/spec.md's
 * `test_grpo_agent.py`): N episodes played at once, env `i` playing episode
 * `i`, the policy conditioned on a target return that drops by each reward,
 * with the KV-cached `act` (one call per step for the whole batch).
 *
 * Stochastic actions use counter-based uniforms (seed, env, episode, step),
 * so an evaluation is reproducible.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { actionSize, type Env, envActionsOf, hash5, uniform01 } from "../../envs/env.ts";
import type { Mode } from "../device.ts";
import type { DecisionTransformer } from "../model/decision_transformer.ts";
import { disposeDist, modeAction, sampleWithUniforms } from "../model/distribution.ts";
import type { VecEnvView } from "../rl/vec_env.ts";
import { openVecEnv } from "./open_vec_env.ts";

/** Separates the policy's sampling stream from the envs' draws. */
export const SAMPLE_STREAM = 0x27d4eb2f;

/** Options of an evaluation. */
export interface EvaluateOptions {
  /** Episodes to play, one per env of one batch. */
  numEpisodes: number;
  /** Argmax (or the Gaussian mean) instead of sampling. */
  deterministic: boolean;
  /** The return-to-go of the first step. */
  targetReturn: number;
  /** Seed of the env starts and of the sampled actions. */
  seed: number;
  /** CPU mode (TypeScript envs) or GPU mode (the env's WGSL kernel). */
  mode: Mode;
  /** Record the states, rewards and actions of the first this many episodes (for rendering). */
  recordEpisodes?: number;
}

/** One recorded episode: `states[0]` after reset, `states[k]` after step k. */
export interface RecordedEpisode {
  /** The env's state after the reset and after each step. */
  states: number[][];
  /** The reward of each step. */
  rewards: number[];
  /** The env action of each step. */
  actions: number[][];
}

/** Per-episode results. */
export interface EvaluationResult {
  /** Episode `i`'s undiscounted return. */
  returns: number[];
  /** Episode `i`'s length in steps. */
  lengths: number[];
  /** The first `recordEpisodes` episodes. */
  recorded: RecordedEpisode[];
}

/** Mean and (population) standard deviation. */
export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length);
  return { mean, std: Math.sqrt(variance) };
}

/** The uniforms of a sampling step for env `i`: 1 per discrete action, 2 per continuous dim. */
function fillUniforms(
  out: Float32Array,
  width: number,
  seed: number,
  i: number,
  episode: number,
  t: number,
): void {
  for (let k = 0; k < width; k++) {
    out[i * width + k] = uniform01(hash5((seed ^ SAMPLE_STREAM) >>> 0, i, episode, t, k));
  }
}

/**
 * Plays `numEpisodes` episodes with `policy` and returns their returns and lengths.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { DecisionTransformer, evaluatePolicy, findEnv, initBackend } from "@grpo/grpo";
 *
 * await initBackend("cpu");
 * const policy = new DecisionTransformer({
 *   obsDim: 4, actionKind: "discrete", actDim: 2, embedDim: 16, nLayer: 1, nHead: 1,
 *   contextLength: 4, maxTimestep: 500, dropout: 0, obsMean: [0, 0, 0, 0],
 *   obsStd: [1, 1, 1, 1], returnScale: 100,
 * });
 * const result = await evaluatePolicy(findEnv("cartpole"), policy, {
 *   numEpisodes: 2, deterministic: true, targetReturn: 500, seed: 0, mode: "cpu",
 * });
 * assert.equal(result.returns.length, 2);
 * policy.dispose();
 * ```
 */
export async function evaluatePolicy(
  env: Env,
  policy: DecisionTransformer,
  o: EvaluateOptions,
): Promise<EvaluationResult> {
  const n = o.numEpisodes;
  const discrete = policy.config.actionKind === "discrete";
  const P = discrete ? 1 : policy.config.actDim;
  const uWidth = discrete ? 1 : 2 * P;
  const O = env.obsSize;
  // One episode per env: without auto-reset an env keeps its terminal state (recorded, then ignored).
  // GPU mode steps on the device but reads the batch back each step (evaluation only).
  const vec = await openVecEnv(env, n, { seed: o.seed, autoreset: false }, o.mode);
  const recorded: RecordedEpisode[] = Array.from(
    { length: Math.min(n, o.recordEpisodes ?? 0) },
    () => ({ states: [], rewards: [], actions: [] }),
  );
  const S = env.stateSize, A = actionSize(env);
  const cache = policy.createCache(n);
  try {
    let prevAction: Float32Array = new Float32Array(n * P);
    const returns = new Array<number>(n).fill(0), lengths = new Array<number>(n).fill(0);
    const done = new Array<boolean>(n).fill(false);
    const uniforms = new Float32Array(n * uWidth);
    await vec.reset();
    let view: VecEnvView = await vec.view();
    const recordState = (i: number) =>
      recorded[i].states.push(Array.from({ length: S }, (_, k) => view.state[i * S + k]));
    recorded.forEach((_, i) => recordState(i));
    while (!done.every(Boolean)) {
      const { obs, t, episode } = view;
      const input = {
        returnToGo: tf.tensor1d(Array.from(view.stats.running, (r) => o.targetReturn - r)),
        obs: tf.tensor2d(obs, [n, O]),
        prevAction: tf.tensor2d(prevAction, [n, P]),
        timestep: tf.tensor1d(Int32Array.from(t), "int32"),
      };
      const dist = policy.act(cache, input);
      let actionTensor: tf.Tensor;
      if (o.deterministic) actionTensor = modeAction(dist);
      else {
        for (let i = 0; i < n; i++) fillUniforms(uniforms, uWidth, o.seed, i, episode[i], t[i]);
        const u = tf.tensor2d(uniforms, [n, uWidth]);
        actionTensor = sampleWithUniforms(dist, u);
        u.dispose();
      }
      const actions = (await actionTensor.data()) as Float32Array<ArrayBuffer>;
      tf.dispose([actionTensor, ...Object.values(input)]);
      disposeDist(dist);
      const envActions = envActionsOf(env, actions, n);
      await vec.step(envActions);
      view = await vec.view();
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        returns[i] += view.reward[i];
        lengths[i]++;
        if (i < recorded.length) {
          recordState(i);
          recorded[i].rewards.push(view.reward[i]);
          recorded[i].actions.push(Array.from(envActions.subarray(i * A, i * A + A)));
        }
        if (view.done[i] !== 0) done[i] = true;
      }
      prevAction = actions;
    }
    return { returns, lengths, recorded };
  } finally {
    cache.dispose();
    await vec.close();
  }
}

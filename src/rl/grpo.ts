/**
 * Stage 2: GRPO, the spec's PPO with group-normalized advantages, on the
 * stage-1 Decision Transformer. The loop reads top to bottom as in CleanRL's
 * `ppo.py`: collect a rollout, compute advantages, update the policy and the
 * value network for `numEpochs` passes of minibatches, log, checkpoint.
 *
 * The policy is updated on aligned chunks (see `rollout.ts`): one forward
 * per chunk gives the log-probabilities of all its steps in exactly the
 * context the rollout used, so before the first update the ratio is 1.
 *
 * **Host round trips.** An iteration reads from the device twice in GPU
 * mode: the collector's one readback of the rollout, and one of every
 * minibatch's scalars after the last update. The chunks and the minibatch
 * indices are uploaded once per iteration; each minibatch gathers its rows on
 * the device. The NaN/Inf guard reads those scalars too: updates run
 * unchecked, and when one went non-finite the iteration's start (a
 * `TrainingSnapshot` of weights and Adam states) is put back before
 * {@linkcode NonFiniteError} is thrown, so nothing done before is lost.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Env, paramsAtDifficulty } from "../../envs/env.ts";
import type { DecisionTransformer, SegmentBatch } from "../model/decision_transformer.ts";
import type { ValueNetwork } from "../model/value_network.ts";
import { clipAndStep, createAdam, setLearningRate } from "../model/optim.ts";
import { gae, grpoAdvantages, normalizeGlobal, normalizeGroups } from "./advantages.ts";
import { type Collector, type CollectorFactory, cpuCollector } from "./collect.ts";
import { clipEpsilonAt } from "./schedules.ts";
import { type Minibatch, prioritizedMinibatches, uniformMinibatches } from "./minibatches.ts";
import type { GrpoConfig } from "./grpo_config.ts";
import { type Chunk, chunkBatch, chunks, Rollout } from "./rollout.ts";
import { TrainingSnapshot } from "../model/snapshot.ts";
import { readAll } from "../model/readback.ts";
import {
  type MinibatchPolicyLoss,
  minibatchPolicyLoss,
  type MinibatchTargets,
} from "./ppo_loss.ts";
import {
  applyCriticResult,
  type CriticChunkArrays,
  type CriticChunks,
  criticStep,
  disposeChunks,
  minibatchRows,
  startCriticUpdate,
  uploadCriticChunks,
} from "./critic_update.ts";
import { HelperThread } from "./helper_thread.ts";

/** What one iteration measured (the rows of the TensorBoard log). */
export interface IterationMetrics {
  iteration: number;
  envSteps: number;
  /** Mean return of the episodes that finished during this rollout (NaN when none did). */
  mean_reward: number;
  mean_length: number;
  episodes: number;
  policy_loss: number;
  value_loss: number;
  entropy: number;
  approx_kl: number;
  clip_fraction: number;
  explained_variance: number;
  /** max |ratio - 1| over the first minibatch: 0 up to float error when rollout and update contexts agree. */
  first_ratio_error: number;
  steps_per_second: number;
  /** Wall seconds of the rollout (env steps and the policy's forwards). */
  rollout_seconds: number;
  /** Wall seconds of advantages and the minibatch updates. */
  update_seconds: number;
  policy_lr: number;
  value_lr: number;
  clip_epsilon: number;
  difficulty: number;
}

/**
 * Raised when a loss or gradient became NaN or Inf during an iteration; the
 * state is then back at that iteration's start (weights and optimizers).
 */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
}

/** Everything the loop works on; `iteration` is where it resumes. */
export interface GrpoState {
  env: Env;
  config: GrpoConfig;
  policy: DecisionTransformer;
  value: ValueNetwork;
  policyOptimizer: tf.Optimizer;
  valueOptimizer: tf.Optimizer;
  /** Iterations already done. */
  iteration: number;
  /** Env steps collected by those iterations (outcome mode's rollouts vary in length). */
  envSteps: number;
  /** outcome mode: the frozen stage-1 policy the KL penalty pulls towards. */
  reference?: DecisionTransformer;
  /** The envs and the policy's rollout context, kept across iterations (created on first use). */
  collector?: Collector;
  /** Makes the collector: src/gpu's `createCollector` for GPU mode; default CPU mode's. */
  makeCollector?: CollectorFactory;
  /**
   * CPU mode: update the critic on the helper thread (a second core), beside
   * the policy (default true; the same bits either way). GPU mode always
   * updates it in line.
   */
  helperThread?: boolean;
}

/** Creates the two optimizers (separate learning rates, as the spec asks). */
export function createOptimizers(
  config: GrpoConfig,
): Pick<GrpoState, "policyOptimizer" | "valueOptimizer"> {
  return {
    policyOptimizer: createAdam(config.policyLr, 0.9, 0.999, 1e-5),
    valueOptimizer: createAdam(config.valueLr, 0.9, 0.999, 1e-5),
  };
}

/** A stage-2 state at iteration 0 with fresh optimizers; `extra` adds a reference, a collector factory. */
export function newGrpoState(
  env: Env,
  config: GrpoConfig,
  models: { policy: DecisionTransformer; value: ValueNetwork },
  extra: Partial<GrpoState> = {},
): GrpoState {
  return {
    env,
    config,
    ...models,
    ...createOptimizers(config),
    iteration: 0,
    envSteps: 0,
    ...extra,
  };
}

function padTo(x: Float32Array, n: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  out.set(x);
  return out;
}

function explainedVariance(values: Float32Array, returns: Float32Array): number {
  const n = returns.length;
  const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / n;
  const mr = mean(returns);
  let varR = 0, varD = 0;
  const diffs = new Float32Array(n);
  for (let k = 0; k < n; k++) diffs[k] = returns[k] - values[k];
  const md = mean(diffs);
  for (let k = 0; k < n; k++) {
    varR += (returns[k] - mr) ** 2;
    varD += (diffs[k] - md) ** 2;
  }
  return varR === 0 ? NaN : 1 - varD / varR;
}

/** The scalars guarded against NaN and Inf: the first four of each minibatch's row. */
const GUARDED = ["policy_loss", "value_loss", "policy gradient norm", "value gradient norm"];

/** The error naming the first guarded scalar that is NaN or Inf (minibatch order), if any. */
function firstNonFinite(rows: Float32Array[], iteration: number): NonFiniteError | undefined {
  for (const row of rows) {
    for (const [k, name] of GUARDED.entries()) {
      if (!Number.isFinite(row[k])) {
        return new NonFiniteError(`${name} became ${row[k]} at iteration ${iteration + 1}`);
      }
    }
  }
  return undefined;
}

/** Every chunk of an iteration on the device, [chunks, K, ...], and the minibatches' rows into it. */
interface ChunkData extends CriticChunks {
  returnsToGo: tf.Tensor2D;
  actions: tf.Tensor3D;
  timesteps: tf.Tensor2D;
  advantages: tf.Tensor2D;
  logProbs: tf.Tensor2D;
}

/** An iteration's chunks on the host; the critic's part goes to the helper thread as it is. */
interface ChunkArrays extends CriticChunkArrays {
  returnsToGo: Float32Array;
  actions: Float32Array;
  timesteps: Int32Array;
  advantages: Float32Array;
  logProbs: Float32Array;
}

/** Gathers an iteration's chunks and the minibatches' chunk indices into flat arrays. */
function chunkArrays(
  rollout: Rollout,
  all: Chunk[],
  K: number,
  sample: { valid: Float32Array; advantages: Float32Array; returns: Float32Array },
  batches: Minibatch[],
): ChunkArrays {
  const C = all.length;
  const cb = chunkBatch(rollout, all, K);
  const pick = (src: Float32Array) => Float32Array.from(cb.sample, (s) => (s < 0 ? 0 : src[s]));
  const valid = pick(sample.valid);
  const weights = new Float32Array(C).fill(1);
  const order = new Int32Array(batches.reduce((n, b) => n + b.indices.length, 0));
  const offsets: number[] = [];
  let at = 0;
  for (const b of batches) {
    offsets.push(at);
    order.set(b.indices, at);
    b.indices.forEach((k, j) => weights[k] = b.weights[j]);
    at += b.indices.length;
  }
  return {
    shape: [C, K, rollout.obsSize],
    returnsToGo: cb.returnsToGo,
    obs: cb.obs,
    actions: cb.actions,
    timesteps: cb.timesteps,
    mask: cb.mask.map((m, k) => m * valid[k]),
    advantages: pick(sample.advantages),
    logProbs: pick(rollout.logProbs),
    returns: pick(sample.returns),
    values: pick(rollout.values),
    weights,
    order,
    offsets,
  };
}

/**
 * Uploads an iteration's chunks and minibatch indices once (the minibatches
 * gather their rows on the device instead of uploading a dozen arrays each).
 */
function uploadChunks(a: ChunkArrays, actionSize: number): ChunkData {
  const [C, K] = a.shape;
  return {
    ...uploadCriticChunks(a),
    returnsToGo: tf.tensor2d(a.returnsToGo, [C, K]),
    actions: tf.tensor3d(a.actions, [C, K, actionSize]),
    timesteps: tf.tensor2d(a.timesteps, [C, K], "int32"),
    advantages: tf.tensor2d(a.advantages, [C, K]),
    logProbs: tf.tensor2d(a.logProbs, [C, K]),
  };
}

/**
 * An iteration's training targets: GAE, then group (the spec's GRPO) or
 * global (PPO) normalization of the advantages, with the critic's returns;
 * or, in `outcome` mode, DeepSeekMath's outcome advantages (each episode's
 * return normalized in its group), where `valid` marks the steps of each
 * env's scored episode and there is no critic.
 */
function computeAdvantages(
  rollout: Rollout,
  config: GrpoConfig,
  collected: number,
): { advantages: Float32Array<ArrayBuffer>; returns: Float32Array; valid: Float32Array } {
  const valid = new Float32Array(rollout.size).fill(1);
  if (config.advantage !== "outcome") {
    const g = gae(rollout, config.gamma, config.gaeLambda);
    const advantages = g.advantages.slice();
    if (config.advantage === "gae-group") normalizeGroups(advantages, config.groupSize);
    else normalizeGlobal(advantages);
    return { advantages, returns: g.returns, valid };
  }
  const N = rollout.numEnvs;
  const g = grpoAdvantages(
    rollout.rewards,
    rollout.terminated,
    rollout.truncated,
    collected,
    N,
    config.groupSize,
  );
  valid.fill(0);
  for (let i = 0; i < N; i++) for (let t = 0; t < g.lengths[i]; t++) valid[t * N + i] = 1;
  return {
    advantages: padTo(g.advantages, rollout.size),
    returns: new Float32Array(rollout.size),
    valid,
  };
}

/**
 * Runs iterations until `config.numIterations`, calling `onIteration` after
 * each (logging and checkpoints live there). `shouldStop` is polled before
 * each iteration and before each update minibatch (Ctrl-C); when it says yes
 * mid-iteration, this returns at once with that iteration unfinished (weights
 * and optimizer partly updated, the collector moved on, `state.iteration`
 * not advanced): the caller restores its snapshot of the last completed
 * iteration before saving (see `IterationSnapshot` in grpo_checkpoint.ts).
 */
export async function trainGrpo(
  state: GrpoState,
  hooks: {
    onIteration?: (m: IterationMetrics, state: GrpoState) => Promise<void> | void;
    shouldStop?: () => boolean | Promise<boolean>;
  } = {},
): Promise<void> {
  const { env, config, policy, value } = state;
  const K = policy.config.contextLength;
  const outcome = config.advantage === "outcome";
  // outcome mode plays whole episodes: a rollout lasts until every env's episode ended.
  const N = config.numEnvs, T = outcome ? env.maxEpisodeSteps : config.rolloutSteps;
  const A = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
  state.collector ??= (state.makeCollector ?? cpuCollector)(env, policy, value, N, config.seed);
  const collector = state.collector;
  const rollout = new Rollout(T, N, env.obsSize, A);
  if (outcome && !state.reference) {
    throw new Error("outcome mode needs the stage-1 policy as state.reference");
  }
  const helper = !outcome && tf.getBackend() === "wasm" && (state.helperThread ?? true)
    ? new HelperThread()
    : undefined;
  try {
    while (state.iteration < config.numIterations && !(await hooks.shouldStop?.())) {
      const it = state.iteration;
      const started = performance.now();
      const clipEps = clipEpsilonAt(config, it);
      const lrScale = config.annealLr ? 1 - it / config.numIterations : 1;
      setLearningRate(state.policyOptimizer, config.policyLr * lrScale);
      setLearningRate(state.valueOptimizer, config.valueLr * lrScale);
      const difficulty = config.curriculum
        ? Math.min(1, it / Math.max(1, config.numIterations - 1))
        : 1;
      if (config.curriculum) collector.vec.params = paramsAtDifficulty(env, difficulty);

      // 1. Rollout (outcome mode: each group of envs from one start state, whole episodes).
      collector.vec.clearStats();
      if (outcome) collector.restartInGroups(it << 16, config.groupSize);
      const collected = await collector.collect(rollout, config.targetReturn, outcome);
      const rolloutSeconds = (performance.now() - started) / 1000;
      const stats = collector.vec.stats;
      const episodes = stats.count.reduce((a, b) => a + b, 0);
      const meanReward = episodes > 0 ? stats.returnSum.reduce((a, b) => a + b, 0) / episodes : NaN;
      const meanLength = episodes > 0 ? stats.lengthSum.reduce((a, b) => a + b, 0) / episodes : NaN;

      // 2. Advantages.
      const { advantages: normalized, returns, valid } = computeAdvantages(
        rollout,
        config,
        collected,
      );
      const validCount = valid.reduce((a, b) => a + b, 0);

      // 3. Update: numEpochs passes over minibatches of whole chunks, about batchSize samples each.
      // Rows after `collected` are stale (an outcome-mode collect stops when every episode ended).
      const all = chunks(rollout, K, collected).filter((c) => valid[c.start * N + c.env] === 1);
      const chunksPerBatch = Math.max(
        1,
        Math.round((config.batchSize * all.length) / validCount),
      );
      const seed = (config.seed * 1000003 + it) >>> 0;
      // Prioritized: a chunk's score is its mean |advantage| (see minibatches.ts for the weights).
      const batches = config.prioritized
        ? prioritizedMinibatches(
          all.map((c) => {
            let s = 0;
            for (let t = c.start; t < c.start + c.length; t++) {
              s += Math.abs(normalized[t * N + c.env]);
            }
            return s / c.length;
          }),
          chunksPerBatch,
          config.numEpochs,
          seed,
        )
        : uniformMinibatches(all.length, chunksPerBatch, config.numEpochs, seed);
      // The iteration's start, to return to should the guard below find a NaN or Inf.
      const start = await TrainingSnapshot.take(
        [...policy.trainableVariables(), ...(outcome ? [] : value.trainableVariables())],
        outcome ? [state.policyOptimizer] : [state.policyOptimizer, state.valueOptimizer],
      );
      const arrays = chunkArrays(
        rollout,
        all,
        K,
        { valid, advantages: normalized, returns },
        batches,
      );
      const data = uploadChunks(arrays, A);
      // The critic's steps need nothing from the policy's: on a second core they run meanwhile.
      const criticSettings = {
        valueCoef: config.valueCoef,
        valueClip: config.valueClip,
        maxGradNorm: config.maxGradNorm,
      };
      const criticOnThread = helper
        ? startCriticUpdate(helper, value, state.valueOptimizer, arrays, criticSettings)
        : undefined;
      // Each minibatch's scalars stay on the device; one readback after the last (GPU mode pays
      // ~11 ms and a drained queue for each).
      const scalars: tf.Tensor1D[] = [];
      for (const [b, drawn] of batches.entries()) {
        if (await hooks.shouldStop?.()) {
          // Unfinished: the caller puts back its snapshot of the last completed iteration (and a
          // critic result still on its way is never applied).
          criticOnThread?.catch(() => {});
          tf.dispose(scalars);
          disposeChunks(data);
          start.dispose();
          return;
        }
        const m = tf.tidy(() => {
          const rows = minibatchRows(data, b);
          const pick = <T extends tf.Tensor>(x: T) => tf.gather(x, rows) as T;
          const B = drawn.indices.length;
          const batch: SegmentBatch = {
            returnsToGo: pick(data.returnsToGo),
            obs: pick(data.obs),
            actions: pick(data.actions),
            timesteps: pick(data.timesteps),
          };
          const realMask = pick(data.mask);
          const targets: MinibatchTargets = {
            advantages: pick(data.advantages),
            oldLogProb: pick(data.logProbs),
            mask: realMask.mul(pick(data.weights).reshape([B, 1])),
            count: realMask.sum().maximum(1),
            // outcome mode: the frozen stage-1 policy's log-probs, for the KL penalty.
            refLogProb: outcome ? state.reference!.logProbs(batch).logProb : undefined,
          };
          let terms: MinibatchPolicyLoss | undefined;
          const p = tf.variableGrads(() => {
            terms = minibatchPolicyLoss(policy.forward(batch), batch.actions, targets, realMask, {
              clipEpsilon: clipEps,
              entropyCoef: config.entropyCoef,
              klCoef: config.klCoef,
            });
            return terms.loss;
          }, policy.trainableVariables());
          return { grads: p.grads, loss: p.value, metrics: terms!.metrics() };
        });
        // Applied unchecked: a non-finite step is undone below, from the iteration's start.
        const norm = clipAndStep(state.policyOptimizer, m.grads, config.maxGradNorm);
        scalars.push(
          tf.tidy(() => tf.concat([tf.stack([m.loss, norm]), m.metrics]) as tf.Tensor1D),
        );
        tf.dispose([m.loss, norm, m.metrics, ...Object.values(m.grads)]);
      }
      // The critic in line (GPU mode, or no second core): the same steps after the policy's.
      // outcome mode has none: its value network is neither used nor trained.
      const criticScalars = outcome || criticOnThread
        ? []
        : batches.map((_, b) => criticStep(value, state.valueOptimizer, data, b, criticSettings));
      disposeChunks(data);
      const read = await readAll([...scalars, ...criticScalars]);
      let critic = read.slice(scalars.length);
      if (criticOnThread) {
        const result = await criticOnThread;
        applyCriticResult(value, state.valueOptimizer, result);
        critic = result.rows;
      }
      // Each minibatch's row: policy loss, value loss, their gradient norms, then the policy's metrics.
      const rows = read.slice(0, scalars.length).map(([loss, norm, ...metrics], b) => {
        const [valueLoss, valueNorm] = outcome ? [0, 0] : critic[b];
        return Float32Array.of(loss, valueLoss, norm, valueNorm, ...metrics);
      });
      const bad = firstNonFinite(rows, it);
      if (bad) {
        await start.restore();
        start.dispose();
        throw bad;
      }
      start.dispose();
      let sums = { policy: 0, value: 0, entropy: 0, kl: 0, clip: 0, batches: 0 };
      for (const [policyLoss, valueLoss, , , entropy, kl, clip] of rows) {
        sums = {
          policy: sums.policy + policyLoss,
          value: sums.value + valueLoss,
          entropy: sums.entropy + entropy,
          kl: sums.kl + kl,
          clip: sums.clip + clip,
          batches: sums.batches + 1,
        };
      }
      const firstRatioError = rows.length > 0 ? rows[0][7] : NaN;
      state.iteration++;
      state.envSteps += N * collected;
      const seconds = (performance.now() - started) / 1000;
      const b = Math.max(1, sums.batches);
      await hooks.onIteration?.({
        iteration: state.iteration,
        envSteps: state.envSteps,
        mean_reward: meanReward,
        mean_length: meanLength,
        episodes,
        policy_loss: sums.policy / b,
        value_loss: sums.value / b,
        entropy: sums.entropy / b,
        approx_kl: sums.kl / b,
        clip_fraction: sums.clip / b,
        explained_variance: outcome ? NaN : explainedVariance(rollout.values, returns),
        first_ratio_error: firstRatioError,
        steps_per_second: (N * collected) / seconds,
        rollout_seconds: rolloutSeconds,
        update_seconds: seconds - rolloutSeconds,
        policy_lr: config.policyLr * lrScale,
        value_lr: config.valueLr * lrScale,
        clip_epsilon: clipEps,
        difficulty,
      }, state);
    }
  } finally {
    helper?.close();
  }
}

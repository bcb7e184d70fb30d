/**
 * Stage 1: behaviour cloning of a return-conditioned Decision Transformer
 * (docs/spec.md's `run_gym_pipeline_optimized.py`).
 *
 * Every step of every episode is labelled with its return-to-go (the sum of
 * the rewards from that step to the episode's end); the model learns
 * p(a_t | R, s, a history) by maximum likelihood. Conditioning on a high
 * return at test time then asks for the actions that, in the data, preceded
 * high returns: from random-policy data that is the only source of signal.
 *
 * An epoch predicts every training step exactly once: each episode is cut
 * into consecutive K-step segments at a random phase (so the model sees every
 * context length from 1 to K, and the aligned chunks rollouts use), segments
 * are grouped by length into batches (a batch is only as long as its longest
 * segment, so little compute goes to padding) and the batches are shuffled.
 * Validation uses held-out episodes cut into aligned chunks, exactly the
 * contexts a rollout sees; the lowest validation loss gives `best_model`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Env } from "../../envs/env.ts";
import { policyActionSpace } from "../model/checkpoint.ts";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
  DEFAULT_DT_SIZES,
  type SegmentBatch,
} from "../model/decision_transformer.ts";
import { logProb, modeAction } from "../model/distribution.ts";
import { InitRandom } from "../model/init.ts";
import { createAdam, optimizerStep, setLearningRate } from "../model/optim.ts";
import { readAll } from "../model/readback.ts";
import { type Dataset, episodeBounds, episodeReturns } from "./dataset.ts";
import { maxOf } from "../range.ts";

/** Hyperparameters of behaviour cloning (the spec's stage 1 defaults). */
export interface BehaviourCloningConfig {
  /** Passes over the training steps. */
  numEpochs: number;
  /** Segments per batch. */
  batchSize: number;
  /** Adam's peak learning rate. */
  learningRate: number;
  /** Linear warmup from 0 over this many steps, then cosine decay to `minLrFraction` of the peak. */
  warmupSteps: number;
  minLrFraction: number;
  /** Global gradient-norm clip (DT uses 0.25). */
  maxGradNorm: number;
  /** Fraction of episodes held out for validation. */
  valFraction: number;
  seed: number;
  embedDim: number;
  nLayer: number;
  nHead: number;
  contextLength: number;
  dropout: number;
}

/** Defaults for `grpo pretrain`. */
export const DEFAULT_BC_CONFIG: BehaviourCloningConfig = {
  numEpochs: 50,
  batchSize: 64,
  learningRate: 1e-3,
  warmupSteps: 50,
  minLrFraction: 0.1,
  maxGradNorm: 0.25,
  valFraction: 0.1,
  seed: 0,
  ...DEFAULT_DT_SIZES,
};

/** One epoch's scalars. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  train_loss: number;
  val_loss: number;
  /** Fraction of validation steps whose most likely action is the data's (discrete heads). */
  val_accuracy: number;
  learning_rate: number;
  epoch_seconds: number;
}

/** What the training loop reports to its caller (saving, logging, progress). */
export interface BehaviourCloningHooks {
  /** Once the data is split and the model built. */
  onStart?(info: {
    targetReturn: number;
    trainEpisodes: number;
    valEpisodes: number;
    parameters: number;
  }): void;
  /** After each batch (its loss is read with the epoch's, once, at the epoch's end). */
  onStep?(epoch: number, batch: number, batches: number): void;
  /** After each epoch; `improved` when validation loss reached a new minimum. */
  onEpoch?(m: EpochMetrics, policy: DecisionTransformer, improved: boolean): Promise<void> | void;
  /** Polled before each batch (Ctrl-C): yes ends training there, with `stopped` set. */
  shouldStop?(): boolean | Promise<boolean>;
}

/** The trained policy with the scaling it was built with. */
export interface BehaviourCloningResult {
  policy: DecisionTransformer;
  /** The highest episode return among training episodes (the default return to condition on). */
  targetReturn: number;
  bestValLoss: number;
  history: EpochMetrics[];
  /** Ended early by `shouldStop` (the policy is as of the last batch). */
  stopped: boolean;
}

/** A window of an episode: steps [start, start + len) of episode `ep`. */
interface Segment {
  ep: number;
  start: number;
  len: number;
}

/** Returns-to-go of every step, episode by episode. */
export function returnsToGo(ds: Dataset): Float32Array {
  const rtg = new Float32Array(ds.rewards.length);
  for (let t = ds.rewards.length - 1; t >= 0; t--) {
    const sameEpisode = t + 1 < ds.rewards.length && ds.episode[t + 1] === ds.episode[t];
    rtg[t] = ds.rewards[t] + (sameEpisode ? rtg[t + 1] : 0);
  }
  return rtg;
}

/** Per-dimension mean and standard deviation of the observations of `steps`. */
function obsStatistics(ds: Dataset, steps: number[]): { mean: number[]; std: number[] } {
  const O = ds.obsSize;
  const mean = new Array(O).fill(0), sq = new Array(O).fill(0);
  for (const t of steps) {
    for (let k = 0; k < O; k++) {
      const v = ds.obs[t * O + k];
      mean[k] += v;
      sq[k] += v * v;
    }
  }
  const n = Math.max(1, steps.length);
  const std = mean.map((m, k) => Math.sqrt(Math.max(0, sq[k] / n - (m / n) ** 2)));
  // A constant feature keeps a unit scale rather than exploding.
  return { mean: mean.map((m) => m / n), std: std.map((s) => (s > 1e-6 ? s : 1)) };
}

/** Cuts episodes into K-step segments starting at `phase` (0: the aligned chunks). */
function cutSegments(lengths: number[], episodes: number[], k: number, phase: () => number) {
  const out: Segment[] = [];
  for (const ep of episodes) {
    const p = phase();
    if (p > 0) out.push({ ep, start: 0, len: Math.min(p, lengths[ep]) });
    for (let s = p; s < lengths[ep]; s += k) {
      out.push({ ep, start: s, len: Math.min(k, lengths[ep] - s) });
    }
  }
  return out;
}

/** Builds the tensors of a batch of segments, `k` steps long, padded at the end; plus the loss mask. */
function makeBatch(
  ds: Dataset,
  starts: number[],
  rtg: Float32Array,
  segs: Segment[],
  k: number,
): { batch: SegmentBatch; mask: tf.Tensor2D } {
  const B = segs.length, O = ds.obsSize, A = ds.actionSize;
  const r = new Float32Array(B * k),
    o = new Float32Array(B * k * O),
    a = new Float32Array(B * k * A);
  const ts = new Int32Array(B * k), m = new Float32Array(B * k);
  segs.forEach((seg, b) => {
    const first = starts[seg.ep] + seg.start;
    for (let j = 0; j < seg.len; j++) {
      const t = first + j, row = b * k + j;
      r[row] = rtg[t];
      o.set(ds.obs.subarray(t * O, t * O + O), row * O);
      a.set(ds.actions.subarray(t * A, t * A + A), row * A);
      ts[row] = seg.start + j;
      m[row] = 1;
    }
  });
  return {
    batch: {
      returnsToGo: tf.tensor2d(r, [B, k]),
      obs: tf.tensor3d(o, [B, k, O]),
      actions: tf.tensor3d(a, [B, k, A]),
      timesteps: tf.tensor2d(ts, [B, k], "int32"),
    },
    mask: tf.tensor2d(m, [B, k]),
  };
}

/** Masked mean negative log-likelihood of the batch's actions. */
function nllLoss(
  policy: DecisionTransformer,
  batch: SegmentBatch,
  mask: tf.Tensor,
  dropoutSeed?: string,
) {
  return tf.tidy(() => {
    const { logProb } = policy.logProbs(batch, dropoutSeed);
    return logProb.mul(mask).sum().div(mask.sum()).neg() as tf.Scalar;
  });
}

/** Fisher-Yates shuffle with a seeded generator. */
function shuffle<T>(xs: T[], rng: InitRandom): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** Learning rate at optimizer step `step` of `total`. */
function learningRate(c: BehaviourCloningConfig, step: number, total: number): number {
  if (step < c.warmupSteps) return (c.learningRate * (step + 1)) / c.warmupSteps;
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, total - c.warmupSteps));
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return c.learningRate * (c.minLrFraction + (1 - c.minLrFraction) * cosine);
}

/** Trains a Decision Transformer on `ds` by behaviour cloning. */
export async function trainBehaviourCloning(
  env: Env,
  ds: Dataset,
  c: BehaviourCloningConfig,
  hooks: BehaviourCloningHooks = {},
): Promise<BehaviourCloningResult> {
  const rng = new InitRandom(c.seed ^ 0xbc);
  const K = c.contextLength;

  // ---- data: split episodes, statistics from the training part only
  const { start: starts, length: lengths } = episodeBounds(ds);
  const numEpisodes = starts.length;
  const order = shuffle([...Array(numEpisodes).keys()], rng);
  // valFraction 0 (or a single episode): validate on the training episodes.
  const numVal = c.valFraction > 0 && numEpisodes >= 2
    ? Math.min(numEpisodes - 1, Math.max(1, Math.round(numEpisodes * c.valFraction)))
    : 0;
  const valEpisodes = numVal > 0 ? order.slice(0, numVal) : order;
  const trainEpisodes = order.slice(numVal);
  const trainSteps = trainEpisodes.flatMap((e) =>
    [...Array(lengths[e]).keys()].map((j) => starts[e] + j)
  );
  const returns = episodeReturns(ds);
  const targetReturn = maxOf(trainEpisodes.map((e) => returns[e]));
  const rtg = returnsToGo(ds);
  const { mean, std } = obsStatistics(ds, trainSteps);

  // ---- model and optimizer
  const config: DecisionTransformerConfig = {
    obsDim: env.obsSize,
    ...policyActionSpace(env),
    embedDim: c.embedDim,
    nLayer: c.nLayer,
    nHead: c.nHead,
    contextLength: K,
    maxTimestep: env.maxEpisodeSteps,
    dropout: c.dropout,
    obsMean: mean,
    obsStd: std,
    // Returns-to-go are embedded in units of the best training return.
    returnScale: maxOf([1, ...trainEpisodes.map((e) => Math.abs(returns[e]))]),
  };
  const policy = new DecisionTransformer(config, c.seed);
  const optimizer = createAdam(c.learningRate);
  const vars = policy.trainableVariables();

  hooks.onStart?.({
    targetReturn,
    trainEpisodes: trainEpisodes.length,
    valEpisodes: valEpisodes.length,
    parameters: policy.parameterCount(),
  });
  const valSegments = cutSegments(lengths, valEpisodes, K, () => 0);
  const batchesPerEpoch = Math.ceil(
    cutSegments(lengths, trainEpisodes, K, () => 0).length / c.batchSize,
  );
  const totalSteps = batchesPerEpoch * c.numEpochs;
  const history: EpochMetrics[] = [];
  let bestValLoss = Infinity;
  let step = 0;

  for (let epoch = 1; epoch <= c.numEpochs; epoch++) {
    const t0 = performance.now();
    // ---- length-bucketed batches of randomly phased segments
    const segs = cutSegments(lengths, trainEpisodes, K, () => Math.floor(rng.uniform() * K));
    shuffle(segs, rng).sort((a, b) => b.len - a.len);
    const batches: Segment[][] = [];
    for (let i = 0; i < segs.length; i += c.batchSize) batches.push(segs.slice(i, i + c.batchSize));
    shuffle(batches, rng);

    // Each batch's loss stays on the device; one readback per epoch (GPU mode pays ~11 ms each).
    const losses: tf.Scalar[] = [], weights: number[] = [];
    for (const [bi, segBatch] of batches.entries()) {
      if (await hooks.shouldStop?.()) {
        tf.dispose(losses);
        optimizer.dispose();
        return { policy, targetReturn, bestValLoss, history, stopped: true };
      }
      const k = maxOf(segBatch.map((s) => s.len));
      const { batch, mask } = makeBatch(ds, starts, rtg, segBatch, k);
      const lr = learningRate(c, step, totalSteps);
      setLearningRate(optimizer, lr);
      const { loss, gradNorm } = optimizerStep(
        optimizer,
        vars,
        () => nllLoss(policy, batch, mask, `${c.seed}/${step}`),
        c.maxGradNorm,
      );
      losses.push(loss);
      weights.push(segBatch.reduce((s, x) => s + x.len, 0));
      tf.dispose([gradNorm, mask, ...Object.values(batch)]);
      step++;
      hooks.onStep?.(epoch, bi + 1, batches.length);
    }
    let lossSum = 0, weightSum = 0;
    for (const [b, [loss]] of (await readAll(losses)).entries()) {
      lossSum += loss * weights[b];
      weightSum += weights[b];
    }

    // ---- validation on aligned chunks (what rollouts see), no dropout
    const val = await evaluateLoss(policy, ds, starts, rtg, valSegments, c.batchSize, K);
    const metrics: EpochMetrics = {
      epoch,
      step,
      train_loss: lossSum / Math.max(1, weightSum),
      val_loss: val.loss,
      val_accuracy: val.accuracy,
      learning_rate: learningRate(c, step - 1, totalSteps),
      epoch_seconds: (performance.now() - t0) / 1000,
    };
    history.push(metrics);
    const improved = val.loss < bestValLoss;
    if (improved) bestValLoss = val.loss;
    await hooks.onEpoch?.(metrics, policy, improved);
  }
  optimizer.dispose();
  return { policy, targetReturn, bestValLoss, history, stopped: false };
}

/** Mean NLL and action accuracy over segments, in batches. */
async function evaluateLoss(
  policy: DecisionTransformer,
  ds: Dataset,
  starts: number[],
  rtg: Float32Array,
  segs: Segment[],
  batchSize: number,
  k: number,
): Promise<{ loss: number; accuracy: number }> {
  // Per batch [sum of NLL, correct]: kept on the device, read once.
  const sums: tf.Tensor[] = [];
  let count = 0;
  for (let i = 0; i < segs.length; i += batchSize) {
    const { batch, mask } = makeBatch(ds, starts, rtg, segs.slice(i, i + batchSize), k);
    sums.push(tf.tidy(() => {
      const dist = policy.forward(batch);
      const lp = logProb(dist, batch.actions);
      const hit = dist.kind === "discrete"
        ? tf.equal(modeAction(dist).squeeze([-1]), batch.actions.squeeze([-1]))
        : tf.zerosLike(mask).cast("bool");
      return tf.stack([
        lp.mul(mask).sum().neg(),
        tf.where(hit, mask, tf.zerosLike(mask)).sum(),
      ]);
    }));
    count += segs.slice(i, i + batchSize).reduce((n, seg) => n + seg.len, 0);
    tf.dispose([mask, ...Object.values(batch)]);
  }
  let nll = 0, correct = 0;
  for (const [sumNll, sumCorrect] of await readAll(sums)) {
    nll += sumNll;
    correct += sumCorrect;
  }
  return { loss: nll / Math.max(1, count), accuracy: correct / Math.max(1, count) };
}

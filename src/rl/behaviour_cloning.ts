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
 * contexts a rollout sees. The caller picks `best_model` (`grpo pretrain`: by
 * playing each epoch's model, or by the lowest validation loss).
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
import { createAdam, setLearningRate } from "../model/optim.ts";
import { bcStep } from "./bc_step.ts";
import { HelperThread } from "./helper_thread.ts";
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
  /**
   * Linear warmup from 0 over this many steps (at most a tenth of the run's,
   * so a short run reaches its peak rate), then cosine decay to
   * `minLrFraction` of the peak.
   */
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

/**
 * The dataset's steps as tensors, one row per step plus a last row of zeros
 * (`pad`) that pads batches. They are uploaded once per run; a batch gathers
 * its rows from them on the device by index (see {@linkcode batchRows}), so
 * an epoch uploads only its row indices, once, instead of five tensors per
 * batch. Gathering copies values, so batches equal those built on the host.
 */
interface StepTable {
  returnsToGo: tf.Tensor1D;
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  /** int32: the step's timestep within its episode. */
  timesteps: tf.Tensor1D;
  /** 1 for a step, 0 for the padding row (the loss mask). */
  mask: tf.Tensor1D;
  pad: number;
}

function stepTable(ds: Dataset, starts: number[], lengths: number[], rtg: Float32Array): StepTable {
  const S = ds.rewards.length, O = ds.obsSize, A = ds.actionSize;
  const ts = new Int32Array(S + 1);
  starts.forEach((start, e) => {
    for (let j = 0; j < lengths[e]; j++) ts[start + j] = j;
  });
  const padded = (x: Float32Array, width: number) => {
    const out = new Float32Array((S + 1) * width);
    out.set(x.subarray(0, S * width));
    return out;
  };
  const mask = new Float32Array(S + 1).fill(1);
  mask[S] = 0;
  return {
    returnsToGo: tf.tensor1d(padded(rtg, 1)),
    obs: tf.tensor2d(padded(ds.obs, O), [S + 1, O]),
    actions: tf.tensor2d(padded(ds.actions, A), [S + 1, A]),
    timesteps: tf.tensor1d(ts, "int32"),
    mask: tf.tensor1d(mask),
    pad: S,
  };
}

function disposeTable(t: StepTable): void {
  tf.dispose([t.returnsToGo, t.obs, t.actions, t.timesteps, t.mask]);
}

/**
 * The table rows of batches of segments, each `k` steps long (the batch's
 * longest), padded at the end with the table's zero row: batch after batch,
 * segment b's step j at b * k + j. Returns the rows and where each batch starts.
 */
function batchRows(
  starts: number[],
  batches: { segs: Segment[]; k: number }[],
  pad: number,
): { rows: Int32Array; at: number[] } {
  const at: number[] = [];
  let total = 0;
  for (const b of batches) {
    at.push(total);
    total += b.segs.length * b.k;
  }
  const rows = new Int32Array(total).fill(pad);
  batches.forEach(({ segs, k }, i) => {
    segs.forEach((seg, b) => {
      const first = starts[seg.ep] + seg.start, row = at[i] + b * k;
      for (let j = 0; j < seg.len; j++) rows[row + j] = first + j;
    });
  });
  return { rows, at };
}

/** A batch's tensors, gathered on the device from the table: rows [at, at + B * k) of `rows`. */
function gatherBatch(
  table: StepTable,
  rows: tf.Tensor1D,
  at: number,
  B: number,
  k: number,
): { batch: SegmentBatch; mask: tf.Tensor2D } {
  return tf.tidy(() => {
    const idx = rows.slice(at, B * k);
    const take = (t: tf.Tensor) => tf.gather(t, idx);
    const O = table.obs.shape[1], A = table.actions.shape[1];
    return {
      batch: {
        returnsToGo: take(table.returnsToGo).reshape([B, k]) as tf.Tensor2D,
        obs: take(table.obs).reshape([B, k, O]) as tf.Tensor3D,
        actions: take(table.actions).reshape([B, k, A]) as tf.Tensor3D,
        timesteps: take(table.timesteps).reshape([B, k]) as tf.Tensor2D,
      },
      mask: take(table.mask).reshape([B, k]) as tf.Tensor2D,
    };
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

/**
 * Learning rate at optimizer step `step` of `total`.
 *
 * @example A run of 20 steps warms up over 2 (not the default 50): step 1 is at the peak
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_BC_CONFIG, learningRate } from "./behaviour_cloning.ts";
 *
 * assert.equal(learningRate(DEFAULT_BC_CONFIG, 1, 20), DEFAULT_BC_CONFIG.learningRate);
 * ```
 */
export function learningRate(c: BehaviourCloningConfig, step: number, total: number): number {
  const warmup = Math.min(c.warmupSteps, Math.ceil(total / 10));
  if (step < warmup) return (c.learningRate * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return c.learningRate * (c.minLrFraction + (1 - c.minLrFraction) * cosine);
}

/**
 * CPU mode splits each batch with the helper thread from this many segments
 * on: below it the split's transfers cost about what the second core saves
 * (`grpo pretrain` on 200 episodes at batches of 16, 12 epochs: 10.2 s split,
 * 8.1 s not; 400 episodes x 6 epochs at batches of 32: 5.7 s against 5.4 s,
 * at 64: 4.0 s against 4.8 s).
 */
export const MIN_SPLIT_BATCH = 64;

/**
 * Trains a Decision Transformer on `ds` by behaviour cloning.
 * `options.helperThread` forces the split on or off (default: CPU mode, and
 * batches of at least {@linkcode MIN_SPLIT_BATCH} segments).
 */
export async function trainBehaviourCloning(
  env: Env,
  ds: Dataset,
  c: BehaviourCloningConfig,
  hooks: BehaviourCloningHooks = {},
  options: { helperThread?: boolean } = {},
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
    // Returns-to-go are embedded in units of the best training return. (Their root mean square
    // let the quick test learn sooner but made the demo's stage 2 worse: docs/results.md, round 9.)
    returnScale: maxOf([1, ...trainEpisodes.map((e) => Math.abs(returns[e]))]),
  };
  const policy = new DecisionTransformer(config, c.seed);
  const optimizer = createAdam(c.learningRate);

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
  const table = stepTable(ds, starts, lengths, rtg);
  const val = validationSet(starts, valSegments, c.batchSize, K, table);
  // CPU mode: half of each batch on the helper thread (a second core); see bc_step.ts.
  const split = options.helperThread ?? c.batchSize >= MIN_SPLIT_BATCH;
  const helper = tf.getBackend() === "wasm" && split ? new HelperThread() : undefined;
  try {
    for (let epoch = 1; epoch <= c.numEpochs; epoch++) {
      const t0 = performance.now();
      // ---- length-bucketed batches of randomly phased segments
      const segs = cutSegments(lengths, trainEpisodes, K, () => Math.floor(rng.uniform() * K));
      shuffle(segs, rng).sort((a, b) => b.len - a.len);
      const batches: Segment[][] = [];
      for (let i = 0; i < segs.length; i += c.batchSize) {
        batches.push(segs.slice(i, i + c.batchSize));
      }
      shuffle(batches, rng);
      const lengthsK = batches.map((b) => maxOf(b.map((s) => s.len)));
      const epochRows = batchRows(
        starts,
        batches.map((segs, i) => ({ segs, k: lengthsK[i] })),
        table.pad,
      );
      // The epoch's one upload: its batches' rows (GPU mode: no upload per batch).
      const rows = tf.tensor1d(epochRows.rows, "int32");

      // Each batch's loss stays on the device; one readback per epoch (GPU mode pays ~11 ms each).
      const losses: tf.Scalar[] = [], weights: number[] = [];
      for (const [bi, segBatch] of batches.entries()) {
        if (await hooks.shouldStop?.()) {
          tf.dispose([...losses, rows]);
          optimizer.dispose();
          return { policy, targetReturn, bestValLoss, history, stopped: true };
        }
        const k = lengthsK[bi];
        const { batch, mask } = gatherBatch(table, rows, epochRows.at[bi], segBatch.length, k);
        const lr = learningRate(c, step, totalSteps);
        setLearningRate(optimizer, lr);
        const { loss, gradNorm } = await bcStep(
          policy,
          optimizer,
          batch,
          mask,
          `${c.seed}/${step}`,
          c.maxGradNorm,
          helper,
        );
        losses.push(loss);
        weights.push(segBatch.reduce((s, x) => s + x.len, 0));
        tf.dispose([gradNorm, mask, ...Object.values(batch)]);
        step++;
        hooks.onStep?.(epoch, bi + 1, batches.length);
      }
      rows.dispose();
      let lossSum = 0, weightSum = 0;
      for (const [b, [loss]] of (await readAll(losses)).entries()) {
        lossSum += loss * weights[b];
        weightSum += weights[b];
      }

      // ---- validation on aligned chunks (what rollouts see), no dropout
      const valLoss = await evaluateLoss(policy, table, val);
      const metrics: EpochMetrics = {
        epoch,
        step,
        train_loss: lossSum / Math.max(1, weightSum),
        val_loss: valLoss.loss,
        val_accuracy: valLoss.accuracy,
        learning_rate: learningRate(c, step - 1, totalSteps),
        epoch_seconds: (performance.now() - t0) / 1000,
      };
      history.push(metrics);
      const improved = valLoss.loss < bestValLoss;
      if (improved) bestValLoss = valLoss.loss;
      await hooks.onEpoch?.(metrics, policy, improved);
    }
    optimizer.dispose();
    return { policy, targetReturn, bestValLoss, history, stopped: false };
  } finally {
    helper?.close();
    disposeTable(table);
    val.rows.dispose();
  }
}

/** The validation batches (fixed for a run): their rows, uploaded once, and their shapes. */
interface ValidationSet {
  rows: tf.Tensor1D;
  batches: { at: number; size: number; steps: number }[];
  k: number;
}

function validationSet(
  starts: number[],
  segs: Segment[],
  batchSize: number,
  k: number,
  table: StepTable,
): ValidationSet {
  const groups: Segment[][] = [];
  for (let i = 0; i < segs.length; i += batchSize) groups.push(segs.slice(i, i + batchSize));
  const { rows, at } = batchRows(starts, groups.map((g) => ({ segs: g, k })), table.pad);
  return {
    rows: tf.tensor1d(rows, "int32"),
    batches: groups.map((g, i) => ({
      at: at[i],
      size: g.length,
      steps: g.reduce((n, seg) => n + seg.len, 0),
    })),
    k,
  };
}

/** Mean NLL and action accuracy over the validation set, in batches. */
async function evaluateLoss(
  policy: DecisionTransformer,
  table: StepTable,
  val: ValidationSet,
): Promise<{ loss: number; accuracy: number }> {
  // Per batch [sum of NLL, correct]: kept on the device, read once.
  const sums: tf.Tensor[] = [];
  let count = 0;
  for (const b of val.batches) {
    const { batch, mask } = gatherBatch(table, val.rows, b.at, b.size, val.k);
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
    count += b.steps;
    tf.dispose([mask, ...Object.values(batch)]);
  }
  let nll = 0, correct = 0;
  for (const [sumNll, sumCorrect] of await readAll(sums)) {
    nll += sumNll;
    correct += sumCorrect;
  }
  return { loss: nll / Math.max(1, count), accuracy: correct / Math.max(1, count) };
}

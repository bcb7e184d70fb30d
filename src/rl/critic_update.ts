/**
 * The critic's half of a stage-2 update: for each minibatch, the value
 * network's loss on the minibatch's rows, its gradients clipped by global
 * norm, one Adam step. It reads nothing that the policy's half computes, so
 * CPU mode runs all of an iteration's on the helper thread
 * (`helper_thread.ts`) while the main thread updates the policy: the job
 * carries the value network's weights and Adam's state, the result brings
 * the state after the last step back. GPU mode runs the same steps after the
 * policy's minibatches. Either way each step is the same sequence of ops on
 * the same values, so the bits agree.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ValueNetwork, type ValueNetworkConfig } from "../model/value_network.ts";
import {
  type AdamState,
  adamState,
  clipAndStep,
  createAdam,
  setAdamState,
} from "../model/optim.ts";
import { valueLoss } from "./ppo_loss.ts";
import {
  assignValues,
  buffersOf,
  type HelperThread,
  hostCopies,
  modelFor,
} from "./helper_thread.ts";

/** The critic's part of the stage-2 configuration. */
export interface CriticSettings {
  valueCoef: number;
  valueClip: number;
  maxGradNorm: number;
}

/** An iteration's chunks as the critic reads them, [chunks, K, ...], and the minibatches' chunk indices. */
export interface CriticChunks {
  obs: tf.Tensor3D;
  returns: tf.Tensor2D;
  /** The rollout's value estimates (for value clipping). */
  values: tf.Tensor2D;
  /** 1 at the rollout steps trained on (in the chunk, and valid), 0 at context and padding. */
  mask: tf.Tensor2D;
  /** Per chunk: its importance weight (all 1 when uniform). */
  weights: tf.Tensor1D;
  /** Every minibatch's chunk indices, one after another; minibatch b's start at `offsets[b]`. */
  order: tf.Tensor1D;
  offsets: number[];
}

/** Minibatch `b`'s chunk indices (a slice of `order`). */
export function minibatchRows(d: Pick<CriticChunks, "order" | "offsets">, b: number): tf.Tensor1D {
  const end = b + 1 < d.offsets.length ? d.offsets[b + 1] : d.order.size;
  return d.order.slice(d.offsets[b], end - d.offsets[b]);
}

/**
 * One critic step on minibatch `b`; returns `[loss, gradient norm before
 * clipping]`, left on the device (the caller reads every step's at once).
 */
export function criticStep(
  value: ValueNetwork,
  optimizer: tf.Optimizer,
  d: CriticChunks,
  b: number,
  s: CriticSettings,
): tf.Tensor1D {
  const m = tf.tidy(() => {
    const rows = minibatchRows(d, b);
    const pick = <T extends tf.Tensor>(x: T) => tf.gather(x, rows) as T;
    const [B, K, O] = [rows.size, d.obs.shape[1], d.obs.shape[2]];
    const realMask = pick(d.mask);
    const count = realMask.sum().maximum(1) as tf.Scalar;
    const flat = (x: tf.Tensor) => x.reshape([B * K]);
    // The critic sees the minibatch's steps flattened, weighted as the policy's.
    const mask = flat(realMask.mul(pick(d.weights).reshape([B, 1])));
    const v = tf.variableGrads(
      () =>
        valueLoss(
          value.predict(pick(d.obs).reshape([B * K, O])),
          flat(pick(d.returns)),
          flat(pick(d.values)),
          { mask, count },
          s.valueCoef,
          s.valueClip,
        ),
      value.trainableVariables(),
    );
    return v;
  });
  const norm = clipAndStep(optimizer, m.grads, s.maxGradNorm);
  const scalars = tf.stack([m.value, norm]) as tf.Tensor1D;
  tf.dispose([m.value, norm, ...Object.values(m.grads)]);
  return scalars;
}

/** An iteration's chunks on the host: the arrays behind {@linkcode CriticChunks}' tensors. */
export interface CriticChunkArrays {
  /** Chunks, steps per chunk (K) and observation size. */
  shape: [number, number, number];
  obs: Float32Array;
  returns: Float32Array;
  values: Float32Array;
  mask: Float32Array;
  weights: Float32Array;
  order: Int32Array;
  offsets: number[];
}

/** The critic's chunks as tensors (an iteration's one upload of them). */
export function uploadCriticChunks(a: CriticChunkArrays): CriticChunks {
  const [C, K, O] = a.shape;
  return {
    obs: tf.tensor3d(a.obs, [C, K, O]),
    returns: tf.tensor2d(a.returns, [C, K]),
    values: tf.tensor2d(a.values, [C, K]),
    mask: tf.tensor2d(a.mask, [C, K]),
    weights: tf.tensor1d(a.weights),
    order: tf.tensor1d(a.order, "int32"),
    offsets: a.offsets,
  };
}

/** Frees the tensors of {@linkcode uploadCriticChunks} (or of a superset of them). */
export function disposeChunks(chunks: object): void {
  tf.dispose(Object.values(chunks).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
}

/** The helper's job: an iteration's critic steps from the given state. */
export interface CriticJob {
  kind: "critic";
  network: ValueNetworkConfig;
  /** The value network's weights, in `trainableVariables()` order. */
  weights: Float32Array[];
  adam: AdamState;
  chunks: CriticChunkArrays;
  settings: CriticSettings;
}

/** The state after the job's steps, and every step's `[loss, gradient norm]`. */
export interface CriticResult {
  weights: Float32Array[];
  adam: AdamState;
  rows: Float32Array[];
}

function transfers(weights: Float32Array[], adam: AdamState): ArrayBuffer[] {
  return buffersOf([...weights, ...adam.firstMoments, ...adam.secondMoments]);
}

/** Starts an iteration's critic steps on the helper, from the current weights and Adam state. */
export function startCriticUpdate(
  helper: HelperThread,
  value: ValueNetwork,
  optimizer: tf.Optimizer,
  chunks: CriticChunkArrays,
  settings: CriticSettings,
): Promise<CriticResult> {
  const job: CriticJob = {
    kind: "critic",
    network: value.config,
    weights: hostCopies(value.trainableVariables()),
    adam: adamState(optimizer),
    chunks,
    settings,
  };
  return helper.run<CriticResult>(job, transfers(job.weights, job.adam));
}

/** Puts a result's weights and Adam state into the main thread's network and optimizer. */
export function applyCriticResult(
  value: ValueNetwork,
  optimizer: tf.Optimizer,
  result: CriticResult,
): void {
  const vars = value.trainableVariables();
  assignValues(vars, result.weights);
  setAdamState(optimizer, vars, result.adam);
}

/** Runs a {@linkcode CriticJob} (on the helper); returns the result and the buffers to hand back. */
export function runCriticJob(job: CriticJob): { result: CriticResult; transfer: ArrayBuffer[] } {
  const network = modelFor("critic", job.network, () => new ValueNetwork(job.network));
  const vars = network.trainableVariables();
  assignValues(vars, job.weights);
  const { learningRate, beta1, beta2, epsilon } = job.adam;
  const optimizer = createAdam(learningRate, beta1, beta2, epsilon);
  setAdamState(optimizer, vars, job.adam);
  const chunks = uploadCriticChunks(job.chunks);
  const rows = chunks.offsets.map((_, b) => {
    const scalars = criticStep(network, optimizer, chunks, b, job.settings);
    const row = (scalars.dataSync() as Float32Array).slice();
    scalars.dispose();
    return row;
  });
  const result = {
    weights: hostCopies(vars),
    adam: adamState(optimizer),
    rows,
  };
  disposeChunks(chunks);
  optimizer.dispose();
  return { result, transfer: transfers(result.weights, result.adam) };
}

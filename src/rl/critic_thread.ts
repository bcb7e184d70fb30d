/**
 * The critic's update on a second core: a Worker (`critic_worker.ts`) that
 * takes an iteration's chunks with the value network's weights and Adam's
 * state, runs every minibatch's {@linkcode criticStep} and sends back the
 * new weights, the new Adam state and each step's `[loss, gradient norm]`.
 * The worker keeps nothing between iterations, so checkpoints, `--resume`
 * and the NaN guard see the main thread's network and optimizer only, and
 * the result is bit for bit the one the main thread would compute (the same
 * tfjs wasm kernels on the same inputs).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ValueNetwork, ValueNetworkConfig } from "../model/value_network.ts";
import { type AdamState, adamState, setAdamState } from "../model/optim.ts";
import type { CriticSettings } from "./critic_update.ts";

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

/** What the main thread sends for one iteration. */
export interface CriticJob {
  network: ValueNetworkConfig;
  /** The value network's weights, in `trainableVariables()` order. */
  weights: Float32Array[];
  adam: AdamState;
  chunks: CriticChunkArrays;
  settings: CriticSettings;
}

/** What the worker sends back: the state after the steps and every step's `[loss, gradient norm]`. */
export interface CriticResult {
  weights: Float32Array[];
  adam: AdamState;
  rows: Float32Array[];
}

/** The worker's reply: a result, or the message of what went wrong. */
export type CriticReply = { result: CriticResult } | { error: string };

/** The worker's module: this file's sibling, or the bundle itself (see `scripts/bundle.ts`). */
let workerUrl: string = new URL("./critic_worker.ts", import.meta.url).href;

/** Sets the module critic workers run (the single-file bundle names itself). */
export function setCriticWorkerUrl(url: string): void {
  workerUrl = url;
}

/**
 * A worker that runs critic updates (see the module doc).
 *
 * @example Usage
 * ```ts ignore
 * const thread = new CriticThread();
 * const pending = thread.update(value, valueOptimizer, chunks, settings); // runs beside the policy's update
 * // ... the policy's minibatches ...
 * applyCriticResult(value, valueOptimizer, await pending);
 * thread.close();
 * ```
 */
export class CriticThread {
  private readonly worker: Worker;
  private readonly waiting: {
    resolve: (r: CriticResult) => void;
    reject: (e: Error) => void;
  }[] = [];
  private failed?: Error;

  constructor() {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<CriticReply>) => {
      const next = this.waiting.shift();
      if ("error" in e.data) next?.reject(new Error(e.data.error));
      else next?.resolve(e.data.result);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      // A worker that cannot start (or crashed) fails every update, now and later.
      e.preventDefault();
      this.failed = new Error(`critic worker: ${e.message}`);
      for (const w of this.waiting.splice(0)) w.reject(this.failed);
    };
  }

  /** Starts the critic's steps of one iteration from the current weights and Adam state. */
  update(
    value: ValueNetwork,
    optimizer: tf.Optimizer,
    chunks: CriticChunkArrays,
    settings: CriticSettings,
  ): Promise<CriticResult> {
    if (this.failed) return Promise.reject(this.failed);
    const job: CriticJob = {
      network: value.config,
      weights: value.trainableVariables().map((v) => (v.dataSync() as Float32Array).slice()),
      adam: adamState(optimizer),
      chunks,
      settings,
    };
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(job, transferables(job.weights, job.adam));
    });
  }

  /** Stops the worker. */
  close(): void {
    this.worker.terminate();
    for (const w of this.waiting.splice(0)) w.reject(new Error("critic worker closed"));
  }
}

/** Puts a result's weights and Adam state into the main thread's network and optimizer. */
export function applyCriticResult(
  value: ValueNetwork,
  optimizer: tf.Optimizer,
  result: CriticResult,
): void {
  const vars = value.trainableVariables();
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(result.weights[i], v.shape))));
  setAdamState(optimizer, vars, result.adam);
}

/** The buffers of weights and moments, handed over instead of copied. */
export function transferables(weights: Float32Array[], adam: AdamState): ArrayBuffer[] {
  return [...weights, ...adam.firstMoments, ...adam.secondMoments].map((a) =>
    a.buffer as ArrayBuffer
  );
}

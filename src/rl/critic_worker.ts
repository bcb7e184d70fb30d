/**
 * The worker behind `CriticThread` (`critic_thread.ts`): for each job, the value
 * network and Adam set to the job's state, every minibatch's critic step on
 * tfjs wasm, then the new state and the steps' scalars sent back. Run as a
 * worker's main module it serves at once; the single-file bundle, which is
 * its own worker, calls {@linkcode serveCriticJobs} when it runs as one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../model/backend.ts";
import { ValueNetwork } from "../model/value_network.ts";
import { adamState, createAdam, setAdamState } from "../model/optim.ts";
import { type CriticChunks, criticStep } from "./critic_update.ts";
import {
  type CriticJob,
  type CriticReply,
  type CriticResult,
  transferables,
} from "./critic_thread.ts";

let started: Promise<void> | undefined;
let network: ValueNetwork | undefined;

function run(job: CriticJob): CriticResult {
  network ??= new ValueNetwork(job.network);
  const vars = network.trainableVariables();
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(job.weights[i], v.shape))));
  const { learningRate, beta1, beta2, epsilon } = job.adam;
  const optimizer = createAdam(learningRate, beta1, beta2, epsilon);
  setAdamState(optimizer, vars, job.adam);
  const c = job.chunks, [C, K, O] = c.shape;
  const chunks: CriticChunks = {
    obs: tf.tensor3d(c.obs, [C, K, O]),
    returns: tf.tensor2d(c.returns, [C, K]),
    values: tf.tensor2d(c.values, [C, K]),
    mask: tf.tensor2d(c.mask, [C, K]),
    weights: tf.tensor1d(c.weights),
    order: tf.tensor1d(c.order, "int32"),
    offsets: c.offsets,
  };
  const rows = c.offsets.map((_, b) => {
    const scalars = criticStep(network!, optimizer, chunks, b, job.settings);
    const row = scalars.dataSync() as Float32Array;
    scalars.dispose();
    return row;
  });
  const result = {
    weights: vars.map((v) => (v.dataSync() as Float32Array).slice()),
    adam: adamState(optimizer),
    rows,
  };
  tf.dispose(Object.values(chunks).filter((t) => t instanceof tf.Tensor));
  optimizer.dispose();
  return result;
}

/** The worker side of a `Worker`'s scope (the project type-checks against the window's). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<CriticJob>) => void) | null;
  postMessage(message: CriticReply, transfer: Transferable[]): void;
}

/**
 * Answers critic jobs posted to this worker.
 *
 * @example Usage
 * ```ts ignore
 * if ("WorkerGlobalScope" in globalThis) serveCriticJobs();
 * ```
 */
export function serveCriticJobs(): void {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = async (e) => {
    let reply: CriticReply;
    try {
      started ??= initBackend("cpu");
      await started;
      reply = { result: run(e.data) };
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    const transfer = "result" in reply
      ? transferables(reply.result.weights, reply.result.adam)
      : [];
    scope.postMessage(reply, transfer);
  };
}

if (import.meta.main) serveCriticJobs();

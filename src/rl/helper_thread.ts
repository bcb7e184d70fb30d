/**
 * A second thread for CPU mode: a Worker (`helper_worker.ts`) that takes
 * jobs needing nothing from the main thread while they run, so that tfjs's
 * single-threaded wasm backend keeps both cores busy. Stage 2 hands it the
 * critic's update of an iteration (`critic_update.ts`), stage 1 half of each
 * batch's gradients (`bc_step.ts`). A job carries all it needs and
 * the worker keeps nothing between jobs beyond compiled models, so what the
 * main thread holds (weights, optimizer state) is always the whole state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The worker's module: this file's sibling, or the bundle itself (see `scripts/bundle.ts`). */
let workerUrl: string = new URL("./helper_worker.ts", import.meta.url).href;

/** Sets the module helper workers run (the single-file bundle names itself). */
export function setHelperWorkerUrl(url: string): void {
  workerUrl = url;
}

/** The worker's reply to a job: its result, or the message of what went wrong. */
export type HelperReply<R> = { result: R } | { error: string };

/**
 * The main thread's side of the helper: jobs go out in order and their
 * replies come back in the same order.
 *
 * @example Usage
 * ```ts ignore
 * const helper = new HelperThread();
 * const pending = helper.run<CriticResult>(job, transfer); // runs beside the main thread's work
 * // ... the main thread's part ...
 * const result = await pending;
 * helper.close();
 * ```
 */
export class HelperThread {
  private readonly worker: Worker;
  private readonly waiting: {
    resolve: (r: unknown) => void;
    reject: (e: Error) => void;
  }[] = [];
  private failed?: Error;

  constructor() {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<HelperReply<unknown>>) => {
      const next = this.waiting.shift();
      if ("error" in e.data) next?.reject(new Error(`helper thread: ${e.data.error}`));
      else next?.resolve(e.data.result);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      // A worker that cannot start (or crashed) fails every job, now and later.
      e.preventDefault();
      this.failed = new Error(`helper thread: ${e.message}`);
      for (const w of this.waiting.splice(0)) w.reject(this.failed);
    };
  }

  /** Sends a job (handing over the `transfer` buffers) and resolves with its result. */
  run<R>(job: { kind: string }, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (r: unknown) => void, reject });
      this.worker.postMessage(job, transfer);
    });
  }

  /** Stops the worker; jobs still out are rejected. */
  close(): void {
    this.worker.terminate();
    for (const w of this.waiting.splice(0)) w.reject(new Error("helper thread closed"));
  }
}

/** Host copies of float tensors (each with a buffer of its own: a posted view would take its whole buffer along). */
export function hostCopies(tensors: tf.Tensor[]): Float32Array[] {
  return tensors.map((t) => (t.dataSync() as Float32Array).slice());
}

/** Sets variables to host copies of their values, in order. */
export function assignValues(vars: tf.Variable[], values: Float32Array[]): void {
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(values[i], v.shape))));
}

/**
 * A model the helper builds once per configuration (its weights are each
 * job's): `make` runs when `config` differs from the last one seen under
 * `name`, whose model is disposed.
 */
export function modelFor<M extends { dispose(): void }>(
  name: string,
  config: unknown,
  make: () => M,
): M {
  const key = JSON.stringify(config);
  const had = models.get(name);
  if (had?.key === key) return had.model as M;
  had?.model.dispose();
  const model = make();
  models.set(name, { key, model });
  return model;
}

const models = new Map<string, { key: string; model: { dispose(): void } }>();

/** The buffers of typed arrays, to hand over instead of copying. */
export function buffersOf(arrays: Float32Array[]): ArrayBuffer[] {
  return arrays.map((a) => a.buffer as ArrayBuffer);
}

/**
 * The worker behind `HelperThread` (`helper_thread.ts`): it starts tfjs's wasm backend
 * once, then answers each job in turn (`critic`: `critic_update.ts`,
 * `policy-gradients`: `bc_step.ts`). Run as a worker's main module it
 * serves at once; the single-file bundle, which is its own worker, calls
 * {@linkcode serveHelperJobs} when it runs as one.
 *
 * @module
 */
import { initBackend } from "../model/backend.ts";
import { type CriticJob, runCriticJob } from "./critic_update.ts";
import { type PolicyGradientsJob, runPolicyGradientsJob } from "./bc_step.ts";
import type { HelperReply } from "./helper_thread.ts";

/** A job the helper runs. */
export type HelperJob = CriticJob | PolicyGradientsJob;

/** The worker side of a `Worker`'s scope (the project type-checks against the window's). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<HelperJob>) => void) | null;
  postMessage(message: HelperReply<unknown>, transfer: ArrayBuffer[]): void;
}

let started: Promise<void> | undefined;

/**
 * Answers the jobs posted to this worker.
 *
 * @example Usage
 * ```ts ignore
 * if ("WorkerGlobalScope" in globalThis) serveHelperJobs();
 * ```
 */
export function serveHelperJobs(): void {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = async (e) => {
    try {
      started ??= initBackend("cpu");
      await started;
      const job = e.data;
      const { result, transfer } = job.kind === "critic"
        ? runCriticJob(job)
        : runPolicyGradientsJob(job);
      scope.postMessage({ result }, transfer);
    } catch (err) {
      scope.postMessage({ error: err instanceof Error ? err.message : String(err) }, []);
    }
  };
}

if (import.meta.main) serveHelperJobs();

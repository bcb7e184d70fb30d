/**
 * Ranges shared by several commands' flags, and the memory check that
 * refuses a run before it allocates what the machine cannot hold.
 *
 * @module
 */
import { actionSize, type Env } from "../../envs/env.ts";
import { InputError } from "../errors.ts";
import type { DecisionTransformerConfig } from "../model/decision_transformer.ts";
import type { GrpoConfig } from "../rl/grpo_config.ts";
import type { Range } from "../range.ts";

/** Seeds: unsigned 32-bit. */
export const SEED_RANGE: Range = { min: 0, max: 2 ** 32 - 1 };
/** Envs played as one batch (rollout, eval, train). */
export const NUM_ENVS_RANGE: Range = { min: 1, max: 1 << 20 };
/** Episodes of a command that plays or collects them. */
export const EPISODES_RANGE: Range = { min: 1, max: 1_000_000 };
/** Iterations, epochs and repeats. */
export const ITERATIONS_RANGE: Range = { min: 1, max: 1_000_000 };
/**
 * Learning rates: positive and float32-representable. A rate too high to
 * train is not refused here: the run diverges and stops with docs/spec.md's
 * advice (tested with 1e38).
 */
export const LR_RANGE: Range = { min: 0, max: 3.4e38, minOpen: true };
/** Returns to condition on. */
export const RETURN_RANGE: Range = { min: -1e9, max: 1e9 };

/** The wasm backend's tensors live in a 32-bit address space. */
const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** Bytes a run may plan to hold: most of the machine's memory, and wasm's 4 GiB on the CPU. */
export function memoryBudget(cpuTensors: boolean): number {
  const total = Deno.systemMemoryInfo().total;
  const machine = Math.floor(total * 0.75);
  return cpuTensors ? Math.min(machine, WASM_HEAP_BYTES) : machine;
}

/** `1.5 GiB`-style text. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let x = bytes, u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toPrecision(3)} ${units[u]}`;
}

/**
 * Throws an {@linkcode InputError} when `bytes` (an estimate of what `what`
 * holds) exceeds `budget`; `fix` says which flags to lower.
 */
export function refuseIfTooBig(what: string, bytes: number, budget: number, fix: string): void {
  if (!(bytes <= budget)) {
    throw new InputError(
      `${what} needs about ${formatBytes(bytes)}, more than the ${
        formatBytes(budget)
      } this machine can give; ${fix}`,
    );
  }
}

/** Bytes of the KV caches of `n` episodes played at once (old and new tensors during a step). */
export function kvCacheBytes(model: DecisionTransformerConfig, n: number): number {
  return 2 * n * model.nLayer * 2 * 3 * model.contextLength * model.embedDim * 4;
}

/**
 * Bytes a GRPO iteration holds besides the models: the rollout (observation,
 * action and ~12 per-step floats, kept twice: as steps and as update
 * segments), plus the envs' KV caches when the model is known.
 */
export function trainBytes(
  env: Env,
  config: Pick<GrpoConfig, "numEnvs" | "rolloutSteps">,
  model?: DecisionTransformerConfig,
): number {
  const perStep = (env.obsSize + actionSize(env) + 12) * 4 * 2;
  const rollout = config.numEnvs * config.rolloutSteps * perStep;
  return rollout + (model ? kvCacheBytes(model, config.numEnvs) : 0);
}

/**
 * Bytes a behaviour-cloning step holds, roughly: the weights with their
 * gradients and two Adam moments, plus per layer the attention scores
 * (batch x heads x 3K x 3K) and ~10 activations of batch x 3K x width,
 * kept for the backward pass.
 */
export function pretrainBytes(
  c: { embedDim: number; nLayer: number; nHead: number; contextLength: number; batchSize: number },
  maxTimestep: number,
): number {
  const d = c.embedDim, tokens = 3 * c.contextLength;
  const params = maxTimestep * d + c.nLayer * 12 * d * d;
  const perLayer = c.batchSize * (c.nHead * tokens * tokens + 10 * tokens * d);
  return 4 * (4 * params + c.nLayer * perLayer);
}

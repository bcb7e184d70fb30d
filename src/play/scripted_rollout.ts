/**
 * Scripted policies played on the batched environments: uniformly random
 * actions (every env) and Gymnasium's heuristic pilot (LunarLander). N
 * episodes run as one batch of N envs without auto-reset, env `i` playing
 * episode 0 of its random stream `i`, so episode `i`'s result does not depend
 * on N. Used by `grpo rollout` as a yardstick of the envs (a random baseline,
 * and the heuristic's ~250 on Gymnasium's LunarLander).
 *
 * @module
 */
import { actionSize, type Env } from "../../envs/env.ts";
import { InputError } from "../errors.ts";
import type { Mode } from "../device.ts";
import { ENVS } from "../../envs/registry.ts";
import { openVecEnv } from "./open_vec_env.ts";

/** The scripted policies `grpo rollout` plays. */
export const SCRIPTED_POLICIES = ["heuristic", "random"] as const;

/** A scripted policy's name. */
export type ScriptedPolicy = (typeof SCRIPTED_POLICIES)[number];

/** The built-in envs that have a heuristic policy, as `alias (Gymnasium id)`. */
export function heuristicEnvNames(): string[] {
  return ENVS.filter(hasHeuristic).map((e) => `${e.alias} (${e.id})`);
}

/** Whether `env` has a heuristic policy (its record's `heuristic`). */
export function hasHeuristic(env: Env): boolean {
  return typeof env.heuristic === "function";
}

/** Why `policy` cannot play `env` (one line naming the fix), or `undefined` when it can. */
export function scriptedPolicyProblem(env: Env, policy: string): string | undefined {
  if (!(SCRIPTED_POLICIES as readonly string[]).includes(policy)) {
    return `unknown policy "${policy}"; policies: ${SCRIPTED_POLICIES.join(", ")}`;
  }
  if (policy === "heuristic" && !hasHeuristic(env)) {
    return `${env.id} has no heuristic policy (only ${
      heuristicEnvNames().join(" and ")
    } have one); use --policy random`;
  }
  return undefined;
}

/** Options of {@linkcode scriptedRollout}. */
export interface ScriptedRolloutOptions {
  /** Number of episodes, played as one batch of this many envs. */
  episodes: number;
  /** Seed of the env starts and the random actions. */
  seed: number;
  /** CPU mode (TypeScript envs) or GPU mode (the env's WGSL kernel). */
  mode: Mode;
}

/** Per-episode results of {@linkcode scriptedRollout}: episode `i` is env `i`'s first episode. */
export interface ScriptedRolloutResult {
  /** Episode `i`'s undiscounted return. */
  returns: number[];
  /** Episode `i`'s length in steps. */
  lengths: number[];
}

/**
 * Plays `episodes` episodes of `env` with a scripted policy and returns each
 * one's return and length. `random` draws the counter-based random actions
 * of `stepRandom` (the same in both modes); `heuristic` (LunarLander only,
 * else an {@linkcode InputError}) runs on the host, reading the batch back
 * each step in GPU mode. An env's reward and length count until its first
 * `done` (terminated or truncated); it is stepped on, ignored, until all are.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { findEnv, scriptedRollout } from "@grpo/grpo";
 *
 * const { returns } = await scriptedRollout(findEnv("cartpole"), "random", {
 *   episodes: 8, seed: 0, mode: "cpu",
 * });
 * assert.equal(returns.length, 8);
 * ```
 */
export async function scriptedRollout(
  env: Env,
  policy: ScriptedPolicy,
  o: ScriptedRolloutOptions,
): Promise<ScriptedRolloutResult> {
  const n = o.episodes;
  if (!Number.isInteger(n) || n < 1) {
    throw new InputError(`episodes must be a positive integer, got ${n}`);
  }
  const problem = scriptedPolicyProblem(env, policy);
  if (problem) throw new InputError(problem);
  const heuristic = policy === "heuristic" ? env.heuristic?.bind(env) : undefined;
  const vec = await openVecEnv(env, n, { seed: o.seed, autoreset: false }, o.mode);
  try {
    const returns = new Array<number>(n).fill(0), lengths = new Array<number>(n).fill(0);
    const done = new Uint8Array(n);
    const actions = new Float32Array(n * actionSize(env));
    await vec.reset();
    // Only the heuristic reads the observations (GPU mode: a readback each).
    let obs: ArrayLike<number> = heuristic ? (await vec.view()).obs : [];
    let remaining = n;
    while (remaining > 0) {
      if (heuristic) {
        heuristic(obs, n, actions);
        await vec.step(actions);
      } else await vec.stepRandom(1);
      const view = await vec.view();
      obs = view.obs;
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        returns[i] += view.reward[i];
        lengths[i]++;
        if (view.done[i] !== 0) {
          done[i] = 1;
          remaining--;
        }
      }
    }
    return { returns, lengths };
  } finally {
    await vec.close();
  }
}

/**
 * How closely an env's f32 WGSL kernel follows its float64 TypeScript twin,
 * for the tests that compare them.
 *
 * @module
 */
import type { Env } from "../envs/env.ts";

/** Relative tolerances of a reset and of one step's reward: the env's own, or f32 rounding's. */
export function twinTolerance(env: Env): { reset: number; reward: number } {
  return env.twinTolerance ?? { reset: 1e-6, reward: 1e-4 };
}

/** The leading `exactStateSize` floats of each env's state (see `Env.exactStateSize`). */
export function exactState(env: Env, state: ArrayLike<number>): Float64Array {
  const S = env.stateSize, E = env.exactStateSize ?? S, n = state.length / S;
  const out = new Float64Array(n * E);
  for (let i = 0; i < n; i++) for (let k = 0; k < E; k++) out[i * E + k] = state[i * S + k];
  return out;
}

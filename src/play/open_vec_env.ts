/**
 * The batch of envs a mode plays on, behind the one {@linkcode VecEnv}
 * interface: GPU mode's `GpuVecEnv` (the env's WGSL kernel), CPU mode's host
 * batch (`CpuVecEnv`, or an external env's own). Evaluation, scripted
 * rollouts and dataset collection open their batch here and never ask the
 * mode again.
 *
 * @module
 */
import type { Env, EnvParams } from "../../envs/env.ts";
import type { Mode } from "../device.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import { createVecEnv, type VecEnv, type VecEnvOptions } from "../rl/vec_env.ts";

/** A batch of `n` envs of `env` in `mode`. */
export async function openVecEnv<P extends EnvParams>(
  env: Env<P>,
  n: number,
  options: VecEnvOptions<P>,
  mode: Mode,
): Promise<VecEnv> {
  return mode === "gpu" ? await GpuVecEnv.create(env, n, options) : createVecEnv(env, n, options);
}

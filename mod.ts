/**
 * grpo as a library: the environments and their batched stepping on the CPU
 * and on WebGPU, GAE and group normalization, the Decision Transformer and
 * value network with their checkpoints, evaluation, TensorBoard logs and
 * reports, and the CLI itself. Everything else is internal and may change.
 *
 * @example Step 64 CartPoles and normalize advantages in groups of 8
 * ```ts
 * import { CpuVecEnv, findEnv, normalizeGroups } from "@grpo/grpo";
 *
 * const envs = new CpuVecEnv(findEnv("cartpole"), 64, { seed: 0 });
 * envs.reset();
 * envs.stepRandom(10);
 * const advantages = normalizeGroups(envs.reward.slice(), 8);
 * console.log(advantages.length); // 64
 * ```
 *
 * @example Run the CLI from code
 * ```ts
 * import { main } from "@grpo/grpo";
 *
 * const exitCode = await main(["envs"]); // as `grpo envs`
 * console.log(exitCode); // 0
 * ```
 *
 * @module
 */

// Environments.
export type {
  ActionSpace,
  BoxSpace,
  DiscreteSpace,
  Env,
  EnvParams,
  EnvRandom,
  TrainingPreset,
  WgslPart,
} from "./envs/env.ts";
export { ENVS, findEnv } from "./envs/registry.ts";
export { CpuVecEnv, TERMINATED, TRUNCATED } from "./src/rl/vec_env.ts";
export { HostVecEnv } from "./src/rl/vec_env.ts";
export type { EpisodeStats, VecEnv, VecEnvOptions, VecEnvView } from "./src/rl/vec_env.ts";
export { GpuVecEnv } from "./src/gpu/vec_env.ts";
export type { VecEnvBuffers, VecEnvSnapshot } from "./src/gpu/vec_env.ts";
export { getGpu, releaseGpu } from "./src/device.ts";
export type { Gpu, Mode } from "./src/device.ts";

// Advantages (TypeScript twins of the WGSL kernels).
export { gae, normalizeGlobal, normalizeGroups } from "./src/rl/advantages.ts";
export type { GaeInput, GaeOutput } from "./src/rl/advantages.ts";

// Models and checkpoints.
export { initBackend } from "./src/model/backend.ts";
export { DecisionTransformer, DEFAULT_DT_SIZES } from "./src/model/decision_transformer.ts";
export type {
  DecisionTransformerConfig,
  KVCache,
  SegmentBatch,
  StepInput,
} from "./src/model/decision_transformer.ts";
export type { ActionDist, CategoricalParams, GaussianParams } from "./src/model/distribution.ts";
export type { Dtype, TensorArray, TensorEntry } from "./src/io/safetensors.ts";
export { DEFAULT_VALUE_SIZES, ValueNetwork } from "./src/model/value_network.ts";
export type { ValueNetworkConfig } from "./src/model/value_network.ts";
export { loadCheckpoint, saveCheckpoint } from "./src/model/checkpoint.ts";
export type {
  CheckpointContents,
  CheckpointInfo,
  LoadedCheckpoint,
} from "./src/model/checkpoint.ts";

// Playing policies.
export { evaluatePolicy } from "./src/play/evaluate.ts";
export type { EvaluateOptions, EvaluationResult, RecordedEpisode } from "./src/play/evaluate.ts";
export { SCRIPTED_POLICIES, scriptedRollout } from "./src/play/scripted_rollout.ts";
export type {
  ScriptedPolicy,
  ScriptedRolloutOptions,
  ScriptedRolloutResult,
} from "./src/play/scripted_rollout.ts";

// Logs and reports.
export { TensorBoardWriter } from "./src/io/tensorboard.ts";
export { writeReport } from "./src/io/report.ts";
export type { ReportOptions } from "./src/io/report.ts";

// Errors and the CLI.
export { InputError } from "./src/errors.ts";
export { main } from "./src/cli/main.ts";

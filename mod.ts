/**
 * grpo's library API: environments, batched stepping in CPU and GPU mode,
 * and replay.
 *
 * @module
 */
export * from "./envs/env.ts";
export { ENVS, findEnv, loadEnvModule, resolveEnv } from "./envs/registry.ts";
export { cartpole } from "./envs/cartpole.ts";
export { acrobot } from "./envs/acrobot.ts";
export { mountainCar } from "./envs/mountain_car.ts";
export { pendulum } from "./envs/pendulum.ts";
export { lunarLander, lunarLanderContinuous } from "./envs/lunar_lander.ts";
export type { LunarLanderParams } from "./envs/lunar_lander.ts";
export { World, worldStateSize } from "./src/physics/world.ts";
export type { BodyDef, WorldDef } from "./src/physics/world.ts";
export type { RevoluteJointDef } from "./src/physics/revolute_joint.ts";
export { boxPolygon, polygonFromPoints, polygonMass } from "./src/physics/polygon.ts";
export type { MassData, Polygon } from "./src/physics/polygon.ts";
export { worldWgsl } from "./src/physics/wgsl.ts";
export { landerHeuristicContinuous, landerHeuristicDiscrete } from "./src/rl/lander_heuristic.ts";
export { CpuVecEnv, randomAction, TERMINATED, TRUNCATED } from "./src/rl/vec_env.ts";
export type { EpisodeStats, VecEnvOptions } from "./src/rl/vec_env.ts";
export { GpuVecEnv } from "./src/gpu/vec_env.ts";
export type { VecEnvBuffers, VecEnvSnapshot } from "./src/gpu/vec_env.ts";
export { getGpu, releaseGpu, requireGpu, resolveMode } from "./src/gpu/device.ts";
export type { DeviceChoice, Mode } from "./src/gpu/device.ts";
export { parseReplayInput, replay } from "./src/rl/replay.ts";
export type { ReplayInput, ReplayOutput } from "./src/rl/replay.ts";
export { InputError } from "./src/errors.ts";
export { copyTensorToBuffer, flushTf, initBackend, tensorFromBuffer } from "./src/model/backend.ts";
export {
  DecisionTransformer,
  DEFAULT_DT_SIZES,
  KVCache,
} from "./src/model/decision_transformer.ts";
export type {
  DecisionTransformerConfig,
  SegmentBatch,
  StepInput,
} from "./src/model/decision_transformer.ts";
export { DEFAULT_VALUE_SIZES, ValueNetwork } from "./src/model/value_network.ts";
export type { ValueNetworkConfig } from "./src/model/value_network.ts";
export * from "./src/model/distribution.ts";
export { loadCheckpoint, saveCheckpoint } from "./src/model/checkpoint.ts";
export type {
  CheckpointContents,
  CheckpointInfo,
  LoadedCheckpoint,
} from "./src/model/checkpoint.ts";
export { evaluatePolicy } from "./src/rl/evaluate.ts";
export type { EvaluateOptions, EvaluationResult } from "./src/rl/evaluate.ts";
export { SCRIPTED_POLICIES, scriptedRollout } from "./src/rl/scripted_rollout.ts";
export type {
  ScriptedPolicy,
  ScriptedRolloutOptions,
  ScriptedRolloutResult,
} from "./src/rl/scripted_rollout.ts";
export {
  envDrawer,
  episodeGif,
  RENDER_FPS,
  renderEpisodes,
  renderFormat,
  writeEpisodeRender,
} from "./src/render/episode.ts";
export type { EpisodeRecording, SceneDrawer } from "./src/render/episode.ts";
export { htmlReplay } from "./src/render/html_replay.ts";
export { encodeGif, GifWriter } from "./src/render/gif.ts";
export { encodePng } from "./src/render/png.ts";
export { rasterize } from "./src/render/raster.ts";
export type { Frame, RGB, Scene, Shape } from "./src/render/raster.ts";
export { cartPoleScene } from "./src/render/cartpole.ts";
export { acrobotScene, mountainCarScene, pendulumScene } from "./src/render/classic.ts";
export {
  FlameTrail,
  landerSceneFromObservation,
  landerTerrain,
  legPoses,
  lunarEnginePowers,
  lunarLanderScene,
} from "./src/render/lunar_lander.ts";
export type { LanderPose, LanderScene } from "./src/render/lunar_lander.ts";
export { parseMetrics, readMetrics, reportHtml, writeReport } from "./src/io/report.ts";
export {
  gae,
  grpoAdvantages,
  NORM_EPS,
  normalizeGlobal,
  normalizeGroups,
} from "./src/rl/advantages.ts";
export type { GaeInput, GaeOutput, GrpoOutput } from "./src/rl/advantages.ts";
export { GpuAdvantages } from "./src/gpu/advantages.ts";
export type { GaeBuffers, GrpoBuffers } from "./src/gpu/advantages.ts";
export {
  categoricalChoice,
  countersOf,
  sampleCategorical,
  sampleGaussian,
} from "./src/rl/sample_actions.ts";
export type { Sampled, SampledBox } from "./src/rl/sample_actions.ts";
export { GpuActionSampler } from "./src/gpu/sample_actions.ts";
export type { CategoricalBuffers, GaussianBuffers } from "./src/gpu/sample_actions.ts";
export { crc32c, encodeEvent, TensorBoardWriter } from "./src/io/tensorboard.ts";
export { MetricsLog, MetricsWriter } from "./src/io/metrics.ts";
export { IterationProgress, ProgressLine } from "./src/cli/progress.ts";
export type {
  IterationProgressOptions,
  ProgressLineOptions,
  ProgressUpdate,
} from "./src/cli/progress.ts";
export {
  importanceWeights,
  prioritizedMinibatches,
  priorityProbabilities,
  uniformMinibatches,
} from "./src/rl/minibatches.ts";
export type { Minibatch, PrioritizedOptions } from "./src/rl/minibatches.ts";
export { clipEpsilonAt, parseClipSchedule } from "./src/rl/schedules.ts";
export type { ClipSchedule, ClipScheduleConfig } from "./src/rl/schedules.ts";
export { createOptimizers, NonFiniteError, trainGrpo } from "./src/rl/grpo.ts";
export type { GrpoState, IterationMetrics } from "./src/rl/grpo.ts";
export { ENV_PRESETS, presetFor, SPEC_DEFAULTS } from "./src/rl/grpo_config.ts";
export type { AdvantageMode, GrpoConfig } from "./src/rl/grpo_config.ts";
export { restoreTrainingState, saveTrainingCheckpoint } from "./src/rl/grpo_checkpoint.ts";
export { RolloutCollector } from "./src/rl/collect.ts";
export { createCollector, GpuRolloutCollector } from "./src/gpu/rollout_collector.ts";
export type { Collector } from "./src/gpu/rollout_collector.ts";
export { chunkBatch, chunks, Rollout } from "./src/rl/rollout.ts";
export { ActServer } from "./src/rl/act_server.ts";
export type { EpisodicPolicy } from "./src/rl/act_server.ts";

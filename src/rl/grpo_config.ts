import type { Env } from "../../envs/env.ts";

/**
 * Stage 2's hyperparameters in one typed block, with docs/spec.md's defaults
 * (`run_grpo.py`); each env's record holds the preset that replaces some of
 * them when the user did not set them.
 *
 * @module
 */

/**
 * How advantages are computed and normalized: `gae-group` (the spec's GRPO:
 * GAE, normalized within groups of envs), `gae-global` (plain PPO), or
 * `outcome` (DeepSeekMath's outcome advantages: whole episodes from shared
 * starts, each episode's return normalized in its group, with a KL penalty to
 * the stage-1 policy; the command line and old checkpoints call it `grpo`).
 */
export type AdvantageMode = "gae-group" | "gae-global" | "outcome";

/** Every stage-2 hyperparameter. */
export interface GrpoConfig {
  /** Discount factor. */
  gamma: number;
  /** GAE's lambda. */
  gaeLambda: number;
  /** PPO clipping of the probability ratio. */
  clipEpsilon: number;
  /** `linear`: clip epsilon decays from `clipEpsilon` to `clipEpsilonFinal` over the run. */
  clipSchedule: "constant" | "linear";
  clipEpsilonFinal: number;
  /** Entropy bonus coefficient. */
  entropyCoef: number;
  /** Value loss coefficient. */
  valueCoef: number;
  /** Clip the value loss around the rollout's values (PPO2-style) by this much; 0 turns it off. */
  valueClip: number;
  /** Group size for advantage normalization (and episodes per start state in `outcome` mode). */
  groupSize: number;
  advantage: AdvantageMode;
  /** `outcome` mode: coefficient of the k3 KL penalty to the stage-1 policy. */
  klCoef: number;
  /** Parallel environments. */
  numEnvs: number;
  /** Steps per rollout, per environment. */
  rolloutSteps: number;
  /** Passes over the rollout per iteration. */
  numEpochs: number;
  /** Minibatch size. */
  batchSize: number;
  /** Policy (Decision Transformer) learning rate. */
  policyLr: number;
  /** Value network learning rate. */
  valueLr: number;
  /** Width of the value network's first layer (a new network's; a resumed one keeps its own). */
  valueEmbedDim: number;
  /** Width of the value network's second layer. */
  valueHiddenDim: number;
  /** Global gradient-norm clipping. */
  maxGradNorm: number;
  /** Decay both learning rates linearly to 0 over the run (as CleanRL's ppo.py), so the policy settles. */
  annealLr: boolean;
  /** Training iterations. */
  numIterations: number;
  /** Return-to-go the policy is conditioned on (default: the env's preset). */
  targetReturn: number;
  /** Minibatches drawn with probability proportional to |advantage|, importance-weighted. */
  prioritized: boolean;
  /** Ramp the env's difficulty parameters from easy to hard over the run. */
  curriculum: boolean;
  /** Save `iteration_N.safetensors` every this many iterations. */
  saveEvery: number;
  seed: number;
}

/** The spec's defaults. */
export const SPEC_DEFAULTS: GrpoConfig = {
  gamma: 0.99,
  gaeLambda: 0.95,
  clipEpsilon: 0.2,
  clipSchedule: "constant",
  clipEpsilonFinal: 0.05,
  entropyCoef: 0.01,
  valueCoef: 0.5,
  valueClip: 0,
  groupSize: 8,
  advantage: "gae-group",
  klCoef: 0.04,
  numEnvs: 8,
  rolloutSteps: 128,
  numEpochs: 4,
  batchSize: 64,
  policyLr: 3e-5,
  valueLr: 1e-4,
  valueEmbedDim: 256,
  valueHiddenDim: 512,
  maxGradNorm: 0.5,
  annealLr: false,
  numIterations: 100,
  targetReturn: 500,
  prioritized: false,
  curriculum: false,
  saveEvery: 10,
  seed: 0,
};

/**
 * The preset of an env over the spec's defaults (empty for envs without
 * one): its record's `preset` (see `envs/cartpole.ts` for how CartPole's was
 * tuned). Flags given by the user always win.
 */
export function presetFor(env: Env): Partial<GrpoConfig> {
  const { pretrainEvalEpisodes: _stage1, ...stage2 } = env.preset ?? {};
  return stage2;
}

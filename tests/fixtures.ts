/**
 * The tiny models the tests build: a one-layer, one-head Decision
 * Transformer with a context of 4 steps and its value network, on CartPole's
 * observations unless told otherwise. Tests that train use
 * {@linkcode TRAINING_SIZES} (wider, with dropout) so that their updates
 * move the weights measurably.
 *
 * @module
 */
import { cartpole } from "../envs/cartpole.ts";
import type { Env } from "../envs/env.ts";
import type { Dataset } from "../src/rl/dataset.ts";
import {
  DecisionTransformer,
  type DecisionTransformerConfig,
} from "../src/model/decision_transformer.ts";
import { ValueNetwork, type ValueNetworkConfig } from "../src/model/value_network.ts";
import { type GrpoConfig, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";

/** The widths and dropout of the tiny models that tests train. */
export const TRAINING_SIZES = { embedDim: 16, hiddenDim: 16, dropout: 0.1 } as const;

/** Identity observation scaling of `n` floats. */
function identityStats(n: number): { obsMean: number[]; obsStd: number[] } {
  return { obsMean: new Array(n).fill(0), obsStd: new Array(n).fill(1) };
}

/** A tiny CartPole policy's config (8 wide, no dropout); `overrides` change any field. */
export function tinyDtConfig(
  overrides: Partial<DecisionTransformerConfig> = {},
): DecisionTransformerConfig {
  return {
    obsDim: 4,
    actionKind: "discrete",
    actDim: 2,
    embedDim: 8,
    nLayer: 1,
    nHead: 1,
    contextLength: 4,
    maxTimestep: 500,
    dropout: 0,
    ...identityStats(overrides.obsDim ?? 4),
    returnScale: 100,
    ...overrides,
  };
}

/** A tiny policy with weights drawn from `seed`. */
export function tinyPolicy(
  seed: number,
  overrides: Partial<DecisionTransformerConfig> = {},
): DecisionTransformer {
  return new DecisionTransformer(tinyDtConfig(overrides), seed);
}

/** A tiny value network (8 wide) with weights drawn from `seed`. */
export function tinyValue(seed: number, overrides: Partial<ValueNetworkConfig> = {}): ValueNetwork {
  return new ValueNetwork({
    obsDim: 4,
    embedDim: 8,
    hiddenDim: 8,
    ...identityStats(overrides.obsDim ?? 4),
    ...overrides,
  }, seed);
}

/**
 * The {@linkcode TRAINING_SIZES} policy and value network for `env`'s
 * observations and actions: a categorical policy over its discrete actions
 * (or its `discreteActions` table), else a Gaussian one.
 */
export function tinyTrainingModels(
  seed: number,
  env?: Env,
): { policy: DecisionTransformer; value: ValueNetwork } {
  const { embedDim, hiddenDim, dropout } = TRAINING_SIZES;
  const obsDim = env?.obsSize ?? 4;
  const space = env?.actionSpace;
  const box = space?.kind === "box" && !env?.discreteActions;
  const actDim = space === undefined
    ? 2
    : space.kind === "discrete"
    ? space.n
    : env?.discreteActions?.length ?? space.low.length;
  const policy = tinyPolicy(seed, {
    obsDim,
    actionKind: box ? "continuous" : "discrete",
    actDim,
    embedDim,
    dropout,
  });
  return { policy, value: tinyValue(seed, { obsDim, embedDim, hiddenDim }) };
}

/**
 * A tiny stage-2 config: 4 envs x 10 steps (T = 10 is not a multiple of
 * K = 4, so chunks straddle rollouts), 2 epochs of minibatches of 16, groups
 * of 4, fast learning rates, 2 iterations; `overrides` change any field.
 */
export function tinyGrpoConfig(overrides: Partial<GrpoConfig> = {}): GrpoConfig {
  return {
    ...SPEC_DEFAULTS,
    numEnvs: 4,
    rolloutSteps: 10,
    numEpochs: 2,
    batchSize: 16,
    policyLr: 1e-3,
    valueLr: 1e-3,
    numIterations: 2,
    groupSize: 4,
    seed: 3,
    ...overrides,
  };
}

/** Episodes whose action is a fixed function of the observation: a model can fit them exactly. */
export function fixedDataset(episodes: number, length: number): Dataset {
  let s = 99;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const T = episodes * length;
  const obs = Float32Array.from({ length: T * 4 }, rand);
  const actions = Float32Array.from({ length: T }, (_, t) => (obs[t * 4] > 0 ? 1 : 0));
  return {
    envId: cartpole.id,
    obsSize: 4,
    actionSize: 1,
    obs,
    actions,
    rewards: new Float32Array(T).fill(1),
    terminals: Uint8Array.from({ length: T }, (_, t) => ((t + 1) % length === 0 ? 1 : 0)),
    episode: Int32Array.from({ length: T }, (_, t) => Math.floor(t / length)),
  };
}

import { cartpole } from "../envs/cartpole.ts";
import { initBackend } from "../src/model/backend.ts";
import { DecisionTransformer, DEFAULT_DT_SIZES } from "../src/model/decision_transformer.ts";
import { DEFAULT_VALUE_SIZES, ValueNetwork } from "../src/model/value_network.ts";
import { createOptimizers, type GrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { presetFor, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { releaseGpu } from "../src/gpu/device.ts";
import { countGpuCalls } from "./gpu_counters.ts";
import { createCollector } from "../src/gpu/rollout_collector.ts";
await initBackend("gpu");
const env = cartpole;
const stats = { obsMean: [0, 0, 0, 0], obsStd: [1, 1, 1, 1] };
const policy = new DecisionTransformer({
  obsDim: 4,
  actionKind: "discrete",
  actDim: 2,
  ...DEFAULT_DT_SIZES,
  maxTimestep: 500,
  returnScale: 100,
  ...stats,
}, 1);
const value = new ValueNetwork({ obsDim: 4, ...DEFAULT_VALUE_SIZES, ...stats }, 1);
const config = { ...SPEC_DEFAULTS, ...presetFor(env), rolloutSteps: 32, numIterations: 1, seed: 1 };
const state: GrpoState = {
  env,
  config,
  policy,
  value,
  ...createOptimizers(config),
  iteration: 0,
  envSteps: 0,
};
state.collector = createCollector(env, policy, value, config.numEnvs, config.seed);
const c = state.collector;
const collect = c.collect.bind(c);
let cc: unknown;
c.collect = async (...a: Parameters<typeof collect>) => {
  const r = await countGpuCalls(() => collect(...a));
  cc = r.counts;
  return r.result;
};
await trainGrpo(state);
config.numIterations = 2;
const { counts } = await countGpuCalls(() =>
  trainGrpo(state, { onIteration: (m) => console.log(m.rollout_seconds, m.update_seconds) })
);
console.log("total", counts, "collect", cc);
await releaseGpu();

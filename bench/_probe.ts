import { cartpole } from "../envs/cartpole.ts";
import { initBackend } from "../src/model/backend.ts";
import { DecisionTransformer, DEFAULT_DT_SIZES } from "../src/model/decision_transformer.ts";
import { DEFAULT_VALUE_SIZES, ValueNetwork } from "../src/model/value_network.ts";
import { createOptimizers, type GrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { presetFor, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { releaseGpu } from "../src/gpu/device.ts";
import { countGpuCalls } from "./gpu_counters.ts";
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
await trainGrpo(state);
config.numIterations = 2;
const t0 = performance.now();
const { counts, mapStacks } = await countGpuCalls(() => trainGrpo(state), { stacks: true });
console.log(counts, (performance.now() - t0) / 1000);
const agg = new Map<string, number>();
for (const s of mapStacks) {
  const key = s.split("\n").slice(2, 9).map((l) => l.trim().replace(/file:\/\/\/\S*\//, "")).join(
    " | ",
  );
  agg.set(key, (agg.get(key) ?? 0) + 1);
}
for (const [k, n] of [...agg].sort((a, b) => b[1] - a[1])) console.log(n, k);
await releaseGpu();

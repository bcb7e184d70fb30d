/**
 * Throughput of the Gymnasium bridge: env steps/s of a Gymnasium env (default
 * CartPole-v1) through `GymVecEnv` (one binary message per vector step to a
 * Python worker) beside Gymnasium's own loop over the same N envs in one
 * Python process (`env.step` then `env.reset(seed=...)` on episode end, as the
 * worker does), and the bridge's added time per vector step. Each side is
 * timed `--repeats` times, alternating, and its best run kept (a shared
 * machine's noise only ever slows a run down).
 *
 *   deno run -A bench/gym_bridge.ts [--env CartPole-v1] [--sizes 1,8,64] [--steps 3000] [--repeats 3] [--python python3] [--json]
 *
 * Needs `pip install gymnasium`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseGymSpec, resolveGymEnv } from "../src/bridge/gym_env.ts";
import { createVecEnv, randomAction } from "../src/rl/vec_env.ts";

const { values } = parseArgs({
  options: {
    env: { type: "string", default: "CartPole-v1" },
    sizes: { type: "string", default: "1,8,64" },
    steps: { type: "string", default: "3000" },
    python: { type: "string", default: "python3" },
    repeats: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});
const id = values.env!, python = values.python!, vectorSteps = Number(values.steps);

/** Gymnasium's own vector steps per second for `n` envs, measured in one Python process. */
async function gymnasiumRate(n: number): Promise<number> {
  const script = `
import sys, time, gymnasium
n, steps = ${n}, ${vectorSteps}
envs = [gymnasium.make("${id}") for _ in range(n)]
for i, e in enumerate(envs): e.reset(seed=i)
actions = [[e.action_space.sample() for e in envs] for _ in range(64)]
def run(count):
    for k in range(count):
        row = actions[k % 64]
        for i in range(n):
            _, _, term, trunc, _ = envs[i].step(row[i])
            if term or trunc: envs[i].reset(seed=k * n + i)
run(min(steps, 200))
start = time.perf_counter()
run(steps)
print(steps / (time.perf_counter() - start))
`;
  const out = await new Deno.Command(python, { args: ["-c", script] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Vector steps per second through the bridge for `n` envs (random actions drawn in TypeScript). */
async function bridgeRate(n: number): Promise<number> {
  const env = await resolveGymEnv(parseGymSpec(`gym:${id}`), { python });
  const vec = createVecEnv(env, n, { seed: 1 });
  try {
    await vec.reset();
    const A = env.actionSpace.kind === "discrete" ? 1 : env.actionSpace.low.length;
    const actions = new Float32Array(n * A);
    const run = async (count: number) => {
      for (let k = 0; k < count; k++) {
        for (let i = 0; i < n; i++) {
          randomAction(env, 1, i, vec.episode[i], vec.t[i], actions, i * A);
        }
        await vec.step(actions);
      }
    };
    await run(Math.min(vectorSteps, 200));
    const start = performance.now();
    await run(vectorSteps);
    return vectorSteps / ((performance.now() - start) / 1000);
  } finally {
    await vec.close?.();
  }
}

const rows = [];
for (const n of values.sizes!.split(",").map(Number)) {
  let gym = 0, bridge = 0;
  for (let r = 0; r < Number(values.repeats); r++) {
    gym = Math.max(gym, await gymnasiumRate(n));
    bridge = Math.max(bridge, await bridgeRate(n));
  }
  rows.push({
    env: id,
    numEnvs: n,
    gymnasiumStepsPerSec: Math.round(gym * n),
    bridgeStepsPerSec: Math.round(bridge * n),
    gymnasiumUsPerVectorStep: 1e6 / gym,
    bridgeUsPerVectorStep: 1e6 / bridge,
    overheadUsPerVectorStep: 1e6 / bridge - 1e6 / gym,
    overheadPercent: 100 * (gym / bridge - 1),
  });
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(
    "| envs | Gymnasium env steps/s | bridge env steps/s | Gymnasium µs/vector step | bridge µs/vector step | added µs | added % |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.numEnvs} | ${r.gymnasiumStepsPerSec} | ${r.bridgeStepsPerSec} | ${
        r.gymnasiumUsPerVectorStep.toFixed(1)
      } | ${r.bridgeUsPerVectorStep.toFixed(1)} | ${r.overheadUsPerVectorStep.toFixed(1)} | ${
        r.overheadPercent.toFixed(0)
      }% |`,
    );
  }
}

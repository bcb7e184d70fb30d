/**
 * Advantage modes compared: gae-group (the spec's GRPO), gae-global (plain
 * PPO) and grpo (DeepSeekMath-style, no critic), several seeds each, at the
 * demo's size (stage 1 quick test, then `--iterations` GRPO iterations):
 * final training return, env steps to a solved mean return, wall time and a
 * deterministic evaluation of 20 episodes.
 *
 * Results go to `<out>/advantage_modes_<env>.json` after every run; a rerun
 * skips the (mode, seed) pairs already there, so a long comparison can be
 * stopped and continued. Flags after `--` go to every `grpo train`.
 *
 *   deno run -A bench/advantage_modes.ts [--env cartpole] [--iterations 25] \
 *     [--modes gae-group,gae-global,grpo] [--seeds 0,1,2] [--out bench/results] [-- FLAGS]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type ExampleResult, runExample } from "./example.ts";
import { writeTextAtomic } from "../src/io/atomic.ts";
import { meanStd } from "../src/play/evaluate.ts";
import { resolveEnv } from "../envs/registry.ts";

/** The mean training return that counts as solved, per Gymnasium id. */
const SOLVED: Record<string, number> = { "CartPole-v1": 475, "LunarLander-v3": 200 };

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    env: { type: "string", default: "cartpole" },
    iterations: { type: "string", default: "25" },
    seeds: { type: "string", default: "0,1,2" },
    modes: { type: "string", default: "gae-group,gae-global,grpo" },
    out: { type: "string", default: "bench/results" },
  },
});
type Row = ExampleResult & { mode: string; seed: number };
const env = await resolveEnv(values.env!);
const threshold = SOLVED[env.id] ?? Infinity;
const file = join(values.out!, `advantage_modes_${env.alias}.json`);
let results: Row[] = [];
try {
  results = JSON.parse(await Deno.readTextFile(file));
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
for (const mode of values.modes!.split(",")) {
  for (const seed of values.seeds!.split(",").map(Number)) {
    if (results.some((r) => r.mode === mode && r.seed === seed)) continue;
    const dir = await Deno.makeTempDir({ prefix: `grpo-bench-${mode}-` });
    const r = await runExample({
      env: values.env!,
      trainFlags: [
        "--quick-test",
        ...["--num-iterations", values.iterations!, "--advantage", mode],
        ...["--seed", String(seed), "--device", "cpu"],
        ...positionals,
      ],
      evalEpisodes: 20,
      threshold,
      dir,
    });
    await Deno.remove(dir, { recursive: true });
    results.push({ ...r, checkpoint: "", mode, seed });
    await writeTextAtomic(file, JSON.stringify(results, null, 2) + "\n");
  }
}

const fmt = (xs: number[]) => {
  const { mean, std } = meanStd(xs);
  return `${mean.toFixed(1)} +- ${std.toFixed(1)}`;
};
console.log(
  `| mode | seeds | final training return | env steps to ${threshold} | env steps | wall s | deterministic eval (20 episodes) |`,
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const mode of new Set(results.map((r) => r.mode))) {
  const rs = results.filter((r) => r.mode === mode);
  const reached = rs.filter((r) => r.stepsToThreshold !== null).map((r) => r.stepsToThreshold!);
  console.log(
    `| ${mode} | ${rs.length} | ${fmt(rs.map((r) => r.finalMeanReward))} | ${
      reached.length ? `${fmt(reached)} (${reached.length}/${rs.length} seeds)` : "never"
    } | ${fmt(rs.map((r) => r.envSteps))} | ${fmt(rs.map((r) => r.wallSeconds))} | ${
      fmt(rs.map((r) => r.evalMean))
    } |`,
  );
}

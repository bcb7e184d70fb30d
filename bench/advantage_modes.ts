/**
 * Advantage modes compared on CartPole: gae-group (the spec's GRPO) vs
 * gae-global (plain PPO), 3 seeds each, at the demo's size (stage 1 quick
 * test, then `--iterations` GRPO iterations): final training return, env
 * steps to a mean return of 475, wall time and a deterministic evaluation.
 *
 *   deno run -A bench/advantage_modes.ts [--iterations 40] [--out bench/results]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type ExampleResult, runExample } from "./example.ts";
import { writeTextAtomic } from "../src/io/atomic.ts";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "40" },
    seeds: { type: "string", default: "0,1,2" },
    modes: { type: "string", default: "gae-group,gae-global" },
    out: { type: "string", default: "bench/results" },
  },
});
const results: (ExampleResult & { mode: string; seed: number })[] = [];
for (const mode of values.modes!.split(",")) {
  for (const seed of values.seeds!.split(",").map(Number)) {
    const dir = await Deno.makeTempDir({ prefix: `grpo-bench-${mode}-` });
    const r = await runExample({
      env: "cartpole",
      trainFlags: [
        "--quick-test",
        "--num-iterations",
        values.iterations!,
        "--advantage",
        mode,
        "--seed",
        String(seed),
        "--device",
        "cpu",
      ],
      evalEpisodes: 20,
      threshold: 475,
      dir,
    });
    results.push({ ...r, mode, seed });
    await Deno.remove(dir, { recursive: true });
    // Written after every run, so a long comparison can be read while it goes on.
    await writeTextAtomic(
      join(values.out!, "advantage_modes.json"),
      JSON.stringify(results, null, 2) + "\n",
    );
  }
}
await writeTextAtomic(
  join(values.out!, "advantage_modes.json"),
  JSON.stringify(results, null, 2) + "\n",
);
console.log(
  "| mode | seed | final mean reward | env steps to 475 | wall s | deterministic eval (20) |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.seed} | ${r.finalMeanReward.toFixed(1)} | ${
      r.stepsToThreshold ?? "never"
    } | ${r.wallSeconds.toFixed(0)} | ${r.evalMean.toFixed(1)} +- ${r.evalStd.toFixed(1)} |`,
  );
}

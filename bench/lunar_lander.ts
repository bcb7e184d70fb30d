/**
 * The spec's LunarLander example, end to end: stage 1 at 3000 episodes /
 * 100 epochs, GRPO for 500 iterations with 16 envs x 256 steps (the env
 * preset), then a deterministic evaluation of 100 episodes (the goal: a mean
 * of 250 or more) of last.safetensors and best.safetensors. `--episodes` and
 * `--epochs` shrink stage 1, which on random LunarLander data only learns the
 * random policy's action frequencies. `--env lunar_lander_continuous` runs
 * the continuous variant. Flags after `--` go to `grpo train` (`--tag` then
 * names the result file apart).
 *
 *   deno run -A bench/lunar_lander.ts [--env lunar_lander] [--episodes 3000] [--epochs 100] [--iterations 500] \
 *     [--seed 0] [--device cpu] [--out bench/results] [--tag NAME] [-- --anneal-lr on ...]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { runExample } from "./example.ts";
import { writeTextAtomic } from "../src/io/atomic.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    env: { type: "string", default: "lunar_lander" },
    episodes: { type: "string", default: "3000" },
    epochs: { type: "string", default: "100" },
    iterations: { type: "string", default: "500" },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: "cpu" },
    out: { type: "string", default: "bench/results" },
    tag: { type: "string", default: "" },
  },
});
const dir = await Deno.makeTempDir({ prefix: "grpo-bench-lunar-" });
const result = await runExample({
  env: values.env!,
  stage1: { episodes: Number(values.episodes), epochs: Number(values.epochs) },
  trainFlags: [
    "--num-iterations",
    values.iterations!,
    "--eval-every",
    "25",
    "--seed",
    values.seed!,
    "--device",
    values.device!,
    ...positionals,
  ],
  evalEpisodes: 100,
  threshold: 200,
  dir,
});
const name =
  `${values.env}_${values.episodes}x${values.epochs}_${values.iterations}_seed${values.seed}${
    values.tag ? `_${values.tag}` : ""
  }.json`;
await writeTextAtomic(join(values.out!, name), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));

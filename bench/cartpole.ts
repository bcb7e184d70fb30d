/**
 * The spec's CartPole example, end to end: stage 1 at 1000 episodes / 50
 * epochs, GRPO for 100 iterations with 8 envs, then a deterministic
 * evaluation of 100 episodes (expected: 500). `--quick` runs the demo-sized
 * version (stage 1 quick test, 30 iterations).
 *
 *   deno run -A bench/cartpole.ts [--quick] [--seed 0] [--device cpu] [--out bench/results]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { runExample } from "./example.ts";
import { writeTextAtomic } from "../src/io/atomic.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
    device: { type: "string", default: "cpu" },
    out: { type: "string", default: "bench/results" },
  },
});
const flags = ["--seed", values.seed!, "--device", values.device!];
if (values.quick) flags.push("--quick-test", "--num-iterations", "30");
const dir = await Deno.makeTempDir({ prefix: "grpo-bench-cartpole-" });
const result = await runExample({
  env: "cartpole",
  trainFlags: flags,
  evalEpisodes: 100,
  threshold: 475,
  dir,
});
const name = `cartpole${values.quick ? "_quick" : ""}_seed${values.seed}.json`;
await writeTextAtomic(join(values.out!, name), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));

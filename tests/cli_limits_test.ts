/**
 * Limits and parsing: every numeric flag has a range, negative numbers are
 * values, a flag given twice (also kebab + snake) and extra positionals are
 * errors, runs that cannot fit in memory are refused before allocation,
 * report handles 150k rows, replay warns about dropped actions and refuses
 * overflowed observations instead of writing `null`.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { COMMANDS } from "../src/cli/main.ts";
import { runGrpo } from "./cli_helpers.ts";

async function refused(argv: string[], ...parts: string[]): Promise<void> {
  const r = await runGrpo(argv);
  assertEquals(r.code, 2, `${argv.join(" ")}: ${r.err}`);
  assertEquals(r.err.split("\n").length, 1, r.err);
  for (const p of parts) assert(r.err.includes(p), `${JSON.stringify(p)} in ${r.err}`);
}

Deno.test("every numeric flag of every command has a range", () => {
  for (const c of COMMANDS) {
    for (const [name, spec] of Object.entries(c.flags)) {
      if (spec.type === "number" || spec.type === "integer") {
        assert(spec.range, `grpo ${c.name} --${name} has no range`);
      }
    }
  }
});

Deno.test("out-of-range numbers, including negative ones, are one line naming the range", async () => {
  await refused(["train", "--num-iterations", "-1"], "--num-iterations -1 is out of range", "[1,");
  await refused(["train", "--num-iterations", "1e99"], "out of range");
  await refused(["train", "--kl-coef=-1"], "--kl-coef -1 is out of range", "[0,");
  await refused(["train", "--num-envs", "1e8"], "--num-envs", "out of range");
  await refused(["eval", "--checkpoint", "x", "--num-episodes", "0"], "--num-episodes 0");
  await refused(["pretrain", "--lr", "0"], "--lr 0 is out of range", "(0, 3.4e+38]");
  await refused(["pretrain", "--embed-dim", "1000000000"], "--embed-dim");
});

Deno.test("a negative number after a numeric flag is its value", async () => {
  // Parsing succeeds; the missing checkpoint is the only complaint.
  await refused(
    ["eval", "--checkpoint", "missing.safetensors", "--target-return", "-150"],
    "missing.safetensors does not exist",
  );
  await refused(
    ["eval", "--checkpoint", "missing.safetensors", "--seed", "-1"],
    "--seed -1 is out of range",
  );
});

Deno.test("a flag given twice, in either spelling, is an error", async () => {
  await refused(["train", "--seed", "1", "--seed", "2"], "--seed is given more than once");
  await refused(["train", "--num-envs", "4", "--num_envs", "8"], "--num-envs", "--num_envs");
  await refused(["eval", "--checkpoint=a", "--checkpoint", "b"], "--checkpoint");
});

Deno.test("extra positionals are an error for commands that take none", async () => {
  await refused(["eval", "--checkpoint", "x", "extra"], 'unexpected argument "extra"');
  await refused(["train", "cartpole"], 'unexpected argument "cartpole"');
  await refused(["inspect", "a", "b"], '"b"');
  await refused(["bench", "envs", "more"], '"more"');
});

Deno.test("a train run that cannot fit in memory is refused before allocation, with the estimate", async () => {
  await refused(
    ["train", "--num-envs", "1048576", "--rollout-steps", "1000000", "--device", "cpu"],
    "needs about",
    "TiB",
    "lower --num-envs or --rollout-steps",
  );
  await refused(
    ["pretrain", "--context-length", "1024", "--batch-size", "65536", "--device", "cpu"],
    "needs about",
    "lower --batch-size",
  );
});

Deno.test("grpo report handles 150,000 rows", async () => {
  const dir = await Deno.makeTempDir();
  const rows = Array.from(
    { length: 150_000 },
    (_, i) => JSON.stringify({ iteration: i + 1, env_steps: 10 * i, mean_reward: Math.sin(i) }),
  );
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), rows.join("\n") + "\n");
  const r = await runGrpo(["report", dir]);
  assertEquals(r.code, 0, r.err);
  const html = await Deno.readTextFile(join(dir, "report.html"));
  assert(html.includes("max 1"), "min/max of all rows");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("replay warns about actions after termination and refuses overflowed observations", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "in.json");
  await Deno.writeTextFile(
    input,
    JSON.stringify({
      episodes: [{
        env: "CartPole-v1",
        init_state: [0, 0, 0.19, 2],
        actions: new Array(22).fill(0),
      }],
    }),
  );
  const r = await runGrpo(["replay", "--input", input, "--device", "cpu"]);
  assertEquals(r.code, 0);
  assert(r.err.startsWith("warning: 1 episode(s) ended before their last action"), r.err);
  assert(r.err.includes("21 later action(s) were not applied"), r.err);
  // theta_dot 3e38 makes the next observation overflow float32.
  await Deno.writeTextFile(
    input,
    JSON.stringify({
      episodes: [{ env: "CartPole-v1", init_state: [0, 0, 0.1, 3e38], actions: [0, 1] }],
    }),
  );
  const output = join(dir, "out.json");
  await refused(
    ["replay", "--input", input, "--output", output, "--device", "cpu"],
    "episode 0's obs at step 0 is not finite",
  );
  assert(!(await Deno.stat(output).catch(() => null)), "nothing written");
  await Deno.remove(dir, { recursive: true });
});

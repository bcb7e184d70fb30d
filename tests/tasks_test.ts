/**
 * The README's commands run with exactly the permissions `deno.json`'s tasks
 * grant (a permission missing there fails only on a user's machine: the
 * other CLI tests run with `-A`).
 *
 * @module
 */
import { assert } from "./assert.ts";
import { join } from "node:path";
import { inTempDir, tinyStage1 } from "./cli_helpers.ts";

const root = new URL("..", import.meta.url);

/** The `deno run` flags and script of a task, split as the shell would (no quoting in ours). */
async function taskArgs(name: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const words = (config.tasks[name] as string).split(/\s+/);
  assert(words[0] === "deno" && words[1] === "run", `task ${name} is a deno run`);
  return words.slice(1);
}

async function runTask(name: string, extra: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...(await taskArgs(name)), ...extra],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: text(out.stdout) + text(out.stderr) };
}

Deno.test("deno task demo's permissions run the whole demo (one GRPO iteration)", () =>
  inTempDir("grpo-task-demo-", async (dir) => {
    const { code, output } = await runTask("demo", [
      "--out",
      dir,
      "--iterations",
      "1",
      "--device",
      "cpu",
    ]);
    assert(code === 0, `demo exited ${code}:\n${output}`);
    assert(!output.includes("NotCapable"), output);
  }));

Deno.test("deno task grpo's permissions run grpo train", () =>
  inTempDir("grpo-task-train-", async (dir) => {
    const stage1 = await tinyStage1(dir);
    const { code, output } = await runTask("grpo", [
      "train",
      "--checkpoint",
      stage1,
      "--env",
      "cartpole",
      "--num-iterations",
      "1",
      "--num-envs",
      "2",
      "--rollout-steps",
      "8",
      "--device",
      "cpu",
      "--out",
      join(dir, "out"),
      "--log-dir",
      join(dir, "logs"),
    ]);
    assert(code === 0, `train exited ${code}:\n${output}`);
  }));

/**
 * `grpo replay` on bad input: one line naming the episode, the field and the
 * expected shape, exit code 2, no stack trace, nothing written.
 */
import { inTempDir } from "./cli_helpers.ts";
import { assert, assertEquals } from "./assert.ts";
import { main } from "../src/cli/main.ts";
import { ENVS } from "../envs/registry.ts";

/** Runs `main(argv)` and returns its exit code and what it printed to stderr. */
async function runMain(argv: string[]): Promise<{ code: number; stderr: string[] }> {
  const stderr: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => stderr.push(args.join(" "));
  try {
    return { code: await main(argv), stderr };
  } finally {
    console.error = original;
  }
}

/** Replays `episodes` through the CLI and expects exit 2 with one line containing every `parts`. */
async function expectRejected(episodes: unknown[], parts: string[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "grpo-replay-" });
  try {
    const input = `${dir}/in.json`, output = `${dir}/out.json`;
    await Deno.writeTextFile(input, JSON.stringify({ episodes }));
    const { code, stderr } = await runMain(["replay", "--input", input, "--output", output]);
    assertEquals(code, 2, `exit code (stderr: ${stderr.join(" | ")})`);
    assertEquals(stderr.length, 1, `one line: ${stderr.join(" | ")}`);
    assert(!stderr[0].includes("\n"), `one line: ${stderr[0]}`);
    for (const part of parts) assert(stderr[0].includes(part), `"${stderr[0]}" names ${part}`);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["in.json"], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const GOOD = { env: "CartPole-v1", init_state: [0, 0, 0.01, 0], actions: [0, 1] };

Deno.test("replay names the episode, field and shape of a wrong init_state", async () => {
  await expectRejected(
    [GOOD, { env: "Acrobot-v1", init_state: [0, 0, 0], actions: [0] }],
    ["episode 1", '"init_state"', "4 finite numbers", "Acrobot-v1"],
  );
  await expectRejected(
    [{ env: "pendulum", init_state: [0, "x"], actions: [[0]] }],
    ["episode 0", '"init_state"', "2 finite numbers", "Pendulum-v1"],
  );
});

Deno.test("replay names the episode, step and shape of an invalid action", async () => {
  await expectRejected(
    [GOOD, GOOD, { ...GOOD, actions: [0, 1, 2] }],
    ["episode 2", '"actions"[2]', "integer in [0, 1]", "CartPole-v1", "got 2"],
  );
  await expectRejected(
    [{ env: "MountainCar-v0", init_state: [-0.5, 0], actions: [1, 0.5] }],
    ["episode 0", '"actions"[1]', "integer in [0, 2]"],
  );
  await expectRejected(
    [{ env: "Pendulum-v1", init_state: [1, 0], actions: [[0.5], [1, 2]] }],
    ["episode 0", '"actions"[1]', "1 finite number(s)", "Pendulum-v1"],
  );
});

Deno.test("replay of an unknown env lists the valid names", async () => {
  await expectRejected(
    [{ env: "CartPole-v0", init_state: [0, 0, 0, 0], actions: [0] }],
    ["episode 0", 'unknown env "CartPole-v0"', ...ENVS.flatMap((e) => [e.alias, e.id])],
  );
});

Deno.test("the grpo binary exits 2 with one line and no stack trace on bad replay input", () =>
  inTempDir("grpo-replay-", async (dir) => {
    const input = `${dir}/in.json`;
    await Deno.writeTextFile(
      input,
      JSON.stringify({ episodes: [{ ...GOOD, init_state: [0, 0] }] }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../src/cli/main.ts", import.meta.url).href,
        "replay",
        "--input",
        input,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assertEquals(out.code, 2, stderr);
    assertEquals(stderr.split("\n").length, 1, stderr);
    assert(stderr.startsWith("error: episode 0:"), stderr);
    assertEquals(out.stdout.length, 0);
  }));

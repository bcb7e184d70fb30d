/** Scripted rollouts (`scriptedRollout`, `grpo rollout`): the heuristic and random policies. */
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { cartpole } from "../envs/cartpole.ts";
import { lunarLander, lunarLanderContinuous } from "../envs/lunar_lander.ts";
import { loadEnvModule } from "../envs/registry.ts";
import { InputError } from "../src/errors.ts";
import { meanStd } from "../src/play/evaluate.ts";
import { scriptedRollout } from "../src/play/scripted_rollout.ts";

Deno.test("the LunarLander heuristic lands: mean return over 100 in CPU mode", async () => {
  for (const env of [lunarLander, lunarLanderContinuous]) {
    const { returns, lengths } = await scriptedRollout(env, "heuristic", {
      episodes: 8,
      seed: 0,
      mode: "cpu",
    });
    assertEquals(returns.length, 8);
    const { mean } = meanStd(returns);
    assert(mean > 100, `${env.id}: mean return ${mean}`);
    assert(lengths.every((l) => l >= 1 && l <= env.maxEpisodeSteps), String(lengths));
  }
});

Deno.test("random CartPole episodes have plausible returns, independent of the batch size", async () => {
  const { returns, lengths } = await scriptedRollout(cartpole, "random", {
    episodes: 32,
    seed: 0,
    mode: "cpu",
  });
  const { mean } = meanStd(returns);
  assert(mean >= 10 && mean <= 40, `mean return ${mean}`);
  assertEquals(returns, lengths, "CartPole pays 1 per step");
  const few = await scriptedRollout(cartpole, "random", { episodes: 5, seed: 0, mode: "cpu" });
  assertEquals(few.returns, returns.slice(0, 5), "episode i is env i's, whatever N");
  const other = await scriptedRollout(cartpole, "random", { episodes: 32, seed: 1, mode: "cpu" });
  assert(other.returns.some((r, i) => r !== returns[i]), "the seed matters");
});

Deno.test("the random policy plays a user's env module", async () => {
  const env = await loadEnvModule("./examples/my_env.ts");
  const { lengths } = await scriptedRollout(env, "random", { episodes: 4, seed: 0, mode: "cpu" });
  assert(lengths.every((l) => l >= 1 && l <= env.maxEpisodeSteps), String(lengths));
});

Deno.test("the heuristic on an env without one is an InputError suggesting --policy random", async () => {
  let error: unknown;
  try {
    await scriptedRollout(cartpole, "heuristic", { episodes: 2, seed: 0, mode: "cpu" });
  } catch (e) {
    error = e;
  }
  assert(error instanceof InputError, String(error));
  assert(/lunar_lander.*--policy random/.test(error.message), error.message);
});

gpuTest({
  name: "GPU mode plays the same episodes as CPU mode",
  async fn() {
    const random = { episodes: 16, seed: 3 };
    const cpuRandom = await scriptedRollout(cartpole, "random", { ...random, mode: "cpu" });
    const gpuRandom = await scriptedRollout(cartpole, "random", { ...random, mode: "gpu" });
    assertEquals(gpuRandom.lengths, cpuRandom.lengths);
    gpuRandom.returns.forEach((r, i) => assertAlmostEquals(r, cpuRandom.returns[i], 1e-3));
    // f32 physics on the device, f64 on the host: close, not equal.
    const lander = { episodes: 4, seed: 0 };
    const cpuLander = await scriptedRollout(lunarLander, "heuristic", { ...lander, mode: "cpu" });
    const gpuLander = await scriptedRollout(lunarLander, "heuristic", { ...lander, mode: "gpu" });
    gpuLander.returns.forEach((r, i) =>
      assertAlmostEquals(r, cpuLander.returns[i], 1.0, `episode ${i}`)
    );
  },
});

async function grpo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../src/cli/main.ts", import.meta.url).href, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("grpo rollout --json prints one JSON object of episodes and the summary", async () => {
  const out = await grpo(
    "rollout",
    "--env",
    "lunar_lander",
    "--policy",
    "heuristic",
    "--episodes",
    "3",
    "--device",
    "cpu",
    "--json",
  );
  assertEquals(out.code, 0, out.stderr);
  const lines = out.stdout.split("\n");
  assertEquals(lines.length, 1, out.stdout);
  const result = JSON.parse(lines[0]);
  assertEquals(
    [result.env, result.policy, result.device, result.seed],
    ["LunarLander-v3", "heuristic", "cpu", 0],
  );
  assertEquals(result.episodes.length, 3);
  const returns = result.episodes.map((e: { return: number }) => e.return);
  assertAlmostEquals(result.mean, meanStd(returns).mean, 1e-9);
  assert(typeof result.std === "number" && typeof result.meanLength === "number");
  assert(result.solvedFraction >= 0 && result.solvedFraction <= 1, String(result.solvedFraction));
});

Deno.test("grpo rollout exits 2 with one line on a policy the env lacks and on --episodes 0", async () => {
  for (
    const [args, pattern] of [
      [["--policy", "heuristic", "--env", "cartpole"], /has no heuristic.*--policy random/],
      [["--policy", "random", "--env", "cartpole", "--episodes", "0"], /--episodes/],
    ] as const
  ) {
    const out = await grpo("rollout", ...args, "--device", "cpu");
    assertEquals(out.code, 2, out.stderr);
    assertEquals(out.stderr.split("\n").length, 1, out.stderr);
    assert(out.stderr.startsWith("error: grpo rollout:") && pattern.test(out.stderr), out.stderr);
    assertEquals(out.stdout, "");
  }
});

releaseGpuAfterTests();

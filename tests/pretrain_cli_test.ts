import { runGrpo } from "./cli_helpers.ts";
import { assert, assertEquals } from "./assert.ts";
import { SELECTION_SEED } from "../src/cli/pretrain.ts";

/** `grpo argv...` in-process. */
const grpo = (...argv: string[]) => runGrpo(argv);

const TINY = ["--embed-dim", "8", "--n-layer", "1", "--context-length", "4", "--device", "cpu"];

Deno.test("grpo pretrain, inspect and eval work end to end", async () => {
  const dir = await Deno.makeTempDir();
  const run = await grpo(
    "pretrain",
    "--env",
    "cartpole",
    "--num_episodes", // the spec's snake_case
    "12",
    "--num-epochs",
    "2",
    "--out",
    dir,
    ...TINY,
  );
  assertEquals(run.code, 0, run.err);
  const [runDir] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
  assert(/gym_cartpole_\d{8}_\d{6}$/.test(runDir), runDir);
  const files = [...Deno.readDirSync(runDir)].map((e) => e.name).sort();
  assertEquals(files.filter((f) => !f.startsWith("events.out.tfevents.")), [
    "best_model.safetensors",
    "dataset.safetensors",
    "last.safetensors",
    "metrics.jsonl",
  ]);
  assertEquals(
    files.filter((f) => f.startsWith("events.out.tfevents.")).length,
    1,
    "a TensorBoard event file",
  );
  const rows = Deno.readTextFileSync(`${runDir}/metrics.jsonl`).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(rows.map((r) => r.epoch), [1, 2]);
  assert(rows.every((r) => Number.isFinite(r.val_loss) && Number.isFinite(r.train_loss)));

  const inspect = await grpo("inspect", `${runDir}/best_model.safetensors`);
  assertEquals(inspect.code, 0, inspect.err);
  assert(inspect.out.includes("env_id          CartPole-v1"), inspect.out);
  assert(inspect.out.includes("transformer.h.0.attn.c_attn.weight  F32    [8, 24]"), inspect.out);

  const evalArgs = [
    "eval",
    "--checkpoint",
    `${runDir}/best_model.safetensors`,
    "--num-episodes",
    "3",
    "--deterministic",
    "--json",
    "--device",
    "cpu",
  ];
  const evaluation = await grpo(...evalArgs);
  assertEquals(evaluation.code, 0, evaluation.err);
  const result = JSON.parse(evaluation.out);
  assertEquals(result.env, "CartPole-v1");
  assertEquals(result.returns.length, 3);
  assertEquals(result.returns, result.lengths, "CartPole pays 1 per step");
  const again = await grpo(...evalArgs);
  assertEquals(JSON.parse(again.out).returns, result.returns, "evaluation is reproducible");

  // The saved dataset can be reused.
  const reuse = await grpo(
    "pretrain",
    "--dataset",
    `${runDir}/dataset.safetensors`,
    "--num-epochs",
    "1",
    "--out",
    `${dir}/reuse`,
    ...TINY,
  );
  assertEquals(reuse.code, 0, reuse.err);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pretrain's best_model is the epoch of lowest validation loss, or with --eval-episodes (LunarLander's default) the one that played best at stage 2's target", async () => {
  const dir = await Deno.makeTempDir();
  const pretrain = async (out: string, ...extra: string[]) => {
    const run = await grpo(
      "pretrain",
      ...["--num-episodes", "12", "--num-epochs", "3", "--out", out],
      ...TINY,
      ...extra,
    );
    assertEquals(run.code, 0, run.err);
    const [runDir] = [...Deno.readDirSync(out)].map((e) => `${out}/${e.name}`);
    const rows = Deno.readTextFileSync(`${runDir}/metrics.jsonl`).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const bestEpoch = Number(/best epoch (\d+)/.exec(run.out)?.[1]);
    return { runDir, rows, bestEpoch, out: run.out };
  };
  // The 1-based epoch that `better` keeps, scanning in order.
  const kept = (xs: number[], better: (x: number, best: number) => boolean) =>
    xs.reduce((best, x, i) => (better(x, xs[best]) ? i : best), 0) + 1;

  // The episodes play at the return stage 2 will ask for: CartPole's preset target, 500.
  const played = await pretrain(`${dir}/played`, "--eval-episodes", "4");
  assert(played.out.includes("best_model by 4 episodes at return 500 an epoch"), played.out);
  const scores = played.rows.map((r) => r.eval_return as number);
  assertEquals(scores.length, 3);
  assert(scores.every(Number.isFinite), JSON.stringify(scores));
  // Ties go to the later epoch (as stage 2's best.safetensors), lower losses to the earlier.
  assertEquals(played.bestEpoch, kept(scores, (x, best) => x >= best), played.out);
  // The saved model replays its score on the choice's own starts (SELECTION_SEED + seed 0).
  const replayed = async (runDir: string, episodes: string, target: string) => {
    const replay = await grpo(
      ...["eval", "--checkpoint", `${runDir}/best_model.safetensors`],
      ...["--num-episodes", episodes, "--deterministic", "--seed", String(SELECTION_SEED)],
      ...["--target-return", target, "--json", "--device", "cpu"],
    );
    assertEquals(replay.code, 0, replay.err);
    return JSON.parse(replay.out).mean_return;
  };
  assertEquals(await replayed(played.runDir, "4", "500"), Math.max(...scores));

  const other = await pretrain(
    `${dir}/other-target`,
    ...["--eval-episodes", "2", "--eval-target-return", "60"],
  );
  assert(other.out.includes("best_model by 2 episodes at return 60 an epoch"), other.out);
  const otherScores = other.rows.map((r) => r.eval_return as number);
  assertEquals(await replayed(other.runDir, "2", "60"), Math.max(...otherScores));

  const byLoss = await pretrain(`${dir}/by-loss`);
  assert(byLoss.rows.every((r) => !("eval_return" in r)));
  assert(byLoss.out.includes("best_model by the lowest validation loss"), byLoss.out);
  const losses = byLoss.rows.map((r) => r.val_loss as number);
  assertEquals(byLoss.bestEpoch, kept(losses, (x, best) => x < best), byLoss.out);

  // LunarLander's preset plays 20 episodes at its target by default; the quick test none.
  const lander = await pretrain(`${dir}/lander`, "--env", "lunar_lander");
  assert(lander.out.includes("best_model by 20 episodes at return 250 an epoch"), lander.out);
  assertEquals(lander.rows.filter((r) => Number.isFinite(r.eval_return)).length, 3);
  const quick = await pretrain(`${dir}/lander-quick`, "--env", "lunar_lander", "--quick-test");
  assert(quick.out.includes("best_model by the lowest validation loss"), quick.out);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad input to pretrain and eval is one line and exit code 2", async () => {
  const cases: [string[], string][] = [
    [["eval", "--checkpoint", "/nonexistent.safetensors"], "does not exist"],
    [["eval"], "--checkpoint is required"],
    [["pretrain", "--n-head", "3", "--embed-dim", "8"], "must divide"],
    [[
      "pretrain",
      "--dataset",
      "/nonexistent.safetensors",
      "--device",
      "cpu",
      "--out",
      "/tmp/x-none",
    ], "does not exist"],
    [["inspect"], "give one file"],
  ];
  for (const [argv, message] of cases) {
    const r = await grpo(...argv);
    assertEquals(r.code, 2, argv.join(" "));
    assert(r.err.includes(message) && !r.err.includes("\n"), r.err);
  }
  let exists = true;
  await Deno.stat("/tmp/x-none").catch(() => (exists = false));
  assert(!exists, "a failed run writes nothing");
});

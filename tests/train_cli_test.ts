/**
 * `grpo train` end to end at tiny sizes: checkpoints and logs where the spec
 * puts them, resume from a checkpoint, bad flags rejected before anything is
 * written, and a diverging run stopped with advice.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { InputError } from "../src/errors.ts";
import { flags, quietly, tinyStage1 } from "./cli_helpers.ts";
import { main } from "../src/cli/main.ts";
import {
  checkpointScore,
  resumeFlags,
  TRAIN_QUICK_TEST,
  trainCommand,
  trainConfig,
  type TrainValues,
} from "../src/cli/train.ts";
import { SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import { helpText, parseFlags } from "../src/cli/args.ts";
import { cartpole } from "../envs/cartpole.ts";
import { mountainCar } from "../envs/mountain_car.ts";
import { lunarLander } from "../envs/lunar_lander.ts";
import type { Env } from "../envs/env.ts";
import { readSafetensors } from "../src/io/safetensors.ts";

const TINY = flags({ "num-envs": 2, "rollout-steps": 40, "num-epochs": 1, "batch-size": 16 });

/** `grpo train` from a stage-1 checkpoint at the tiny sizes, writing under `ck` and `logs`. */
function tinyTrainArgs(stage1: string, ck: string, logs: string): string[] {
  return [
    "train",
    "--checkpoint",
    stage1,
    ...TINY,
    "--out",
    ck,
    "--log-dir",
    logs,
    "--device",
    "cpu",
  ];
}

/** The one run directory under `parent`. */
function onlyRun(parent: string): string {
  const [run] = [...Deno.readDirSync(parent)].map((e) => join(parent, e.name));
  return run;
}

/** The rows of a run's metrics.jsonl. */
function metricsRows(logDir: string): Record<string, number | null>[] {
  return Deno.readTextFileSync(join(logDir, "metrics.jsonl")).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
}

Deno.test("grpo train writes iteration, best and last checkpoints and a metrics log, and resumes", async () => {
  const dir = await Deno.makeTempDir();
  const stage1 = await tinyStage1(dir, { seed: 0 });
  const ck = join(dir, "ck"), logs = join(dir, "logs");
  const args = tinyTrainArgs(stage1, ck, logs);
  const run = await quietly(() => main([...args, "--num-iterations", "2", "--save-every", "1"]));
  assertEquals(run.result, 0, run.err);
  const runDir = onlyRun(ck);
  const files = [...Deno.readDirSync(runDir)].map((e) => e.name).sort();
  assertEquals(files, [
    "best.safetensors",
    "iteration_1.safetensors",
    "iteration_2.safetensors",
    "last.safetensors",
  ]);
  const logDir = onlyRun(logs);
  const rows = metricsRows(logDir);
  assertEquals(rows.map((r) => r.iteration), [1, 2]);
  for (
    const key of [
      "mean_reward",
      "policy_loss",
      "value_loss",
      "entropy",
      "approx_kl",
      "clip_fraction",
    ]
  ) {
    assert(key in rows[0], key);
  }
  const resumed = await quietly(() =>
    main([
      "train",
      ...flags({
        resume: join(runDir, "iteration_2.safetensors"),
        "num-iterations": 3,
        "log-dir": logs,
      }),
    ])
  );
  assertEquals(resumed.result, 0, resumed.err);
  const after = metricsRows(logDir);
  assertEquals(after.map((r) => r.iteration), [1, 2, 3]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("best.safetensors is the best periodic evaluation, not a training reward in between", async () => {
  const dir = await Deno.makeTempDir();
  const stage1 = await tinyStage1(dir, { seed: 0 });
  const ck = join(dir, "ck"), logs = join(dir, "logs");
  const evalFlags = ["--num-iterations", "4", "--eval-every", "2", "--eval-episodes", "2"];
  const run = await quietly(() => main([...tinyTrainArgs(stage1, ck, logs), ...evalFlags]));
  assertEquals(run.result, 0, run.err);
  const evals = metricsRows(onlyRun(logs)).filter((r) => typeof r.eval_return === "number");
  assertEquals(evals.map((r) => r.iteration), [2, 4]);
  // Ties go to the later evaluation, as the loop saves on >=.
  const expected = evals[1].eval_return! >= evals[0].eval_return! ? 4 : 2;
  const best = await readSafetensors(join(onlyRun(ck), "best.safetensors"));
  assertEquals(best.metadata.iteration, String(expected));
  // Between evaluations nothing competes, however high the training reward.
  assert(Number.isNaN(checkpointScore(2, NaN, 1e9)));
  assertEquals(checkpointScore(2, 17, 1e9), 17);
  assertEquals(checkpointScore(0, NaN, 42), 42);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--stop-at-eval stops after the first evaluation that reaches it, keeping that model", async () => {
  const dir = await Deno.makeTempDir();
  const stage1 = await tinyStage1(dir, { seed: 0 });
  const ck = join(dir, "ck"), logs = join(dir, "logs");
  // Any CartPole episode scores >= 1: the first evaluation (iteration 2) reaches 1, not 1e6.
  const evalFlags = ["--num-iterations", "6", "--eval-every", "2", "--eval-episodes", "2"];
  const cases: [string, number[]][] = [["1", [1, 2]], ["1e6", [1, 2, 3, 4, 5, 6]]];
  for (const [threshold, iterations] of cases) {
    const run = await quietly(() =>
      main([...tinyTrainArgs(stage1, ck, logs), ...evalFlags, "--stop-at-eval", threshold])
    );
    assertEquals(run.result, 0, run.err);
    assertEquals(run.out.includes("stopped there"), threshold === "1", run.out);
    assertEquals(metricsRows(onlyRun(logs)).map((r) => r.iteration), iterations);
    const runDir = onlyRun(ck);
    const last = await readSafetensors(join(runDir, "last.safetensors"));
    assertEquals(last.metadata.iteration, String(iterations.at(-1)));
    await Deno.remove(runDir, { recursive: true });
    await Deno.remove(onlyRun(logs), { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("grpo train rejects bad flags with one line, exit 2, and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  const stage1 = await tinyStage1(dir, { seed: 0 });
  const out = join(dir, "ck");
  for (
    const bad of [
      ["--gamma", "1.5"],
      ["--num-envs", "0"],
      ["--policy-lr", "abc"],
      ["--advantage", "ppo"],
      ["--env", "nosuchenv"],
      ["--stop-at-eval", "100", "--eval-every", "0"],
    ]
  ) {
    const r = await quietly(() => main(["train", "--checkpoint", stage1, "--out", out, ...bad]));
    assertEquals(r.result, 2, bad.join(" "));
    assertEquals(r.err.trim().split("\n").length, 1, r.err);
  }
  const other = await quietly(() =>
    main(["train", "--checkpoint", join(dir, "missing.safetensors"), "--out", out])
  );
  assertEquals(other.result, 2);
  assert(!(await exists(out)), "nothing written");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a diverging run stops with the spec's advice and names the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const stage1 = await tinyStage1(dir, { seed: 0 });
  const r = await quietly(() =>
    main([
      "train",
      "--checkpoint",
      stage1,
      ...TINY,
      ...flags({
        "policy-lr": "1e38",
        "num-iterations": 20,
        out: join(dir, "ck"),
        "log-dir": join(dir, "logs"),
        device: "cpu",
      }),
    ])
  );
  assertEquals(r.result, 1, r.out + r.err);
  assert(r.err.includes("became"), r.err);
  assert(r.err.includes("--policy-lr 1e-5"), r.err);
  await Deno.remove(dir, { recursive: true });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("--advantage grpo, the old name of outcome, is accepted on the command line and from a checkpoint", () => {
  const given = parseFlags("train", ["--advantage", "grpo"], trainCommand.flags)
    .values as TrainValues;
  assertEquals(trainConfig(cartpole, given).config.advantage, "outcome");
  const stored = resumeFlags({} as TrainValues, { advantage: "grpo" }, "old.safetensors").values;
  assertEquals(trainConfig(cartpole, stored).config.advantage, "outcome");
  assert(helpText("", "", trainCommand.flags).includes("gae-group|gae-global|outcome"));
});

Deno.test("a preset's iteration count yields to --num-iterations and to --quick-test", () => {
  const config = (argv: string[], env: Env = mountainCar) =>
    trainConfig(env, parseFlags("train", argv, trainCommand.flags).values as TrainValues);
  assertEquals(config([]).config.numIterations, mountainCar.preset?.numIterations);
  assert(config([]).fromPreset.includes("numIterations"));
  assertEquals(config(["--num-iterations", "7"]).config.numIterations, 7);
  assert(!config(["--num-iterations", "7"]).fromPreset.includes("numIterations"));
  assertEquals(config(["--quick-test"]).config.numIterations, TRAIN_QUICK_TEST.numIterations);
  assert(!config(["--quick-test"]).fromPreset.includes("numIterations"));
  assertEquals(config([], cartpole).config.numIterations, SPEC_DEFAULTS.numIterations);
  assertEquals(config([], lunarLander).config.numIterations, 500); // the spec's LunarLander example
  // Stage 1's field of the preset is pretrain's, not stage 2's.
  assert(!("pretrainEvalEpisodes" in config([], lunarLander).config));
  assert(!config([], lunarLander).fromPreset.includes("pretrainEvalEpisodes"));
});

Deno.test("a preset's curriculum is on by default and --no-curriculum turns it off", async () => {
  const config = (argv: string[], env: Env = mountainCar) =>
    trainConfig(env, parseFlags("train", argv, trainCommand.flags).values as TrainValues);
  assertEquals(config([]).config.curriculum, true);
  assert(config([]).fromPreset.includes("curriculum"));
  assertEquals(config(["--no-curriculum"]).config.curriculum, false);
  assert(!config(["--no-curriculum"]).fromPreset.includes("curriculum"));
  assertEquals(config([], cartpole).config.curriculum, false);
  assertEquals(config(["--curriculum"], cartpole).config.curriculum, true);
  await assertRejects(
    () => parseFlags("train", ["--curriculum", "--no-curriculum"], trainCommand.flags),
    InputError,
    "--curriculum is given more than once",
  );
  await assertRejects(
    () => parseFlags("train", ["--no-seed"], trainCommand.flags),
    InputError,
    "--no-seed",
  );
});

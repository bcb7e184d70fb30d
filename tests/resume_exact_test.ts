/**
 * `grpo train --resume` is exact and writes only where the command line
 * says: a run killed with SIGKILL, or stopped by Ctrl-C mid-iteration, and
 * resumed ends with the uninterrupted run's last.safetensors byte for byte
 * and its metrics (wall-clock fields aside), once each; the resumed run
 * takes every flag of the original run (flags given at resume win and are
 * reported); paths in a checkpoint's metadata are ignored; the log is cut
 * back to the checkpoint's iteration. SIGTERM saves as Ctrl-C does.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { tinyPolicy, tinyValue } from "./fixtures.ts";
import {
  exists,
  grpoProcess,
  inTempDir,
  metricsRows,
  onlyEntry,
  quietly,
  sameBytes,
  tinyStage1,
  until,
} from "./cli_helpers.ts";
import { decodeEvent, readRecords } from "./tfrecord_reader.ts";
import { main } from "../src/cli/main.ts";
import { removeStaleTempFiles } from "../src/io/atomic.ts";
import { MetricsLog, truncateLog } from "../src/io/metrics.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensors } from "../src/io/safetensors.ts";
import { cartpole } from "../envs/cartpole.ts";
import { createCollector } from "../src/gpu/rollout_collector.ts";
import { initBackend } from "../src/model/backend.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { createOptimizers, type GrpoState, newGrpoState, trainGrpo } from "../src/rl/grpo.ts";
import { type GrpoConfig, SPEC_DEFAULTS } from "../src/rl/grpo_config.ts";
import {
  IterationSnapshot,
  restoreTrainingState,
  saveTrainingCheckpoint,
} from "../src/rl/grpo_checkpoint.ts";

/** A tiny run of three iterations, a checkpoint after each, evaluations at 2 and 3. */
const FLAGS = [
  "--num-envs",
  "2",
  "--rollout-steps",
  "40",
  "--num-epochs",
  "4",
  "--batch-size",
  "16",
  "--num-iterations",
  "3",
  "--save-every",
  "1",
  "--eval-every",
  "2",
  "--eval-episodes",
  "2",
  "--device",
  "cpu",
];

/** Fields that measure wall-clock time, which no two runs share. */
const WALL_CLOCK = new Set(["steps_per_second", "rollout_seconds", "update_seconds", "wall_time"]);

function withoutWallClock(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !WALL_CLOCK.has(k))));
}

/** The steps of the scalar events of every event file in `logDir`, in file order. */
function eventSteps(logDir: string): number[] {
  const files = [...Deno.readDirSync(logDir)].map((e) => e.name)
    .filter((n) => n.startsWith("events.out.tfevents.")).sort();
  return files.flatMap((name) =>
    readRecords(Deno.readFileSync(join(logDir, name))).records.map(decodeEvent)
      .filter((e) => e.values.length > 0).map((e) => Number(e.step))
  );
}

function tempFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp-"));
}

/** The newest iteration_N.safetensors of a run directory. */
function newestIteration(runDir: string): string {
  const n = Math.max(
    ...[...Deno.readDirSync(runDir)].map((e) => /^iteration_(\d+)\.safetensors$/.exec(e.name))
      .filter((m) => m !== null).map((m) => Number(m![1])),
  );
  return join(runDir, `iteration_${n}.safetensors`);
}

/** The uninterrupted run of {@linkcode FLAGS}, made once for the tests that compare with it. */
interface Baseline {
  dir: string;
  stage1: string;
  last: Uint8Array;
  rows: Record<string, unknown>[];
}

let baselineRun: Promise<Baseline> | undefined;

function baseline(): Promise<Baseline> {
  baselineRun ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "grpo-baseline-" });
    const stage1 = await tinyStage1(dir);
    const straight = await quietly(() =>
      main([
        "train",
        "--checkpoint",
        stage1,
        ...FLAGS,
        "--out",
        join(dir, "ck"),
        "--log-dir",
        join(dir, "logs"),
      ])
    );
    assertEquals(straight.result, 0, straight.err);
    return {
      dir,
      stage1,
      last: Deno.readFileSync(join(onlyEntry(join(dir, "ck")), "last.safetensors")),
      rows: metricsRows(onlyEntry(join(dir, "logs"))),
    };
  })();
  return baselineRun;
}

/** Asserts a run ended as the baseline did: last.safetensors byte for byte, the same metrics. */
async function assertLikeBaseline(runDir: string, logDir: string): Promise<void> {
  const { last, rows } = await baseline();
  const actual = Deno.readFileSync(join(runDir, "last.safetensors"));
  assert(sameBytes(actual, last), "last.safetensors differs from the uninterrupted run's");
  assertEquals(withoutWallClock(metricsRows(logDir)), withoutWallClock(rows));
  assertEquals(metricsRows(logDir).map((r) => r.iteration), [1, 2, 3]);
  assertEquals(eventSteps(logDir), [1, 2, 3]);
}

/** The number of whole rows in the metrics.jsonl of the one log directory under `logs`. */
function rowsLogged(logs: string): number {
  try {
    return Deno.readTextFileSync(join(onlyEntry(logs), "metrics.jsonl")).split("\n").length - 1;
  } catch {
    return 0;
  }
}

Deno.test("kill -9 then --resume: last.safetensors byte-identical, metrics and events once each", () =>
  inTempDir("grpo-resume-", async (dir) => {
    const { stage1 } = await baseline();

    // The same run in a subprocess, killed once two iterations are logged.
    const b = join(dir, "b");
    await Deno.mkdir(b);
    const child = grpoProcess(["train", "--checkpoint", stage1, ...FLAGS], b);
    const reached = await until(() => rowsLogged(join(b, "logs")) >= 2, child);
    child.kill("SIGKILL");
    const killed = await child.output();
    assert(reached, new TextDecoder().decode(killed.stderr));
    const runDir = onlyEntry(join(b, "checkpoints")), logDir = onlyEntry(join(b, "logs"));
    // What a kill can leave besides: a temporary file and a half-written row.
    Deno.writeTextFileSync(join(runDir, "last.safetensors.tmp-4242-0badcafe"), "partial");
    Deno.writeTextFileSync(join(logDir, "metrics.jsonl"), '{"iteration": 3, "poli', {
      append: true,
    });

    const resumed = await quietly(() =>
      main(["train", "--resume", newestIteration(runDir), "--log-dir", join(b, "logs")])
    );
    assertEquals(resumed.result, 0, resumed.err);
    await assertLikeBaseline(runDir, logDir);
    assertEquals(tempFiles(runDir), []);
    assertEquals(tempFiles(logDir), []);
  }));

Deno.test("--resume restores every flag of the run; flags given now win and are reported", () =>
  inTempDir("grpo-resume-", async (dir) => {
    const stage1 = await tinyStage1(dir);
    const logs = join(dir, "logs");
    const original = [
      "--num-envs",
      "2",
      "--rollout-steps",
      "24",
      "--num-epochs",
      "1",
      "--batch-size",
      "16",
      "--gamma",
      "0.97",
      "--advantage",
      "gae-global",
      "--clip-schedule",
      "linear",
      "--prioritized",
      "--anneal-lr",
      "on",
      "--num-iterations",
      "2",
      "--save-every",
      "2",
      "--eval-every",
      "0",
      "--eval-episodes",
      "3",
      "--device",
      "cpu",
    ];
    const first = await quietly(() =>
      main([
        "train",
        "--checkpoint",
        stage1,
        ...original,
        "--out",
        join(dir, "ck"),
        "--log-dir",
        logs,
      ])
    );
    assertEquals(first.result, 0, first.err);
    const runDir = onlyEntry(join(dir, "ck"));
    const before = JSON.parse(
      (await readSafetensors(join(runDir, "last.safetensors"))).metadata.training_args,
    );
    const resumed = await quietly(() =>
      main([
        "train",
        "--resume",
        join(runDir, "iteration_2.safetensors"),
        "--num-iterations",
        "4",
        "--log-dir",
        logs,
      ])
    );
    assertEquals(resumed.result, 0, resumed.err);
    assert(resumed.out.includes("--num-iterations 4 (checkpoint: 2)"), resumed.out);
    // --save-every 2 came back: iteration 4 is saved, 3 is not.
    const files = [...Deno.readDirSync(runDir)].map((e) => e.name);
    assert(files.includes("iteration_4.safetensors") && !files.includes("iteration_3.safetensors"));
    const after = JSON.parse(
      (await readSafetensors(join(runDir, "last.safetensors"))).metadata.training_args,
    );
    assertEquals(
      { ...after, "num-iterations": 2, config: { ...after.config, numIterations: 2 } },
      before,
    );
    assertEquals(after.config.gamma, 0.97);
    assertEquals(after.config.advantage, "gae-global");
    assertEquals(after.config.prioritized, true);
    assertEquals(metricsRows(onlyEntry(logs)).map((r) => r.iteration), [1, 2, 3, 4]);
  }));

Deno.test("--resume writes beside the resumed file and to --log-dir, never where metadata says", () =>
  inTempDir("grpo-resume-", async (dir) => {
    const stage1 = await tinyStage1(dir);
    const tiny = ["--num-envs", "2", "--rollout-steps", "24", "--num-epochs", "1"];
    const run = await quietly(() =>
      main([
        "train",
        "--checkpoint",
        stage1,
        ...tiny,
        "--num-iterations",
        "1",
        "--device",
        "cpu",
        "--out",
        join(dir, "orig"),
        "--log-dir",
        join(dir, "orig-logs"),
      ])
    );
    assertEquals(run.result, 0, run.err);
    const origRun = onlyEntry(join(dir, "orig"));
    const origLast = Deno.readFileSync(join(origRun, "last.safetensors"));
    // A copy whose metadata points elsewhere, as an old or crafted checkpoint's could.
    const file = decodeSafetensors(origLast, "last");
    const outside = join(dir, "outside");
    Object.assign(file.metadata, {
      run_dir: join(outside, "run"),
      log_dir: join(outside, "logs"),
      stage1_checkpoint: join(outside, "stage1.safetensors"),
    });
    const copyDir = join(dir, "copy", "mine");
    await Deno.mkdir(copyDir, { recursive: true });
    const copy = join(copyDir, "last.safetensors");
    Deno.writeFileSync(copy, encodeSafetensors(file.tensors, file.metadata));
    const resumeCopy = (...extra: string[]) =>
      quietly(() =>
        main([
          "train",
          "--resume",
          copy,
          "--num-iterations",
          "2",
          ...extra,
          "--log-dir",
          join(dir, "copy-logs"),
        ])
      );
    const resumed = await resumeCopy("--advantage", "grpo");
    // grpo mode would have needed stage1_checkpoint: a checkpoint without its own reference
    // policy is refused with the fix, instead of reading a path from metadata.
    assertEquals(resumed.result, 2, resumed.out);
    assert(resumed.err.includes("reference policy"), resumed.err);
    const again = await resumeCopy();
    assertEquals(again.result, 0, again.err);
    assert(exists(join(copyDir, "iteration_2.safetensors")), "written beside the copy");
    assertEquals(metricsRows(join(dir, "copy-logs", "mine")).map((r) => r.iteration), [2]);
    assert(!exists(outside), "nothing written where the metadata pointed");
    assert(sameBytes(Deno.readFileSync(join(origRun, "last.safetensors")), origLast));
    assert(!exists(join(origRun, "iteration_2.safetensors")), "the original run is untouched");
  }));

Deno.test("truncateLog cuts metrics rows and events after an iteration; stale temp files go", () =>
  inTempDir("grpo-log-", async (dir) => {
    const log = await MetricsLog.open(dir, { host: "h" });
    for (let i = 1; i <= 5; i++) await log.write(i, 10 * i, { mean_reward: i });
    await log.close();
    // A killed writer: half a row, and half an event record.
    Deno.writeTextFileSync(join(dir, "metrics.jsonl"), '{"iteration": 6, "me', { append: true });
    const events = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("events"))!.name;
    const bytes = Deno.readFileSync(join(dir, events));
    Deno.writeFileSync(join(dir, events), bytes.subarray(bytes.length - 30), { append: true });
    Deno.writeTextFileSync(join(dir, "metrics.jsonl.tmp-12-abcdef01"), "x");
    Deno.writeTextFileSync(join(dir, "notes.tmp-keep"), "x");

    assertEquals(await truncateLog(dir, 3), { rows: 3, eventFiles: 1 });
    assertEquals(metricsRows(dir).map((r) => r.iteration), [1, 2, 3]);
    assertEquals(eventSteps(dir), [1, 2, 3]);
    assertEquals(readRecords(Deno.readFileSync(join(dir, events))).truncatedTail, false);
    assertEquals(await truncateLog(dir, 3), { rows: 0, eventFiles: 0 });
    assertEquals(await removeStaleTempFiles(dir), [join(dir, "metrics.jsonl.tmp-12-abcdef01")]);
    assert(exists(join(dir, "notes.tmp-keep")));
  }));

/**
 * Runs the baseline's training in a subprocess in `dir`, sends `signal` once
 * iteration 1 is logged (iteration 2, of 20 minibatches, is then under way),
 * and returns the finished process's output, after checking that it stopped
 * within the iteration under way when the signal came: at most one more
 * iteration logged than when it was sent (that one only if it ended between
 * the count and the signal), and last.safetensors the last one logged.
 */
async function signalledRun(dir: string, signal: Deno.Signal): Promise<Deno.CommandOutput> {
  const { stage1 } = await baseline();
  const child = grpoProcess(["train", "--checkpoint", stage1, ...FLAGS], dir);
  const reached = await until(() => rowsLogged(join(dir, "logs")) >= 1, child);
  const before = rowsLogged(join(dir, "logs"));
  child.kill(signal);
  const out = await child.output();
  assert(reached, new TextDecoder().decode(out.stderr));
  const rows = metricsRows(onlyEntry(join(dir, "logs"))).length;
  assert(rows <= before + 1 && rows < 3, `${rows} iterations logged, ${before} when signalled`);
  const last = await readSafetensors(join(onlyEntry(join(dir, "checkpoints")), "last.safetensors"));
  assertEquals(last.metadata.iteration, String(rows));
  return out;
}

Deno.test("Ctrl-C stops before the next minibatch, saves the last completed iteration, and the printed resume continues exactly", () =>
  inTempDir("grpo-sigint-", async (dir) => {
    const out = await signalledRun(dir, "SIGINT");
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 130, stdout + new TextDecoder().decode(out.stderr));
    const runDir = onlyEntry(join(dir, "checkpoints")), logDir = onlyEntry(join(dir, "logs"));
    // The hint is the whole command: run as printed (in the run's directory), it ends as the
    // uninterrupted run.
    const hint = /resume with: grpo (.*)$/m.exec(stdout);
    assert(hint, stdout);
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      const resumed = await quietly(() => main(hint[1].trim().split(/\s+/)));
      assertEquals(resumed.result, 0, resumed.err);
    } finally {
      Deno.chdir(cwd);
    }
    await assertLikeBaseline(runDir, logDir);
  }));

Deno.test("SIGTERM saves like Ctrl-C and exits 143", () =>
  inTempDir("grpo-sigterm-", async (dir) => {
    const out = await signalledRun(dir, "SIGTERM");
    assertEquals(out.code, 143, new TextDecoder().decode(out.stderr));
    assertEquals(out.signal, null);
  }));

/** A tiny stage-2 state, the same for every `seed`-equal call. */
function tinyGrpoState(seed: number): GrpoState {
  const policy = tinyPolicy(seed);
  const value = tinyValue(seed);
  const config: GrpoConfig = {
    ...SPEC_DEFAULTS,
    numEnvs: 2,
    rolloutSteps: 24,
    numEpochs: 3,
    batchSize: 16,
    numIterations: 3,
    seed,
  };
  return newGrpoState(cartpole, config, { policy, value });
}

Deno.test("a stop between two minibatches is undone by the snapshot; its checkpoint resumes exactly", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "grpo-snapshot-" });
  const record = { trainingArgs: {}, bestMeanReward: 0 };
  try {
    const straight = tinyGrpoState(5);
    await trainGrpo(straight);
    await saveTrainingCheckpoint(join(dir, "straight.safetensors"), straight, record);

    // Stopped before the 5th of iteration 2's 9 minibatches: after iteration 1 the next poll is
    // iteration 2's first (before its rollout), then one before each minibatch.
    const stopped = tinyGrpoState(5);
    stopped.collector = createCollector(cartpole, stopped.policy, stopped.value, 2, 5);
    let snapshot = await IterationSnapshot.take(stopped);
    let polls = 0, stopAt = Infinity;
    await trainGrpo(stopped, {
      async onIteration(m) {
        if (m.iteration === 1) stopAt = polls + 6;
        snapshot.dispose();
        snapshot = await IterationSnapshot.take(stopped);
      },
      shouldStop: () => ++polls >= stopAt,
    });
    assertEquals(stopped.iteration, 1);
    await snapshot.restore(stopped);
    snapshot.dispose();
    await saveTrainingCheckpoint(join(dir, "stopped.safetensors"), stopped, record);

    const loaded = await loadCheckpoint(join(dir, "stopped.safetensors"), cartpole);
    const resumed = tinyGrpoState(99);
    Object.assign(resumed, {
      policy: loaded.policy,
      value: loaded.value!,
      config: straight.config,
    });
    Object.assign(resumed, createOptimizers(resumed.config));
    await restoreTrainingState(resumed, loaded, "stopped");
    assertEquals(resumed.iteration, 1);
    await trainGrpo(resumed);
    await saveTrainingCheckpoint(join(dir, "resumed.safetensors"), resumed, record);
    assert(
      sameBytes(
        Deno.readFileSync(join(dir, "resumed.safetensors")),
        Deno.readFileSync(join(dir, "straight.safetensors")),
      ),
      "the resumed checkpoint differs from the uninterrupted run's",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("(remove the baseline run)", async () => {
  if (baselineRun) await Deno.remove((await baselineRun).dir, { recursive: true });
});

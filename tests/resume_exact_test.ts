/**
 * `grpo train --resume` is exact and writes only where the command line
 * says: a run killed with SIGKILL and resumed ends with the uninterrupted
 * run's last.safetensors byte for byte and its metrics (wall-clock fields
 * aside), once each; the resumed run takes every flag of the original run
 * (flags given at resume win and are reported); paths in a checkpoint's
 * metadata are ignored; the log is cut back to the checkpoint's iteration.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import {
  exists,
  grpoProcess,
  metricsRows,
  onlyEntry,
  quietly,
  tinyStage1,
  until,
} from "./cli_helpers.ts";
import { decodeEvent, readRecords } from "./tfrecord_reader.ts";
import { main } from "../src/cli/main.ts";
import { removeStaleTempFiles } from "../src/io/atomic.ts";
import { MetricsLog, truncateLog } from "../src/io/metrics.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensors } from "../src/io/safetensors.ts";

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

Deno.test("kill -9 then --resume: last.safetensors byte-identical, metrics and events once each", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grpo-resume-" });
  try {
    const stage1 = await tinyStage1(dir);
    const straight = await quietly(() =>
      main([
        "train",
        "--checkpoint",
        stage1,
        ...FLAGS,
        "--out",
        join(dir, "a", "ck"),
        "--log-dir",
        join(dir, "a", "logs"),
      ])
    );
    assertEquals(straight.result, 0, straight.err);

    // The same run in a subprocess, killed once two iterations are logged.
    const b = join(dir, "b");
    await Deno.mkdir(b);
    const child = grpoProcess(["train", "--checkpoint", stage1, ...FLAGS], b);
    const logged = () => {
      try {
        const metrics = join(onlyEntry(join(b, "logs")), "metrics.jsonl");
        return Deno.readTextFileSync(metrics).split("\n").length - 1 >= 2;
      } catch {
        return false;
      }
    };
    const reached = await until(logged, child);
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
    const expected = Deno.readFileSync(join(onlyEntry(join(dir, "a", "ck")), "last.safetensors"));
    const actual = Deno.readFileSync(join(runDir, "last.safetensors"));
    assert(
      expected.length === actual.length && expected.every((x, i) => x === actual[i]),
      "last.safetensors differs from the uninterrupted run's",
    );
    const aLog = onlyEntry(join(dir, "a", "logs"));
    assertEquals(withoutWallClock(metricsRows(logDir)), withoutWallClock(metricsRows(aLog)));
    assertEquals(metricsRows(logDir).map((r) => r.iteration), [1, 2, 3]);
    assertEquals(eventSteps(logDir), [1, 2, 3]);
    assertEquals(tempFiles(runDir), []);
    assertEquals(tempFiles(logDir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--resume restores every flag of the run; flags given now win and are reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grpo-resume-" });
  try {
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--resume writes beside the resumed file and to --log-dir, never where metadata says", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grpo-resume-" });
  try {
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
    const resumed = await quietly(() =>
      main([
        "train",
        "--resume",
        copy,
        "--num-iterations",
        "2",
        "--advantage",
        "grpo",
        "--log-dir",
        join(dir, "copy-logs"),
      ])
    );
    // grpo mode would have needed stage1_checkpoint: a checkpoint without its own reference
    // policy is refused with the fix, instead of reading a path from metadata.
    assertEquals(resumed.result, 2, resumed.out);
    assert(resumed.err.includes("reference policy"), resumed.err);
    const again = await quietly(() =>
      main([
        "train",
        "--resume",
        copy,
        "--num-iterations",
        "2",
        "--log-dir",
        join(dir, "copy-logs"),
      ])
    );
    assertEquals(again.result, 0, again.err);
    assert(exists(join(copyDir, "iteration_2.safetensors")), "written beside the copy");
    assertEquals(metricsRows(join(dir, "copy-logs", "mine")).map((r) => r.iteration), [2]);
    assert(!exists(outside), "nothing written where the metadata pointed");
    assertEquals(Deno.readFileSync(join(origRun, "last.safetensors")), origLast);
    assert(!exists(join(origRun, "iteration_2.safetensors")), "the original run is untouched");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("truncateLog cuts metrics rows and events after an iteration; stale temp files go", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grpo-log-" });
  try {
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

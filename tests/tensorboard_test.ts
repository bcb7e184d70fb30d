/**
 * TensorBoard event files and metrics.jsonl: read back by an independent
 * reader (tests/tfrecord_reader.ts) with every CRC verified; CRC-32C
 * known-answer vectors.
 */
import { assert, assertEquals } from "./assert.ts";
import { decodeEvent, readerCrc32c, readRecords } from "./tfrecord_reader.ts";
import {
  crc32c,
  encodeEvent,
  FILE_VERSION,
  maskedCrc32c,
  TensorBoardWriter,
} from "../src/io/tensorboard.ts";
import { MetricsLog, MetricsWriter } from "../src/io/metrics.ts";
import { parseMetrics } from "../src/io/report.ts";
import { join } from "node:path";

const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("CRC-32C known answers (RFC 3720 and the check value)", () => {
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  const vectors: [Uint8Array, number][] = [
    [ascii("123456789"), 0xe3069283],
    [new Uint8Array(32), 0x8a9136aa],
    [new Uint8Array(32).fill(0xff), 0x62a8ab43],
    [ascending, 0x46dd794e],
    [descending, 0x113fdb5c],
    [new Uint8Array(0), 0],
  ];
  for (const [data, expected] of vectors) {
    assertEquals(crc32c(data), expected);
    assertEquals(readerCrc32c(data), expected, "the test reader's own CRC");
  }
  // The mask: rotate right 15, add 0xa282ead8.
  const c = 0xe3069283;
  assertEquals(
    maskedCrc32c(ascii("123456789")),
    ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0,
  );
});

Deno.test("an Event encodes as protobuf: wall_time, step, summary values", () => {
  const e = decodeEvent(encodeEvent({
    wallTime: 1700000000.25,
    step: 2 ** 40 + 3,
    scalars: [["loss", 0.5], ["reward/mean", -3]],
  }));
  assertEquals(e.wallTime, 1700000000.25);
  assertEquals(e.step, 2n ** 40n + 3n);
  assertEquals(e.values, [{ tag: "loss", simpleValue: 0.5 }, {
    tag: "reward/mean",
    simpleValue: -3,
  }]);
  assertEquals(decodeEvent(encodeEvent({ wallTime: 0, step: -1 })).step, -1n);
});

Deno.test("event file: named as TensorFlow names it, version first, scalars read back, CRCs valid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const now = () => 1_700_000_123_456;
    const w = await TensorBoardWriter.create(dir, { now, host: "testhost" });
    assertEquals(w.path, join(dir, "events.out.tfevents.1700000123.testhost"));
    const rows = [
      { mean_reward: 21.5, policy_loss: -0.01, label: "skipped" },
      { mean_reward: 180, policy_loss: 0.02, entropy: NaN },
    ];
    // Flushed as written: the file holds each record before close.
    w.addScalars(1, rows[0]);
    assertEquals(readRecords(await Deno.readFile(w.path)).records.length, 2);
    w.addScalars(2, rows[1]);
    w.close();
    const bytes = await Deno.readFile(w.path);
    const { records, truncatedTail } = readRecords(bytes);
    assert(!truncatedTail);
    const events = records.map(decodeEvent);
    assertEquals(events.length, 3);
    assertEquals(events[0].fileVersion, FILE_VERSION);
    assertEquals(events[0].wallTime, 1700000123.456);
    assertEquals(events[1].step, 1n);
    assertEquals(events[1].values, [
      { tag: "mean_reward", simpleValue: 21.5 },
      { tag: "policy_loss", simpleValue: Math.fround(-0.01) },
    ]);
    assertEquals(events[2].values.map((v) => v.tag), ["mean_reward", "policy_loss", "entropy"]);
    assert(Number.isNaN(events[2].values[2].simpleValue));
    // A crash mid-write leaves whole records before it: cut the file inside the last record.
    const cut = readRecords(bytes.subarray(0, bytes.length - 5));
    assert(cut.truncatedTail);
    assertEquals(cut.records.length, 2);
    // A corrupted byte is caught by the CRC.
    const bad = bytes.slice();
    bad[bad.length - 10] ^= 1;
    let caught = false;
    try {
      readRecords(bad);
    } catch {
      caught = true;
    }
    assert(caught, "corruption detected");
    // A second writer in the same second gets its own file.
    const w2 = await TensorBoardWriter.create(dir, { now, host: "testhost" });
    assertEquals(w2.path, join(dir, "events.out.tfevents.1700000123.testhost.1"));
    w2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MetricsLog writes the same rows to metrics.jsonl and the event file", async () => {
  const root = await Deno.makeTempDir();
  const dir = join(root, "logs", "grpo_cartpole_x");
  try {
    let t = 1_700_000_000_000;
    const logger = await MetricsLog.open(dir, { now: () => (t += 1000), host: "h" });
    await logger.write(1, 1024, { iteration: 1, mean_reward: 10, value_loss: Infinity });
    await logger.write(2, 2048, { iteration: 2, mean_reward: 20, value_loss: 3 });
    await logger.close();
    const text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
    const lines = text.trim().split("\n").map((l) => JSON.parse(l));
    const { wall_time: wallTime, ...first } = lines[0];
    assertEquals(first, { step: 1024, iteration: 1, mean_reward: 10, value_loss: null });
    assertEquals(lines[1].mean_reward, 20);
    // grpo report reads it.
    const m = parseMetrics(text, "metrics.jsonl");
    assertEquals(m.series.get("mean_reward")?.y, [10, 20]);
    const events = readRecords(await Deno.readFile(logger.tensorboard.path)).records.map(
      decodeEvent,
    );
    assertEquals(events[1].wallTime, wallTime, "one wall time for both files");
    assertEquals(
      events.slice(1).map((e) => e.step),
      [1n, 2n],
      "TensorBoard's step is the iteration",
    );
    assertEquals(events[1].values.map((v) => v.tag), ["mean_reward", "value_loss"]);
    assertEquals(events[1].values[1].simpleValue, Infinity);
    assertEquals(
      events.slice(1).map((e) => e.values.find((v) => v.tag === "mean_reward")?.simpleValue),
      [10, 20],
    );
    // Appending after a restart keeps the old rows.
    const again = await MetricsWriter.open(join(dir, "metrics.jsonl"));
    again.append({ step: 3 });
    again.close();
    assertEquals(
      (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n").length,
      3,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * The training log of a run directory: every row goes to `metrics.jsonl`
 * (one JSON object per line, read by `grpo report`) and, as scalars, to a
 * TensorBoard event file beside it (`src/io/tensorboard.ts`), so
 * `tensorboard --logdir DIR` and `grpo report DIR` show the same numbers.
 *
 * Each row is written with one unbuffered append as soon as it is logged,
 * so a crash leaves whole lines (a reader skips a truncated last one, as
 * `src/io/report.ts` does). NaN and infinities have no JSON form: they are
 * written as `null` (TensorBoard gets them as they are).
 *
 * A run resumed from a checkpoint at iteration k first cuts its log back to
 * k ({@linkcode truncateLog}): the rows and events a killed run wrote after
 * its last checkpoint are written again by the resumed run, once.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { writeTextAtomic } from "./atomic.ts";
import { type TensorBoardOptions, TensorBoardWriter, truncateEventFiles } from "./tensorboard.ts";

const encoder = new TextEncoder();

/** Writes all of `bytes` to `file` now. */
function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}

/** JSON with NaN and infinities as `null`. */
function jsonLine(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v) +
    "\n";
}

/** Appends rows to a JSON-lines file. */
export class MetricsWriter {
  private closed = false;

  private constructor(readonly path: string, private readonly file: Deno.FsFile) {}

  /** Opens `path` for appending (created with its directory if missing). */
  static async open(path: string): Promise<MetricsWriter> {
    await Deno.mkdir(dirname(path), { recursive: true });
    return new MetricsWriter(path, await Deno.open(path, { append: true, create: true }));
  }

  /** Appends `row` as one line. */
  append(row: Record<string, unknown>): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
    writeAll(this.file, encoder.encode(jsonLine(row)));
  }

  /** Closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}

/**
 * Appends metric rows to `<dir>/metrics.jsonl` (created, or appended to on a
 * resume) and to a new TensorBoard event file in `dir`.
 */
export class MetricsLog {
  private constructor(
    readonly dir: string,
    private readonly jsonl: MetricsWriter,
    /** The run's event file. */
    readonly tensorboard: TensorBoardWriter,
    private readonly now: () => number,
  ) {}

  /** Opens the log of `dir`. */
  static async open(dir: string, options: TensorBoardOptions = {}): Promise<MetricsLog> {
    const jsonl = await MetricsWriter.open(join(dir, "metrics.jsonl"));
    const tensorboard = await TensorBoardWriter.create(dir, options);
    return new MetricsLog(dir, jsonl, tensorboard, options.now ?? Date.now);
  }

  /**
   * Writes one row: the metrics, then `iteration`, `step` (env steps) and
   * `wall_time` (seconds) to metrics.jsonl; every numeric metric (but an
   * `iteration` field) as a scalar at TensorBoard step `iteration`, with the same wall time (the x axis of
   * `grpo report` too).
   */
  write(iteration: number, step: number, metrics: Record<string, unknown>): Promise<void> {
    const wallTime = this.now() / 1000;
    this.jsonl.append({ ...metrics, iteration, step, wall_time: wallTime });
    const { iteration: _, ...scalars } = metrics;
    this.tensorboard.addScalars(iteration, scalars, wallTime);
    return Promise.resolve();
  }

  /** Closes both files. */
  close(): Promise<void> {
    this.jsonl.close();
    this.tensorboard.close();
    return Promise.resolve();
  }
}

/** What {@linkcode truncateLog} removed. */
export interface LogTruncation {
  /** Lines of metrics.jsonl dropped (rows after the iteration, and a half-written last line). */
  rows: number;
  /** Event files cut. */
  eventFiles: number;
}

/**
 * Cuts the log in `dir` back to `lastIteration`: metrics.jsonl keeps its
 * whole rows with `iteration` up to it, each event file its events up to
 * that step; both rewritten atomically, and only when something goes.
 */
export async function truncateLog(dir: string, lastIteration: number): Promise<LogTruncation> {
  const path = join(dir, "metrics.jsonl");
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let rows = 0;
  if (text !== undefined) {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const kept = lines.filter((line) => {
      try {
        const iteration = (JSON.parse(line) as { iteration?: unknown })?.iteration;
        return typeof iteration === "number" && iteration <= lastIteration;
      } catch {
        return false;
      }
    });
    rows = lines.length - kept.length;
    if (rows > 0) await writeTextAtomic(path, kept.map((line) => line + "\n").join(""));
  }
  const eventFiles = (await truncateEventFiles(dir, lastIteration)).length;
  return { rows, eventFiles };
}

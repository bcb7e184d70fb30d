/**
 * Training metrics as `metrics.jsonl` (one JSON object per line, read by
 * `grpo report`) and, through {@linkcode RunLogger}, the same rows as
 * TensorBoard scalars.
 *
 * A row is written with one unbuffered append, so a crash leaves whole lines
 * (a reader skips a truncated last one, as `src/io/report.ts` does). NaN and
 * infinities have no JSON form: they are written as `null`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { type TensorBoardOptions, TensorBoardWriter } from "./tensorboard.ts";

/** Appends rows to a metrics.jsonl file. */
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
    const line = new TextEncoder().encode(
      JSON.stringify(row, (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v) +
        "\n",
    );
    let written = 0;
    while (written < line.length) written += this.file.writeSync(line.subarray(written));
  }

  /** Closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}

/**
 * A run's log directory: every {@linkcode RunLogger.log} call appends one
 * row to `metrics.jsonl` (`{"step", "wall_time", ...scalars}`) and one event
 * with the same numbers to a TensorBoard event file.
 */
export class RunLogger {
  private constructor(
    readonly dir: string,
    readonly metrics: MetricsWriter,
    readonly tensorboard: TensorBoardWriter,
    private readonly now: () => number,
  ) {}

  /** Creates `dir` with `metrics.jsonl` (appended to if present) and a new event file. */
  static async create(dir: string, options: TensorBoardOptions = {}): Promise<RunLogger> {
    const metrics = await MetricsWriter.open(join(dir, "metrics.jsonl"));
    const tensorboard = await TensorBoardWriter.create(dir, options);
    return new RunLogger(dir, metrics, tensorboard, options.now ?? Date.now);
  }

  /** Logs the numeric entries of `scalars` at `step` to both files. */
  log(step: number, scalars: Record<string, unknown>): void {
    const wallTime = this.now() / 1000;
    this.metrics.append({ step, wall_time: wallTime, ...scalars });
    this.tensorboard.addScalars(step, scalars, wallTime);
  }

  /** Closes both files. */
  close(): void {
    this.metrics.close();
    this.tensorboard.close();
  }
}

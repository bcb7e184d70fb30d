/**
 * The training log of a run: every row goes to `metrics.jsonl` (one JSON
 * object per line, flushed per row so a crash leaves whole lines).
 *
 * @module
 */
import { join } from "node:path";

/** Appends metric rows to `<dir>/metrics.jsonl`. */
export class MetricsLog {
  private constructor(private readonly file: Deno.FsFile, readonly dir: string) {}

  /** Opens (creating or appending to) the log of `dir`. */
  static async open(dir: string): Promise<MetricsLog> {
    await Deno.mkdir(dir, { recursive: true });
    const file = await Deno.open(join(dir, "metrics.jsonl"), { create: true, append: true });
    return new MetricsLog(file, dir);
  }

  /** Writes one row: the iteration, env steps, wall time and every numeric metric. */
  async write(iteration: number, step: number, metrics: Record<string, number>): Promise<void> {
    const row = { ...metrics, iteration, step, wall_time: Date.now() / 1000 };
    await this.file.write(new TextEncoder().encode(JSON.stringify(row) + "\n"));
  }

  /** Closes the file. */
  close(): Promise<void> {
    this.file.close();
    return Promise.resolve();
  }
}

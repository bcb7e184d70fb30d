/**
 * A live progress line for long runs: iteration, env steps per second, mean
 * reward and time left. On a terminal it is redrawn in place (carriage
 * return, then erase to the end of the line); elsewhere (a log file, CI) it
 * prints plain lines, at most one per `minIntervalMs`, plus always the first
 * and the last, so logs stay short but show the whole run.
 *
 * @module
 */

/** What one update reports. */
export interface ProgressUpdate {
  /** Iterations done (1 after the first). */
  iteration: number;
  /** Env steps done in total. */
  envSteps: number;
  /** Mean episode return of the iteration (NaN or undefined: none finished). */
  meanReward?: number;
  /** Appended to the line as is, e.g. `"loss 0.12"`. */
  extra?: string;
}

/** Options of {@linkcode ProgressLine}. */
export interface ProgressOptions {
  /** Iterations of the whole run. */
  total: number;
  /** Iteration and env steps already done when this line starts (a resumed run). */
  startIteration?: number;
  startEnvSteps?: number;
  /** Where text goes (default: stderr). */
  write?: (text: string) => void;
  /** Redraw in place (default: whether stderr is a terminal). */
  isTty?: boolean;
  /** Least time between two plain lines when not on a terminal (default 10 s). */
  minIntervalMs?: number;
  /** Least time between two redraws on a terminal (default 100 ms). */
  minRedrawMs?: number;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Formats a rate: `950`, `12.3k`, `4.56M`. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "?";
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

const encoder = new TextEncoder();

/** The progress line of a run; call {@linkcode ProgressLine.update} after each iteration. */
export class ProgressLine {
  private readonly total: number;
  private readonly startIteration: number;
  private readonly startEnvSteps: number;
  private readonly write: (text: string) => void;
  private readonly isTty: boolean;
  private readonly minIntervalMs: number;
  private readonly minRedrawMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private lastShown = -Infinity;
  /** The latest line not shown yet (rate-limited away). */
  private pending: string | undefined;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.startIteration = options.startIteration ?? 0;
    this.startEnvSteps = options.startEnvSteps ?? 0;
    this.write = options.write ??
      ((text) => {
        Deno.stderr.writeSync(encoder.encode(text));
      });
    this.isTty = options.isTty ?? Deno.stderr.isTerminal();
    this.minIntervalMs = options.minIntervalMs ?? 10_000;
    this.minRedrawMs = options.minRedrawMs ?? 100;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** The line for an update at time `now` (ms). */
  format(u: ProgressUpdate, now: number = this.now()): string {
    const seconds = (now - this.started) / 1000;
    const done = u.iteration - this.startIteration;
    const rate = seconds > 0 ? (u.envSteps - this.startEnvSteps) / seconds : NaN;
    const eta = done > 0 ? (seconds / done) * (this.total - u.iteration) : NaN;
    const reward = u.meanReward === undefined || Number.isNaN(u.meanReward)
      ? "-"
      : u.meanReward.toFixed(2);
    const parts = [
      `iteration ${u.iteration}/${this.total}`,
      `${formatRate(rate)} steps/s`,
      `mean reward ${reward}`,
      u.iteration >= this.total
        ? `done in ${formatDuration(seconds)}`
        : `ETA ${formatDuration(eta)}`,
    ];
    if (u.extra) parts.push(u.extra);
    return parts.join(" | ");
  }

  /** Shows an update now, or later if rate-limited (the first and the last are always shown). */
  update(u: ProgressUpdate): void {
    const now = this.now();
    const line = this.format(u, now);
    const last = u.iteration >= this.total;
    const interval = this.isTty ? this.minRedrawMs : this.minIntervalMs;
    if (!last && this.lastShown > -Infinity && now - this.lastShown < interval) {
      this.pending = line;
      return;
    }
    this.show(line);
    this.lastShown = now;
  }

  private show(line: string): void {
    this.pending = undefined;
    if (this.isTty) {
      this.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.write(`${line}\n`);
    }
  }

  /** Shows a rate-limited last update, and ends the terminal line. Call once at the end. */
  done(): void {
    if (this.pending !== undefined) this.show(this.pending);
    if (this.isTty && this.drawn) this.write("\n");
    this.drawn = false;
  }
}

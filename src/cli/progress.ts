/**
 * Progress lines for long runs.
 *
 * {@linkcode ProgressLine} shows text: on a terminal it is redrawn in place
 * (carriage return, text, erase to the end of the line); elsewhere (a file,
 * a pipe, CI) it prints plain lines, at most one per `minInterval` ms plus
 * every `final` one, and {@linkcode ProgressLine.done} prints the last
 * update if the rate limit held it back, so a log ends with where the run
 * ended. {@linkcode IterationProgress} formats a training run's line on top
 * of it: iteration, env steps per second, mean reward, ETA.
 *
 * @module
 */

/** Options of {@linkcode ProgressLine}. */
export interface ProgressLineOptions {
  /** Least time between two plain lines off a terminal, in ms (default 10 s). */
  minInterval?: number;
  /** Where text goes (default: stdout). */
  write?: (text: string) => void;
  /** Redraw in place (default: whether stdout is a terminal). */
  isTty?: boolean;
  /** Clock in milliseconds (default `performance.now`). */
  now?: () => number;
}

const encoder = new TextEncoder();

/** A live or plain progress line (on stdout unless told otherwise). */
export class ProgressLine {
  private readonly tty: boolean;
  private readonly minInterval: number;
  private readonly write: (text: string) => void;
  private readonly now: () => number;
  private lastPlain = -Infinity;
  private live = false;
  /** The latest plain line the rate limit held back. */
  private pending: string | undefined;

  /** `options` may be just the minimum interval in ms. */
  constructor(options: number | ProgressLineOptions = {}) {
    const o = typeof options === "number" ? { minInterval: options } : options;
    this.minInterval = o.minInterval ?? 10_000;
    this.write = o.write ?? ((text) => {
      Deno.stdout.writeSync(encoder.encode(text));
    });
    this.tty = o.isTty ?? Deno.stdout.isTerminal();
    this.now = o.now ?? (() => performance.now());
  }

  /** Shows `text`; `final` lines are always kept (one per epoch, say). */
  update(text: string, final = false): void {
    if (this.tty) {
      this.write(`\r${text}\x1b[K${final ? "\n" : ""}`);
      this.live = !final;
      return;
    }
    const now = this.now();
    if (final || now - this.lastPlain >= this.minInterval) {
      this.write(`${text}\n`);
      this.lastPlain = now;
      this.pending = undefined;
    } else {
      this.pending = text;
    }
  }

  /** Prints a held-back last line, or ends a live one, so later output starts on a fresh line. */
  done(): void {
    if (this.pending !== undefined) this.write(`${this.pending}\n`);
    this.pending = undefined;
    if (this.tty && this.live) this.write("\n");
    this.live = false;
  }
}

/** Seconds as `1h02m`, `3m05s` or `12.3s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A rate as `950`, `12.3k` or `4.56M`. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "?";
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** A sortable local timestamp for run directories: `20250101_120000`. */
export function runTimestamp(d = new Date()): string {
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${
    p(d.getMinutes())
  }${p(d.getSeconds())}`;
}

/** What one iteration reports. */
export interface ProgressUpdate {
  /** Iterations done (1 after the first). */
  iteration: number;
  /** Env steps done in total. */
  envSteps: number;
  /** Mean episode return of the iteration (NaN or undefined: no episode finished). */
  meanReward?: number;
  /** Appended to the line as is, e.g. `"policy 0.012"`. */
  extra?: string;
}

/** Options of {@linkcode IterationProgress}. */
export interface IterationProgressOptions extends ProgressLineOptions {
  /** Iterations of the whole run. */
  total: number;
  /** Iteration and env steps already done when the line starts (a resumed run). */
  startIteration?: number;
  startEnvSteps?: number;
}

/**
 * A training run's progress line: `iteration 12/100 | 8.2k steps/s | mean
 * reward 45.30 | ETA 3m12s`. Rates and the ETA count from the line's
 * creation (so a resumed run's are its own); the last iteration's line is
 * always shown and reads `done in ...` instead of the ETA.
 */
export class IterationProgress {
  private readonly line: ProgressLine;
  private readonly total: number;
  private readonly startIteration: number;
  private readonly startEnvSteps: number;
  private readonly now: () => number;
  private readonly started: number;

  constructor(options: IterationProgressOptions) {
    this.line = new ProgressLine(options);
    this.total = options.total;
    this.startIteration = options.startIteration ?? 0;
    this.startEnvSteps = options.startEnvSteps ?? 0;
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

  /** Shows an update (rate-limited off a terminal; the last iteration always shows). */
  update(u: ProgressUpdate): void {
    this.line.update(this.format(u), u.iteration >= this.total);
  }

  /** Shows a held-back last update and ends the line. */
  done(): void {
    this.line.done();
  }
}

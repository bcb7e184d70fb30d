/**
 * Progress lines for long runs.
 *
 * {@linkcode ProgressLine} shows text: on a terminal it is redrawn in place
 * (carriage return, text, erase to the end of the line); elsewhere (a file,
 * a pipe, CI) it prints plain lines, at most one per `minInterval` ms plus
 * every `final` one, and {@linkcode ProgressLine.done} prints the last
 * update if the rate limit held it back, so a log ends with where the run
 * ended.
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
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`;
  // Whole seconds first, so 119.9 s reads 2m00s, not 1m60s.
  const whole = Math.round(seconds);
  const m = Math.floor(whole / 60), s = whole % 60;
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A rate as `950`, `12.3k` or `4.6M` (`grpo bench`'s steps/s). */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "?";
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** A sortable local timestamp for run directories: `20250101_120000`. */
export function runTimestamp(d = new Date()): string {
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${
    p(d.getMinutes())
  }${p(d.getSeconds())}`;
}

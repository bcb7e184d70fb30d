/**
 * A progress line: rewritten in place on a terminal, printed as plain lines
 * (at most one per `minInterval` ms, plus every `final` line) when stdout is a
 * file or a pipe.
 *
 * @module
 */

/** A live or plain progress line on stdout. */
export class ProgressLine {
  private readonly tty = Deno.stdout.isTerminal();
  private readonly encoder = new TextEncoder();
  private lastPlain = -Infinity;
  private width = 0;

  constructor(private readonly minInterval = 10_000) {}

  /** Shows `text`; `final` lines are always kept (one per epoch, say). */
  update(text: string, final = false): void {
    if (this.tty) {
      const pad = " ".repeat(Math.max(0, this.width - text.length));
      Deno.stdout.writeSync(this.encoder.encode(`\r${text}${pad}${final ? "\n" : ""}`));
      this.width = final ? 0 : text.length;
      return;
    }
    const now = performance.now();
    if (final || now - this.lastPlain >= this.minInterval) {
      console.log(text);
      this.lastPlain = now;
    }
  }

  /** Ends a live line so later output starts on a fresh line. */
  done(): void {
    if (this.tty && this.width > 0) Deno.stdout.writeSync(this.encoder.encode("\n"));
    this.width = 0;
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

/** A sortable local timestamp for run directories: `20250101_120000`. */
export function runTimestamp(d = new Date()): string {
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${
    p(d.getMinutes())
  }${p(d.getSeconds())}`;
}

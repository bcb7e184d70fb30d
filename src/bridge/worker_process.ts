/**
 * The Python side of the Gymnasium bridge as a child process: starts
 * `python3 -c <worker.py>`, sends and receives its length-prefixed frames
 * (protocol in `worker.py`) and turns every way it can fail into one line:
 * no Python, an error the worker reports, a crash (with its last stderr
 * lines) or a hang (a reply that does not come within the timeout).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import workerSource from "./worker.py" with { type: "text" };

/** How grpo starts a worker. */
export interface WorkerOptions {
  /** The Python interpreter (default `python3`). */
  python?: string;
  /** Longest wait for one reply, in milliseconds (default 120 000: making some envs is slow). */
  timeoutMs?: number;
}

/** Stderr lines kept for a crash report. */
const STDERR_LINES = 5;

/** One worker process and its framed pipe. */
export class WorkerProcess {
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly timeoutMs: number;
  private readonly python: string;
  /** Received bytes not yet consumed: `pending[offset ..]`. */
  private pending = new Uint8Array(0);
  private offset = 0;
  private stderrTail: string[] = [];
  private readonly stderrDone: Promise<void>;
  private exited = false;
  private readonly killOnUnload = () => this.kill();

  /** Starts the worker; a missing interpreter is an {@linkcode InputError}. */
  constructor(readonly label: string, options: WorkerOptions = {}) {
    this.python = options.python ?? "python3";
    this.timeoutMs = options.timeoutMs ?? 120_000;
    try {
      this.child = new Deno.Command(this.python, {
        args: ["-u", "-c", workerSource],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new InputError(
          `${label}: cannot run ${this.python} (not found); install Python 3 or pass --python PATH`,
        );
      }
      throw new InputError(`${label}: cannot run ${this.python}: ${(e as Error).message}`);
    }
    this.writer = this.child.stdin.getWriter();
    this.reader = this.child.stdout.getReader();
    this.stderrDone = this.collectStderr();
    this.child.status.then(() => this.exited = true);
    globalThis.addEventListener("unload", this.killOnUnload);
  }

  private async collectStderr(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.child.stderr) {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop()!;
      this.stderrTail.push(...lines.filter((l) => l.trim() !== ""));
      this.stderrTail = this.stderrTail.slice(-STDERR_LINES);
    }
    if (partial.trim() !== "") this.stderrTail = [...this.stderrTail, partial].slice(-STDERR_LINES);
  }

  /** Sends one frame: `kind` then the parts' bytes. */
  async send(kind: string, ...parts: ArrayBufferView[]): Promise<void> {
    const size = 1 + parts.reduce((s, p) => s + p.byteLength, 0);
    const frame = new Uint8Array(4 + size);
    new DataView(frame.buffer).setUint32(0, size, true);
    frame[4] = kind.charCodeAt(0);
    let at = 5;
    for (const p of parts) {
      frame.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      at += p.byteLength;
    }
    try {
      await this.writer.write(frame);
    } catch {
      throw await this.crashed();
    }
  }

  /** Receives one frame of kind `kind` (its payload after the kind byte); an `E` frame throws its line. */
  async receive(kind: string): Promise<Uint8Array> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(
          new InputError(
            `${this.label}: the Python worker did not answer within ${
              this.timeoutMs / 1000
            } s (hung env?); it was stopped`,
          ),
        );
      }, this.timeoutMs);
    });
    const read = this.readFrame(kind);
    read.catch(() => {}); // After a timeout, its rejection is no news.
    try {
      return await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readFrame(kind: string): Promise<Uint8Array> {
    const head = await this.readBytes(4);
    const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    const body = await this.readBytes(size);
    const got = String.fromCharCode(body[0]);
    if (got === "E") {
      const line = new TextDecoder().decode(body.subarray(1));
      throw new InputError(`${this.label}: ${line}`);
    }
    if (got !== kind) {
      throw new Error(`${this.label}: protocol error: expected a ${kind} frame, got ${got}`);
    }
    return body.subarray(1);
  }

  /** The next `size` bytes of stdout (a fresh array). */
  private async readBytes(size: number): Promise<Uint8Array> {
    while (this.pending.length - this.offset < size) {
      const { value, done } = await this.reader.read();
      if (done) throw await this.crashed();
      const rest = this.pending.subarray(this.offset);
      const joined = new Uint8Array(rest.length + value.length);
      joined.set(rest);
      joined.set(value, rest.length);
      this.pending = joined;
      this.offset = 0;
    }
    const out = this.pending.slice(this.offset, this.offset + size);
    this.offset += size;
    return out;
  }

  /** The error for a worker that went away: its exit code and last stderr lines. */
  private async crashed(): Promise<InputError> {
    const status = await this.child.status;
    await this.stderrDone;
    const tail = this.stderrTail.join(" | ") || "no stderr output";
    return new InputError(
      `${this.label}: the Python worker exited (code ${status.code}): ${tail}`,
    );
  }

  /** Stops the worker. */
  kill(): void {
    globalThis.removeEventListener("unload", this.killOnUnload);
    if (this.exited) return;
    this.exited = true;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Ends the worker (end of stdin, then a kill if need be) and waits for it and its pipes. */
  async close(): Promise<void> {
    globalThis.removeEventListener("unload", this.killOnUnload);
    await this.writer.close().catch(() => {});
    await this.reader.cancel().catch(() => {});
    const quit = setTimeout(() => this.kill(), 2000);
    await this.child.status;
    clearTimeout(quit);
    await this.stderrDone.catch(() => {});
  }
}

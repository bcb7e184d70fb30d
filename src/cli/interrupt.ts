/**
 * Ctrl-C and SIGTERM for long runs. The first signal asks the run to stop at
 * its next safe point (between two update minibatches); the run then saves
 * what it has and exits with 130 (SIGINT) or 143 (SIGTERM). The listeners
 * are removed when that first signal arrives, so a second signal gets the
 * system's default action and quits at once, whatever the run is doing.
 *
 * Deno runs signal listeners only when its event loop turns, which a loop of
 * awaited tfjs reads (resolved as microtasks on the CPU backend) may not do
 * for many iterations: {@linkcode StopSignal.poll} therefore yields one
 * macrotask (`setImmediate`, about 0.01 ms) before it reads the flag.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** The signals that stop a run, with the exit code each one gives. */
const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** The signal names {@linkcode StopSignal} listens to. */
export type StopSignalName = keyof typeof SIGNALS;

/** A stop request by Ctrl-C or SIGTERM, polled by a training loop. */
export class StopSignal {
  private received: StopSignalName | undefined;
  private readonly listeners: [StopSignalName, () => void][] = [];

  private constructor() {}

  /**
   * Listens for SIGINT and SIGTERM; `onFirst` says what happens next (it
   * runs once, inside the listener).
   */
  static listen(onFirst: (signal: StopSignalName) => void): StopSignal {
    const stop = new StopSignal();
    for (const name of Object.keys(SIGNALS) as StopSignalName[]) {
      const listener = () => {
        if (stop.received) return;
        stop.received = name;
        // From now on a signal takes its default action: a second Ctrl-C quits at once.
        stop.close();
        onFirst(name);
      };
      try {
        Deno.addSignalListener(name, listener);
        stop.listeners.push([name, listener]);
      } catch {
        // Windows has no SIGTERM listener; Ctrl-C still works there.
      }
    }
    return stop;
  }

  /** The signal that asked to stop, if one did. */
  get signal(): StopSignalName | undefined {
    return this.received;
  }

  /** The exit code of a run stopped by this signal (0 when none came). */
  get exitCode(): number {
    return this.received ? SIGNALS[this.received] : 0;
  }

  /** Lets pending signal listeners run, then says whether a stop was asked for. */
  async poll(): Promise<boolean> {
    if (!this.received) await new Promise((resolve) => setImmediate(resolve));
    return this.received !== undefined;
  }

  /** Stops listening (signals take their default action again). */
  close(): void {
    for (const [name, listener] of this.listeners.splice(0)) {
      Deno.removeSignalListener(name, listener);
    }
  }
}

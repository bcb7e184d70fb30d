/**
 * The JSON-lines protocol of `grpo act`: a trained policy served on
 * stdin/stdout so any program can drive it.
 *
 * Each input line is `{"obs":[...]}`; the first step of an episode adds
 * `"reset": true`, later steps may add `"reward": r` (the reward of the
 * previous action) so the return-to-go is updated. An optional `"episode"`
 * key (any JSON scalar) lets one server drive several episodes at once, each
 * with its own context. Each line is answered by `{"action": a}` (an integer
 * for discrete envs, an array for continuous ones), echoing `"episode"` when
 * given.
 *
 * At most `maxEpisodes` episodes are open: a new one beyond that closes the
 * least recently used (a later step of a closed episode starts a fresh
 * context). `{"episode": k, "close": true}` closes one at once and is
 * answered by `{"closed": true|false, "episode": k}` (false: it was not
 * open).
 *
 * A line the server cannot use (not JSON, a missing or non-finite field,
 * a value float32 cannot hold such as 1e39) is answered by `{"error":
 * "..."}` naming the field, the episode's context is left as it was, and
 * the server keeps serving.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** A policy that keeps per-episode context (a Decision Transformer's history). */
export interface EpisodicPolicy<Ctx> {
  /** Observation length. */
  obsSize: number;
  /** Starts an episode's context. */
  begin(): Ctx;
  /** Frees a context that a new episode replaced or that was closed. */
  end?(ctx: Ctx): void;
  /**
   * Chooses the action for `obs`; `reward` is the reward of the previous
   * action, if known. An {@linkcode InputError} rejects the line and must
   * leave `ctx` as it was.
   */
  act(ctx: Ctx, obs: Float32Array, reward: number | undefined): Promise<number | number[]>;
}

type EpisodeKey = string | number | boolean | null;

/** Default bound on open episodes (`grpo act --max-episodes`). */
export const DEFAULT_MAX_EPISODES = 1024;

/** Whether `x` is a number that float32 holds as a finite value. */
function float32Finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(Math.fround(x));
}

/** The per-line handler: returns the JSON line to write. */
export class ActServer<Ctx> {
  /** Open episodes, least recently used first. */
  private readonly episodes = new Map<string, Ctx>();

  constructor(
    private readonly policy: EpisodicPolicy<Ctx>,
    private readonly maxEpisodes = DEFAULT_MAX_EPISODES,
  ) {
    if (!(Number.isInteger(maxEpisodes) && maxEpisodes >= 1)) {
      throw new Error(`maxEpisodes must be a positive integer, got ${maxEpisodes}`);
    }
  }

  /** Number of open episodes (each holds a context, e.g. a KV cache). */
  get openEpisodes(): number {
    return this.episodes.size;
  }

  /** Handles one input line and returns the output line (without newline). */
  async handle(line: string): Promise<string> {
    let msg: {
      obs?: unknown;
      reset?: unknown;
      reward?: unknown;
      episode?: unknown;
      close?: unknown;
    };
    try {
      msg = JSON.parse(line);
    } catch {
      return error('line is not JSON; send {"obs":[...]} (add "reset":true on the first step)');
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return error('line must be a JSON object such as {"obs":[...]}');
    }
    const episode = msg.episode as EpisodeKey | undefined;
    if (episode !== undefined && episode !== null && typeof episode === "object") {
      return error('"episode" must be a string, number, boolean or null');
    }
    const key = JSON.stringify(episode ?? null);
    if (msg.close !== undefined) {
      if (msg.close !== true) return error('"close" must be true');
      const ctx = this.episodes.get(key);
      if (ctx !== undefined) {
        this.episodes.delete(key);
        this.policy.end?.(ctx);
      }
      return JSON.stringify({ closed: ctx !== undefined, episode: episode ?? null });
    }
    const { obsSize } = this.policy;
    const obs = msg.obs;
    if (!Array.isArray(obs) || obs.length !== obsSize) {
      return error(`"obs" must be ${obsSize} finite numbers`);
    }
    const bad = obs.findIndex((v) => !float32Finite(v));
    if (bad >= 0) {
      return error(
        `"obs"[${bad}] is ${
          JSON.stringify(obs[bad])
        }; each of the ${obsSize} values must be a finite number float32 can hold (|x| < 3.4e38)`,
      );
    }
    if (msg.reward !== undefined && !float32Finite(msg.reward)) {
      return error('"reward" must be a finite number float32 can hold (|x| < 3.4e38)');
    }
    if (msg.reset !== undefined && typeof msg.reset !== "boolean") {
      return error('"reset" must be true or false');
    }
    let ctx = this.episodes.get(key);
    if (msg.reset === true || ctx === undefined) {
      if (ctx !== undefined) this.policy.end?.(ctx);
      this.episodes.delete(key);
      this.evictBeyond(this.maxEpisodes - 1);
      ctx = this.policy.begin();
    } else {
      this.episodes.delete(key); // re-inserted below: most recently used
    }
    this.episodes.set(key, ctx);
    let action;
    try {
      action = await this.policy.act(
        ctx,
        Float32Array.from(obs as number[]),
        msg.reset === true ? undefined : (msg.reward as number | undefined),
      );
    } catch (e) {
      if (e instanceof InputError) return error(e.message);
      // A bug, not the client's fault: report it, drop this episode (its context may be
      // half-updated) and keep serving the others.
      console.error(e);
      this.episodes.delete(key);
      this.policy.end?.(ctx);
      return error(`internal error, episode closed: ${(e as Error).message.split("\n")[0]}`);
    }
    return JSON.stringify(episode === undefined ? { action } : { action, episode });
  }

  /** Closes the least recently used episodes until at most `n` are open. */
  private evictBeyond(n: number): void {
    for (const [key, ctx] of this.episodes) {
      if (this.episodes.size <= n) break;
      this.episodes.delete(key);
      this.policy.end?.(ctx);
    }
  }

  /** Closes every open episode. */
  closeAll(): void {
    this.evictBeyond(0);
  }

  /**
   * Serves lines from `input` to `output` until the input ends, or until
   * the reader of `output` goes away (a broken pipe ends serving quietly).
   */
  async serve(
    input: ReadableStream<Uint8Array>,
    output: WritableStream<Uint8Array>,
  ): Promise<void> {
    const writer = output.getWriter();
    const encoder = new TextEncoder();
    let buffered = "";
    const decoder = new TextDecoder();
    const flushLines = async (final: boolean) => {
      const lines = buffered.split("\n");
      buffered = final ? "" : lines.pop()!;
      for (const line of lines) {
        if (line.trim() === "") continue;
        await writer.write(encoder.encode((await this.handle(line)) + "\n"));
      }
    };
    try {
      for await (const chunk of input) {
        buffered += decoder.decode(chunk, { stream: true });
        await flushLines(false);
      }
      buffered += decoder.decode();
      await flushLines(true);
      writer.releaseLock();
    } catch (e) {
      if (!isBrokenPipe(e)) throw e;
    } finally {
      this.closeAll();
    }
  }
}

/** Whether `e` says the reader of our output went away (EPIPE). */
export function isBrokenPipe(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe ||
    (e instanceof Error && /broken pipe|EPIPE/i.test(e.message));
}

function error(message: string): string {
  return JSON.stringify({ error: message });
}

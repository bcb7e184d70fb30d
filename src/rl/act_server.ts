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
 * given. A malformed line is answered by `{"error": "..."}` and the server
 * keeps serving.
 *
 * @module
 */

/** A policy that keeps per-episode context (a Decision Transformer's history). */
export interface EpisodicPolicy<Ctx> {
  /** Observation length. */
  obsSize: number;
  /** Starts an episode's context. */
  begin(): Ctx;
  /** Frees a context that a new episode replaced. */
  end?(ctx: Ctx): void;
  /** Chooses the action for `obs`; `reward` is the reward of the previous action, if known. */
  act(ctx: Ctx, obs: Float32Array, reward: number | undefined): Promise<number | number[]>;
}

type EpisodeKey = string | number | boolean | null;

/** The per-line handler: returns the JSON line to write. */
export class ActServer<Ctx> {
  private readonly episodes = new Map<string, Ctx>();

  constructor(private readonly policy: EpisodicPolicy<Ctx>) {}

  /** Handles one input line and returns the output line (without newline). */
  async handle(line: string): Promise<string> {
    let msg: { obs?: unknown; reset?: unknown; reward?: unknown; episode?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      return error('line is not JSON; send {"obs":[...]} (add "reset":true on the first step)');
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return error('line must be a JSON object such as {"obs":[...]}');
    }
    const { obsSize } = this.policy;
    const obs = msg.obs;
    if (
      !Array.isArray(obs) || obs.length !== obsSize ||
      !obs.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      return error(`"obs" must be ${obsSize} finite numbers`);
    }
    if (
      msg.reward !== undefined && (typeof msg.reward !== "number" || !Number.isFinite(msg.reward))
    ) {
      return error('"reward" must be a finite number');
    }
    if (msg.reset !== undefined && typeof msg.reset !== "boolean") {
      return error('"reset" must be true or false');
    }
    const episode = msg.episode as EpisodeKey | undefined;
    if (episode !== undefined && episode !== null && typeof episode === "object") {
      return error('"episode" must be a string, number, boolean or null');
    }
    const key = JSON.stringify(episode ?? null);
    let ctx = this.episodes.get(key);
    if (msg.reset === true || ctx === undefined) {
      if (ctx !== undefined) this.policy.end?.(ctx);
      ctx = this.policy.begin();
      this.episodes.set(key, ctx);
    }
    const action = await this.policy.act(
      ctx,
      Float32Array.from(obs as number[]),
      msg.reset === true ? undefined : (msg.reward as number | undefined),
    );
    return JSON.stringify(episode === undefined ? { action } : { action, episode });
  }

  /** Serves lines from `input` to `output` until the input ends. */
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
    for await (const chunk of input) {
      buffered += decoder.decode(chunk, { stream: true });
      await flushLines(false);
    }
    buffered += decoder.decode();
    await flushLines(true);
    writer.releaseLock();
  }
}

function error(message: string): string {
  return JSON.stringify({ error: message });
}

/**
 * Python Gymnasium environments as grpo envs (`--env gym:CartPole-v1`,
 * `--env gym:my_pkg.envs:MyEnv-v0`): a Python worker process
 * (`worker.py`) holds N envs and steps them all per message.
 *
 * The seam with the rest of grpo is {@linkcode ExternalEnv}: the env object
 * carries the spaces and limits read from the worker like any env, and
 * `createVecEnv` makes a {@linkcode GymVecEnv}, a `HostVecEnv` like
 * `CpuVecEnv` (same arrays, same done bits, same same-step auto-reset) with
 * asynchronous `reset`/`step`. Its pure functions throw: nothing steps a
 * Python env but its worker. A Python env's state is opaque, so `state`
 * holds the observation.
 *
 * Every reset passes a seed to `reset(seed=...)`: a hash of (run seed, reset
 * stream, episode), as our envs key their reset draws, so runs repeat and the
 * envs of one GRPO group start from one state.
 *
 * @module
 */
import { type ActionSpace, hashPrefix } from "../../envs/env.ts";
import { InputError } from "../errors.ts";
import {
  type ExternalEnv,
  finishEpisode,
  HostVecEnv,
  randomAction,
  TERMINATED,
  TRUNCATED,
  type VecEnvOptions,
} from "../rl/vec_env.ts";
import { type WorkerOptions, WorkerProcess } from "./worker_process.ts";

/** The prefix of `--env` values that name a Gymnasium env. */
export const GYM_PREFIX = "gym:";

/** What a `gym:` name and `--gym-kwargs` say. */
export interface GymSpec {
  /** The Gymnasium id, e.g. `CartPole-v1`. */
  id: string;
  /** A module to import first (its `gym.register` calls), from `gym:module:Id`. */
  module?: string;
  /** Keyword arguments of `gymnasium.make`. */
  kwargs: Record<string, unknown>;
}

/** Whether an `--env` value names a Gymnasium env. */
export function isGymName(name: string): boolean {
  return name.startsWith(GYM_PREFIX);
}

/** Parses `gym:Id` or `gym:module:Id` and the `--gym-kwargs` JSON (an object). */
export function parseGymSpec(name: string, kwargsJson?: string): GymSpec {
  const rest = name.slice(GYM_PREFIX.length);
  const colon = rest.lastIndexOf(":");
  const module = colon < 0 ? undefined : rest.slice(0, colon);
  const id = rest.slice(colon + 1);
  if (id === "" || module === "") {
    throw new InputError(`bad env "${name}"; write gym:ID or gym:module:ID, e.g. gym:CartPole-v1`);
  }
  let kwargs: unknown = {};
  if (kwargsJson !== undefined) {
    try {
      kwargs = JSON.parse(kwargsJson);
    } catch {
      kwargs = undefined;
    }
    if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
      throw new InputError(
        `--gym-kwargs must be a JSON object such as '{"continuous": true}', got ${kwargsJson}`,
      );
    }
  }
  return { id, module, kwargs: kwargs as Record<string, unknown> };
}

/**
 * The env id grpo records (checkpoints, datasets): the `gym:` name, then the
 * make kwargs as JSON with sorted keys when there are any.
 */
export function gymEnvId(spec: GymSpec): string {
  const name = `${GYM_PREFIX}${spec.module ? `${spec.module}:` : ""}${spec.id}`;
  const keys = Object.keys(spec.kwargs).sort();
  if (keys.length === 0) return name;
  return name + JSON.stringify(spec.kwargs, keys);
}

/** The `--env` and `--gym-kwargs` flags that name the env a recorded {@linkcode gymEnvId} means. */
export function gymFlagsOf(envId: string): string {
  const brace = envId.indexOf("{");
  if (brace < 0) return `--env ${envId}`;
  return `--env ${envId.slice(0, brace)} --gym-kwargs '${envId.slice(brace)}'`;
}

/** What the worker says about its envs. */
interface WorkerDescription {
  obs_size: number;
  action: { kind: "discrete"; n: number; start: number } | {
    kind: "box";
    low: number[];
    high: number[];
  };
  max_episode_steps: number;
  backend: "gymnasium" | "plain";
}

/** A Gymnasium env as a grpo env (see the module doc). */
export interface GymEnv extends ExternalEnv {
  /** The Python side's spec. */
  gym: GymSpec;
  /** How workers are started. */
  worker: WorkerOptions;
}

function notOnHost(id: string): () => never {
  return () => {
    throw new Error(`${id} is a Python env: only its worker steps it (use createVecEnv)`);
  };
}

/** Starts a worker and the handshake that creates its `n` envs; returns the worker and their description. */
function startWorker(
  spec: GymSpec,
  n: number,
  autoreset: boolean,
  options: WorkerOptions,
): { worker: WorkerProcess; described: Promise<WorkerDescription> } {
  const worker = new WorkerProcess(gymEnvId(spec), options);
  const config = { id: spec.id, module: spec.module ?? null, kwargs: spec.kwargs, n, autoreset };
  const described = (async () => {
    await worker.send("I", new TextEncoder().encode(JSON.stringify(config)));
    const reply = await worker.receive("I");
    return JSON.parse(new TextDecoder().decode(reply)) as WorkerDescription;
  })();
  return { worker, described };
}

/**
 * Asks a worker (one env) for the spaces and step limit of a Gymnasium env
 * and returns it as a grpo env; every problem is one {@linkcode InputError}.
 */
export async function resolveGymEnv(spec: GymSpec, options: WorkerOptions = {}): Promise<GymEnv> {
  const { worker, described } = startWorker(spec, 1, true, options);
  let d: WorkerDescription;
  try {
    d = await described;
  } finally {
    await worker.close();
  }
  const id = gymEnvId(spec);
  const actionSpace: ActionSpace = d.action.kind === "discrete"
    ? { kind: "discrete", n: d.action.n }
    : { kind: "box", low: d.action.low, high: d.action.high };
  const env: GymEnv = {
    id,
    // Run directories are named after the alias.
    alias: id.replace(/[^A-Za-z0-9_.-]+/g, "_"),
    description: `Python env ${spec.id} over the Gymnasium bridge (${d.backend})`,
    obsSize: d.obs_size,
    stateSize: d.obs_size,
    gymStateSize: d.obs_size,
    actionSpace,
    maxEpisodeSteps: d.max_episode_steps,
    params: {},
    reset: notOnHost(id),
    step: notOnHost(id),
    terminated: notOnHost(id),
    observe: notOnHost(id),
    gym: spec,
    worker: options,
    createVecEnv: (n, o) => new GymVecEnv(env, n, o),
  };
  return env;
}

/** N Gymnasium envs in one Python worker, a host batch like `CpuVecEnv` (see the module doc). */
export class GymVecEnv extends HostVecEnv {
  declare readonly env: GymEnv;
  private readonly worker: WorkerProcess;
  private readonly ready: Promise<void>;
  /** Per env, the seed of its next reset. */
  private readonly seeds: Uint32Array;
  private readonly actionBytes: number;

  constructor(env: GymEnv, n: number, options: VecEnvOptions = {}) {
    // A Python env's state is its observation.
    super(env, n, options, env.obsSize);
    this.seeds = new Uint32Array(n);
    this.actionBytes = 4 * n *
      (env.actionSpace.kind === "discrete" ? 1 : env.actionSpace.low.length);
    const started = startWorker(env.gym, n, this.autoreset, env.worker);
    this.worker = started.worker;
    this.ready = started.described.then((d) => {
      if (d.obs_size !== env.obsSize) {
        throw new InputError(`${env.id}: the worker's observation size changed`);
      }
    });
    this.ready.catch(() => {}); // Reported by the first reset or step that awaits it.
  }

  private resetSeed(i: number, episode: number): number {
    return hashPrefix(this.seed, this.resetStreams?.[i] ?? i, episode);
  }

  /** Starts a fresh episode in every env (episode numbers are kept). */
  async reset(): Promise<void> {
    await this.ready;
    for (let i = 0; i < this.n; i++) this.seeds[i] = this.resetSeed(i, this.episode[i]);
    await this.worker.send("R", this.seeds);
    const reply = await this.worker.receive("R");
    this.obs.set(new Float32Array(reply.slice().buffer));
    this.state.set(this.obs);
    this.t.fill(0);
    this.done.fill(0);
    this.reward.fill(0);
    this.stats.running.fill(0);
  }

  /** A Python env's state cannot be set from outside. */
  setState(): void {
    throw new InputError(
      `${this.env.id}: a Python env's state cannot be set (replay needs a built-in env)`,
    );
  }

  /** One step of every env with `actions` (N x actionSize floats). */
  async step(actions: Float32Array): Promise<void> {
    const { n, obs, finalObs, reward, done, t, episode } = this;
    const O = this.env.obsSize;
    for (let i = 0; i < n; i++) this.seeds[i] = this.resetSeed(i, episode[i] + 1);
    await this.ready;
    await this.worker.send("S", actions.subarray(0, this.actionBytes / 4), this.seeds);
    const reply = (await this.worker.receive("S")).slice();
    const buffer = reply.buffer;
    let at = 0;
    const f32 = (count: number) => {
      const out = new Float32Array(buffer, at, count);
      at += 4 * count;
      return out;
    };
    obs.set(f32(n * O));
    const final = f32(n * O);
    const rewards = new Float64Array(buffer, at, n);
    at += 8 * n;
    const terminated = reply.subarray(at, at + n), truncated = reply.subarray(at + n, at + 2 * n);
    const { running } = this.stats;
    for (let i = 0; i < n; i++) {
      if (!this.autoreset && done[i] !== 0) {
        reward[i] = 0;
        continue;
      }
      const r = rewards[i];
      reward[i] = r;
      running[i] += r;
      t[i]++;
      const flags = (terminated[i] ? TERMINATED : 0) | (truncated[i] ? TRUNCATED : 0);
      done[i] = flags;
      if (flags !== 0) {
        finalObs.set(final.subarray(i * O, i * O + O), i * O);
        if (this.autoreset) {
          finishEpisode(this.stats, i, t[i]);
          episode[i]++;
          t[i] = 0;
        }
      }
    }
    this.state.set(obs);
  }

  /** `steps` steps with uniformly random actions (the same draws as `CpuVecEnv.stepRandom`). */
  async stepRandom(steps = 1): Promise<void> {
    const A = this.actionBytes / 4 / this.n;
    const actions = new Float32Array(this.n * A);
    for (let j = 0; j < steps; j++) {
      for (let i = 0; i < this.n; i++) {
        randomAction(this.env, this.seed, i, this.episode[i], this.t[i], actions, i * A);
      }
      await this.step(actions);
    }
  }

  /** Ends the worker. */
  override close(): Promise<void> {
    return this.worker.close();
  }
}

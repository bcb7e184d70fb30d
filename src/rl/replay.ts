/**
 * Replays recorded episodes: set each env's internal state exactly (as
 * Gymnasium's `env.unwrapped.state`), apply the given actions until
 * termination or the end of the list, and record every step. This is how our
 * envs are checked against Gymnasium and how users reproduce an episode.
 *
 * @module
 */
import { actionSize, type Env } from "../../envs/env.ts";
import { resolveEnv } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import type { Mode } from "../gpu/device.ts";
import { CpuVecEnv, TERMINATED, TRUNCATED } from "./vec_env.ts";

/** An episode to replay. */
export interface ReplayInput {
  env: string;
  init_state: number[];
  actions: (number | number[])[];
}

/** What one replayed episode produced: one row per step, after the step. */
export interface ReplayOutput {
  obs: number[][];
  reward: number[];
  terminated: boolean[];
  truncated: boolean[];
  state: number[][];
}

/** A validated episode, its env resolved and its actions flattened. */
export interface ReplayJob {
  env: Env;
  initState: number[];
  actions: Float32Array;
  steps: number;
}

/** Parses and checks `{"episodes":[...]}`; errors name the episode, the field and the expected shape. */
export async function parseReplayInput(json: unknown): Promise<ReplayJob[]> {
  const episodes = (json as { episodes?: unknown })?.episodes;
  if (!Array.isArray(episodes)) {
    throw new InputError(
      'replay input must be {"episodes":[{"env":...,"init_state":[...],"actions":[...]}]}',
    );
  }
  const jobs: ReplayJob[] = [];
  for (const [e, raw] of episodes.entries()) {
    const where = `episode ${e}`;
    const ep = raw as Partial<ReplayInput>;
    if (typeof ep?.env !== "string") {
      throw new InputError(`${where}: "env" must be an env name such as "CartPole-v1"`);
    }
    let env: Env;
    try {
      env = await resolveEnv(ep.env);
    } catch (err) {
      throw new InputError(`${where}: ${(err as Error).message}`);
    }
    const S = env.gymStateSize;
    if (
      !Array.isArray(ep.init_state) || ep.init_state.length !== S ||
      !ep.init_state.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      throw new InputError(
        `${where}: "init_state" must be ${S} finite numbers for ${env.id} (Gymnasium's env.unwrapped.state)`,
      );
    }
    if (!Array.isArray(ep.actions)) throw new InputError(`${where}: "actions" must be an array`);
    const A = actionSize(env);
    const actions = new Float32Array(ep.actions.length * A);
    for (const [t, action] of ep.actions.entries()) {
      const values = checkAction(env, action, `${where}: "actions"[${t}]`);
      actions.set(values, t * A);
    }
    jobs.push({ env, initState: ep.init_state, actions, steps: ep.actions.length });
  }
  return jobs;
}

function checkAction(env: Env, action: unknown, where: string): number[] {
  const space = env.actionSpace;
  if (space.kind === "discrete") {
    const a = Array.isArray(action) && action.length === 1 ? action[0] : action;
    if (!Number.isInteger(a) || a < 0 || a >= space.n) {
      throw new InputError(
        `${where} must be an integer in [0, ${space.n - 1}] for ${env.id}, got ${
          JSON.stringify(action)
        }`,
      );
    }
    return [a];
  }
  const values = typeof action === "number" ? [action] : action;
  const n = space.low.length;
  if (
    !Array.isArray(values) || values.length !== n ||
    !values.every((v) => typeof v === "number" && Number.isFinite(v))
  ) {
    throw new InputError(
      `${where} must be ${n} finite number(s) for ${env.id}, got ${JSON.stringify(action)}`,
    );
  }
  return values;
}

/** Replays the jobs in CPU or GPU mode; episodes of one env run as one batch. */
export async function replay(jobs: ReplayJob[], mode: Mode): Promise<ReplayOutput[]> {
  const out: ReplayOutput[] = new Array(jobs.length);
  const byEnv = Map.groupBy(jobs.map((job, index) => ({ job, index })), ({ job }) => job.env);
  for (const [env, group] of byEnv) {
    const results = mode === "cpu"
      ? await replayCpu(env, group.map((g) => g.job))
      : await replayGpu(env, group.map((g) => g.job));
    group.forEach((g, k) => (out[g.index] = results[k]));
  }
  return out;
}

function emptyOutput(): ReplayOutput {
  return { obs: [], reward: [], terminated: [], truncated: [], state: [] };
}

function fullState(env: Env, gymState: number[]): number[] {
  const s = new Array(env.stateSize).fill(0);
  gymState.forEach((v, k) => (s[k] = v));
  return s;
}

/** Records env `i`'s step from the batch arrays; returns whether its episode ended. */
function record(
  env: Env,
  out: ReplayOutput,
  i: number,
  obs: Float32Array,
  state: Float32Array | Float64Array,
  reward: number,
  done: number,
): boolean {
  const O = env.obsSize, S = env.stateSize;
  out.obs.push(Array.from(obs.subarray(i * O, i * O + O)));
  out.state.push(Array.from(state.subarray(i * S, i * S + env.gymStateSize)));
  out.reward.push(reward);
  out.terminated.push((done & TERMINATED) !== 0);
  out.truncated.push((done & TRUNCATED) !== 0);
  return done !== 0;
}

function replayCpu(env: Env, jobs: ReplayJob[]): Promise<ReplayOutput[]> {
  const vec = new CpuVecEnv(env, jobs.length, { autoreset: false });
  jobs.forEach((job, i) => vec.setState(i, fullState(env, job.initState)));
  return stepAll(env, jobs, (actions) => {
    vec.step(actions);
    return vec;
  });
}

async function replayGpu(env: Env, jobs: ReplayJob[]): Promise<ReplayOutput[]> {
  const vec = await GpuVecEnv.create(env, jobs.length, { autoreset: false });
  try {
    await vec.setStates(jobs.flatMap((job) => fullState(env, job.initState)));
    return await stepAll(env, jobs, async (actions) => {
      await vec.stepWith(actions);
      return await vec.read();
    });
  } finally {
    vec.destroy();
  }
}

/** The arrays `stepAll` reads after each step. */
interface StepArrays {
  obs: Float32Array;
  state: Float32Array | Float64Array;
  reward: Float32Array;
  done: ArrayLike<number>;
}

/** Steps every unfinished episode until each ends or runs out of actions. */
async function stepAll(
  env: Env,
  jobs: ReplayJob[],
  step: (actions: Float32Array<ArrayBuffer>) => Promise<StepArrays> | StepArrays,
): Promise<ReplayOutput[]> {
  const A = actionSize(env);
  const outputs = jobs.map(emptyOutput);
  const live = jobs.map((job) => job.steps > 0);
  const actions = new Float32Array(jobs.length * A);
  for (let t = 0; live.some(Boolean); t++) {
    jobs.forEach((job, i) => {
      if (live[i]) actions.set(job.actions.subarray(t * A, t * A + A), i * A);
    });
    const r = await step(actions);
    jobs.forEach((job, i) => {
      if (!live[i]) return;
      const ended = record(env, outputs[i], i, r.obs, r.state, r.reward[i], r.done[i]);
      live[i] = !ended && t + 1 < job.steps;
    });
  }
  return outputs;
}

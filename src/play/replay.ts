/**
 * Replays recorded episodes: set each env's internal state exactly (as
 * Gymnasium's `env.unwrapped.state`), apply the given actions until
 * termination or the end of the list, and record every step. This is how our
 * envs are checked against Gymnasium and how users reproduce an episode.
 *
 * @module
 */
import { actionSize, type Env } from "../../envs/env.ts";
import { findEnv } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { GpuVecEnv } from "../gpu/vec_env.ts";
import type { Mode } from "../device.ts";
import { CpuVecEnv, TERMINATED, TRUNCATED } from "../rl/vec_env.ts";

/**
 * An episode to replay. An env with `resetInputs` (LunarLander) starts from
 * those instead of `init_state` (`"terrain"`: Gymnasium's 12 chunk heights,
 * `"initial_force"`: its 2 draws), and may take `stepInputs` per step
 * (`"dispersion"`: `[[d0, d1], ...]`, each already divided by SCALE).
 */
export interface ReplayInput {
  env: string;
  init_state?: number[];
  actions: (number | number[])[];
  [input: string]: unknown;
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
  /** Gymnasium's `unwrapped.state` (envs without `resetInputs`). */
  initState?: number[];
  /** The env's `resetInputs` by name (envs with them). */
  resetInputs?: Record<string, number[]>;
  /** Per step input name, one row per step (optional). */
  stepInputs?: Record<string, number[][]>;
  actions: Float32Array;
  steps: number;
}

/**
 * Parses and checks `{"episodes":[...]}`; errors name the episode, the field
 * and the expected shape. An episode's `"env"` is a name, looked up among the
 * built-in envs and `userEnvs` (modules the user named with `--env`); a
 * replay file never picks a module to import.
 */
export function parseReplayInput(json: unknown, userEnvs: readonly Env[] = []): ReplayJob[] {
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
    const key = ep.env.toLowerCase();
    let env: Env;
    try {
      env = userEnvs.find((u) => u.id.toLowerCase() === key || u.alias.toLowerCase() === key) ??
        findEnv(ep.env);
    } catch (err) {
      throw new InputError(
        `${where}: ${(err as Error).message}${
          userEnvs.length === 0 ? " (for your own env module, pass --env ./path/to/it.ts)" : ""
        }`,
      );
    }
    const job: ReplayJob = { env, actions: new Float32Array(), steps: 0 };
    if (env.resetInputs) {
      job.resetInputs = {};
      for (const [name, n] of Object.entries(env.resetInputs)) {
        job.resetInputs[name] = finiteNumbers(
          ep[name],
          n,
          `${where}: "${name}" must be ${n} finite numbers for ${env.id} (Gymnasium's draws at reset)`,
        );
      }
    } else {
      const S = env.gymStateSize;
      job.initState = finiteNumbers(
        ep.init_state,
        S,
        `${where}: "init_state" must be ${S} finite numbers for ${env.id} (Gymnasium's env.unwrapped.state)`,
      );
    }
    if (!Array.isArray(ep.actions)) throw new InputError(`${where}: "actions" must be an array`);
    const A = actionSize(env);
    job.actions = new Float32Array(ep.actions.length * A);
    for (const [t, action] of ep.actions.entries()) {
      const values = checkAction(env, action, `${where}: "actions"[${t}]`);
      job.actions.set(values, t * A);
    }
    job.steps = ep.actions.length;
    for (const [name, n] of Object.entries(env.stepInputs ?? {})) {
      if (ep[name] === undefined) continue;
      const rows = ep[name];
      const shape = `one row of ${n} finite numbers per action (${job.steps} rows)`;
      if (!Array.isArray(rows) || rows.length !== job.steps) {
        throw new InputError(`${where}: "${name}" must be ${shape} for ${env.id}`);
      }
      job.stepInputs ??= {};
      job.stepInputs[name] = rows.map((row, t) =>
        finiteNumbers(row, n, `${where}: "${name}"[${t}] must be ${n} finite numbers for ${env.id}`)
      );
    }
    jobs.push(job);
  }
  return jobs;
}

function finiteNumbers(values: unknown, n: number, error: string): number[] {
  if (
    !Array.isArray(values) || values.length !== n ||
    !values.every((v) => typeof v === "number" && Number.isFinite(v))
  ) throw new InputError(error);
  return values;
}

/** Writes step `t`'s inputs of every live job into the states (`S` floats per env). */
function writeStepInputs(
  jobs: ReplayJob[],
  live: boolean[],
  t: number,
  state: Float64Array,
): boolean {
  let any = false;
  jobs.forEach((job, i) => {
    if (!live[i] || !job.stepInputs || !job.env.setStepInputs) return;
    const row = Object.fromEntries(Object.entries(job.stepInputs).map(([k, rows]) => [k, rows[t]]));
    job.env.setStepInputs(state, i * job.env.stateSize, row);
    any = true;
  });
  return any;
}

/** The batch's initial states: Gymnasium states, or zeros holding the reset inputs. */
function initialStates(env: Env, jobs: ReplayJob[]): Float64Array {
  const S = env.stateSize;
  const states = new Float64Array(jobs.length * S);
  jobs.forEach((job, i) => {
    if (job.resetInputs) env.setResetInputs!(states, i * S, job.resetInputs);
    else states.set(job.initState!, i * S);
  });
  return states;
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
  const states = initialStates(env, jobs);
  const S = env.stateSize;
  jobs.forEach((_, i) => vec.setState(i, states.subarray(i * S, (i + 1) * S)));
  if (env.resetInputs) vec.reset();
  return stepAll(env, jobs, (actions, t, live) => {
    writeStepInputs(jobs, live, t, vec.state);
    vec.step(actions);
    return vec;
  });
}

async function replayGpu(env: Env, jobs: ReplayJob[]): Promise<ReplayOutput[]> {
  const vec = await GpuVecEnv.create(env, jobs.length, { autoreset: false });
  try {
    await vec.setStates(initialStates(env, jobs));
    if (env.resetInputs) await vec.reset();
    // The device's states, for writing per-step inputs into.
    let state = Float64Array.from((await vec.read()).state);
    return await stepAll(env, jobs, async (actions, t, live) => {
      if (writeStepInputs(jobs, live, t, state)) vec.writeStates(state);
      await vec.step(actions);
      const r = await vec.read();
      state = Float64Array.from(r.state);
      return r;
    });
  } finally {
    vec.close();
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
  step: (
    actions: Float32Array<ArrayBuffer>,
    t: number,
    live: boolean[],
  ) => Promise<StepArrays> | StepArrays,
): Promise<ReplayOutput[]> {
  const A = actionSize(env);
  const outputs = jobs.map(emptyOutput);
  const live = jobs.map((job) => job.steps > 0);
  const actions = new Float32Array(jobs.length * A);
  for (let t = 0; live.some(Boolean); t++) {
    jobs.forEach((job, i) => {
      if (live[i]) actions.set(job.actions.subarray(t * A, t * A + A), i * A);
    });
    const r = await step(actions, t, live);
    jobs.forEach((job, i) => {
      if (!live[i]) return;
      const ended = record(env, outputs[i], i, r.obs, r.state, r.reward[i], r.done[i]);
      live[i] = !ended && t + 1 < job.steps;
    });
  }
  return outputs;
}

/** An episode that ended (terminated or truncated) before its last action. */
export interface DroppedActions {
  episode: number;
  /** Steps played, the last of which ended the episode. */
  steps: number;
  /** Actions after the end, not applied. */
  dropped: number;
}

/** The episodes whose actions outlasted them: Gymnasium would refuse to step past the end. */
export function droppedActions(jobs: ReplayJob[], outputs: ReplayOutput[]): DroppedActions[] {
  return jobs.flatMap((job, episode) => {
    const steps = outputs[episode].reward.length;
    return steps < job.steps ? [{ episode, steps, dropped: job.steps - steps }] : [];
  });
}

/**
 * Throws unless every number of the outputs is finite: JSON has no
 * Infinity or NaN (`JSON.stringify` would silently write `null`), so an
 * overflowed simulation is refused, naming the episode, the field and the step.
 */
export function checkFiniteOutputs(outputs: ReplayOutput[]): void {
  for (const [episode, out] of outputs.entries()) {
    for (const field of ["obs", "reward", "state"] as const) {
      const rows = out[field];
      for (let t = 0; t < rows.length; t++) {
        const row = rows[t];
        const ok = typeof row === "number"
          ? Number.isFinite(row)
          : row.every((x) => Number.isFinite(x));
        if (!ok) {
          throw new InputError(
            `replay: episode ${episode}'s ${field} at step ${t} is not finite (the simulation overflowed; JSON cannot hold it); start from a smaller init_state or give fewer actions`,
          );
        }
      }
    }
  }
}

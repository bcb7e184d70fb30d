/**
 * The built-in environments by Gymnasium id and alias, and loading a user's
 * own environment module (`--env ./path/my_env.ts`).
 *
 * The trust boundary: a module is imported only for a `--env` value the user
 * typed ({@linkcode resolveEnv}), and only from a local file. A name read
 * from a file (a checkpoint's `env_id`, a replay's `"env"`) is looked up
 * among the built-in envs only ({@linkcode findEnv}, {@linkcode envForCheckpoint}),
 * so no file can make grpo run code or fetch anything.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../src/errors.ts";
import { formatRange, inRange, type Range } from "../src/range.ts";
import { acrobot } from "./acrobot.ts";
import { cartpole } from "./cartpole.ts";
import { lunarLander, lunarLanderContinuous } from "./lunar_lander.ts";
import { mountainCar } from "./mountain_car.ts";
import { pendulum } from "./pendulum.ts";
import { actionSize, type Env, EnvRandom, RESET_STEP } from "./env.ts";

/**
 * Every built-in environment.
 *
 * @example Usage
 * ```ts
 * import { ENVS } from "@grpo/grpo";
 *
 * for (const env of ENVS) console.log(env.alias, env.id, env.maxEpisodeSteps);
 * ```
 */
export const ENVS: readonly Env[] = [
  cartpole,
  acrobot,
  mountainCar,
  pendulum,
  lunarLander,
  lunarLanderContinuous,
];

/** What the user should pass to run something made with their own env module. */
export const USER_ENV_HINT = "pass --env ./path/to/it.ts";

/** Whether `env` is one of the built-in envs (not a user's module). */
export function isBuiltinEnv(env: Env): boolean {
  return ENVS.includes(env);
}

/**
 * A name read from a file, fit for a one-line message: JSON-quoted (control
 * characters escaped) and cut to 80 characters.
 */
export function quoteName(name: string): string {
  const q = JSON.stringify(name);
  return q.length <= 80 ? q : `${q.slice(0, 77)}..."`;
}

/** A URL scheme at the start of `name` (`https:`, `data:`, ...); one letter is a Windows drive. */
function urlScheme(name: string): string | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(name);
  return m ? m[1].toLowerCase() : undefined;
}

function isEnvModulePath(name: string): boolean {
  return /\.(ts|js|mjs|mts)$/.test(name) || name.startsWith("./") || name.startsWith("../") ||
    name.startsWith("/") || urlScheme(name) !== undefined;
}

function builtinEnv(name: string): Env | undefined {
  const key = name.toLowerCase();
  return ENVS.find((e) => e.id.toLowerCase() === key || e.alias === key);
}

/**
 * A built-in env by Gymnasium id or alias (case-insensitive), or an
 * {@linkcode InputError} listing the valid names. Never imports anything, so
 * it is the lookup for names read from files.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { findEnv } from "@grpo/grpo";
 *
 * const env = findEnv("cartpole"); // or "CartPole-v1"
 * assert.equal(env.id, "CartPole-v1");
 * assert.deepEqual(env.actionSpace, { kind: "discrete", n: 2 });
 * ```
 */
export function findEnv(name: string): Env {
  const env = builtinEnv(name);
  if (env) return env;
  const names = ENVS.map((e) => `${e.alias} (${e.id})`).join(", ");
  throw new InputError(
    `unknown env ${
      quoteName(name)
    }; valid names: ${names}, or a path to your own env module such as ./examples/my_env.ts`,
  );
}

/**
 * The environment a `--env` value the user typed names: a built-in one, or
 * the local module at a path that exports one. Only for command-line values:
 * names read from files go through {@linkcode findEnv}.
 */
export async function resolveEnv(name: string): Promise<Env> {
  if (!isEnvModulePath(name)) return findEnv(name);
  return await loadEnvModule(name);
}

/** What a checkpoint says about the env it was trained on. */
export interface RecordedEnv {
  /** Its `env_id`. */
  envId: string;
  /** Whether it was the user's own module (the path is never recorded). */
  userEnv: boolean;
}

/**
 * The env to run a checkpoint in: the one the user named with `--env` (the
 * caller checks that it matches), else the built-in env of the recorded id.
 * A checkpoint of a user's env, or of an id that is not built in, asks for
 * `--env ./path/to/it.ts`: the recorded id is never imported.
 */
export async function envForCheckpoint(
  recorded: RecordedEnv,
  envFlag: string | undefined,
  source: string,
): Promise<Env> {
  if (envFlag !== undefined) return await resolveEnv(envFlag);
  const id = quoteName(recorded.envId);
  if (recorded.userEnv) {
    throw new InputError(
      `${source}: this checkpoint was trained on the user env ${id}; ${USER_ENV_HINT}`,
    );
  }
  const env = builtinEnv(recorded.envId);
  if (env) return env;
  throw new InputError(
    `${source} was trained on env ${id}, which is not built in (grpo envs lists them); if it is your own env module, ${USER_ENV_HINT}`,
  );
}

/** Loads a user's environment module: its default export or its only exported `Env`. */
export async function loadEnvModule(path: string): Promise<Env> {
  const scheme = urlScheme(path);
  if (scheme !== undefined && scheme !== "file") {
    throw new InputError(
      `--env ${
        quoteName(path)
      }: env modules load only from local files, not ${scheme}: URLs; save the module locally and pass --env ./path/to/it.ts`,
    );
  }
  let module: Record<string, unknown>;
  try {
    const url = scheme === "file" ? new URL(path) : pathToFileURL(resolve(path));
    module = await import(url.href);
  } catch (e) {
    throw new InputError(
      `cannot load env module ${path}: ${
        (e as Error).message.split("\n")[0]
      }; check the path and that it is valid TypeScript`,
    );
  }
  const candidates = "default" in module ? [module.default] : Object.values(module).filter(isEnv);
  const env = candidates.find(isEnv);
  if (!env || candidates.length !== 1) {
    throw new InputError(
      `${path} must export one environment (export default { id, alias, obsSize, stateSize, actionSpace, maxEpisodeSteps, params, reset, step, terminated, observe }); see examples/my_env.ts`,
    );
  }
  validateEnv(env, path);
  return env;
}

function isEnv(x: unknown): x is Env {
  const e = x as Env;
  return typeof x === "object" && x !== null && typeof e.id === "string" &&
    typeof e.step === "function" && typeof e.reset === "function";
}

/**
 * Stage 1's episodes an epoch that pick best_model: `grpo pretrain
 * --eval-episodes` and an env preset's `pretrainEvalEpisodes` alike.
 */
export const EVAL_EPISODES: Range = { min: 0, max: 1000 };

/** Checks the declared data of an env so that mistakes surface as one clear line. */
export function validateEnv(env: Env, source: string): void {
  const problems: string[] = [];
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (typeof env.alias !== "string" || env.alias === "") {
    problems.push("alias must be a non-empty string");
  }
  for (const key of ["obsSize", "stateSize", "gymStateSize", "maxEpisodeSteps"] as const) {
    if (!positiveInt(env[key])) problems.push(`${key} must be a positive integer`);
  }
  if (env.gymStateSize > env.stateSize) problems.push("gymStateSize must not exceed stateSize");
  if (env.randomActionHold !== undefined && !positiveInt(env.randomActionHold)) {
    problems.push("randomActionHold must be a positive integer");
  }
  const selection = env.preset?.pretrainEvalEpisodes;
  if (
    selection !== undefined && !(Number.isInteger(selection) && inRange(selection, EVAL_EPISODES))
  ) {
    problems.push(
      `preset.pretrainEvalEpisodes must be an integer in ${formatRange(EVAL_EPISODES)}`,
    );
  }
  if (env.preset?.curriculum && Object.keys(env.difficulty ?? {}).length === 0) {
    problems.push("preset.curriculum needs difficulty parameters");
  }
  const space = env.actionSpace;
  if (space?.kind === "discrete") {
    if (!positiveInt(space.n)) problems.push("actionSpace.n must be a positive integer");
  } else if (space?.kind === "box") {
    if (
      !Array.isArray(space.low) || space.low.length === 0 || space.low.length !== space.high?.length
    ) {
      problems.push("actionSpace.low and .high must be arrays of the same non-zero length");
    }
  } else {
    problems.push('actionSpace must be { kind: "discrete", n } or { kind: "box", low, high }');
  }
  for (const fn of ["reset", "step", "terminated", "observe"] as const) {
    if (typeof env[fn] !== "function") problems.push(`${fn} must be a function`);
  }
  if (typeof env.params !== "object" || env.params === null) {
    problems.push("params must be an object");
  } else {
    const bad = Object.entries(env.params).filter(([, v]) => !Number.isFinite(v));
    if (bad.length > 0) problems.push(`params.${bad[0][0]} must be a finite number`);
    for (const [name, range] of Object.entries(env.difficulty ?? {})) {
      if (!(name in env.params)) problems.push(`difficulty.${name} is not one of params`);
      else if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite)) {
        problems.push(`difficulty.${name} must be [easy, hard] numbers`);
      }
    }
  }
  if (env.discreteActions !== undefined && space?.kind === "box") {
    const n = space.low?.length;
    if (
      !Array.isArray(env.discreteActions) ||
      !env.discreteActions.every((a) => Array.isArray(a) && a.length === n)
    ) {
      problems.push(`discreteActions must be an array of actions of ${n} number(s) each`);
    }
  }
  if (
    env.wgsl !== undefined &&
    !(Array.isArray(env.wgsl) &&
      env.wgsl.every((u) =>
        u instanceof URL || (typeof u?.name === "string" && typeof u?.source === "string")
      ))
  ) {
    problems.push(
      "wgsl must be an array of URLs of .wgsl files or { name, source } parts (or be left out)",
    );
  }
  if (env.renderFps !== undefined && !(Number.isFinite(env.renderFps) && env.renderFps > 0)) {
    problems.push("renderFps must be a positive number");
  }
  if (env.heuristic !== undefined && typeof env.heuristic !== "function") {
    problems.push("heuristic must be a function");
  }
  if (env.preset !== undefined) {
    const bad = typeof env.preset === "object" && env.preset !== null
      ? Object.entries(env.preset).find(([, v]) => !Number.isFinite(v) && typeof v !== "boolean")
      : ["", undefined];
    if (bad) problems.push(`preset${bad[0] ? `.${bad[0]}` : ""} must be numbers and booleans`);
  }
  if (problems.length === 0) {
    const trial = trialStep(env);
    if (trial) problems.push(trial);
  }
  if (problems.length > 0) throw new InputError(`invalid env in ${source}: ${problems.join("; ")}`);
}

/** Resets one env and takes one step, so that a broken env fails here with one line rather than deep inside a batch. */
function trialStep(env: Env): string | undefined {
  const s = new Float64Array(env.stateSize);
  const obs = new Float32Array(env.obsSize);
  const a = new Float32Array(actionSize(env));
  if (env.actionSpace.kind === "box") a.set(env.actionSpace.low);
  const rng = new EnvRandom();
  let phase = "reset";
  try {
    rng.step = RESET_STEP;
    env.reset(s, 0, env.params, rng);
    phase = "observe";
    env.observe(s, 0, obs, 0, env.params);
    if (!obs.every(Number.isFinite)) return "observe after reset wrote a non-finite observation";
    phase = "step";
    rng.step = 0;
    const reward = env.step(s, 0, a, 0, env.params, rng);
    if (typeof reward !== "number" || !Number.isFinite(reward)) {
      return `step must return a finite reward, got ${reward}`;
    }
    phase = "terminated";
    const done = env.terminated(s, 0, env.params);
    if (typeof done !== "boolean") return `terminated must return a boolean, got ${typeof done}`;
    phase = "observe";
    env.observe(s, 0, obs, 0, env.params);
    if (!obs.every(Number.isFinite)) return "observe after step wrote a non-finite observation";
  } catch (e) {
    return `${phase} threw on a trial step: ${String((e as Error)?.message ?? e).split("\n")[0]}`;
  }
  return undefined;
}

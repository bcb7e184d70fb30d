/**
 * The built-in environments by Gymnasium id and alias, and loading a user's
 * own environment module (`--env ./path/my_env.ts`).
 *
 * @module
 */
import { InputError } from "../src/errors.ts";
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

function isEnvModulePath(name: string): boolean {
  return /\.(ts|js|mjs|mts)$/.test(name) || name.startsWith("./") || name.startsWith("/") ||
    name.startsWith("file:");
}

/**
 * A built-in env by Gymnasium id or alias (case-insensitive), or an {@linkcode InputError} listing the valid names.
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
  const key = name.toLowerCase();
  const env = ENVS.find((e) => e.id.toLowerCase() === key || e.alias === key);
  if (env) return env;
  const names = ENVS.map((e) => `${e.alias} (${e.id})`).join(", ");
  throw new InputError(
    `unknown env "${name}"; valid names: ${names}, or a path to your own env module such as ./examples/my_env.ts`,
  );
}

/** The environment a `--env` value names: a built-in one, or the module at a path that exports one. */
export async function resolveEnv(name: string): Promise<Env> {
  if (!isEnvModulePath(name)) return findEnv(name);
  return await loadEnvModule(name);
}

/** Loads a user's environment module: its default export or its only exported `Env`. */
export async function loadEnvModule(path: string): Promise<Env> {
  const url = path.startsWith("file:") ? new URL(path) : new URL(path, `file://${Deno.cwd()}/`);
  let module: Record<string, unknown>;
  try {
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

/**
 * The built-in environments by Gymnasium id and alias, and loading a user's
 * own environment module (`--env ./path/my_env.ts`).
 *
 * @module
 */
import { InputError } from "../src/errors.ts";
import { acrobot } from "./acrobot.ts";
import { cartpole } from "./cartpole.ts";
import { mountainCar } from "./mountain_car.ts";
import { pendulum } from "./pendulum.ts";
import type { Env } from "./env.ts";

/** Every built-in environment. */
export const ENVS: readonly Env[] = [cartpole, acrobot, mountainCar, pendulum];

function isEnvModulePath(name: string): boolean {
  return /\.(ts|js|mjs|mts)$/.test(name) || name.startsWith("./") || name.startsWith("/") ||
    name.startsWith("file:");
}

/** A built-in env by Gymnasium id or alias (case-insensitive), or an {@linkcode InputError} listing the valid names. */
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
  }
  if (problems.length > 0) throw new InputError(`invalid env in ${source}: ${problems.join("; ")}`);
}

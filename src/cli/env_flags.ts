/**
 * `--env` as every command reads it: a built-in env, a TypeScript env module,
 * or a Python Gymnasium env (`gym:ID`, `gym:module:ID`, with `--gym-kwargs`
 * and `--python`), which runs over the bridge in `src/bridge/`.
 *
 * @module
 */
import {
  envForCheckpoint,
  isBuiltinEnv,
  type RecordedEnv,
  resolveEnv,
} from "../../envs/registry.ts";
import type { Env } from "../../envs/env.ts";
import { gymFlagsOf, isGymName, parseGymSpec, resolveGymEnv } from "../bridge/gym_env.ts";
import { InputError } from "../errors.ts";
import type { FlagSpec, FlagValues } from "./args.ts";

/** The flags of a Python env, for every command that takes `--env`. */
export const GYM_FLAGS = {
  "gym-kwargs": {
    type: "string",
    help:
      `with --env gym:ID: gymnasium.make keyword arguments, a JSON object such as '{"continuous": true}'`,
  },
  python: {
    type: "string",
    default: "python3",
    help: "with --env gym:ID: the Python interpreter that has gymnasium installed",
  },
} satisfies Record<string, FlagSpec>;

/**
 * The env that `name` (the `--env` value) names, else the built-in env the
 * `checkpoint` was trained on. Nothing a file says is imported or started: a
 * checkpoint of a user module or a Python env asks for `--env`.
 */
export async function resolveEnvFlag(
  values: FlagValues<typeof GYM_FLAGS>,
  name: string | undefined,
  checkpoint?: { recorded: RecordedEnv; source: string },
): Promise<Env> {
  const checkpointEnvId = checkpoint?.recorded.envId;
  const trainedOnGym = checkpointEnvId !== undefined && isGymName(checkpointEnvId);
  if (name === undefined && trainedOnGym) {
    throw new InputError(
      `this checkpoint was trained on ${checkpointEnvId}; pass ${gymFlagsOf(checkpointEnvId)}`,
    );
  }
  const kwargs = values["gym-kwargs"];
  if (name === undefined || !isGymName(name)) {
    if (kwargs !== undefined) throw new InputError("--gym-kwargs needs --env gym:ID");
    // Only a name from the command line may load a module; a recorded one is looked up.
    if (name !== undefined) return await resolveEnv(name);
    if (checkpoint) {
      return await envForCheckpoint(checkpoint.recorded, undefined, checkpoint.source);
    }
    throw new InputError("--env is required");
  }
  const spec = parseGymSpec(name, kwargs);
  const env = await resolveGymEnv(spec, { python: values.python });
  if (trainedOnGym && checkpointEnvId !== env.id) {
    throw new InputError(
      `this checkpoint was trained on ${checkpointEnvId}, not ${env.id}; pass ${
        gymFlagsOf(checkpointEnvId)
      }`,
    );
  }
  return env;
}

/**
 * The `--env` flags that name `env` again in a printed hint: its alias, a
 * Python env's `--env gym:ID [--gym-kwargs ...]`, or the module path the user
 * gave (`given`).
 */
export function envFlagOf(env: Env, given?: string): string {
  if (isGymName(env.id)) return gymFlagsOf(env.id);
  if (isBuiltinEnv(env)) return `--env ${env.alias}`;
  return `--env ${given ?? "./path/to/your_env.ts"}`;
}

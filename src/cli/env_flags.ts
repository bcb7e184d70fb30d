/**
 * `--env` as every command reads it: a built-in env, a TypeScript env module,
 * or a Python Gymnasium env (`gym:ID`, `gym:module:ID`, with `--gym-kwargs`
 * and `--python`), which runs over the bridge in `src/bridge/`.
 *
 * @module
 */
import { resolveEnv } from "../../envs/registry.ts";
import type { Env } from "../../envs/env.ts";
import { gymFlagsOf, isGymName, parseGymSpec, resolveGymEnv } from "../bridge/gym_env.ts";
import { InputError } from "../errors.ts";
import type { FlagSpec, ParsedArgs } from "./args.ts";

/** The flags of a Python env, for every command that takes `--env`. */
export const GYM_FLAGS: Record<string, FlagSpec> = {
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
};

/**
 * The env that `name` (the `--env` value, else `checkpointEnvId`, the env a
 * checkpoint was trained on) names. A checkpoint's Python env is never
 * started because the file says so: the user must name it with `--env`.
 */
export async function resolveEnvFlag(
  values: ParsedArgs["values"],
  name: string | undefined,
  checkpointEnvId?: string,
): Promise<Env> {
  const trainedOnGym = checkpointEnvId !== undefined && isGymName(checkpointEnvId);
  if (name === undefined && trainedOnGym) {
    throw new InputError(
      `this checkpoint was trained on ${checkpointEnvId}; pass ${gymFlagsOf(checkpointEnvId)}`,
    );
  }
  const chosen = name ?? checkpointEnvId ?? "";
  const kwargs = values["gym-kwargs"] as string | undefined;
  if (!isGymName(chosen)) {
    if (kwargs !== undefined) throw new InputError("--gym-kwargs needs --env gym:ID");
    return await resolveEnv(chosen);
  }
  const spec = parseGymSpec(chosen, kwargs);
  const env = await resolveGymEnv(spec, { python: values.python as string | undefined });
  if (trainedOnGym && checkpointEnvId !== env.id) {
    throw new InputError(
      `this checkpoint was trained on ${checkpointEnvId}, not ${env.id}; pass ${
        gymFlagsOf(checkpointEnvId)
      }`,
    );
  }
  return env;
}

/**
 * `grpo envs`: the environments with their spaces and limits.
 *
 * @module
 */
import { discreteActionCount, type Env } from "../../envs/env.ts";
import { ENVS } from "../../envs/registry.ts";
import { type Command, defineCommand } from "./command.ts";
import { maxOf } from "../range.ts";
import { GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";

function describeActions(env: Env): string {
  const space = env.actionSpace;
  if (space.kind === "discrete") return `Discrete(${space.n})`;
  const box = `Box(${space.low.join(",")} .. ${space.high.join(",")})`;
  const n = discreteActionCount(env);
  return n > 0 ? `${box}, or Discrete(${n})` : box;
}

/** The rows `grpo envs` prints, also as JSON. */
export function envTable(envs: readonly Env[] = ENVS) {
  return envs.map((env) => ({
    alias: env.alias,
    id: env.id,
    obs: env.obsSize,
    actions: describeActions(env),
    maxSteps: env.maxEpisodeSteps,
    gpuKernel: env.wgsl !== undefined,
    curriculum: Object.keys(env.difficulty ?? {}),
    description: env.description,
  }));
}

/** `grpo envs`. */
export const envsCommand: Command = defineCommand({
  name: "envs",
  summary: "list the environments with their spaces and limits",
  usage: "grpo envs [--describe ENV [--gym-kwargs JSON] [--python PATH]] [--json]",
  flags: {
    json: { type: "boolean", help: "print JSON" },
    describe: {
      type: "string",
      help:
        "one env only (any --env value, e.g. gym:CartPole-v1: its spaces as the worker reads them)",
    },
    ...GYM_FLAGS,
  },
  async run({ values }) {
    const one = values.describe;
    const rows = envTable(one === undefined ? ENVS : [await resolveEnvFlag(values, one)]);
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    const header = ["alias", "id", "obs", "actions", "max steps", "gpu", "curriculum"];
    const cells = rows.map((r) => [
      r.alias,
      r.id,
      String(r.obs),
      r.actions,
      String(r.maxSteps),
      r.gpuKernel ? "wgsl" : "cpu",
      r.curriculum.join(",") || "-",
    ]);
    const widths = header.map((h, k) => maxOf([h.length, ...cells.map((c) => c[k].length)]));
    const line = (c: string[]) => c.map((x, k) => x.padEnd(widths[k])).join("  ").trimEnd();
    console.log([line(header), ...cells.map(line)].join("\n"));
    if (one !== undefined) return;
    console.log(
      "\nAlso: --env ./path/my_env.ts loads your own environment (see examples/my_env.ts), " +
        "--env gym:ID a Python Gymnasium env (grpo envs --describe gym:CartPole-v1).",
    );
  },
});

/**
 * Flag parsing shared by every subcommand: `node:util` parseArgs with typed
 * numeric flags, kebab-case canonical and the spec's snake_case accepted.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InputError } from "../errors.ts";
import type { DeviceChoice } from "../gpu/device.ts";

/** A flag: its type, default and one line of help. */
export interface FlagSpec {
  type: "string" | "number" | "integer" | "boolean";
  default?: string | number | boolean;
  help: string;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  short?: string;
}

/** Parsed flag values by kebab-case name, plus positionals. */
export interface ParsedArgs {
  values: Record<string, string | number | boolean | undefined>;
  positionals: string[];
}

/** `--num_episodes` and `--num-episodes` are the same flag. */
export function canonicalFlag(arg: string): string {
  if (!arg.startsWith("--")) return arg;
  const eq = arg.indexOf("=");
  const name = eq < 0 ? arg : arg.slice(0, eq);
  return name.replaceAll("_", "-") + (eq < 0 ? "" : arg.slice(eq));
}

/** Parses `argv` against `flags`; every mistake is an {@linkcode InputError} naming the flag and the fix. */
export function parseFlags(
  command: string,
  argv: string[],
  flags: Record<string, FlagSpec>,
): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) {
    options[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
    if (spec.short) options[name].short = spec.short;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.map(canonicalFlag),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, "");
    throw new InputError(`grpo ${command}: ${msg}; see grpo ${command} --help`);
  }
  const values: ParsedArgs["values"] = {};
  for (const [name, spec] of Object.entries(flags)) {
    const raw = (parsed.values as Record<string, string | boolean | undefined>)[name];
    values[name] = raw === undefined ? spec.default : convert(command, name, spec, raw);
  }
  return { values, positionals: parsed.positionals };
}

function convert(
  command: string,
  name: string,
  spec: FlagSpec,
  raw: string | boolean,
): string | number | boolean {
  if (spec.type === "boolean" || typeof raw === "boolean") return raw;
  if (spec.type === "number" || spec.type === "integer") {
    const x = Number(raw);
    if (
      raw.trim() === "" || !Number.isFinite(x) || (spec.type === "integer" && !Number.isInteger(x))
    ) {
      throw new InputError(
        `grpo ${command}: --${name} must be ${
          spec.type === "integer" ? "an integer" : "a number"
        }, got "${raw}"`,
      );
    }
    return x;
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new InputError(
      `grpo ${command}: --${name} must be one of ${spec.choices.join(", ")}, got "${raw}"`,
    );
  }
  return raw;
}

/** The `--device` flag every command that runs envs or models has. */
export const DEVICE_FLAG: FlagSpec = {
  type: "string",
  default: "auto",
  choices: ["auto", "gpu", "cpu"],
  help:
    "auto: GPU on a real adapter, CPU otherwise; gpu: force WebGPU (also on a software adapter); cpu: never touch WebGPU",
};

/** Reads `--device`. */
export function deviceChoice(values: ParsedArgs["values"]): DeviceChoice {
  return values.device as DeviceChoice;
}

/** Help text of a command from its flags. */
export function helpText(usage: string, summary: string, flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const arg = spec.type === "boolean"
      ? ""
      : ` <${spec.choices ? spec.choices.join("|") : spec.type}>`;
    const def = spec.default === undefined || spec.type === "boolean"
      ? ""
      : ` (default ${spec.default})`;
    return `  --${name}${arg}\n      ${spec.help}${def}`;
  });
  return `${usage}\n\n${summary}\n\nFlags (snake_case also accepted):\n${
    rows.join("\n")
  }\n  --help\n      this text`;
}

/** Requires a flag's value. */
export function required<T>(
  command: string,
  name: string,
  value: T | undefined,
  example: string,
): T {
  if (value === undefined || value === "") {
    throw new InputError(`grpo ${command}: --${name} is required, e.g. ${example}`);
  }
  return value;
}

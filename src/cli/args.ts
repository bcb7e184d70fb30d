/**
 * Flag parsing shared by every subcommand: `node:util` parseArgs with typed
 * numeric flags, kebab-case canonical and docs/spec.md's snake_case accepted.
 * Every numeric flag has a checked range, a flag may be given once (in
 * either spelling), a negative number is a value (`--seed -1` is read as
 * `--seed=-1`, then range-checked), a boolean flag may be given false as
 * `--no-<flag>` (to turn off what an env preset turns on), and a command
 * takes only the positionals it declares.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InputError } from "../errors.ts";
import { formatRange, inRange, type Range } from "../range.ts";
import type { DeviceChoice } from "../device.ts";

/** A flag: its type, default and one line of help. */
export interface FlagSpec {
  type: "string" | "number" | "integer" | "boolean";
  default?: string | number | boolean;
  help: string;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** Old names still accepted for some of the choices, mapped to the choice they now are. */
  aliases?: Readonly<Record<string, string>>;
  /** Allowed values of a numeric flag (every numeric flag has one). */
  range?: Range;
  short?: string;
}

/** Parsed flag values by kebab-case name, plus positionals. */
export interface ParsedArgs {
  values: Record<string, string | number | boolean | undefined>;
  positionals: string[];
}

/** The value type of a flag: a number, a boolean, a string, or one of its `choices`. */
export type FlagValue<S extends FlagSpec> = S["type"] extends "boolean" ? boolean
  : S["type"] extends "string"
    ? (S["choices"] extends readonly (infer C extends string)[] ? C : string)
  : number;

/** The parsed values of `F`'s flags, typed by their specs; a flag without a default may be missing. */
export type FlagValues<F extends Record<string, FlagSpec>> = {
  [K in keyof F]: F[K] extends { default: string | number | boolean } ? FlagValue<F[K]>
    : FlagValue<F[K]> | undefined;
};

/** `--num_episodes` and `--num-episodes` are the same flag. */
export function canonicalFlag(arg: string): string {
  if (!arg.startsWith("--")) return arg;
  const eq = arg.indexOf("=");
  const name = eq < 0 ? arg : arg.slice(0, eq);
  return name.replaceAll("_", "-") + (eq < 0 ? "" : arg.slice(eq));
}

const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * Canonical spellings, with a negative number after a numeric flag joined to
 * it (`--seed -1` -> `--seed=-1`): parseArgs would call it ambiguous.
 */
function normalize(argv: string[], flags: Record<string, FlagSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const name = flagName(arg, flags);
    const spec = name === undefined ? undefined : flags[name];
    const numeric = spec?.type === "number" || spec?.type === "integer";
    if (numeric && !arg.includes("=") && NEGATIVE_NUMBER.test(argv[i + 1] ?? "")) {
      out.push(`--${name}=${argv[++i]}`);
    } else {
      out.push(canonicalFlag(arg));
    }
  }
  return out;
}

/** The spec name of a flag argument (`--x`, `--x=v`, `--x_y`, `-s`), if it names one. */
function flagName(arg: string, flags: Record<string, FlagSpec>): string | undefined {
  if (arg.startsWith("--")) {
    const name = canonicalFlag(arg).slice(2).split("=")[0];
    return Object.hasOwn(flags, name) ? name : undefined;
  }
  if (/^-[^-\d]$/.test(arg)) {
    return Object.entries(flags).find(([, spec]) => spec.short === arg.slice(1))?.[0];
  }
  return undefined;
}

/**
 * Parses `argv` against `flags`; every mistake is an {@linkcode InputError}
 * naming the flag and the fix. `maxPositionals` is how many positionals the
 * command takes (0: none).
 */
export function parseFlags(
  command: string,
  argv: string[],
  flags: Record<string, FlagSpec>,
  maxPositionals = 0,
): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) {
    options[name] = { type: spec.type === "boolean" ? "boolean" : "string" };
    if (spec.short) options[name].short = spec.short;
  }
  const args = normalize(argv, flags);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, "");
    throw new InputError(`grpo ${command}: ${msg}; see grpo ${command} --help`);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option") continue;
    // `--no-curriculum` is the boolean flag `--curriculum`, given false.
    const name = token.name in options ? token.name : token.name.replace(/^no-/, "");
    if (seen.has(name)) {
      throw new InputError(
        `grpo ${command}: --${name} is given more than once${
          name.includes("-") ? ` (--${name.replaceAll("-", "_")} is the same flag)` : ""
        }; give it once`,
      );
    }
    seen.add(name);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => JSON.stringify(p));
    throw new InputError(
      `grpo ${command}: unexpected argument${extra.length > 1 ? "s" : ""} ${
        extra.join(" ")
      }; flags start with --, see grpo ${command} --help`,
    );
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
    if (!spec.range) throw new Error(`flag --${name} of grpo ${command} has no range`);
    if (!inRange(x, spec.range)) {
      throw new InputError(
        `grpo ${command}: --${name} ${raw} is out of range; give a value in ${
          formatRange(spec.range)
        }`,
      );
    }
    return x;
  }
  const value = choiceOf(spec, raw);
  if (spec.choices && !spec.choices.includes(value)) {
    throw new InputError(
      `grpo ${command}: --${name} must be one of ${spec.choices.join(", ")}, got "${raw}"`,
    );
  }
  return value;
}

/** A string flag's value under its current name (`--advantage grpo` is `outcome`). */
export function choiceOf(spec: FlagSpec, raw: string): string {
  return spec.aliases && Object.hasOwn(spec.aliases, raw) ? spec.aliases[raw] : raw;
}

/** The `--device` flag every command that runs envs or models has. */
export const DEVICE_FLAG = {
  type: "string",
  default: "auto",
  choices: ["auto", "gpu", "cpu"] as const,
  help:
    "auto: networks on the CPU (faster at these sizes, also beside a GPU), env-only work on a real GPU; gpu: force WebGPU (also on a software adapter); cpu: never touch WebGPU",
} satisfies FlagSpec;

/** Reads `--device`. */
export function deviceChoice(values: { device?: string | number | boolean }): DeviceChoice {
  // parseFlags checked it against DEVICE_FLAG's choices.
  return (values.device ?? "auto") as DeviceChoice;
}

/** Help text of a command from its flags. */
export function helpText(usage: string, summary: string, flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const arg = spec.type === "boolean"
      ? ""
      : ` <${spec.choices ? spec.choices.join("|") : spec.type}>`;
    const notes = [
      spec.default === undefined || spec.type === "boolean" ? "" : `default ${spec.default}`,
      spec.range ? `in ${formatRange(spec.range)}` : "",
    ].filter(Boolean);
    const def = notes.length ? ` (${notes.join("; ")})` : "";
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

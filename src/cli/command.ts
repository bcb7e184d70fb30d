/**
 * The shape of a subcommand.
 *
 * @module
 */
import type { FlagSpec, FlagValues, ParsedArgs } from "./args.ts";

/** A subcommand of `grpo`. */
export interface Command {
  name: string;
  /** One line for `grpo --help`. */
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** How many positional arguments it takes (default 0: any is an error). */
  maxPositionals?: number;
  /** Runs with the parsed flags; returns the exit code (0 when void). */
  run(args: ParsedArgs): Promise<number | void>;
}

/** A subcommand whose `run` sees its flags' values typed by their specs. */
export interface TypedCommand<F extends Record<string, FlagSpec>>
  extends Omit<Command, "flags" | "run"> {
  flags: F;
  /** Runs with the parsed flags; returns the exit code (0 when void). */
  run(args: { values: FlagValues<F>; positionals: string[] }): Promise<number | void>;
}

/**
 * A {@linkcode Command} from a typed one: `parseFlags` checked every value
 * against its spec, so `run` may read `values.seed` as a number without a
 * cast.
 */
export function defineCommand<const F extends Record<string, FlagSpec>>(
  command: TypedCommand<F>,
): Command {
  return command as Command;
}

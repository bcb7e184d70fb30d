/**
 * The shape of a subcommand.
 *
 * @module
 */
import type { FlagSpec, ParsedArgs } from "./args.ts";

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

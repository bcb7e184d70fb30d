/**
 * `grpo`: the command-line entry point. Bad input and file-system faults
 * (no space, read-only, permissions, a file where a directory should be)
 * print one line and exit with code 2; a bug keeps its stack trace and exits
 * with 1.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { fsErrorMessage } from "../io/fs_errors.ts";
import { releaseGpu } from "../device.ts";
import { helpText, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { actCommand } from "./act.ts";
import { benchCommand } from "./bench.ts";
import { demoCommand } from "./demo.ts";
import { envsCommand } from "./envs.ts";
import { evalCommand } from "./eval.ts";
import { inspectCommand } from "./inspect.ts";
import { pretrainCommand } from "./pretrain.ts";
import { replayCommand } from "./replay.ts";
import { rolloutCommand } from "./rollout.ts";
import { trainCommand } from "./train.ts";
import { reportCommand } from "./report.ts";
import { maxOf } from "../range.ts";

/** Every subcommand, in the order `grpo --help` lists them. */
export const COMMANDS: Command[] = [
  envsCommand,
  replayCommand,
  benchCommand,
  rolloutCommand,
  reportCommand,
  pretrainCommand,
  trainCommand,
  evalCommand,
  inspectCommand,
  actCommand,
  demoCommand,
];

function usage(): string {
  const width = maxOf(COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `grpo: Decision Transformers trained by behaviour cloning then GRPO, on WebGPU or the CPU

Usage: grpo <command> [flags]   (grpo <command> --help for its flags)

Commands:
${rows.join("\n")}`;
}

/**
 * Runs `grpo` with `argv` and returns the exit code.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { main } from "@grpo/grpo";
 *
 * assert.equal(await main(["envs", "--json"]), 0); // what `grpo envs --json` does
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command) {
      throw new InputError(
        `unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(", ")}`,
      );
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(helpText(command.usage, command.summary, command.flags));
      return 0;
    }
    return (await command.run(
      parseFlags(command.name, rest, command.flags, command.maxPositionals),
    )) ?? 0;
  } catch (e) {
    if (e instanceof InputError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    const fsMessage = fsErrorMessage(e);
    if (fsMessage !== undefined) {
      console.error(`error: ${fsMessage}`);
      return 2;
    }
    throw e;
  } finally {
    await releaseGpu();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * Errors caused by what the user gave us (flags, files, env names). The CLI
 * prints their message as one line and exits with code 2; anything else is a
 * bug and keeps its stack trace.
 *
 * @module
 */

/**
 * Bad input: the message names the problem and the fix.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { findEnv, InputError } from "@grpo/grpo";
 *
 * assert.throws(() => findEnv("cartpol"), InputError); // the message lists the valid names
 * ```
 */
export class InputError extends Error {
  /** `InputError`, so that `err.name` tells it from other errors. */
  override name = "InputError";
}

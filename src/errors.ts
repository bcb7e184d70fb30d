/**
 * Errors caused by what the user gave us (flags, files, env names). The CLI
 * prints their message as one line and exits with code 2; anything else is a
 * bug and keeps its stack trace.
 *
 * @module
 */

/** Bad input: the message names the problem and the fix. */
export class InputError extends Error {
  override name = "InputError";
}

/**
 * Typed arrays joined end to end, for the places that gather parts first and
 * then need one array (PNG chunks, dataset batches, a model's weights).
 *
 * @module
 */

/** What {@linkcode concatArrays} writes into: any typed array. */
export interface Settable {
  readonly length: number;
  set(values: ArrayLike<number>, offset?: number): void;
}

/**
 * One array of kind `make` holding `parts` in order.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { concatArrays } from "./concat.ts";
 *
 * const joined = concatArrays(Uint8Array, [new Uint8Array([1, 2]), [3]]);
 * assert.deepEqual(Array.from(joined), [1, 2, 3]);
 * ```
 */
export function concatArrays<T extends Settable>(
  make: new (length: number) => T,
  parts: readonly ArrayLike<number>[],
): T {
  const out = new make(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

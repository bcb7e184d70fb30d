/**
 * Numeric intervals (for flag and checkpoint-config limits) and the extent
 * of an array without spreading it into arguments (`Math.min(...xs)` throws
 * a RangeError past ~100k values).
 *
 * @module
 */

/** An interval of numbers; an open end excludes its bound. */
export interface Range {
  min: number;
  max: number;
  minOpen?: boolean;
  maxOpen?: boolean;
}

/** Whether `x` lies in `r` (NaN never does). */
export function inRange(x: number, r: Range): boolean {
  return (r.minOpen ? x > r.min : x >= r.min) && (r.maxOpen ? x < r.max : x <= r.max);
}

/** `[0, 1)`-style text of a range. */
export function formatRange(r: Range): string {
  return `${r.minOpen ? "(" : "["}${r.min}, ${r.max}${r.maxOpen ? ")" : "]"}`;
}

/** The smallest value of `xs` (Infinity when empty), for arrays of any length. */
export function minOf(xs: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] < m) m = xs[i];
  return m;
}

/** The largest value of `xs` (-Infinity when empty), for arrays of any length. */
export function maxOf(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i];
  return m;
}

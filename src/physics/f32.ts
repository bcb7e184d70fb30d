/**
 * Box2D's float32 arithmetic for the CPU engine: `f32` rounds a float64 to
 * the nearest float32 (where Box2D stores or computes a float), `cos` and
 * `sin` are `cosf` and `sinf` (the float32 of the exact value).
 *
 * @module
 */
import { cos as cos64, sin as sin64 } from "../math.ts";

/** The nearest float32 (`Math.fround`). */
export const f32 = Math.fround;

/** `cosf(x)`. */
export function cos(x: number): number {
  return Math.fround(cos64(x));
}

/** `sinf(x)`. */
export function sin(x: number): number {
  return Math.fround(sin64(x));
}

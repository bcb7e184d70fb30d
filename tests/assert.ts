/**
 * The assertions the tests use, on top of `node:assert/strict` (JSR's
 * `@std/assert` is not reachable from here).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fails unless |actual - expected| <= tolerance. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message = "",
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new nodeAssert.AssertionError({
      message: `${
        message ? message + ": " : ""
      }expected ${expected} +- ${tolerance}, got ${actual}`,
    });
  }
}

/** Fails unless every element is within `tolerance` of its twin. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  message = "",
): void {
  assertEquals(actual.length, expected.length, `${message} length`);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance * scale)) {
      throw new nodeAssert.AssertionError({
        message: `${message} [${i}]: expected ${expected[i]} +- ${tolerance * scale}, got ${
          actual[i]
        }`,
      });
    }
  }
}

/** Fails unless `fn` throws (or rejects with) an error of class `kind` whose message includes `includes`. */
export async function assertRejects(
  fn: () => unknown,
  kind: new (...args: never[]) => Error,
  includes = "",
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert(
      e instanceof kind,
      `expected ${kind.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`,
    );
    assert(
      (e as Error).message.includes(includes),
      `"${(e as Error).message}" should include "${includes}"`,
    );
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${kind.name} to be thrown` });
}

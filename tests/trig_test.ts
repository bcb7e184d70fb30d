/** The envs' sin and cos (src/math.ts) agree with Math.sin and Math.cos to one ulp. */
import { assert } from "./assert.ts";
import { cos, sin } from "../src/math.ts";
import { hash5, uniform01 } from "../envs/env.ts";

const bits = new BigInt64Array(1);
const view = new Float64Array(bits.buffer);

function ulps(a: number, b: number): number {
  view[0] = a;
  const x = bits[0];
  view[0] = b;
  const d = x - bits[0];
  return Number(d < 0n ? -d : d);
}

function check(x: number): void {
  assert(ulps(sin(x), Math.sin(x)) <= 1, `sin(${x}) = ${sin(x)}, Math.sin: ${Math.sin(x)}`);
  assert(ulps(cos(x), Math.cos(x)) <= 1, `cos(${x}) = ${cos(x)}, Math.cos: ${Math.cos(x)}`);
}

Deno.test("sin and cos are within one ulp of Math on every range the envs use and beyond", () => {
  for (const range of [0.25, Math.PI / 4, 4, 40, 5000]) {
    for (let i = 0; i < 20000; i++) check((2 * uniform01(hash5(1, i, range, 0, 0)) - 1) * range);
  }
});

Deno.test("sin and cos are within one ulp near multiples of pi/2, where reduction cancels", () => {
  for (let k = -3000; k <= 3000; k++) {
    for (const d of [0, 2e-7, -2e-7, 1e-6, -3e-5, 1e-3]) check((k * Math.PI) / 2 + d);
  }
});

Deno.test("sin and cos pass zeros, huge and non-finite arguments through", () => {
  for (const x of [0, -0, 1e-300, 5e-324, 1e6, -3e9, 1e300]) check(x);
  assert(Object.is(sin(-0), -0));
  for (const x of [NaN, Infinity, -Infinity]) {
    assert(Number.isNaN(sin(x)) && Number.isNaN(cos(x)), `${x}`);
  }
});

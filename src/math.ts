/**
 * `sin` and `cos` for the envs' TypeScript twins. V8 computes `Math.sin` and
 * `Math.cos` in C++ behind a call that costs ~30 ns, which is most of a
 * CartPole step; these are inlinable multiply-adds, within one ulp of the
 * true value (and almost always bit-equal to `Math.sin`/`Math.cos`).
 *
 * Method: reduce x by the nearest multiple n of pi/2 (Cody-Waite, with pi/2
 * split into a 33-bit head and a tail, so that n * head is exact for |n| <
 * 2^20), keep the reduction's rounding error as a tail term, and evaluate
 * fdlibm's minimax polynomials for sin and cos on [-pi/4, pi/4]. The
 * reduction is good to ~2e-23 absolute for |x| < 4096; arguments beyond that
 * (or not finite), and the rare ones whose reduced value is under 2^-20
 * (where that error could exceed an ulp of the result), go to `Math`.
 *
 * @module
 */

// Minimax coefficients of sin(x) = x + S1 x^3 + ... and cos(x) = 1 - x^2/2 + C1 x^4 + ...
// on [-pi/4, pi/4] (fdlibm's __kernel_sin / __kernel_cos).
const S1 = -1.66666666666666324348e-01;
const S2 = 8.33333333332248946124e-03;
const S3 = -1.98412698298579493134e-04;
const S4 = 2.75573137070700676789e-06;
const S5 = -2.50507602534068634195e-08;
const S6 = 1.58969099521155010221e-10;
const C1 = 4.16666666666666019037e-02;
const C2 = -1.38888888888741095749e-03;
const C3 = 2.48015872894767294178e-05;
const C4 = -2.75573143513906633035e-07;
const C5 = 2.08757232129817482790e-09;
const C6 = -1.13596475577881948265e-11;

const INV_PIO2 = 6.36619772367581382433e-01;
/** pi/2's first 33 bits: n * PIO2_HI is exact for |n| < 2^20. */
const PIO2_HI = 1.57079632673412561417e+00;
/** pi/2 - PIO2_HI. */
const PIO2_LO = 6.07710050650619224932e-11;
const MAX_ARG = 4096;
/** Below 2^-27, sin(x) rounds to x and cos(x) to 1. */
const TINY = 7.450580596923828e-9;
const MIN_REDUCED = 9.5367431640625e-7; // 2^-20

/**
 * sin(x + quarter * pi/2): one function for both, with the polynomials inline,
 * so that V8 inlines it whole (a call would box its double argument and
 * result).
 */
function sinShifted(x: number, quarter: number): number {
  const n = Math.round(x * INV_PIO2);
  const head = x - n * PIO2_HI;
  const w = n * PIO2_LO;
  const y = head - w;
  if (!(Math.abs(x) < MAX_ARG) || (n !== 0 && Math.abs(y) < MIN_REDUCED)) {
    return mathSinShifted(x, quarter);
  }
  // x = n pi/2 + y + tail, |y + tail| <= pi/4.
  const tail = (head - y) - w;
  const q = (n + quarter) & 3;
  const z = y * y;
  let value: number;
  if ((q & 1) === 0) {
    const v = z * y;
    const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    value = y - ((z * (0.5 * tail - v * r) - tail) - v * S1);
  } else {
    // The 1 - z/2 step is split so that its rounding error is kept.
    const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    const hz = 0.5 * z;
    const one = 1.0 - hz;
    value = one + (((1.0 - one) - hz) + (z * r - y * tail));
  }
  return (q & 2) === 0 ? value : -value;
}

/** The rare arguments the reduction above cannot serve. */
function mathSinShifted(x: number, quarter: number): number {
  return quarter === 0 ? Math.sin(x) : Math.cos(x);
}

/** sin(x), within one ulp. */
export function sin(x: number): number {
  return Math.abs(x) < TINY ? x : sinShifted(x, 0);
}

/** cos(x), within one ulp. */
export function cos(x: number): number {
  return Math.abs(x) < TINY ? 1 : sinShifted(x, 1);
}

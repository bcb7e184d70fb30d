/**
 * One Adam step of a variable as a WebAssembly SIMD loop over tfjs's heap,
 * for CPU mode: tfjs's Adam is ~14 kernels per variable, each paying tfjs's
 * fixed cost. Every f32 operation of tfjs's Adam, in its order, is one
 * correctly rounded f32x4 (or f32) operation here, so the results are the
 * same bits as tfjs's (`tests/optim_test.ts` compares them with
 * `tf.train.adam`).
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  arith,
  either,
  F32,
  get,
  I32,
  lanesOf,
  lanesThenTail,
  load,
  op,
  set,
  splat,
  store,
  V128,
  type WasmFunction,
  type Width,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

/** Adam's constants of one step, as f32: see {@linkcode AdamKernel}. */
export interface AdamConstants {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** Bias corrections: 1 - beta1^t and 1 - beta2^t. */
  c1: number;
  c2: number;
  epsilon: number;
  negLr: number;
  /**
   * The gradient's factor, the global-norm clip's scale (1: none): `g scale`
   * is rounded to f32 first, as the clip's `tf.mul` rounds it.
   */
  scale: number;
}

/**
 * Writes the step's new moments and weights (`m2`, `v2`, `w2`) from the old
 * ones and the gradient, all views on the heap of one length:
 * `m2 = m b1 + g (1 - b1)`, `v2 = v b2 + g^2 (1 - b2)`,
 * `w2 = ((m2 / c1) / (sqrt(v2 / c2) + eps)) (-lr) + w`, with `g` the
 * gradient times `scale`. An output may be its input (`m2` = `m`, ...): each
 * element is read before it is written.
 */
export type AdamKernel = (
  m: Float32Array,
  v: Float32Array,
  w: Float32Array,
  g: Float32Array,
  m2: Float32Array,
  v2: Float32Array,
  w2: Float32Array,
  k: AdamConstants,
) => void;

// Parameters: the seven addresses, the byte length, the nine constants; then locals.
const M = 0, V = 1, W = 2, G = 3, M2 = 4, V2 = 5, W2 = 6, BYTES = 7;
const B1 = 8, OB1 = 9, B2 = 10, OB2 = 11, C1 = 12, C2 = 13, EPS = 14, NEG_LR = 15, SCALE = 16;
const CONSTANTS = 9;
const C = 17, BYTES4 = 18;
/**
 * The scaled gradient and the new moments of the 4-lane loop (v128); those
 * of the tail are the next three locals (f32).
 */
const GI = 19, MI = 20, VI = 21;
/** The splats of the nine constants, in the parameters' order. */
const SPLATS = 25;

/** The byte address of element C of the array at `base`. */
const at = (base: number) => [...get(base), ...get(C), op.i32Add];
/** Constant `p` (a parameter): its splat in the 4-lane loop. */
const constant = (w: Width, p: number) => either(w, SPLATS + p - B1, p);

function body(w: Width): number[] {
  const [add, mul, div, sqrt] = [arith.add(w), arith.mul(w), arith.div(w), arith.sqrt(w)];
  const [gi, mi, vi] = [GI, MI, VI].map((l) => w === "v" ? l : l + 3);
  return [
    ...load(w, at(G)),
    ...constant(w, SCALE),
    ...mul,
    ...set(gi),
    ...load(w, at(M)),
    ...constant(w, B1),
    ...mul,
    ...get(gi),
    ...constant(w, OB1),
    ...mul,
    ...add,
    ...set(mi),
    ...load(w, at(V)),
    ...constant(w, B2),
    ...mul,
    ...get(gi),
    ...get(gi),
    ...mul,
    ...constant(w, OB2),
    ...mul,
    ...add,
    ...set(vi),
    ...store(w, at(M2), get(mi)),
    ...store(w, at(V2), get(vi)),
    ...store(w, at(W2), [
      ...get(mi),
      ...constant(w, C1),
      ...div,
      ...get(vi),
      ...constant(w, C2),
      ...div,
      ...sqrt,
      ...constant(w, EPS),
      ...add,
      ...div,
      ...constant(w, NEG_LR),
      ...mul,
      ...load(w, at(W)),
      ...add,
    ]),
  ];
}

const adamKernel: WasmFunction = {
  name: "adam",
  params: [I32, I32, I32, I32, I32, I32, I32, I32, ...Array(CONSTANTS).fill(F32)],
  // C, BYTES4; GI, MI, VI as v128; GI, MI, VI as f32; the nine splats.
  locals: [I32, I32, V128, V128, V128, F32, F32, F32, ...Array(CONSTANTS).fill(V128)],
  body: [
    ...lanesOf(BYTES, BYTES4),
    ...Array.from({ length: CONSTANTS }, (_, k) => splat(get(B1 + k), SPLATS + k)).flat(),
    ...lanesThenTail(C, get(BYTES4), get(BYTES), body),
  ],
};

/**
 * The kernel on `backend`'s heap.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { adamOnHeap } from "./wasm_adam.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const [m, v, w, g] = [0, 0, 1, 2].map((x) => tf.tensor1d([x]));
 * const outs = [0, 1, 2].map(() => heapOutput(backend, [1]));
 * const [M, V, W, G, M2, V2, W2] = heapViews(backend, [m, v, w, g, ...outs]);
 * const f = Math.fround;
 * adamOnHeap(backend)(M, V, W, G, M2, V2, W2, {
 *   beta1: f(0.9), oneMinusBeta1: f(0.1), beta2: f(0.999), oneMinusBeta2: f(0.001),
 *   c1: f(0.1), c2: f(0.001), epsilon: 0, negLr: f(-0.5), scale: 1,
 * });
 * assert.deepStrictEqual([M2[0], W2[0]], [f(f(2) * f(0.1)), 0.5]); // a first step moves by lr
 * outs.forEach((t) => backend.disposeData(t.dataId));
 * ```
 */
export const adamOnHeap: (backend: BackendWasm) => AdamKernel = kernelsOnHeap(
  [adamKernel],
  (exports) => {
    const adam = exports.adam as (...args: number[]) => void;
    return (m, v, w, g, m2, v2, w2, k) =>
      adam(
        m.byteOffset,
        v.byteOffset,
        w.byteOffset,
        g.byteOffset,
        m2.byteOffset,
        v2.byteOffset,
        w2.byteOffset,
        w.byteLength,
        k.beta1,
        k.oneMinusBeta1,
        k.beta2,
        k.oneMinusBeta2,
        k.c1,
        k.c2,
        k.epsilon,
        k.negLr,
        k.scale,
      );
  },
);

/**
 * Just enough of WebAssembly's binary format to write a module of a few
 * hand-written SIMD kernels in TypeScript: functions of i32/f32 parameters
 * over one imported memory, their bodies as opcode bytes (the named constants
 * below). A module built here needs no toolchain and no file beside the
 * bundle. Its users: `wasm_batched_matmul.ts`, `wasm_layer_norm.ts`,
 * `wasm_adam.ts`, `wasm_gemm.ts`, `wasm_clip.ts` and `wasm_column_sum.ts`.
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

/** Opcodes used by grpo's kernels, but the 0xfd-prefixed SIMD ones (`simd`). */
export const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  f32Const: 0x43,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  f32Ne: 0x5c,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivU: 0x6e,
  i32And: 0x71,
  i32Shl: 0x74,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
  f32ConvertI32U: 0xb3,
  /** Block and loop results: none. */
  void: 0x40,
} as const;

/** `memory.fill` of memory 0 (bulk memory): pops destination, byte value and length. */
export const MEMORY_FILL = [0xfc, 0x0b, 0x00];

/** 0xfd-prefixed SIMD opcodes (each written by `simdOp`). */
const simd = {
  v128Load: 0x00,
  v128Load32Splat: 0x09,
  v128Store: 0x0b,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Sqrt: 0xe3,
} as const;
const SIMD_PREFIX = 0xfd;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** One SIMD instruction's bytes, with a memory argument (alignment log2, offset) for loads and stores. */
function simdOp(code: number, ...immediates: number[]): number[] {
  return [SIMD_PREFIX, ...uleb(code), ...immediates];
}

// Bytecode helpers. Locals are numbered: a function's parameters first, then its own.

/** `local.get l`. */
export const get = (l: number): number[] => [op.localGet, l];
/** `local.set l`. */
export const set = (l: number): number[] => [op.localSet, l];
/** `i32.const n`. */
export const i32 = (n: number): number[] => [op.i32Const, ...sleb(n)];
/** `f32.const x`. */
export const f32 = (x: number): number[] => [
  op.f32Const,
  ...new Uint8Array(Float32Array.of(x).buffer),
];
/** `l += x` (i32). */
export const inc = (l: number, x: number[]): number[] => [...get(l), ...x, op.i32Add, ...set(l)];
/** Memory argument of a 4-byte aligned access at offset 0. */
export const MEM = [2, 0];

/** `for (l = from; l < to; l += step) body` (unsigned compare; `body` must not branch out). */
export function loop(
  l: number,
  from: number[],
  to: number[],
  step: number[],
  body: number[],
): number[] {
  return [
    ...from,
    ...set(l),
    op.block,
    op.void,
    op.loop,
    op.void,
    ...get(l),
    ...to,
    op.i32GeU,
    op.brIf,
    1,
    ...body,
    ...inc(l, step),
    op.br,
    0,
    op.end,
    op.end,
  ];
}

/** `for (l = 0; l < limit; l++) body`. */
export const times = (l: number, limit: number[], body: number[]): number[] =>
  loop(l, i32(0), limit, i32(1), body);

/** The four lanes of the v128 in local `l`, summed as (l0 + l1) + (l2 + l3). */
export const laneSum = (l: number): number[] => [
  ...get(l),
  ...simdOp(simd.f32x4ExtractLane, 0),
  ...get(l),
  ...simdOp(simd.f32x4ExtractLane, 1),
  op.f32Add,
  ...get(l),
  ...simdOp(simd.f32x4ExtractLane, 2),
  ...get(l),
  ...simdOp(simd.f32x4ExtractLane, 3),
  op.f32Add,
  op.f32Add,
];

// Width-generic bodies: one body written once for a 4-lane loop over a row's
// first `4 floor(n / 4)` values (`v`: v128 operands) and for the scalar tail
// after it (`s`: f32 operands).

/** Which loop a width-generic body is written for. */
export type Width = "v" | "s";
const pick = (w: Width, vector: number, scalar: number): number[] =>
  w === "v" ? simdOp(vector) : [scalar];
/** f32x4 or f32 arithmetic. */
export const arith = {
  add: (w: Width): number[] => pick(w, simd.f32x4Add, op.f32Add),
  sub: (w: Width): number[] => pick(w, simd.f32x4Sub, op.f32Sub),
  mul: (w: Width): number[] => pick(w, simd.f32x4Mul, op.f32Mul),
  div: (w: Width): number[] => pick(w, simd.f32x4Div, op.f32Div),
  sqrt: (w: Width): number[] => pick(w, simd.f32x4Sqrt, op.f32Sqrt),
};
/** A load from the byte address `address` leaves, plus `offset` (an immediate). */
export const load = (w: Width, address: number[], offset = 0): number[] => [
  ...address,
  ...(w === "v" ? simdOp(simd.v128Load, 2, ...uleb(offset)) : [op.f32Load, 2, ...uleb(offset)]),
];
/** The f32 at the byte address `address` leaves (plus `offset`), in all four lanes of a v128. */
export const loadSplat = (address: number[], offset = 0): number[] => [
  ...address,
  ...simdOp(simd.v128Load32Splat, 2, ...uleb(offset)),
];
/** A store of `value` at the byte address `address` leaves, plus `offset` (an immediate). */
export const store = (w: Width, address: number[], value: number[], offset = 0): number[] => [
  ...address,
  ...value,
  ...(w === "v" ? simdOp(simd.v128Store, 2, ...uleb(offset)) : [op.f32Store, 2, ...uleb(offset)]),
];
/** A value held twice: its splat in local `vector` (v128) for the lanes, local `scalar` (f32) for the tail. */
export const either = (w: Width, vector: number, scalar: number): number[] =>
  get(w === "v" ? vector : scalar);
/** `acc += term`: the v128 accumulator `vector` in the lanes, its f32 sum `scalar` in the tail. */
export const accumulate = (w: Width, vector: number, scalar: number, term: number[]): number[] => [
  ...either(w, vector, scalar),
  ...term,
  ...arith.add(w),
  ...set(w === "v" ? vector : scalar),
];
/**
 * Byte offset `c` over a row: `body("v")` for c in [0, lanes) by 16, then
 * `between`, then `body("s")` for c in [lanes, bytes) by 4 (`lanes` and
 * `bytes` are byte counts left by the given code).
 */
export const lanesThenTail = (
  c: number,
  lanes: number[],
  bytes: number[],
  body: (w: Width) => number[],
  between: number[] = [],
): number[] => [
  ...loop(c, i32(0), lanes, i32(16), body("v")),
  ...between,
  ...loop(c, lanes, bytes, i32(4), body("s")),
];
/** Local `lanes` = local `bytes` rounded down to whole 16-byte lanes (for {@linkcode lanesThenTail}). */
export const lanesOf = (bytes: number, lanes: number): number[] => [
  ...get(bytes),
  ...i32(-16),
  op.i32And,
  ...set(lanes),
];
/** For rows of `n` f32 values (left by the given code): local `bytes` = 4n, local `lanes` = 4 (n & ~3). */
export const rowByteCounts = (n: number[], bytes: number, lanes: number): number[] => [
  ...n,
  ...i32(2),
  op.i32Shl,
  ...set(bytes),
  ...n,
  ...i32(-4),
  op.i32And,
  ...i32(2),
  op.i32Shl,
  ...set(lanes),
];
/** The splat of the f32 `from` leaves, into local `to`. */
export const splat = (from: number[], to: number): number[] => [
  ...from,
  ...simdOp(simd.f32x4Splat),
  ...set(to),
];

/** An exported function: parameter types, extra locals (by type), and its body (without the final `end`). */
export interface WasmFunction {
  name: string;
  params: number[];
  locals: number[];
  body: number[];
}

const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vector([...new TextEncoder().encode(s)].map((b) => [b]));

/**
 * A module's bytes: the functions, each exported under its name, no results,
 * all sharing the memory imported as `env.memory`.
 *
 * @example A function that stores 1.5 at address 0
 * ```ts
 * import assert from "node:assert";
 * import { assemble, f32, get, I32, MEM, op } from "./wasm_assembler.ts";
 *
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const bytes = assemble([{
 *   name: "store",
 *   params: [I32],
 *   locals: [],
 *   body: [...get(0), ...f32(1.5), op.f32Store, ...MEM],
 * }]);
 * const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
 * (instance.exports.store as (p: number) => void)(0);
 * assert.strictEqual(new Float32Array(memory.buffer)[0], 1.5);
 * ```
 */
export function assemble(functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), 0]);
  const memoryImport = [...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(0)];
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const bodies = functions.map((f) => {
    const locals = vector(f.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body, op.end];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}

/**
 * tfjs wasm kernels that only move data (Slice, SplitV, Unpack, Concat,
 * GatherV2, Identity, Cast to the same dtype) or sum it in tfjs's own order
 * (Sum over leading axes), replaced by copies over tfjs's heap. Each gives
 * tfjs's result bit for bit (`tests/wasm_backend_test.ts` holds the copies
 * to index arithmetic, and the Sum to tfjs's own transpose and sum); what
 * they save is tfjs's detours:
 *
 * - Slice copied the whole input out of the heap first (`readSync`), and
 *   Split and Unstack call it once per part: the attention's q/k/v split
 *   copied its input three times (14% of a LunarLander iteration's
 *   main-thread time).
 * - Sum over leading axes (a bias's gradient) transposed its input first, then
 *   summed rows; now columns are summed four at a time in place
 *   (`wasm_column_sum.ts`).
 * - GatherV2 copied its indices out, checked each in a closure and gathered
 *   element by element: 60 rows of 64 floats took 121 us.
 * - Concat made a typed-array view per row.
 * - Identity and Cast to the dtype a tensor has (the gradient of every
 *   Multiply) copied the data. tfjs clones every tensor a gradient will need
 *   (about 270 clones in one policy loss with gradients), and tensors are
 *   immutable (a variable's assign swaps its data for new data, and Adam's
 *   step in place writes only data no other tensor holds, `optim.ts`), so
 *   the result can share the data, as wasm's own Reshape does and as tfjs's
 *   CPU backend's Identity does.
 * - Each copied row was a `copyWithin` call (~0.15 us for 64 floats): rows
 *   one stride apart (a split or concat along any axis) are now one SIMD loop.
 *
 * Strings (but for Identity, which shares any tensor's data), and anything
 * else the replacements do not cover, go to tfjs's own kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { columnSumOnHeap } from "./wasm_column_sum.ts";
import {
  get,
  I32,
  inc,
  lanesOf,
  lanesThenTail,
  load,
  op,
  store,
  times,
  type WasmFunction,
} from "./wasm_assembler.ts";
import { kernelsOnHeap } from "./wasm_heap.ts";

// copyRows: to, its row stride, from, its row stride (bytes), rows, row bytes; then R, C, LANES.
const TO = 0, TO_STRIDE = 1, FROM = 2, FROM_STRIDE = 3, ROWS = 4, ROW_BYTES = 5;
const R = 6, C = 7, LANES = 8;
const copyRows: WasmFunction = {
  name: "copyRows",
  params: [I32, I32, I32, I32, I32, I32],
  locals: [I32, I32, I32],
  body: [
    ...lanesOf(ROW_BYTES, LANES),
    ...times(R, get(ROWS), [
      ...lanesThenTail(
        C,
        get(LANES),
        get(ROW_BYTES),
        (w) =>
          store(
            w,
            [...get(TO), ...get(C), op.i32Add],
            load(w, [...get(FROM), ...get(C), op.i32Add]),
          ),
      ),
      ...inc(TO, get(TO_STRIDE)),
      ...inc(FROM, get(FROM_STRIDE)),
    ]),
  ],
};

/** `copyRows(to, toStride, from, fromStride, rows, rowBytes)`, byte addresses on one heap. */
const copyRowsOnHeap = kernelsOnHeap(
  [copyRows],
  (exports) => exports.copyRows as (...args: number[]) => void,
);

/**
 * Copies `rows` rows of `n` floats from `from` to `to` (views on `backend`'s
 * heap), the rows `fromStride` and `toStride` floats apart, in one SIMD loop.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapOutput, heapViews } from "./wasm_heap.ts";
 * import { copyFloatRows } from "./wasm_copy_kernels.ts";
 *
 * await initBackend("cpu");
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]), out = heapOutput(backend, [2]);
 * const [from, to] = heapViews(backend, [x, out]);
 * copyFloatRows(backend, to, 1, from.subarray(1), 4, 2, 1); // column 1 of rows 0 and 2
 * assert.deepStrictEqual([...to], [2, 6]);
 * backend.disposeData(out.dataId);
 * ```
 */
export function copyFloatRows(
  backend: BackendWasm,
  to: Float32Array,
  toStride: number,
  from: Float32Array,
  fromStride: number,
  rows: number,
  n: number,
): void {
  copyRowsOnHeap(backend)(
    to.byteOffset,
    4 * toStride,
    from.byteOffset,
    4 * fromStride,
    rows,
    4 * n,
  );
}

/** What the kernels below use of tfjs's wasm backend (not all in its types). */
interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
  wasm: { HEAPU8: Uint8Array };
}

/** Copies within tfjs's heap in units of one dtype's element. */
class HeapCopier {
  private readonly heap: Uint8Array;
  private readonly bytes: number;
  /** Take one after the last allocation: growing the heap replaces its buffer. */
  constructor(private readonly backend: WasmBackendInternals, dtype: tf.DataType) {
    this.heap = backend.wasm.HEAPU8;
    this.bytes = dtype === "bool" ? 1 : 4;
  }
  /** The element index of a tensor's first element, in this dtype's units. */
  start(t: tf.TensorInfo): number {
    return this.backend.typedArrayFromHeap(t).byteOffset / this.bytes;
  }
  /** Copies `n` elements from element index `from` to `to`. */
  copy(to: number, from: number, n: number): void {
    const b = this.bytes;
    this.heap.copyWithin(to * b, from * b, (from + n) * b);
  }
  /** Copies `rows` rows of `n` elements, `toStride` and `fromStride` elements apart. */
  copyRows(
    to: number,
    toStride: number,
    from: number,
    fromStride: number,
    rows: number,
    n: number,
  ) {
    const b = this.bytes;
    if (b !== 4) {
      for (let r = 0; r < rows; r++) this.copy(to + r * toStride, from + r * fromStride, n);
      return;
    }
    const kernel = copyRowsOnHeap(this.backend as unknown as BackendWasm);
    kernel(to * b, toStride * b, from * b, fromStride * b, rows, n * b);
  }
}

/** A second handle on `x`'s data (see the module comment on Identity and Cast). */
function shareData(x: tf.TensorInfo, backend: WasmBackendInternals): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Dtypes the copies handle (elements of 4 bytes, or bool's 1). */
function copyable(dtype: tf.DataType): boolean {
  return dtype === "float32" || dtype === "int32" || dtype === "bool";
}

/** `x[begin : begin + size]`, as tfjs's Slice computes it, reading `x` in place. */
function sliceOnHeap(
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
  backend: WasmBackendInternals,
): tf.TensorInfo {
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = backend.makeOutput(s, x.dtype);
  if (tf.util.sizeFromShape(s) === 0) return out;
  const heap = new HeapCopier(backend, x.dtype);
  const xs = heap.start(x), outs = heap.start(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, b, s)) {
    heap.copy(outs, xs + tf.slice_util.computeFlatOffset(b, strides), tf.util.sizeFromShape(s));
    return out;
  }
  // One axis cut, the rest whole (a split or unstack along it): rows one stride apart.
  const cut = s.map((n, d) => n !== x.shape[d]);
  if (cut.filter(Boolean).length === 1) {
    const axis = cut.indexOf(true);
    const inner = strides[axis] ?? 1;
    const rows = tf.util.sizeFromShape(s.slice(0, axis));
    heap.copyRows(
      outs,
      s[axis] * inner,
      xs + b[axis] * inner,
      x.shape[axis] * inner,
      rows,
      s[axis] * inner,
    );
    return out;
  }
  // Copy rows of the last axis, leading indices in row-major order.
  const rank = s.length, row = s[rank - 1], index = new Array<number>(rank - 1).fill(0);
  const n = tf.util.sizeFromShape(s);
  for (let o = 0; o < n; o += row) {
    let offset = b[rank - 1];
    for (let d = 0; d < rank - 1; d++) offset += (b[d] + index[d]) * strides[d];
    heap.copy(outs + o, xs + offset, row);
    for (let d = rank - 2; d >= 0 && ++index[d] === s[d]; d--) index[d] = 0;
  }
  return out;
}

/** The inputs along `axis`, side by side (each input's rows copied in turn). */
function concatOnHeap(
  inputs: tf.TensorInfo[],
  axis: number,
  backend: WasmBackendInternals,
): tf.TensorInfo {
  const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  const heap = new HeapCopier(backend, inputs[0].dtype);
  const rows = tf.util.sizeFromShape(outShape.slice(0, axis));
  const widths = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
  const starts = inputs.map((t) => heap.start(t));
  const total = widths.reduce((a, w) => a + w, 0);
  let o = heap.start(out);
  for (let i = 0; i < inputs.length; i++) {
    heap.copyRows(o, total, starts[i], widths[i], rows, widths[i]);
    o += widths[i];
  }
  return out;
}

/** `x`'s entries `indices` along `axis` (batchDims 0), with tfjs's check of each index. */
function gatherOnHeap(
  x: tf.TensorInfo,
  indices: tf.TensorInfo,
  axis: number,
  backend: WasmBackendInternals,
): tf.TensorInfo {
  const index = backend.typedArrayFromHeap(indices);
  const dim = x.shape[axis];
  for (const i of index) {
    if (!(i >= 0 && i <= dim - 1)) {
      throw new Error(`GatherV2: the index value ${i} is not in [0, ${dim - 1}]`);
    }
  }
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const slice = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const n = index.length;
  const out = backend.makeOutput(
    [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)],
    x.dtype,
  );
  const heap = new HeapCopier(backend, x.dtype);
  // The index view again: the output's allocation may have grown (moved) the heap.
  const at = backend.typedArrayFromHeap(indices), xs = heap.start(x), outs = heap.start(out);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      heap.copy(outs + (o * n + k) * slice, xs + (o * dim + at[k]) * slice, slice);
    }
  }
  return out;
}

/** The sum of float32 `x` over its first `lead` axes, as tfjs sums them ({@linkcode columnSumOnHeap}). */
function sumLeadingOnHeap(
  x: tf.TensorInfo,
  lead: number,
  keepDims: boolean,
  backend: WasmBackendInternals,
): tf.TensorInfo {
  const inner = x.shape.slice(lead);
  const shape = keepDims ? [...x.shape.slice(0, lead).map(() => 1), ...inner] : inner;
  const out = backend.makeOutput(shape, "float32");
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const sums = backend.typedArrayFromHeap(out) as Float32Array;
  columnSumOnHeap(backend as unknown as BackendWasm)(xs, sums);
  return out;
}

type Replacement = (
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
  backend: WasmBackendInternals,
) => tf.TensorInfo | tf.TensorInfo[] | undefined;

let replaced = false;

/**
 * Registers the kernels of this module in place of tfjs's wasm ones (once
 * per isolate; the wasm backend must be registered). Each falls back to
 * tfjs's kernel where it returns undefined.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 *
 * await initBackend("cpu"); // calls replaceCopyKernelsOnWasm()
 * assert.deepStrictEqual(Array.from(tf.tensor2d([[1, 2], [3, 4]]).sum(0).dataSync()), [4, 6]);
 * ```
 */
export function replaceCopyKernelsOnWasm(): void {
  if (replaced) return;
  replaced = true;
  const replace = (kernelName: string, kernelFunc: Replacement) => {
    const original = tf.getKernel(kernelName, "wasm")!;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: (args) =>
        kernelFunc(args.inputs, args.attrs!, args.backend as unknown as WasmBackendInternals) ??
          original.kernelFunc(args),
    });
  };
  replace("Slice", ({ x }, attrs, backend) => {
    const input = x as tf.TensorInfo;
    if (!copyable(input.dtype)) return undefined;
    return sliceOnHeap(input, attrs.begin as number[], attrs.size as number[], backend);
  });
  replace("SplitV", ({ x }, attrs, backend) => {
    const input = x as tf.TensorInfo;
    if (!copyable(input.dtype)) return undefined;
    const axis = tf.util.parseAxisParam(attrs.axis as number, input.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(
      input as tf.Tensor,
      attrs.numOrSizeSplits as number[] | number,
      axis,
    );
    const begin = new Array<number>(input.shape.length).fill(0), size = input.shape.slice();
    return sizes.map((part) => {
      size[axis] = part;
      const out = sliceOnHeap(input, begin, size, backend);
      begin[axis] += part;
      return out;
    });
  });
  replace("Unpack", ({ value }, attrs, backend) => {
    const input = value as tf.TensorInfo;
    if (!copyable(input.dtype)) return undefined;
    const rank = input.shape.length;
    const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : attrs.axis as number;
    const outShape = input.shape.filter((_, d) => d !== axis);
    const begin = new Array<number>(rank).fill(0), size = input.shape.slice();
    size[axis] = 1;
    return Array.from({ length: input.shape[axis] }, (_, i) => {
      begin[axis] = i;
      const { dataId, dtype } = sliceOnHeap(input, begin, size, backend);
      return { dataId, dtype, shape: outShape };
    });
  });
  replace("Concat", (inputs, attrs, backend) => {
    const xs = Object.values(inputs) as tf.TensorInfo[];
    // One input, empty inputs and strings: tfjs's (an identity, filtering, string bytes).
    if (xs.length < 2 || !copyable(xs[0].dtype)) return undefined;
    if (xs.some((t) => t.dtype !== xs[0].dtype || tf.util.sizeFromShape(t.shape) === 0)) {
      return undefined;
    }
    const axis = tf.util.parseAxisParam(attrs.axis as number, xs[0].shape)[0];
    tf.backend_util.assertParamsConsistent(xs.map((t) => t.shape), axis);
    return concatOnHeap(xs, axis, backend);
  });
  replace("GatherV2", ({ x, indices }, attrs, backend) => {
    const input = x as tf.TensorInfo, index = indices as tf.TensorInfo;
    if ((attrs.batchDims as number) !== 0 || !copyable(input.dtype) || index.dtype !== "int32") {
      return undefined;
    }
    if (tf.util.sizeFromShape(input.shape) === 0) return undefined;
    const axis = tf.util.parseAxisParam(attrs.axis as number, input.shape)[0];
    return gatherOnHeap(input, index, axis, backend);
  });
  replace("Identity", ({ x }, _attrs, backend) => shareData(x as tf.TensorInfo, backend));
  replace("Cast", ({ x }, attrs, backend) => {
    const input = x as tf.TensorInfo;
    if (attrs.dtype !== input.dtype || !copyable(input.dtype)) return undefined;
    return shareData(input, backend);
  });
  replace("Sum", ({ x }, attrs, backend) => {
    const input = x as tf.TensorInfo;
    if (input.dtype !== "float32" || tf.util.sizeFromShape(input.shape) === 0) return undefined;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], input.shape)
      .sort((a, b) => a - b);
    // Only a proper prefix of the axes: tfjs sums trailing axes without a transpose.
    const lead = axes.length;
    if (lead === input.shape.length || axes.some((a, i) => a !== i)) return undefined;
    return sumLeadingOnHeap(input, lead, attrs.keepDims as boolean, backend);
  });
}

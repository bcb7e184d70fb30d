/**
 * What a hand-written CPU-mode kernel needs from tfjs's wasm backend: a new
 * output tensor on its heap, Float32 views of tensors there, and a module of
 * grpo's own instantiated on the heap's memory. Used by the kernels of
 * `wasm_*.ts`, the dense products of `layers.ts`, the gradient clip of
 * `optim.ts` and the KV cache writes of `kv_slots.ts`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { assemble, type WasmFunction } from "./wasm_assembler.ts";

/** A new float32 tensor of `shape` on the wasm heap (to be filled, then made a tensor). */
export function heapOutput(backend: BackendWasm, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, "float32") as unknown as tf.TensorInfo;
}

/**
 * Float32 views of tensors on the wasm heap. Take them after the last
 * allocation: growing the heap detaches earlier views.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { heapViews } from "./wasm_heap.ts";
 *
 * await initBackend("cpu");
 * const [x] = heapViews(tf.backend() as BackendWasm, [tf.tensor1d([1, 2])]);
 * assert.deepStrictEqual([...x], [1, 2]);
 * ```
 */
export function heapViews(backend: BackendWasm, ts: tf.TensorInfo[]): Float32Array[] {
  return ts.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
}

/** The WebAssembly memory of `backend`'s heap. */
function wasmMemory(backend: BackendWasm): WebAssembly.Memory {
  return (backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
}

/**
 * A module of grpo's own kernels bound to a backend's heap: `bind` wraps the
 * exports of `functions`' module instantiated on that heap's memory, once per
 * heap (the main thread's tfjs and each Worker's have their own).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { kernelsOnHeap } from "./wasm_heap.ts";
 *
 * await initBackend("cpu");
 * const nothing = { name: "nothing", params: [], locals: [], body: [] };
 * const kernels = kernelsOnHeap([nothing], (exports) => exports.nothing as () => void);
 * const backend = tf.backend() as BackendWasm;
 * assert.strictEqual(kernels(backend), kernels(backend));
 * ```
 */
export function kernelsOnHeap<T>(
  functions: WasmFunction[],
  bind: (exports: WebAssembly.Exports) => T,
): (backend: BackendWasm) => T {
  // Assembled and compiled on first use: GPU mode never pays for it.
  let module: WebAssembly.Module | undefined;
  const byMemory = new WeakMap<WebAssembly.Memory, T>();
  return (backend) => {
    const memory = wasmMemory(backend);
    let kernels = byMemory.get(memory);
    if (kernels === undefined) {
      module ??= new WebAssembly.Module(assemble(functions));
      kernels = bind(new WebAssembly.Instance(module, { env: { memory } }).exports);
      byMemory.set(memory, kernels);
    }
    return kernels;
  };
}

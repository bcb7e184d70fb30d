/**
 * What a hand-written CPU-mode kernel needs from tfjs's wasm backend: a new
 * output tensor on its heap, Float32 views of tensors there, and the heap's
 * memory itself. Used by the fused kernels (`wasm_attention.ts`,
 * `wasm_layer_norm.ts`) and the fused Adam step (`optim.ts`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

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

/**
 * The WebAssembly memory of `backend`'s heap, for a module of grpo's own
 * kernels to import (`wasm_batched_matmul.ts`, `wasm_layer_norm.ts`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { wasmMemory } from "./wasm_heap.ts";
 *
 * await initBackend("cpu");
 * assert.ok(wasmMemory(tf.backend() as BackendWasm) instanceof WebAssembly.Memory);
 * ```
 */
export function wasmMemory(backend: BackendWasm): WebAssembly.Memory {
  return (backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
}

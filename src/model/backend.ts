/**
 * The tfjs backend of a run: wasm in CPU mode, WebGPU in GPU mode.
 *
 * CPU mode uses `@tensorflow/tfjs-backend-wasm` (single-threaded SIMD; its
 * `.wasm` files are read from the npm package next to its JS, or, in the
 * single-file bundle, from copies built into it: {@linkcode embedWasm}). GPU mode uses
 * `@tensorflow/tfjs-backend-webgpu` created on the process's own device
 * (`getGpu()`), so tfjs tensors and our WGSL buffers live on one device:
 * {@linkcode tensorFromBuffer} wraps an env buffer as a tensor without a copy
 * and {@linkcode copyTensorToBuffer} writes a tensor into one.
 *
 * Two facts shape the model code: the wasm backend has no gradient for
 * `gather` (UnsortedSegmentSum is missing), so discrete inputs are embedded as
 * one-hot matMuls; and tfjs's WebGPU backend records work into its own command
 * encoder, so {@linkcode flushTf} must run before we submit our own commands
 * that touch buffers tfjs reads or writes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { type Mode, requireGpu } from "../device.ts";
import { warmShapeFeedback } from "./shape_feedback.ts";
import { replaceCopyKernelsOnWasm } from "./wasm_copy_kernels.ts";

let current: Mode | undefined;
let registeredDevice: GPUDevice | undefined;
let embeddedWasm: Record<string, string> | undefined;

/**
 * Gives the tfjs wasm binaries built into a single-file bundle
 * (`scripts/bundle.ts`): file name to base64 bytes. A bundle has no npm
 * package beside it to read them from.
 */
export function embedWasm(files: Record<string, string>): void {
  embeddedWasm = Object.fromEntries(
    Object.entries(files).map(([name, base64]) => [name, `data:application/wasm;base64,${base64}`]),
  );
}

/** What {@linkcode saveWithoutKernelsOnWasm} uses of tfjs's engine (not in its types). */
interface EngineInternals {
  backendName: string;
  backend: tf.TensorInfo & { incRef(dataId: tf.DataId): void };
  clone(x: tf.Tensor): tf.Tensor;
  nextTensorId(): number;
  incRef(t: tf.Tensor, backend: unknown): void;
}

/**
 * While a gradient tape records, tfjs saves each tensor a gradient will need
 * as `keep(engine.clone(t))`, for a kernel's gradient and for a
 * `tf.customGrad`'s `save` alike, and each clone is an Identity kernel plus a
 * tape node (~270 per policy minibatch: as many as its real kernels, at ~7 us
 * of tfjs's bookkeeping each). On wasm the saved tensor is now a second handle
 * on the same data, as the shared Identity of `wasm_copy_kernels.ts` makes
 * it: the same tensor, its data counted once more, with no kernel and no tape
 * node (the clones' nodes lie on no path to a loss, so backprop dropped them
 * anyway). `clone` has no other caller in tfjs.
 */
function saveWithoutKernelsOnWasm(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  const proto = Object.getPrototypeOf(engine) as EngineInternals;
  engine.clone = function (x) {
    if (engine.backendName !== "wasm") return proto.clone.call(this, x);
    const handle = new tf.Tensor(x.shape, x.dtype, x.dataId, engine.nextTensorId());
    engine.incRef(handle, engine.backend);
    return handle;
  };
}

/** Dispatches tfjs records before it submits them (its default is 15). */
const SUBMIT_BATCH = 100;

/**
 * tfjs's WebGPU backend with uploads through `queue.writeBuffer`. tfjs
 * uploads each host tensor (a scalar of the backward pass, an optimizer
 * constant, a batch) through a new buffer mapped at creation: a driver
 * allocation and mapping per upload, 12% of a GPU-mode iteration's host time
 * in `getMappedRange` alone on an H200 host. `writeBuffer` stages the bytes
 * in wgpu's own ring into a pooled buffer. Ordering holds: a pooled buffer is
 * in no unsubmitted command (tfjs frees buffers at submission), and the write
 * lands after earlier submissions and before the next.
 */
class DeviceBackend extends WebGPUBackend {
  override uploadToGPU(dataId: object): void {
    const data = this.tensorMap.get(dataId);
    const values = data.values;
    const size = 4 * tf.util.sizeFromShape(data.shape);
    if (data.resource != null || values == null || data.dtype === "complex64" || size === 0) {
      return super.uploadToGPU(dataId);
    }
    const asInt = data.dtype === "int32" || data.dtype === "bool";
    const array = asInt
      ? (values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>))
      : (values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>));
    const buffer = this.bufferManager.acquireBuffer(
      size,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    this.queue.writeBuffer(buffer, 0, array as Float32Array<ArrayBuffer>);
    // As tfjs does once a tensor is on the device: its host copy is dropped.
    (data as { values: unknown }).values = null;
    data.resource = buffer;
  }
}

/**
 * Makes `mode`'s backend the active tfjs backend (idempotent). GPU mode needs
 * a WebGPU adapter (a software one is accepted; see `resolveMode`).
 *
 * @example Usage
 * ```ts
 * import { initBackend } from "@grpo/grpo";
 *
 * await initBackend("cpu"); // tfjs wasm; "gpu" shares grpo's WebGPU device with tfjs
 * ```
 */
export async function initBackend(mode: Mode): Promise<void> {
  warmShapeFeedback();
  if (mode === "cpu") {
    if (current === "cpu" && tf.getBackend() === "wasm") return;
    if (embeddedWasm) {
      setWasmPaths(embeddedWasm, true);
    } else {
      // The package's main file sits in dist/ beside the .wasm files.
      const dir = new URL(".", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
      setWasmPaths(dir.href, true);
    }
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs wasm backend failed to start");
    saveWithoutKernelsOnWasm();
    replaceCopyKernelsOnWasm();
  } else {
    const { device, adapter } = await requireGpu();
    if (current === "gpu" && registeredDevice === device && tf.getBackend() === "webgpu") return;
    // The package registers "webgpu" with an adapter of its own; kernels are
    // keyed by backend name, so ours must take over that name.
    if (registeredDevice !== device) {
      if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
      const info = { vendor: adapter.vendor, architecture: "", description: adapter.description };
      tf.registerBackend(
        "webgpu",
        () => new DeviceBackend(device, info as unknown as GPUAdapterInfo),
      );
      registeredDevice = device;
    }
    // tfjs runs ops on small tensors on the CPU by default: that reads data
    // back (a GPU->CPU round trip per op) and mis-types the result of a
    // bool/int cast computed there. Everything stays on the device.
    tf.env().set("WEBGPU_CPU_FORWARD", false);
    // tfjs submits its command encoder every 15 dispatches; finishing one cost ~270 us of
    // host time on an H200 host. Every 100 took a CartPole iteration's update from 9.33 to
    // 8.98 s there and its rollout from 2.32 to 1.98 s.
    tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", SUBMIT_BATCH);
    if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs webgpu backend failed to start");
  }
  await tf.ready();
  current = mode;
}

/**
 * Forgets the WebGPU backend (its device is the process's; call before
 * `releaseGpu`, so a later `initBackend("gpu")` binds to the new device).
 */
export function disposeGpuBackend(): void {
  if (registeredDevice === undefined) return;
  if (current === "gpu") current = undefined;
  tf.removeBackend("webgpu");
  registeredDevice = undefined;
}

function webgpu(): WebGPUBackend {
  const b = tf.backend();
  if (!(b instanceof WebGPUBackend)) throw new Error("the active tfjs backend is not WebGPU");
  return b;
}

/** Submits the work tfjs has recorded but not yet submitted (GPU mode); a no-op on wasm. */
export function flushTf(): void {
  if (tf.getBackend() !== "webgpu") return;
  // submitQueue alone fails when nothing was recorded (no encoder) or a compute pass is open.
  const b = webgpu();
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
}

/**
 * A tensor that reads `buffer` in place (GPU mode). The buffer needs STORAGE
 * and COPY_SRC usage; tfjs never destroys it. Its contents are read when the
 * ops using the tensor run, so call {@linkcode flushTf} before changing it.
 */
export function tensorFromBuffer<R extends tf.Rank>(
  buffer: GPUBuffer,
  shape: tf.ShapeMap[R],
  dtype: "float32" | "int32" = "float32",
): tf.Tensor<R> {
  return tf.tensor(
    { buffer, zeroCopy: true } as unknown as tf.TypedArray,
    shape,
    dtype,
  ) as tf.Tensor<R>;
}

/** Copies a float32/int32 tensor's data into `buffer` at `offset` bytes, on the device (GPU mode). */
export function copyTensorToBuffer(t: tf.Tensor, buffer: GPUBuffer, offset = 0): void {
  const data = t.dataToGPU();
  const backend = webgpu();
  const bytes = t.size * 4;
  const encoder = backend.device.createCommandEncoder();
  encoder.copyBufferToBuffer(data.buffer!, 0, buffer, offset, bytes);
  backend.device.queue.submit([encoder.finish()]);
  data.tensorRef.dispose();
}

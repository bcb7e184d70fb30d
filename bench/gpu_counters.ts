/**
 * Counts what a stretch of GPU-mode code asks of the device: readbacks
 * (`GPUBuffer.mapAsync`), queue submissions, compute dispatches and buffer
 * uploads (`GPUQueue.writeBuffer`, and buffers created mapped), by
 * wrapping the WebGPU prototypes' methods. For benchmarks and tests only:
 * {@linkcode countGpuCalls} puts the originals back when its function ends.
 *
 * @module
 */

/** How many times each counted WebGPU call ran. */
export interface GpuCallCounts {
  /** `GPUBuffer.mapAsync`: each one waits for the queue to drain (a host round trip). */
  mapAsync: number;
  /** `GPUQueue.submit` calls. */
  submits: number;
  /** `GPUComputePassEncoder.dispatchWorkgroups` (and `...Indirect`) calls. */
  dispatches: number;
  /** `GPUQueue.writeBuffer` calls plus buffers created mapped. */
  uploads: number;
  /**
   * Uploads of data rather than uniforms: writes into storage buffers (tensor
   * data, env inputs) and buffers created mapped (tfjs's own upload path,
   * which grpo's backend replaces). tfjs's uniforms, one per dispatch, are
   * the other uploads.
   */
  tensorUploads: number;
  /** Bytes of those buffers. */
  tensorUploadBytes: number;
}

/** Counts of nothing yet (also what a CPU-mode run, which counts nothing, reports). */
export function zeroCounts(): GpuCallCounts {
  return {
    mapAsync: 0,
    submits: 0,
    dispatches: 0,
    uploads: 0,
    tensorUploads: 0,
    tensorUploadBytes: 0,
  };
}

type Method = (...args: unknown[]) => unknown;

/**
 * Runs `fn` with the WebGPU calls above counted; returns its result and the
 * counts (`fn` gets them too, live, to count stretches of its own). With
 * `stacks`, also records the call stack of each `mapAsync` (to find where a
 * readback comes from).
 */
export async function countGpuCalls<T>(
  fn: (counts: Readonly<GpuCallCounts>) => Promise<T>,
  options: { stacks?: boolean } = {},
): Promise<{ result: T; counts: GpuCallCounts; mapStacks: string[] }> {
  const counts = zeroCounts();
  const mapStacks: string[] = [];
  const restore: (() => void)[] = [];
  const wrap = (proto: object, name: string, count: (args: unknown[]) => void) => {
    const p = proto as Record<string, Method>;
    const original = p[name];
    p[name] = function (this: unknown, ...args: unknown[]) {
      count(args);
      return original.apply(this, args);
    };
    restore.push(() => p[name] = original);
  };
  wrap(GPUBuffer.prototype, "mapAsync", () => {
    counts.mapAsync++;
    if (options.stacks) mapStacks.push(new Error().stack ?? "");
  });
  wrap(GPUQueue.prototype, "submit", () => counts.submits++);
  wrap(GPUQueue.prototype, "writeBuffer", (args) => {
    counts.uploads++;
    if (!((args[0] as GPUBuffer).usage & GPUBufferUsage.STORAGE)) return;
    counts.tensorUploads++;
    const data = args[2] as ArrayBufferView | ArrayBuffer;
    const bytesPerElement = "BYTES_PER_ELEMENT" in data ? Number(data.BYTES_PER_ELEMENT) : 1;
    counts.tensorUploadBytes += args[4] === undefined
      ? data.byteLength - Number(args[3] ?? 0) * bytesPerElement
      : Number(args[4]) * bytesPerElement;
  });
  wrap(GPUComputePassEncoder.prototype, "dispatchWorkgroups", () => counts.dispatches++);
  wrap(GPUComputePassEncoder.prototype, "dispatchWorkgroupsIndirect", () => counts.dispatches++);
  wrap(GPUDevice.prototype, "createBuffer", (args) => {
    const d = args[0] as GPUBufferDescriptor;
    if (!d.mappedAtCreation) return;
    counts.uploads++;
    counts.tensorUploads++;
    counts.tensorUploadBytes += d.size;
  });
  try {
    const result = await fn(counts);
    return { result, counts, mapStacks };
  } finally {
    for (const r of restore.reverse()) r();
  }
}

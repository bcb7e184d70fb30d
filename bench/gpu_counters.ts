/**
 * Counts what a stretch of GPU-mode code asks of the device: readbacks
 * (`GPUBuffer.mapAsync`), queue submissions, compute dispatches and buffer
 * uploads (`GPUQueue.writeBuffer`, and tfjs's mapped staging buffers), by
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
  /** `GPUQueue.writeBuffer` calls plus buffers created mapped (tfjs's upload path). */
  uploads: number;
  /**
   * Buffers created mapped: tfjs's uploads of tensor data (one each, to the
   * tensor's buffer or to a staging buffer); tfjs's uniforms, one per
   * dispatch, go by `writeBuffer` instead.
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
  wrap(GPUQueue.prototype, "writeBuffer", () => counts.uploads++);
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

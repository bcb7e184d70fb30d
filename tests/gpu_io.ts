/**
 * Moving test data to and from GPU buffers.
 *
 * @module
 */

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A storage buffer holding `data` (at least 16 bytes). */
export function upload(device: GPUDevice, data: Float32Array | Uint32Array): GPUBuffer {
  const buffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage: USAGE });
  device.queue.writeBuffer(buffer, 0, data as Uint32Array<ArrayBuffer>);
  return buffer;
}

/** An empty storage buffer of `floats` 4-byte elements. */
export function storage(device: GPUDevice, floats: number): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, 4 * floats), usage: USAGE });
}

/** Reads the first `length` floats of `buffer`. */
export async function readF32(
  device: GPUDevice,
  buffer: GPUBuffer,
  length: number,
): Promise<Float32Array> {
  return new Float32Array(await readBytes(device, buffer, 4 * length));
}

/** Reads the first `length` u32s of `buffer`. */
export async function readU32(
  device: GPUDevice,
  buffer: GPUBuffer,
  length: number,
): Promise<Uint32Array> {
  return new Uint32Array(await readBytes(device, buffer, 4 * length));
}

async function readBytes(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const size = Math.max(16, Math.ceil(bytes / 4) * 4);
  const staging = device.createBuffer({
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, Math.min(size, buffer.size));
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

/** A seeded uniform [0, 1) generator (mulberry32) for test data. */
export function testRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Reading GPU buffers back to the host: the buffers are copied, one after
 * another, into one staging buffer that is mapped once, so a readback of any
 * number of buffers costs one GPU->CPU round trip.
 *
 * @module
 */
import { throwDeviceErrors } from "../device.ts";

/** The bytes of `buffers` read back together, and where each one starts in them. */
export interface Readback {
  bytes: ArrayBuffer;
  offsets: number[];
}

/** Copies `buffers` to the host in one round trip (then surfaces any device error). */
export async function readBuffers(
  device: GPUDevice,
  buffers: readonly GPUBuffer[],
  label?: string,
): Promise<Readback> {
  const offsets: number[] = [];
  let total = 0;
  for (const b of buffers) {
    offsets.push(total);
    total += b.size;
  }
  const staging = device.createBuffer({
    label,
    size: total,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  buffers.forEach((b, k) => encoder.copyBufferToBuffer(b, 0, staging, offsets[k], b.size));
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const bytes = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  throwDeviceErrors();
  return { bytes, offsets };
}

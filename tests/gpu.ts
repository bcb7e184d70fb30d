/**
 * GPU test support.
 *
 * @module
 */
import { releaseGpu } from "../src/gpu/device.ts";

/**
 * Registers a last test that destroys the GPU device; call it at the end of
 * every test file that uses the GPU (see `releaseGpu` for why).
 */
export function releaseGpuAfterTests(): void {
  Deno.test({
    name: "(release the GPU device)",
    fn: releaseGpu,
    sanitizeResources: false,
    sanitizeOps: false,
  });
}

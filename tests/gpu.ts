/**
 * GPU test support: whether this process has a WebGPU adapter, tests that
 * need one, and the device's release at the end of a file.
 *
 * The adapter is looked for once, when this module loads. Without one, a
 * test declared with {@linkcode gpuTest} is ignored and its name says why;
 * `scripts/run_tests.ts` (the `test` task) prints one line at the end of the run
 * giving the fix. `GRPO_REQUIRE_GPU=1` (CI sets it) runs them anyway, so a
 * machine that should have an adapter and has none fails.
 *
 * @module
 */
import { getGpu, releaseGpu } from "../src/device.ts";

/** True when `GRPO_REQUIRE_GPU=1`: a missing adapter fails the GPU tests instead of skipping them. */
export const GPU_REQUIRED = Deno.env.get("GRPO_REQUIRE_GPU") === "1";

/** Whether WebGPU gave this process an adapter (software ones count). */
export const HAS_GPU = (await getGpu()) !== null;

/** What a skipped GPU test's name ends with. */
export const NO_GPU_REASON = "[skipped: no WebGPU adapter; see the note at the end of the run]";

/**
 * Declares a test that needs a WebGPU adapter, as `Deno.test` takes it (a
 * definition, or a name and a function): ignored, saying why, when there is none.
 */
export function gpuTest(
  nameOrDefinition: string | Deno.TestDefinition,
  fn?: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const definition = typeof nameOrDefinition === "string"
    ? { name: nameOrDefinition, fn: fn! }
    : nameOrDefinition;
  const skip = !HAS_GPU && !GPU_REQUIRED;
  Deno.test({
    ...definition,
    name: skip ? `${definition.name} ${NO_GPU_REASON}` : definition.name,
    ignore: skip || definition.ignore,
  });
}

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

/**
 * The `test` task: `deno test -A` with the task's arguments, then, when this
 * machine has no WebGPU adapter, one line saying the GPU tests were skipped
 * and how to get one. (Each test file runs in its own isolate, so only a
 * process around them all can say it once, at the end.)
 *
 * @module
 */
import { getGpu, releaseGpu } from "../src/device.ts";

const tests = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", ...Deno.args],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const { code } = await tests.status;

const hasGpu = (await getGpu()) !== null;
await releaseGpu();
if (!hasGpu) {
  const required = Deno.env.get("GRPO_REQUIRE_GPU") === "1";
  console.log(
    required
      ? "GPU tests FAILED: no WebGPU adapter and GRPO_REQUIRE_GPU=1. Install Mesa's Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers) or a GPU driver."
      : "GPU tests SKIPPED: no WebGPU adapter. To run them, install Mesa's Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers) or a GPU driver; GRPO_REQUIRE_GPU=1 makes this a failure.",
  );
}
Deno.exit(code);

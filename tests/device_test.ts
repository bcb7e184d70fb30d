/** The process's WebGPU device: which backends it may start, and what `--device auto` picks. */
import { assertEquals } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { getGpu, resolveMode } from "../src/device.ts";

Deno.test("--device auto runs networks on the CPU and env-only work on a real GPU alone", async () => {
  assertEquals(await resolveMode("auto", "networks"), "cpu");
  assertEquals(await resolveMode("cpu", "envs"), "cpu");
  const gpu = await getGpu();
  assertEquals(await resolveMode("auto", "envs"), gpu && !gpu.adapter.isFallback ? "gpu" : "cpu");
});

gpuTest({
  name: "WebGPU starts without wgpu's OpenGL backend: no EGL, no second Mesa driver",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // A fresh process: in this one, other test files may have started WebGPU already.
    const probe = `
      import { requireGpu } from "${new URL("../src/device.ts", import.meta.url)}";
      await requireGpu();
      const libraries = new Set(Deno.readTextFileSync("/proc/self/maps").split("\\n")
        .map((line) => line.split(/\\s+/).at(-1) ?? "")
        .filter((l) => /libvulkan|libEGL|_dri\\.so/.test(l))
        .map((l) => l.split("/").at(-1)!.split(".so")[0]));
      console.log(JSON.stringify({ backends: Deno.env.get("DENO_WEBGPU_BACKEND"), libraries: [...libraries] }));
    `;
    const env = Deno.env.toObject();
    delete env.DENO_WEBGPU_BACKEND;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, probe],
      env,
      clearEnv: true,
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const { backends, libraries } = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(backends, "vulkan,metal,dx12");
    assertEquals(libraries.includes("libvulkan"), true, `a Vulkan loader: ${libraries}`);
    assertEquals(libraries.filter((l: string) => /EGL|_dri/.test(l)), [], "no OpenGL driver");
  },
});

releaseGpuAfterTests();

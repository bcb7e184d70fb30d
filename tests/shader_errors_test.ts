/** WGSL compile errors name the shader file and the line in that file. */
import { assert, assertRejects } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { requireGpu } from "../src/device.ts";
import { compileShader, locate, ShaderCompileError } from "../src/gpu/shader.ts";

Deno.test("locate maps a line of concatenated WGSL back to its file", () => {
  const parts = [{ name: "a.wgsl", source: "1\n2\n3" }, { name: "b.wgsl", source: "1\n2" }];
  assert(JSON.stringify(locate(parts, 2)) === JSON.stringify({ name: "a.wgsl", line: 2 }));
  assert(JSON.stringify(locate(parts, 5)) === JSON.stringify({ name: "b.wgsl", line: 2 }));
});

gpuTest("a WGSL type error names the file and line where it is", async () => {
  const { device } = await requireGpu();
  const parts = [
    { name: "shaders/ok.wgsl", source: "fn one() -> f32 {\n  return 1.0;\n}" },
    {
      name: "shaders/envs/broken.wgsl",
      source: "fn two() -> f32 {\n  let x: u32 = 1.5;\n  return 2.0;\n}",
    },
  ];
  const e = await assertRejects(() => compileShader(device, parts, "test"), ShaderCompileError);
  assert(e.message.includes("shaders/envs/broken.wgsl:2:"), e.message);
  assert(e.message.includes("let x: u32 = 1.5;"), e.message);
  assert(!e.message.includes("\n\n"), "one error, no blank lines");
});

releaseGpuAfterTests();

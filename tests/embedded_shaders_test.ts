/**
 * The single-file bundle's shaders: built-in sources are found by the path a
 * shader URL ends with (in a bundle every module's URL is the bundle's), and
 * shaders not built in are still read from disk.
 */
import { assertEquals } from "./assert.ts";
import { embedShaders, loadShader, SHADERS } from "../src/gpu/shader.ts";

Deno.test("embedded shaders are found by their repository path, others read from disk", async () => {
  const onDisk = await Deno.readTextFile(new URL("vec_env.wgsl", SHADERS));
  embedShaders({ "shaders/random.wgsl": "// built in", "shaders/envs/cartpole.wgsl": "// pole" });
  // A bundle at /tmp/x/grpo.js resolves "../shaders/envs/cartpole.wgsl" beside itself.
  const bundled = await loadShader(new URL("file:///tmp/x/../shaders/envs/cartpole.wgsl"));
  assertEquals(bundled, { name: "shaders/envs/cartpole.wgsl", source: "// pole" });
  assertEquals((await loadShader(new URL("random.wgsl", SHADERS))).source, "// built in");
  assertEquals((await loadShader(new URL("vec_env.wgsl", SHADERS))).source, onDisk);
  // "random.wgsl" under another folder is not "shaders/random.wgsl".
  let error: unknown;
  try {
    await loadShader(new URL("file:///nonexistent/shaders/envs/random.wgsl"));
  } catch (e) {
    error = e;
  }
  assertEquals(error instanceof Deno.errors.NotFound, true, String(error));
});

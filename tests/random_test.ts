/** The counter-based random numbers: the WGSL twin gives the same bits, and the draws look uniform. */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertEquals } from "./assert.ts";
import { hash5, uniform01 } from "../envs/env.ts";
import { requireGpu } from "../src/device.ts";
import { compileShader, computePipeline, loadShader, SHADERS } from "../src/gpu/shader.ts";

gpuTest("hash5 in WGSL equals hash5 in TypeScript", async () => {
  const { device } = await requireGpu();
  const n = 1024;
  const module = await compileShader(device, [
    await loadShader(new URL("random.wgsl", SHADERS)),
    {
      name: "test",
      source: `@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  out[i] = hash5(i * 2654435761u, i, i ^ 0xdeadbeefu, 0xffffffffu - i, 7u);
}`,
    },
  ], "hash test");
  const pipeline = await computePipeline(device, module, "main", "hash test");
  const out = device.createBuffer({
    size: 4 * n,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size: 4 * n,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: out } }],
    }),
  );
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, 4 * n);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const gpu = new Uint32Array(read.getMappedRange().slice(0));
  read.unmap();
  const cpu = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    cpu[i] = hash5(
      Math.imul(i, 2654435761) >>> 0,
      i,
      (i ^ 0xdeadbeef) >>> 0,
      (0xffffffff - i) >>> 0,
      7,
    );
  }
  assertEquals(Array.from(gpu), Array.from(cpu));
});

Deno.test("uniform01 draws are uniform and independent across counters", () => {
  const bins = new Array(16).fill(0);
  const n = 160000;
  let sumProduct = 0;
  for (let i = 0; i < n; i++) {
    const u = uniform01(hash5(1, i, 0, 0, 0));
    const v = uniform01(hash5(1, i, 0, 0, 1));
    assert(u >= 0 && u < 1);
    bins[Math.floor(u * 16)]++;
    sumProduct += (u - 0.5) * (v - 0.5);
  }
  // Chi-square with 15 degrees of freedom; 37.7 is the 0.001 quantile.
  const expected = n / 16;
  const chi2 = bins.reduce((s, b) => s + (b - expected) ** 2 / expected, 0);
  assert(chi2 < 37.7, `chi2 ${chi2}`);
  assert(Math.abs(sumProduct / n) < 0.002, `correlation ${sumProduct / n}`);
});

releaseGpuAfterTests();

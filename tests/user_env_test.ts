/**
 * The user's own environment (`--env ./path/my_env.ts`): the worked example
 * loads, broken modules fail with one clear line, and the env runs in CPU
 * mode and in GPU mode, where it has no kernel and is stepped on the host.
 */
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import { assert, assertAllClose, assertEquals, assertRejects } from "./assert.ts";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadEnvModule, resolveEnv } from "../envs/registry.ts";
import { actionSize, type Env } from "../envs/env.ts";
import { InputError } from "../src/errors.ts";
import { CpuVecEnv, randomAction } from "../src/rl/vec_env.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";

const EXAMPLE = new URL("../examples/my_env.ts", import.meta.url);

Deno.test("the example env loads by path, as --env ./examples/my_env.ts", async () => {
  const path = "./" + relative(Deno.cwd(), fileURLToPath(EXAMPLE));
  const env = await resolveEnv(path);
  assertEquals(env.id, "Parking-v0");
  assertEquals(env.wgsl, undefined);
  assertEquals((await resolveEnv(EXAMPLE.href)).id, "Parking-v0");
});

/** Writes `source` as a module in a temporary directory and tries to load it. */
async function loadBroken(source: string, includes: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "grpo-env-" });
  try {
    const path = `${dir}/broken.ts`;
    await Deno.writeTextFile(path, source);
    const error = await assertRejects(() => loadEnvModule(path), InputError, includes);
    assert(!error.message.includes("\n"), `one line: ${error.message}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const EXAMPLE_IMPORT = JSON.stringify(EXAMPLE.href);

Deno.test("a broken env module is one InputError line naming the problem", async (t) => {
  await t.step("missing file", async () => {
    await assertRejects(
      () => loadEnvModule("./no/such/env.ts"),
      InputError,
      "cannot load env module ./no/such/env.ts",
    );
  });
  await t.step("syntax error", () => loadBroken("export default {", "cannot load env module"));
  await t.step(
    "no env exported",
    () => loadBroken("export const x = 1;", "must export one environment"),
  );
  await t.step("missing observe", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, observe: undefined };`,
      "observe must be a function",
    ));
  await t.step("bad sizes and action space", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, obsSize: 0, actionSpace: { kind: "box", low: [-1], high: [] } };`,
      "obsSize must be a positive integer; actionSpace.low and .high",
    ));
  await t.step("difficulty of an unknown parameter", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, difficulty: { mass: [1, 2] } };`,
      "difficulty.mass is not one of params",
    ));
  await t.step("a held random action of no steps, a curriculum of nothing", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, randomActionHold: 0, difficulty: undefined, preset: { curriculum: true } };`,
      "randomActionHold must be a positive integer; preset.curriculum needs difficulty parameters",
    ));
  await t.step("a stage-1 choice of half an episode", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, preset: { pretrainEvalEpisodes: 2.5 } };`,
      "preset.pretrainEvalEpisodes must be an integer in [0, 1000]",
    ));
  await t.step("a step that throws", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, step() { throw new Error("oops\\nmore"); } };`,
      "step threw on a trial step: oops",
    ));
  await t.step("a NaN observation", () =>
    loadBroken(
      `import e from ${EXAMPLE_IMPORT}; export default { ...e, observe(s, so, o, oo) { o[oo] = NaN; } };`,
      "non-finite observation",
    ));
});

/** Random discrete actions for every env at a step, the same for both modes. */
function actionsAt(env: Env, n: number, t: number): Float32Array<ArrayBuffer> {
  const A = actionSize(env);
  const out = new Float32Array(n * A);
  for (let i = 0; i < n; i++) randomAction(env, 17, i, 0, t, out, i * A);
  return out;
}

Deno.test("the example env runs in CPU mode: episodes end, reset and score", async () => {
  const env = await loadEnvModule(EXAMPLE.href);
  const n = 32;
  const vec = new CpuVecEnv(env, n, { seed: 2 });
  vec.reset();
  vec.stepRandom(450);
  const episodes = vec.stats.count.reduce((x, y) => x + y, 0);
  // Random driving rarely parks within 200 steps, so most episodes are truncated at 200.
  assert(episodes >= 2 * n, `episodes finished: ${episodes}`);
  assert(vec.stats.returnSum.every(Number.isFinite));
  assert(vec.obs.every(Number.isFinite));
  for (let i = 0; i < n; i++) assert(vec.t[i] < env.maxEpisodeSteps);
});

gpuTest("the example env runs in GPU mode, stepped on the host, like CPU mode", async () => {
  const env = await loadEnvModule(EXAMPLE.href);
  const n = 24;
  const cpu = new CpuVecEnv(env, n, { seed: 4 });
  const gpu = await GpuVecEnv.create(env, n, { seed: 4 });
  assertEquals(gpu.onDevice, false);
  cpu.reset();
  await gpu.reset();
  for (let t = 0; t < 5; t++) {
    const actions = actionsAt(env, n, t);
    cpu.step(actions);
    await gpu.step(actions);
  }
  cpu.stepRandom(300);
  await gpu.stepRandom(300);
  const g = await gpu.read();
  assertAllClose(g.state, Float32Array.from(cpu.state), 0, "state");
  assertAllClose(g.obs, cpu.obs, 0, "obs");
  assertAllClose(g.finalObs, cpu.finalObs, 0, "final obs");
  assertEquals(Array.from(g.done), Array.from(cpu.done), "done");
  for (let i = 0; i < n; i++) {
    assertEquals([g.counters[2 * i], g.counters[2 * i + 1]], [cpu.t[i], cpu.episode[i]]);
  }
  assert(cpu.episode.some((e) => e > 0), "some episode ended and reset");
  gpu.close();
});

releaseGpuAfterTests();

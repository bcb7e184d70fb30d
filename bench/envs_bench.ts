/**
 * `deno bench -A bench/envs_bench.ts`: small benchmarks of the env hot paths.
 * The full table (every env, both modes, 1 to 65536 envs) is `bench/envs.ts`.
 */
import { acrobot } from "../envs/acrobot.ts";
import { cartpole } from "../envs/cartpole.ts";
import { type Env, hash5, hashSuffix } from "../envs/env.ts";
import { cos, sin } from "../src/math.ts";
import { pendulum } from "../envs/pendulum.ts";
import { CpuVecEnv } from "../src/rl/vec_env.ts";
import { GpuVecEnv } from "../src/gpu/vec_env.ts";
import { getGpu } from "../src/device.ts";

const xs = Float64Array.from({ length: 1024 }, (_, i) => (i / 1024 - 0.5) * 6);

Deno.bench("Math.sin + Math.cos, 1024 args", { group: "trig", baseline: true }, () => {
  let acc = 0;
  for (const x of xs) acc += Math.sin(x) + Math.cos(x);
  if (Number.isNaN(acc)) throw new Error("unreachable");
});

Deno.bench("src/math.ts sin + cos, 1024 args", { group: "trig" }, () => {
  let acc = 0;
  for (const x of xs) acc += sin(x) + cos(x);
  if (Number.isNaN(acc)) throw new Error("unreachable");
});

Deno.bench("hash5, 1024 draws", { group: "hash", baseline: true }, () => {
  let acc = 0;
  for (let i = 0; i < 1024; i++) acc ^= hash5(1, 2, 3, i, 0);
  if (acc === 0.5) throw new Error("unreachable");
});

Deno.bench("hashSuffix of a cached prefix, 1024 draws", { group: "hash" }, () => {
  let acc = 0;
  for (let i = 0; i < 1024; i++) acc ^= hashSuffix(0x12345678, i, 0);
  if (acc === 0.5) throw new Error("unreachable");
});

for (const env of [cartpole, acrobot, pendulum] as Env[]) {
  const vec = new CpuVecEnv(env, 4096, { seed: 1 });
  vec.reset();
  Deno.bench(`CPU mode ${env.id}: 4096 envs x 1 random step`, { group: "cpu" }, () => {
    vec.stepRandom(1);
  });
}

const gpu = await getGpu();
if (gpu) {
  const vec = await GpuVecEnv.create(cartpole, 65536, { seed: 1 });
  await vec.reset();
  Deno.bench(
    "GPU mode CartPole-v1: 65536 envs x 100 random steps in one dispatch, with readback",
    { group: "gpu", n: 20, warmup: 2 },
    async () => {
      await vec.stepRandom(100);
      await vec.readBuffer(vec.buffers.reward, Float32Array);
    },
  );
}

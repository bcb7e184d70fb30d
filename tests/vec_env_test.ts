/** CPU mode's batch: its cached random-action keys draw exactly what `randomAction` draws. */
import { assertEquals } from "./assert.ts";
import { ENVS } from "../envs/registry.ts";
import { actionSize, hash5, hashPrefix, hashSuffix } from "../envs/env.ts";
import { CpuVecEnv, randomAction } from "../src/rl/vec_env.ts";

Deno.test("hash5 is hashSuffix of hashPrefix", () => {
  for (let i = 0; i < 1000; i++) {
    const c = [i * 2654435761, i, i ^ 0xdeadbeef, 0xffffffff - i, i % 7].map((x) => x >>> 0);
    assertEquals(
      hash5(c[0], c[1], c[2], c[3], c[4]),
      hashSuffix(hashPrefix(c[0], c[1], c[2]), c[3], c[4]),
    );
  }
});

for (const env of ENVS) {
  Deno.test(`${env.id}: stepRandom equals stepping with randomAction, across episodes`, () => {
    const n = 9, steps = 260;
    const fast = new CpuVecEnv(env, n, { seed: 12 });
    const slow = new CpuVecEnv(env, n, { seed: 12 });
    fast.reset();
    slow.reset();
    const A = actionSize(env);
    const actions = new Float32Array(n * A);
    for (let j = 0; j < steps; j++) {
      fast.stepRandom(1);
      for (let i = 0; i < n; i++) {
        randomAction(env, 12, i, slow.episode[i], slow.t[i], actions, i * A);
      }
      slow.step(actions);
    }
    assertEquals(Array.from(fast.episode), Array.from(slow.episode));
    assertEquals(Array.from(fast.state), Array.from(slow.state));
    assertEquals(Array.from(fast.stats.returnSum), Array.from(slow.stats.returnSum));
  });
}

import { cartpole } from "../envs/cartpole.ts";
import { pendulum } from "../envs/pendulum.ts";
import type { Env } from "../envs/env.ts";
import { InputError } from "../src/errors.ts";
import { episodeBounds, loadDataset, saveDataset } from "../src/rl/dataset.ts";
import { collectRandomEpisodes } from "../src/play/collect_dataset.ts";
import { assert, assertAllClose, assertEquals, assertRejects } from "./assert.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";

Deno.test("random episodes: one whole episode per env, in env order", async () => {
  const ds = await collectRandomEpisodes(cartpole, 16, 5, "cpu");
  const { start, length } = episodeBounds(ds);
  assertEquals(start.length, 16);
  assertEquals(ds.obs.length, ds.rewards.length * 4);
  for (let e = 0; e < 16; e++) {
    const last = start[e] + length[e] - 1;
    assertEquals(ds.episode[start[e]], e);
    // CartPole under a random policy always ends by falling, well before 500 steps.
    assertEquals(ds.terminals[last], 1, `episode ${e} ends terminated`);
    for (let t = start[e]; t < last; t++) assertEquals(ds.terminals[t], 0);
    assert(ds.actions.subarray(start[e], last + 1).every((a) => a === 0 || a === 1));
  }
  const again = await collectRandomEpisodes(cartpole, 16, 5, "cpu");
  assertEquals(again.obs, ds.obs, "the seed fixes the data");
});

Deno.test("an env's randomActionHold keeps each random action that many steps", async () => {
  const held: Env = { ...cartpole, randomActionHold: 3 };
  const ds = await collectRandomEpisodes(held, 16, 5, "cpu");
  const fresh = await collectRandomEpisodes(cartpole, 16, 5, "cpu");
  const { start, length } = episodeBounds(ds);
  let changes = 0;
  for (let e = 0; e < 16; e++) {
    for (let t = 1; t < length[e]; t++) {
      const a = ds.actions[start[e] + t], before = ds.actions[start[e] + t - 1];
      if (t % 3 !== 0) assertEquals(a, before, `episode ${e}, step ${t} keeps its action`);
      else if (a !== before) changes++;
    }
  }
  assert(changes > 0, "a new draw every 3 steps");
  // The draws are the fresh policy's draws 0, 1, 2, ...: step 3k acts as step k did.
  const first = episodeBounds(fresh);
  assertEquals(ds.actions[start[0] + 3], fresh.actions[first.start[0] + 1]);
});

Deno.test("datasets round-trip through safetensors and are checked on load", async () => {
  const dir = await Deno.makeTempDir();
  const ds = await collectRandomEpisodes(cartpole, 5, 1, "cpu");
  const path = `${dir}/dataset.safetensors`;
  await saveDataset(path, ds);
  const back = await loadDataset(path, cartpole);
  assertEquals(back.obs, ds.obs);
  assertEquals(back.actions, ds.actions);
  assertEquals(back.rewards, ds.rewards);
  assertEquals(back.terminals, ds.terminals);
  assertEquals(back.episode, ds.episode);
  const other: Env = { ...cartpole, id: "Other-v0" };
  await assertRejects(() => loadDataset(path, other), InputError, "collected on CartPole-v1");
  await assertRejects(() => loadDataset(`${dir}/none`, cartpole), InputError, "does not exist");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a box env with discrete choices is explored and stored through its choice indices", async () => {
  const ds = await collectRandomEpisodes(pendulum, 2, 0, "cpu");
  assertEquals(ds.actionSize, 1);
  assert(ds.actions.every((a) => Number.isInteger(a) && a >= 0 && a < 5));
  assert(new Set(ds.actions).size === 5, "every choice is drawn");
});

gpuTest({
  name: "GPU collection draws the same actions and states as CPU collection",
  async fn() {
    const cpu = await collectRandomEpisodes(cartpole, 8, 3, "cpu");
    const onGpu = await collectRandomEpisodes(cartpole, 8, 3, "gpu");
    assertEquals(onGpu.episode, cpu.episode);
    assertEquals(onGpu.actions, cpu.actions);
    assertAllClose(onGpu.obs, cpu.obs, 1e-4, "obs");
    assertEquals(onGpu.terminals, cpu.terminals);
  },
});

releaseGpuAfterTests();

/** `grpo act` over a real checkpoint's policy, and `grpo eval --render`. */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { flags, tinyStage1 } from "./cli_helpers.ts";
import { tinyPolicy } from "./fixtures.ts";
import { cartpole } from "../envs/cartpole.ts";
import { pendulum } from "../envs/pendulum.ts";
import { main } from "../src/cli/main.ts";
import { dtEpisodicPolicy } from "../src/cli/act.ts";
import { initBackend } from "../src/model/backend.ts";
import { ActServer } from "../src/rl/act_server.ts";

Deno.test("grpo act answers with valid actions, the same for the same episode, per episode", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5);
  const server = new ActServer(dtEpisodicPolicy(cartpole, policy, 100, false));
  const steps = [[0.01, 0.2, -0.03, 0.1], [0.02, 0.4, -0.05, -0.2], [0.03, 0.1, -0.04, 0.3]];
  const play = async (episode?: string) => {
    const actions: number[] = [];
    for (const [t, obs] of steps.entries()) {
      const msg = {
        obs,
        ...(t === 0 ? { reset: true } : { reward: 1 }),
        ...(episode ? { episode } : {}),
      };
      const out = JSON.parse(await server.handle(JSON.stringify(msg)));
      assert(out.action === 0 || out.action === 1, JSON.stringify(out));
      actions.push(out.action);
    }
    return actions;
  };
  const first = await play();
  assertEquals(await play(), first, "a reset starts a fresh context");
  assertEquals(await play("other"), first, "episodes keep separate contexts");
  policy.dispose();
});

Deno.test("grpo act maps a box env's discrete choice to its action vector", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5, { obsDim: 3, actDim: pendulum.discreteActions!.length });
  const server = new ActServer(dtEpisodicPolicy(pendulum, policy, -150, false));
  const out = JSON.parse(await server.handle('{"obs":[1,0,0],"reset":true}'));
  assert(Array.isArray(out.action) && out.action.length === 1, JSON.stringify(out));
  assert(pendulum.discreteActions!.some(([a]) => a === out.action[0]));
  policy.dispose();
});

Deno.test("grpo eval --render writes an animated GIF and an HTML replay", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir();
  const ckpt = await tinyStage1(dir, { seed: 5, name: "p.safetensors" });
  const log = console.log;
  console.log = () => {};
  try {
    for (const name of ["out.gif", "out.html"]) {
      const code = await main([
        "eval",
        ...flags({ checkpoint: ckpt, "num-episodes": 2, render: join(dir, name), device: "cpu" }),
      ]);
      assertEquals(code, 0);
    }
    const badFormat = await main([
      "eval",
      "--checkpoint",
      ckpt,
      "--render",
      join(dir, "out.mp4"),
      "--device",
      "cpu",
    ]);
    assertEquals(badFormat, 2);
  } finally {
    console.log = log;
  }
  const gif = await Deno.readFile(join(dir, "out.gif"));
  assertEquals(new TextDecoder().decode(gif.subarray(0, 6)), "GIF89a");
  const html = await Deno.readTextFile(join(dir, "out.html"));
  assert(html.includes("<canvas") && !/src=["']https?:/.test(html), "self-contained replay page");
  assert(
    !(await Deno.stat(join(dir, "out.mp4")).catch(() => null)),
    "nothing written for a bad format",
  );
  await Deno.remove(dir, { recursive: true });
});

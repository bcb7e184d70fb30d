/**
 * `grpo act` survives what a client sends: episodes past the model's last
 * timestep, many episode keys (bounded memory), non-finite or float32-overflowing
 * values, and a reader that closes our stdout (EPIPE).
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import { tinyStage1 } from "./cli_helpers.ts";
import { tinyPolicy } from "./fixtures.ts";
import { cartpole } from "../envs/cartpole.ts";
import { dtEpisodicPolicy } from "../src/cli/act.ts";
import { initBackend } from "../src/model/backend.ts";
import { ActServer } from "../src/rl/act_server.ts";

const step = (t: number, episode?: unknown, obs = [0.01, 0.2, -0.03, 0.1]) =>
  JSON.stringify({
    obs,
    ...(t === 0 ? { reset: true } : { reward: 1 }),
    ...(episode === undefined ? {} : { episode }),
  });

Deno.test("act serves one episode of 2000 steps, past the model's 500 timesteps", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5);
  const server = new ActServer(dtEpisodicPolicy(cartpole, policy, 100, false));
  for (let t = 0; t < 2000; t++) {
    const out = JSON.parse(await server.handle(step(t)));
    assert(out.action === 0 || out.action === 1, `step ${t}: ${JSON.stringify(out)}`);
  }
  server.closeAll();
  policy.dispose();
});

Deno.test("steps past maxTimestep share the last timestep embedding, as in training", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5, { maxTimestep: 3 });
  // With maxTimestep 3, timesteps 2 and 7 embed the same row, so the same (chunk-start)
  // inputs give the same distribution.
  const logits = (t: number) => {
    const cache = policy.createCache(1);
    const dist = policy.act(cache, {
      returnToGo: tf.tensor1d([10]),
      obs: tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]),
      prevAction: tf.tensor2d([[0]]),
      timestep: tf.tensor1d([t], "int32"),
    });
    cache.dispose();
    return Array.from((dist as { logits: tf.Tensor }).logits.dataSync());
  };
  assertEquals(logits(8), logits(4));
  assert(logits(4).join() !== logits(0).join(), "timestep embeddings differ below the limit");
  policy.dispose();
});

Deno.test("10,000 episode keys keep at most --max-episodes contexts and a bounded tensor count", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5);
  const dt = dtEpisodicPolicy(cartpole, policy, 100, false);
  // Real contexts (each holds a KV cache: 2 tensors per layer, 1 layer here); the forward is
  // skipped so 10,000 keys stay fast (the full policy serves 300 keys below).
  const cheap = { ...dt, act: () => Promise.resolve(0) };
  const before = tf.memory().numTensors;
  for (const [policyUnderTest, keys] of [[cheap, 10_000], [dt, 300]] as const) {
    const server = new ActServer(policyUnderTest, 64);
    let most = 0;
    for (let k = 0; k < keys; k++) {
      const out = JSON.parse(await server.handle(step(k % 3 === 0 ? 0 : 1, `ep${k}`)));
      assertEquals(out.episode, `ep${k}`);
      most = Math.max(most, server.openEpisodes);
    }
    assertEquals(most, 64);
    const held = tf.memory().numTensors - before;
    assert(held <= 64 * 2, `${held} tensors held by 64 open episodes`);
    // Closing frees the context; closing again says it was not open.
    const last = `ep${keys - 1}`;
    const close = JSON.stringify({ episode: last, close: true });
    assertEquals(await server.handle(close), `{"closed":true,"episode":"${last}"}`);
    assertEquals(await server.handle(close), `{"closed":false,"episode":"${last}"}`);
    assertEquals(server.openEpisodes, 63);
    server.closeAll();
    assertEquals(tf.memory().numTensors, before);
  }
  policy.dispose();
});

Deno.test("act rejects observations and rewards float32 cannot hold, naming the field, and the episode stays usable", async () => {
  await initBackend("cpu");
  const policy = tinyPolicy(5);
  const server = new ActServer(dtEpisodicPolicy(cartpole, policy, 100, false));
  const reference = new ActServer(dtEpisodicPolicy(cartpole, policy, 100, false));
  const obs = [[0.01, 0.2, -0.03, 0.1], [0.02, 0.4, -0.05, -0.2], [0.03, 0.1, -0.04, 0.3]];
  const answers: string[] = [];
  for (const [t, o] of obs.entries()) {
    answers.push(await reference.handle(step(t, undefined, o)));
    if (t === 1) {
      for (
        const bad of [
          '{"obs":[0,0,0,1e308],"reward":1}',
          '{"obs":[0,0,0,-1e39],"reward":1}',
          '{"obs":[0,0,0,0],"reward":1e39}',
          '{"obs":[0,0,0,0],"reward":"NaN"}',
        ]
      ) {
        const out = JSON.parse(await server.handle(bad));
        assertEquals(typeof out.error, "string", bad);
      }
      const named = JSON.parse(await server.handle('{"obs":[0,0,0,1e308],"reward":1}'));
      assert(named.error.includes('"obs"[3]'), named.error);
    }
    assertEquals(await server.handle(step(t, undefined, o)), answers[t], `step ${t}`);
  }
  // A float32 reward that would take the return-to-go past float32 is refused too.
  const low = new ActServer(dtEpisodicPolicy(cartpole, policy, -3e38, false));
  const first = await low.handle(step(0));
  assert(JSON.parse(await low.handle('{"obs":[0,0,0,0],"reward":3e38}')).error.includes("float32"));
  assertEquals(await low.handle(step(0)), first, "the episode starts over as before");
  low.closeAll();
  server.closeAll();
  reference.closeAll();
  policy.dispose();
});

Deno.test("grpo act exits quietly (code 0, no trace) when its stdout reader goes away", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir();
  const ckpt = await tinyStage1(dir, { seed: 5, name: "p.safetensors" });
  const main = new URL("../src/cli/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "act", "--checkpoint", ckpt, "--device", "cpu"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  await writer.write(new TextEncoder().encode(step(0) + "\n"));
  const first = await reader.read();
  assert(new TextDecoder().decode(first.value).includes('"action"'));
  await reader.cancel(); // the reader goes away: further writes hit EPIPE
  // Keep sending until the server stops reading (it exits on the broken pipe).
  try {
    for (let t = 1; t < 10_000; t++) await writer.write(new TextEncoder().encode(step(t) + "\n"));
    await writer.close();
  } catch {
    // stdin closed by the exiting server
  }
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  assertEquals(stderr.trim(), "", "nothing on stderr");
  assertEquals(status.code, 0);
  await Deno.remove(dir, { recursive: true });
});

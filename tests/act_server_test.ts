/** The `grpo act` JSON-lines protocol: per-episode context, reward updates, malformed lines. */
import { assertEquals } from "./assert.ts";
import { ActServer, type EpisodicPolicy } from "../src/rl/act_server.ts";

/** Remembers what it saw, so the tests can check the context each episode kept. */
interface Seen {
  steps: number;
  rewards: number[];
}

const policy: EpisodicPolicy<Seen> = {
  obsSize: 2,
  begin: () => ({ steps: 0, rewards: [] }),
  act(ctx, obs, reward) {
    ctx.steps++;
    if (reward !== undefined) ctx.rewards.push(reward);
    // The action depends on the observation and on the kept context.
    return Promise.resolve(obs[0] > 0 ? ctx.steps : -ctx.steps);
  },
};

Deno.test("act server answers each observation and keeps context per episode", async () => {
  const server = new ActServer(policy);
  assertEquals(await server.handle('{"obs":[1,0],"reset":true}'), '{"action":1}');
  assertEquals(await server.handle('{"obs":[1,0],"reward":1}'), '{"action":2}');
  assertEquals(
    await server.handle('{"obs":[-1,0],"reward":1,"episode":"b"}'),
    '{"action":-1,"episode":"b"}',
  );
  assertEquals(await server.handle('{"obs":[1,0],"reward":1}'), '{"action":3}');
  assertEquals(await server.handle('{"obs":[1,0],"reset":true}'), '{"action":1}');
});

Deno.test("act server answers malformed lines with an error line and keeps serving", async () => {
  const server = new ActServer(policy);
  const bad = [
    "not json",
    "[1,2]",
    '{"obs":[1]}',
    '{"obs":[1,"x"]}',
    '{"obs":[1,2],"reward":"a"}',
    '{"obs":[1,2],"reset":1}',
  ];
  for (const line of bad) {
    const out = JSON.parse(await server.handle(line));
    assertEquals(typeof out.error, "string", line);
  }
  assertEquals(await server.handle('{"obs":[1,0],"reset":true}'), '{"action":1}');
});

Deno.test("act server streams lines, including a last line without newline", async () => {
  const server = new ActServer(policy);
  const input = ReadableStream.from([
    new TextEncoder().encode('{"obs":[1,0],"reset":true}\n{"obs":'),
    new TextEncoder().encode('[1,0]}\n\nbad\n{"obs":[1,0]}'),
  ]);
  const chunks: Uint8Array[] = [];
  await server.serve(input, new WritableStream({ write: (c) => void chunks.push(c) }));
  const lines = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))).trim()
    .split("\n");
  assertEquals(lines.length, 4);
  assertEquals(lines[0], '{"action":1}');
  assertEquals(lines[1], '{"action":2}');
  assertEquals(typeof JSON.parse(lines[2]).error, "string");
  assertEquals(lines[3], '{"action":3}');
});

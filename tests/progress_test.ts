/** Progress lines: plain rate-limited lines off a terminal, in-place redraws on one. */
import { assert, assertEquals } from "./assert.ts";
import { formatDuration, formatRate, ProgressLine } from "../src/cli/progress.ts";

function fake(isTty: boolean, minInterval = 1000) {
  let t = 0;
  const out: string[] = [];
  const line = new ProgressLine({ write: (s) => out.push(s), isTty, minInterval, now: () => t });
  return { line, out, advance: (ms: number) => (t += ms) };
}

Deno.test("off a terminal: one plain line per update, rate-limited, the final always shown", () => {
  const { line, out, advance } = fake(false);
  for (let i = 1; i <= 10; i++) {
    advance(400);
    line.update(`iteration ${i}/10`, i === 10);
  }
  line.done();
  // Shown at t = 400 (first), 1600, 2800 (1 s apart at least), and 4000 (final).
  assertEquals(out.length, 4);
  assert(out.every((s) => s.endsWith("\n") && !s.includes("\r") && !s.includes("\x1b")));
  assertEquals(out, [
    "iteration 1/10\n",
    "iteration 4/10\n",
    "iteration 7/10\n",
    "iteration 10/10\n",
  ]);
});

Deno.test("off a terminal: done() shows a held-back last update, once", () => {
  const { line, out, advance } = fake(false, 60_000);
  advance(1000);
  line.update("iteration 1/10");
  advance(1000);
  line.update("iteration 2/10");
  assertEquals(out, ["iteration 1/10\n"]);
  line.done();
  assertEquals(out, ["iteration 1/10\n", "iteration 2/10\n"]);
  line.done();
  assertEquals(out.length, 2, "nothing more to show");
});

Deno.test("on a terminal: redrawn in place, the final kept with a newline", () => {
  const { line, out, advance } = fake(true);
  for (let i = 1; i <= 10; i++) {
    advance(200);
    line.update(`iteration ${i}/10`, i === 10);
  }
  line.done();
  assertEquals(out.length, 10);
  assert(out.every((s) => s.startsWith("\r") && s.includes("\x1b[K")));
  assert(out[9].endsWith("\n") && out.slice(0, 9).every((s) => !s.endsWith("\n")));
  // A line left live is ended by done().
  const raw: string[] = [];
  const live = new ProgressLine({ isTty: true, write: (s) => raw.push(s) });
  live.update("epoch 1");
  live.done();
  assertEquals(raw, ["\repoch 1\x1b[K", "\n"]);
});

Deno.test("durations and rates are short", () => {
  assertEquals(
    [formatDuration(42.4), formatDuration(185), formatDuration(3720), formatDuration(NaN)],
    ["42.4s", "3m05s", "1h02m", "?"],
  );
  // Rounding carries into the next unit instead of printing 60.
  assertEquals(
    [formatDuration(59.97), formatDuration(119.9), formatDuration(3599.7)],
    ["1m00s", "2m00s", "1h00m"],
  );
  assertEquals([formatRate(950), formatRate(12345), formatRate(4_560_000)], [
    "950",
    "12.3k",
    "4.6M",
  ]);
});

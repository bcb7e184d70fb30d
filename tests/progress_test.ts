/** The progress line: plain rate-limited lines off a terminal, in-place redraws on one. */
import { assert, assertEquals } from "./assert.ts";
import { formatDuration, formatRate, ProgressLine } from "../src/cli/progress.ts";

function fake(isTty: boolean, minIntervalMs = 1000) {
  let t = 0;
  const out: string[] = [];
  const line = new ProgressLine({
    total: 10,
    write: (s) => out.push(s),
    isTty,
    minIntervalMs,
    minRedrawMs: 100,
    now: () => t,
  });
  return { line, out, advance: (ms: number) => (t += ms) };
}

Deno.test("off a terminal: one plain line per update, rate-limited, first and last always shown", () => {
  const { line, out, advance } = fake(false);
  for (let i = 1; i <= 10; i++) {
    advance(400);
    line.update({ iteration: i, envSteps: i * 1024, meanReward: 10 * i });
  }
  line.done();
  // Shown at t = 400 (first), 1600, 2800 (1 s apart at least), and 4000 (last).
  assertEquals(out.length, 4);
  assert(out.every((s) => s.endsWith("\n") && !s.includes("\r") && !s.includes("\x1b")));
  assertEquals(
    out[0],
    "iteration 1/10 | 2560 steps/s | mean reward 10.00 | ETA 4s\n",
  );
  assertEquals(out[3], "iteration 10/10 | 2560 steps/s | mean reward 100.00 | done in 4s\n");
});

Deno.test("off a terminal: done() shows a rate-limited last update; unknown reward is '-'", () => {
  const { line, out, advance } = fake(false, 60_000);
  advance(1000);
  line.update({ iteration: 1, envSteps: 100, meanReward: NaN });
  advance(1000);
  line.update({ iteration: 2, envSteps: 200, extra: "loss 0.10" });
  assertEquals(out.length, 1);
  assert(out[0].includes("mean reward -"), out[0]);
  line.done();
  assertEquals(out.length, 2);
  assertEquals(out[1], "iteration 2/10 | 100 steps/s | mean reward - | ETA 8s | loss 0.10\n");
  line.done();
  assertEquals(out.length, 2, "nothing more to show");
});

Deno.test("on a terminal: redrawn in place, newline at the end", () => {
  const { line, out, advance } = fake(true);
  for (let i = 1; i <= 10; i++) {
    advance(200);
    line.update({ iteration: i, envSteps: i * 10, meanReward: 1 });
  }
  line.done();
  assertEquals(out.length, 11);
  assert(out.slice(0, 10).every((s) => s.startsWith("\r") && s.endsWith("\x1b[K")));
  assertEquals(out[10], "\n");
});

Deno.test("durations and rates are short", () => {
  assertEquals(
    [formatDuration(42.4), formatDuration(185), formatDuration(3720), formatDuration(NaN)],
    ["42s", "3m05s", "1h02m", "?"],
  );
  assertEquals([formatRate(950), formatRate(12345), formatRate(4_560_000)], [
    "950",
    "12.3k",
    "4.56M",
  ]);
});

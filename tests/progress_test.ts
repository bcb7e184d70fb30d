/** Progress lines: plain rate-limited lines off a terminal, in-place redraws on one. */
import { assert, assertEquals } from "./assert.ts";
import {
  formatDuration,
  formatRate,
  IterationProgress,
  ProgressLine,
} from "../src/cli/progress.ts";

function fake(isTty: boolean, minInterval = 1000) {
  let t = 0;
  const out: string[] = [];
  const progress = new IterationProgress({
    total: 10,
    write: (s) => out.push(s),
    isTty,
    minInterval,
    now: () => t,
  });
  return { progress, out, advance: (ms: number) => (t += ms) };
}

Deno.test("off a terminal: one plain line per update, rate-limited, the last always shown", () => {
  const { progress, out, advance } = fake(false);
  for (let i = 1; i <= 10; i++) {
    advance(400);
    progress.update({ iteration: i, envSteps: i * 1024, meanReward: 10 * i });
  }
  progress.done();
  // Shown at t = 400 (first), 1600, 2800 (1 s apart at least), and 4000 (last).
  assertEquals(out.length, 4);
  assert(out.every((s) => s.endsWith("\n") && !s.includes("\r") && !s.includes("\x1b")));
  assertEquals(out[0], "iteration 1/10 | 2560 steps/s | mean reward 10.00 | ETA 3.6s\n");
  assertEquals(out[3], "iteration 10/10 | 2560 steps/s | mean reward 100.00 | done in 4.0s\n");
});

Deno.test("off a terminal: done() shows a held-back last update; unknown reward is '-'", () => {
  const { progress, out, advance } = fake(false, 60_000);
  advance(1000);
  progress.update({ iteration: 1, envSteps: 100, meanReward: NaN });
  advance(1000);
  progress.update({ iteration: 2, envSteps: 200, extra: "loss 0.10" });
  assertEquals(out.length, 1);
  assert(out[0].includes("mean reward -"), out[0]);
  progress.done();
  assertEquals(out.length, 2);
  assertEquals(out[1], "iteration 2/10 | 100 steps/s | mean reward - | ETA 8.0s | loss 0.10\n");
  progress.done();
  assertEquals(out.length, 2, "nothing more to show");
});

Deno.test("a resumed run's rate and ETA count from where it resumed", () => {
  let t = 0;
  const p = new IterationProgress({
    total: 100,
    startIteration: 50,
    startEnvSteps: 50_000,
    write: () => {},
    isTty: false,
    now: () => t,
  });
  t = 10_000;
  assertEquals(
    p.format({ iteration: 60, envSteps: 60_000, meanReward: 1 }),
    "iteration 60/100 | 1000 steps/s | mean reward 1.00 | ETA 40.0s",
  );
});

Deno.test("on a terminal: redrawn in place, the last kept with a newline", () => {
  const { progress, out, advance } = fake(true);
  for (let i = 1; i <= 10; i++) {
    advance(200);
    progress.update({ iteration: i, envSteps: i * 10, meanReward: 1 });
  }
  progress.done();
  assertEquals(out.length, 10);
  assert(out.every((s) => s.startsWith("\r") && s.includes("\x1b[K")));
  assert(out[9].endsWith("\n") && out.slice(0, 9).every((s) => !s.endsWith("\n")));
  // A line left live is ended by done().
  const raw: string[] = [];
  const line = new ProgressLine({ isTty: true, write: (s) => raw.push(s) });
  line.update("epoch 1");
  line.done();
  assertEquals(raw, ["\repoch 1\x1b[K", "\n"]);
});

Deno.test("durations and rates are short", () => {
  assertEquals(
    [formatDuration(42.4), formatDuration(185), formatDuration(3720), formatDuration(NaN)],
    ["42.4s", "3m05s", "1h02m", "?"],
  );
  assertEquals([formatRate(950), formatRate(12345), formatRate(4_560_000)], [
    "950",
    "12.3k",
    "4.56M",
  ]);
});

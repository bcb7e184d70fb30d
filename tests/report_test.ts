/**
 * `grpo report`: metrics.jsonl to one self-contained HTML page with an SVG
 * chart per metric; checked structurally, then rendered in headless
 * Chromium (ignored when chromium is not installed).
 */
import { join } from "node:path";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { CHROMIUM, probePage } from "./chromium.ts";
import { InputError } from "../src/errors.ts";
import {
  formatNumber,
  niceTicks,
  parseMetrics,
  readMetrics,
  reportHtml,
  smooth,
  writeReport,
} from "../src/io/report.ts";
import { main } from "../src/cli/main.ts";

/** A small synthetic run: 30 iterations, a nested field, a truncated last line. */
function syntheticMetrics(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 30; i++) {
    lines.push(JSON.stringify({
      iteration: i,
      step: i * 512,
      wall_time: 1.7e9 + i,
      time: i * 0.5,
      mean_reward: 20 + i * 15,
      policy_loss: Math.sin(i) * 0.01,
      value_loss: 100 / i,
      entropy: 0.69 - i * 0.01,
      lr: { policy: 3e-5 },
      note: "text is not a metric",
      ...(i % 10 === 0 ? { eval_return: i * 10 } : {}),
    }));
  }
  return lines.join("\n") + '\n{"iteration": 31, "mean_rew';
}

const EXPECTED_METRICS = [
  "mean_reward",
  "policy_loss",
  "value_loss",
  "entropy",
  "step",
  "lr/policy",
  "eval_return",
];

async function runDir(text = syntheticMetrics()): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "grpo-report-" });
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), text);
  return dir;
}

Deno.test("metrics.jsonl: x is the iteration, other numbers are metrics, a cut last line is skipped", () => {
  const run = parseMetrics(syntheticMetrics(), "m.jsonl");
  assertEquals(run.xField, "iteration");
  assertEquals([...run.series.keys()], EXPECTED_METRICS);
  assertEquals(run.rows, 30);
  assert(run.skippedLastLine);
  assertEquals(run.series.get("eval_return")!.x, [10, 20, 30]);
  assertEquals(run.series.get("value_loss")!.y[3], 25);
  // Without iteration, step is the x axis; without either, the row number.
  assertEquals(parseMetrics('{"step": 5, "a": 1}\n{"step": 9, "a": 2}', "m").series.get("a")!.x, [
    5,
    9,
  ]);
  // Python's json.dumps writes bare NaN and Infinity: gaps, not errors.
  const py = parseMetrics(
    '{"step": 1, "a": NaN, "b": 2}\n{"step": 2, "a": 3, "b": -Infinity}',
    "m",
  );
  assertEquals([py.series.get("a")!.x, py.series.get("b")!.x], [[2], [1]]);
  const byRow = parseMetrics('{"a": 1}\n\n{"a": 2}\n', "m");
  assertEquals([byRow.xField, byRow.series.get("a")!.x], ["row", [1, 2]]);
});

Deno.test("bad metrics input is one InputError line naming the problem", async () => {
  await assertRejects(() => readMetrics("/nonexistent/grpo-run"), InputError, "does not exist");
  const empty = await Deno.makeTempDir();
  await assertRejects(() => readMetrics(empty), InputError, "has no metrics.jsonl");
  await assertRejects(
    () =>
      readMetrics(empty).catch(() => parseMetrics('{"iteration": 1, "name": "x"}\n', "m.jsonl")),
    InputError,
    "no rows with numeric metrics",
  );
  await assertRejects(
    () =>
      Promise.resolve(
        parseMetrics('{"iteration": 1, "a": 2}\n{oops\n{"iteration": 2, "a": 3}', "m.jsonl"),
      ),
    InputError,
    "m.jsonl line 2 is not valid JSON",
  );
  await assertRejects(
    () => Promise.resolve(parseMetrics("[1, 2]\n{}", "m.jsonl")),
    InputError,
    "line 1 is not a JSON object",
  );
  await Deno.remove(empty, { recursive: true });
});

Deno.test("ticks are round numbers covering the range; labels are short", () => {
  assertEquals(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assertEquals(niceTicks(3, 97, 5), [20, 40, 60, 80]);
  assertEquals(niceTicks(-0.05, 0.06, 5), [-0.04, -0.02, 0, 0.02, 0.04, 0.06]);
  assertEquals(niceTicks(1, 100, 6), [20, 40, 60, 80, 100]);
  assertEquals([
    formatNumber(102400),
    formatNumber(3e-5),
    formatNumber(-0.01317),
    formatNumber(2.5e6),
  ], [
    "102.4k",
    "3e-5",
    "-0.01317",
    "2.5M",
  ]);
  // TensorBoard's debiased EMA starts at the first value and follows a constant exactly.
  assertEquals(smooth([4, 4, 4], 0.6).map((v) => Math.round(v * 1e9) / 1e9), [4, 4, 4]);
  assertAlmostEquals(smooth([0, 10], 0.5)[1], 10 * 0.5 / 0.75, 1e-12);
});

Deno.test("the report page has one titled SVG chart per metric and needs no network", () => {
  const html = reportHtml([parseMetrics(syntheticMetrics(), "m.jsonl", "run")], {
    generatedAt: new Date(0),
  });
  const svgs = [...html.matchAll(/<svg class="chart"[^>]*data-metric="([^"]+)"/g)].map((m) => m[1]);
  assertEquals(svgs, EXPECTED_METRICS);
  assertEquals((html.match(/<svg/g) ?? []).length, EXPECTED_METRICS.length);
  for (const m of EXPECTED_METRICS) {
    assert(html.includes(`<text class="title" x="62" y="18">${m}</text>`), `title of ${m}`);
  }
  // A single external reference would break offline viewing.
  assert(!/(src|href)="(https?:)?\/\//.test(html), "no external resources");
  assert(!html.includes("<script"), "no scripts needed");
  // eval_return has 3 points, all others 30; smoothed + raw lines for each.
  assertEquals((html.match(/<polyline class="line"/g) ?? []).length, EXPECTED_METRICS.length);
  assert(html.includes("an incomplete last line was skipped"));
});

Deno.test("grpo report LOGDIR writes LOGDIR/report.html; bad input exits 2", async () => {
  const dir = await runDir();
  assertEquals(await main(["report", dir]), 0);
  const html = await Deno.readTextFile(join(dir, "report.html"));
  assertEquals((html.match(/<svg class="chart"/g) ?? []).length, EXPECTED_METRICS.length);
  assertEquals(
    await main(["report", dir, "--output", join(dir, "sub", "r.html"), "--smoothing", "0"]),
    0,
  );
  assert(!(await Deno.readTextFile(join(dir, "sub", "r.html"))).includes('class="raw"'));
  assertEquals(await main(["report", join(dir, "missing")]), 2);
  assertEquals(await main(["report", dir, "--smoothing", "1.5"]), 2);
  assertEquals(await main(["report", dir, dir]), 2);
  assertEquals(await main(["report"]), 2);
  // Nothing half-written beside the report.
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "metrics.jsonl",
    "report.html",
    "sub",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("several runs share each chart, one colour per run", async () => {
  const a = await runDir();
  const b = await runDir(
    '{"iteration": 1, "mean_reward": 5}\n{"iteration": 2, "mean_reward": 9}\n',
  );
  const out = join(a, "compare.html");
  const { metrics } = await writeReport([a, b], { output: out });
  assertEquals(metrics, EXPECTED_METRICS.length);
  const html = await Deno.readTextFile(out);
  const chart = html.slice(html.indexOf('data-metric="mean_reward"'), html.indexOf("</svg>"));
  assertEquals((chart.match(/<polyline class="line"/g) ?? []).length, 2);
  for (const d of [a, b]) await Deno.remove(d, { recursive: true });
});

Deno.test({
  name: "in headless Chromium the report renders every chart with its title, axes and line",
  ignore: !CHROMIUM,
  async fn() {
    const dir = await runDir();
    await writeReport([dir], {});
    const result = await probePage(
      `file://${join(dir, "report.html")}`,
      `return {
        resources: win.performance.getEntriesByType("resource").map((r) => r.name),
        charts: [...doc.querySelectorAll("svg.chart")].map((svg) => {
          const box = svg.getBoundingClientRect();
          const line = svg.querySelector("polyline.line") || svg.querySelector("circle.point");
          const lb = line.getBBox();
          const title = svg.querySelector("text.title");
          return {
            metric: svg.dataset.metric,
            width: box.width, height: box.height,
            title: title.textContent, titleWidth: title.getBBox().width,
            ticks: svg.querySelectorAll("text.tick").length,
            lineLength: line.getTotalLength ? line.getTotalLength() : 0,
            line: [lb.x, lb.y, lb.width, lb.height],
            stroke: getComputedStyle(line).stroke,
          };
        }),
      };`,
    ) as {
      resources: string[];
      charts: {
        metric: string;
        width: number;
        height: number;
        title: string;
        titleWidth: number;
        ticks: number;
        lineLength: number;
        line: number[];
        stroke: string;
      }[];
    };
    assertEquals(result.resources, [], "the page loads nothing");
    assertEquals(result.charts.map((c) => c.metric), EXPECTED_METRICS);
    for (const c of result.charts) {
      assertEquals([c.width, c.height], [460, 250], c.metric);
      assertEquals(c.title, c.metric);
      assert(c.titleWidth > 20, `${c.metric}: title drawn (${c.titleWidth} wide)`);
      assert(c.ticks >= 6, `${c.metric}: ${c.ticks} tick labels`);
      assert(c.lineLength > 100, `${c.metric}: line of length ${c.lineLength}`);
      // The line stays inside the plot area (62..444 x 34..212).
      const [x, y, w, h] = c.line;
      assert(x >= 61 && x + w <= 445 && y >= 33 && y + h <= 213, `${c.metric}: ${c.line}`);
      assertEquals(c.stroke, "rgb(31, 119, 180)");
    }
    // A rising metric's line spans the whole plot from lower left to upper right.
    const reward = result.charts[0];
    assertAlmostEquals(reward.line[2], 444 - 62, 1.5);
    await Deno.remove(dir, { recursive: true });
  },
});

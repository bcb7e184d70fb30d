/**
 * `grpo report`: one self-contained HTML page with an SVG line chart per
 * logged metric, read from `LOGDIR/metrics.jsonl`, so a run can be judged
 * without TensorBoard (and offline: no scripts, styles or fonts fetched).
 *
 * Each line of metrics.jsonl is a JSON object. The x axis is its
 * `iteration` field, else its `step` field, else the row number; every
 * other numeric field (nested objects flattened as `a/b`) is a metric,
 * except `wall_time` and `time`. A truncated last line (a run still
 * writing, or killed mid-write) is skipped; a bad line before it is an
 * error naming the line.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import { InputError } from "../errors.ts";
import { writeTextAtomic } from "./atomic.ts";
import { maxOf, minOf } from "../range.ts";

/** One metric's points, in file order. */
export interface Series {
  x: number[];
  y: number[];
}

/** The metrics of one run. */
export interface RunMetrics {
  /** A label for the run (its directory's name). */
  name: string;
  /** The file read. */
  source: string;
  /** The field used as the x axis, or "row" for the line number. */
  xField: string;
  /** Metrics in order of first appearance. */
  series: Map<string, Series>;
  /** Rows with at least one metric. */
  rows: number;
  /** Whether an unparseable last line was skipped. */
  skippedLastLine: boolean;
}

/** Fields that are never plotted as metrics. */
export const NOT_METRICS: ReadonlySet<string> = new Set(["wall_time", "time"]);
/** The spec's key metrics (docs/spec.md), charted first when present. */
const KEY_METRICS = ["mean_reward", "policy_loss", "value_loss", "entropy"];

function flatten(obj: Record<string, unknown>, prefix: string, out: Map<string, number>): void {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}/${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) out.set(name, v);
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      flatten(v as Record<string, unknown>, name, out);
    }
  }
}

/** JSON, also with Python's bare NaN / Infinity (written by `json.dumps`), read as gaps. */
function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    const lenient = line.replace(/(?<=[:,\[]\s*)-?(NaN|Infinity)(?=\s*[,}\]])/g, "null");
    if (lenient === line) throw e;
    return JSON.parse(lenient);
  }
}

/** Parses metrics.jsonl text; `source` names the file in errors. */
export function parseMetrics(text: string, source: string, name = source): RunMetrics {
  const lines = text.split("\n");
  while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop();
  const rows: Map<string, number>[] = [];
  let skippedLastLine = false;
  lines.forEach((line, k) => {
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = parseLine(line);
    } catch (e) {
      if (k === lines.length - 1) {
        skippedLastLine = true;
        return;
      }
      throw new InputError(
        `${source} line ${k + 1} is not valid JSON (${
          (e as Error).message.split("\n")[0]
        }); fix or delete that line`,
      );
    }
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
      throw new InputError(`${source} line ${k + 1} is not a JSON object; each line must be one`);
    }
    const row = new Map<string, number>();
    flatten(obj as Record<string, unknown>, "", row);
    rows.push(row);
  });
  const xField = rows.some((r) => r.has("iteration"))
    ? "iteration"
    : rows.some((r) => r.has("step"))
    ? "step"
    : "row";
  const series = new Map<string, Series>();
  let used = 0;
  rows.forEach((row, k) => {
    const x = xField === "row" ? k + 1 : row.get(xField);
    if (x === undefined) return;
    let any = false;
    for (const [key, y] of row) {
      if (key === xField || NOT_METRICS.has(key)) continue;
      let s = series.get(key);
      if (!s) series.set(key, s = { x: [], y: [] });
      s.x.push(x);
      s.y.push(y);
      any = true;
    }
    if (any) used++;
  });
  if (series.size === 0) {
    throw new InputError(
      `${source} has no rows with numeric metrics; expected lines like {"iteration": 1, "mean_reward": 21.5}`,
    );
  }
  const ordered = new Map<string, Series>();
  for (const key of KEY_METRICS) if (series.has(key)) ordered.set(key, series.get(key)!);
  for (const [key, s] of series) if (!ordered.has(key)) ordered.set(key, s);
  return { name, source, xField, series: ordered, rows: used, skippedLastLine };
}

/** Reads `LOGDIR/metrics.jsonl` (or a .jsonl file given directly). */
export async function readMetrics(logdir: string): Promise<RunMetrics> {
  let stat;
  try {
    stat = await Deno.stat(logdir);
  } catch {
    throw new InputError(
      `log directory ${logdir} does not exist; give the directory a training run logged to (it holds metrics.jsonl)`,
    );
  }
  const file = stat.isDirectory ? join(logdir, "metrics.jsonl") : logdir;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new InputError(
      `${logdir} has no metrics.jsonl; point grpo report at the log directory of a grpo train run`,
    );
  }
  const name = stat.isDirectory
    ? basename(resolve(logdir))
    : basename(resolve(logdir, "..")) || basename(logdir);
  return parseMetrics(text, file, name);
}

/** TensorBoard's smoothing: an exponential moving average, debiased at the start. */
export function smooth(y: readonly number[], weight: number): number[] {
  if (weight <= 0) return [...y];
  const out: number[] = [];
  let last = 0;
  y.forEach((v, k) => {
    last = last * weight + (1 - weight) * v;
    out.push(last / (1 - weight ** (k + 1)));
  });
  return out;
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The round step whose tick count is closest to the one asked for.
  const ticksWith = (s: number) => Math.floor(hi / s + 1e-9) - Math.ceil(lo / s - 1e-9) + 1;
  const step = [1, 2, 5, 10].map((m) => m * mag).reduce((best, s) =>
    Math.abs(ticksWith(s) - count) < Math.abs(ticksWith(best) - count) ? s : best
  );
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** A short label for a number: 1.5k, 2.3M, 0.0012, 1.2e-7. */
export function formatNumber(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-4) return v.toExponential(2).replace(/\.?0+e/, "e");
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(4)));
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * At most about `max` points of a line, keeping each bucket's first, lowest,
 * highest and last point so spikes survive.
 */
function decimate(x: number[], y: number[], max: number): [number[], number[]] {
  if (x.length <= max) return [x, y];
  const buckets = Math.max(1, Math.floor(max / 4));
  const size = x.length / buckets;
  const ox: number[] = [], oy: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const a = Math.floor(b * size), e = Math.min(x.length, Math.floor((b + 1) * size));
    let lo = a, hi = a;
    for (let k = a; k < e; k++) {
      if (y[k] < y[lo]) lo = k;
      if (y[k] > y[hi]) hi = k;
    }
    for (const k of [...new Set([a, lo, hi, e - 1])].sort((p, q) => p - q)) {
      ox.push(x[k]);
      oy.push(y[k]);
    }
  }
  return [ox, oy];
}

/** Line colours for runs (the Tableau 10). */
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Chart geometry in SVG user units. */
const W = 460, H = 250, ML = 62, MR = 16, MT = 34, MB = 38;

/** The SVG chart of one metric across runs. */
export function metricChart(
  metric: string,
  runs: readonly { name: string; xField: string; series: Series | undefined }[],
  smoothing: number,
): string {
  const present = runs.map((r, k) => ({ ...r, color: COLORS[k % COLORS.length] }))
    .filter((r) => r.series && r.series.x.length > 0);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const r of present) {
    for (const v of r.series!.x) [x0, x1] = [Math.min(x0, v), Math.max(x1, v)];
    for (const v of r.series!.y) [y0, y1] = [Math.min(y0, v), Math.max(y1, v)];
  }
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) {
    const pad = Math.abs(y0) * 0.1 || 1;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const yTicks = niceTicks(y0, y1, 5);
  // Widen the y range to whole ticks so the grid frames the data.
  const step = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 0;
  if (step > 0) {
    y0 = Math.min(y0, Math.floor(y0 / step + 1e-9) * step);
    y1 = Math.max(y1, Math.ceil(y1 / step - 1e-9) * step);
  }
  const xTicks = niceTicks(x0, x1, 6);
  const sx = (v: number) => ML + ((v - x0) / (x1 - x0)) * (W - ML - MR);
  const sy = (v: number) => H - MB - ((v - y0) / (y1 - y0)) * (H - MT - MB);
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" data-metric="${
      escapeXml(metric)
    }">`,
    `<title>${escapeXml(metric)}</title>`,
    `<text class="title" x="${ML}" y="18">${escapeXml(metric)}</text>`,
  );
  for (const t of niceTicks(y0, y1, 5)) {
    parts.push(
      `<line class="grid" x1="${ML}" x2="${W - MR}" y1="${f(sy(t))}" y2="${f(sy(t))}"/>`,
      `<text class="tick" x="${ML - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${
        formatNumber(t)
      }</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<line class="grid" x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${MT}" y2="${H - MB}"/>`,
      `<text class="tick" x="${f(sx(t))}" y="${H - MB + 15}" text-anchor="middle">${
        formatNumber(t)
      }</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${ML}" x2="${ML}" y1="${MT}" y2="${H - MB}"/>`,
    `<line class="axis" x1="${ML}" x2="${W - MR}" y1="${H - MB}" y2="${H - MB}"/>`,
    `<text class="label" x="${(ML + W - MR) / 2}" y="${H - 6}" text-anchor="middle">${
      escapeXml(present[0]?.xField ?? "")
    }</text>`,
  );
  for (const r of present) {
    const s = r.series!;
    const pts = (xs: number[], ys: number[]) =>
      xs.map((x, k) => `${f(sx(x))},${f(sy(ys[k]))}`).join(" ");
    if (s.x.length === 1) {
      parts.push(
        `<circle class="point" cx="${f(sx(s.x[0]))}" cy="${
          f(sy(s.y[0]))
        }" r="3" fill="${r.color}"/>`,
      );
      continue;
    }
    const [dx, dy] = decimate(s.x, s.y, 1500);
    const showSmooth = smoothing > 0 && s.x.length > 2;
    parts.push(
      `<polyline class="${showSmooth ? "raw" : "line"}" stroke="${r.color}" points="${
        pts(dx, dy)
      }"/>`,
    );
    if (showSmooth) {
      const [mx, my] = decimate(s.x, smooth(s.y, smoothing), 1500);
      parts.push(`<polyline class="line" stroke="${r.color}" points="${pts(mx, my)}"/>`);
    }
  }
  // Last / min / max per run, top right.
  present.forEach((r, k) => {
    const y = r.series!.y;
    const label = `${runs.length > 1 ? `${r.name}: ` : ""}last ${formatNumber(y.at(-1)!)}  min ${
      formatNumber(minOf(y))
    }  max ${formatNumber(maxOf(y))}`;
    parts.push(
      `<text class="stats" x="${W - MR}" y="${18 + 12 * k}" text-anchor="end" fill="${
        runs.length > 1 ? r.color : "#555"
      }">${escapeXml(label)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Page choices. */
export interface ReportOptions {
  title?: string;
  /** TensorBoard-style smoothing weight in [0, 1); 0 draws the raw line only. */
  smoothing?: number;
  /** When the page says it was made (fixed in tests). */
  generatedAt?: Date;
}

/** The report page for one or more runs. */
export function reportHtml(runs: readonly RunMetrics[], options: ReportOptions = {}): string {
  if (runs.length === 0) throw new RangeError("reportHtml needs at least one run");
  const smoothing = options.smoothing ?? 0.6;
  const metrics: string[] = [];
  for (const r of runs) for (const m of r.series.keys()) if (!metrics.includes(m)) metrics.push(m);
  const title = options.title ?? `grpo report: ${runs.map((r) => r.name).join(", ")}`;
  const charts = metrics.map((m) =>
    `<figure id="metric-${escapeXml(m.replace(/[^A-Za-z0-9_-]/g, "_"))}">${
      metricChart(
        m,
        runs.map((r) => ({ name: r.name, xField: r.xField, series: r.series.get(m) })),
        smoothing,
      )
    }</figure>`
  );
  const summaryRows = metrics.map((m) => {
    const cells = runs.map((r) => {
      const s = r.series.get(m);
      if (!s) return `<td colspan="4">-</td>`;
      const ys = s.y;
      return [ys.at(-1)!, minOf(ys), maxOf(ys)].map((v) => `<td>${formatNumber(v)}</td>`).join("") +
        `<td>${ys.length}</td>`;
    });
    return `<tr><th><a href="#metric-${escapeXml(m.replace(/[^A-Za-z0-9_-]/g, "_"))}">${
      escapeXml(m)
    }</a></th>${cells.join("")}</tr>`;
  });
  const runHeads = runs.map((r, k) =>
    `<th colspan="4" style="color:${runs.length > 1 ? COLORS[k % COLORS.length] : "inherit"}">${
      escapeXml(r.name)
    }</th>`
  ).join("");
  const subHeads = runs.map(() => "<th>last</th><th>min</th><th>max</th><th>points</th>").join(
    "",
  );
  const sources = runs.map((r, k) =>
    `<li${runs.length > 1 ? ` style="color:${COLORS[k % COLORS.length]}"` : ""}><b>${
      escapeXml(r.name)
    }</b>: ${escapeXml(r.source)}, ${r.rows} rows, x axis <code>${escapeXml(r.xField)}</code>${
      r.skippedLastLine ? " (an incomplete last line was skipped)" : ""
    }</li>`
  ).join("\n");
  const when = (options.generatedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #555; margin: 0 0 12px; padding-left: 18px; }
table { border-collapse: collapse; margin: 8px 0 16px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; }
svg.chart { display: block; font: 11px system-ui, sans-serif; }
svg .title { font-size: 13px; font-weight: 600; fill: #222; }
svg .tick { fill: #666; }
svg .label { fill: #444; }
svg .stats { font-size: 10.5px; }
svg .grid { stroke: #eee; stroke-width: 1; }
svg .axis { stroke: #888; stroke-width: 1; }
svg polyline { fill: none; stroke-linejoin: round; }
svg polyline.line { stroke-width: 1.8; }
svg polyline.raw { stroke-width: 1; opacity: 0.3; }
</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<ul class="meta">
${sources}
<li>${metrics.length} metrics; ${
    smoothing > 0
      ? `faint lines are raw values, solid lines smoothed (exponential moving average, weight ${smoothing})`
      : "raw values"
  }; made ${when}</li>
</ul>
<table class="summary">
<thead><tr><th rowspan="2">metric</th>${runHeads}</tr><tr>${subHeads}</tr></thead>
<tbody>
${summaryRows.join("\n")}
</tbody>
</table>
<div class="charts">
${charts.join("\n")}
</div>
</body>
</html>
`;
}

/**
 * Reads the runs in `logdirs`, writes the report atomically, and returns its path and contents summary.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { writeReport } from "@grpo/grpo";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/metrics.jsonl`,
 *   '{"iteration":1,"mean_reward":20}\n{"iteration":2,"mean_reward":35}\n',
 * );
 * const { path } = await writeReport([dir]); // one self-contained HTML page
 * assert.ok(path.endsWith("report.html"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReport(
  logdirs: readonly string[],
  options: ReportOptions & { output?: string } = {},
): Promise<{ path: string; metrics: number; rows: number }> {
  if (logdirs.length === 0) {
    throw new InputError("grpo report: give a log directory, e.g. grpo report logs/grpo_cartpole");
  }
  const smoothing = options.smoothing ?? 0.6;
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw new InputError(`--smoothing must be in [0, 1), got ${smoothing}`);
  }
  let output = options.output;
  if (!output) {
    if (logdirs.length > 1) {
      throw new InputError(
        "grpo report: with several log directories, say where the page goes: --output compare.html",
      );
    }
    const stat = await Deno.stat(logdirs[0]).catch(() => null);
    output = stat?.isFile ? join(logdirs[0], "..", "report.html") : join(logdirs[0], "report.html");
  }
  const runs = [];
  for (const dir of logdirs) runs.push(await readMetrics(dir));
  const html = reportHtml(runs, { ...options, smoothing });
  await writeTextAtomic(output, html);
  const metrics = new Set(runs.flatMap((r) => [...r.series.keys()])).size;
  return { path: output, metrics, rows: runs.reduce((n, r) => n + r.rows, 0) };
}

/**
 * A self-contained HTML replay of recorded episodes: each frame's display
 * list (the same {@linkcode Scene}s the GIF rasterizes) is embedded as JSON
 * and drawn client-side on a canvas, with play/pause, step, a scrubber,
 * speed, an episode picker, and the step counter, reward and return shown.
 * No network: no external scripts, styles or fonts.
 *
 * Shapes that repeat across frames (terrain, track) are stored once and
 * frames refer to them by index, so a 1000-step LunarLander episode stays
 * a few hundred kilobytes.
 *
 * @module
 */
import type { RGB, Scene, Shape } from "./raster.ts";

/** One recorded episode to show. */
export interface EpisodeRecording {
  /** Frame k shows the state after k steps; frame 0 is the state after reset. */
  scenes: Scene[];
  /** `rewards[k]` is the reward of step k + 1 (the step into frame k + 1). */
  rewards?: number[];
  /** `actions[k]` is the action of step k + 1. */
  actions?: (number | readonly number[])[];
  /** A label such as "episode 3 (seed 7)". */
  title?: string;
}

/** What the page says about the run. */
export interface HtmlReplayOptions {
  /** The page's heading, e.g. "CartPole-v1, iteration_100". */
  title?: string;
  /** Frames per second at 1x speed (50 for CartPole and LunarLander). */
  fps?: number;
}

// A tenth of a pixel is finer than anything visible.
const round = (x: number) => Math.round(x * 10) / 10;

/** The compact JSON form of a shape, with colours as indices into `palette`. */
function packShape(shape: Shape, color: (c: RGB) => number): unknown[] {
  switch (shape.kind) {
    case "polygon":
      return [
        "p",
        color(shape.color),
        shape.rule === "evenodd" ? 1 : 0,
        shape.outline ? color(shape.outline) : -1,
        ...shape.rings.map((r) => r.map(round)),
      ];
    case "line":
      return [
        "l",
        color(shape.color),
        ...[shape.x0, shape.y0, shape.x1, shape.y1, shape.width].map(round),
      ];
    case "circle":
      return ["c", color(shape.color), round(shape.cx), round(shape.cy), round(shape.r)];
  }
}

/**
 * Gives each distinct value (by `keyOf`) its index in `table`, appending it
 * on first sight, so that repeated colours and shapes are stored once.
 */
function indexer<T>(table: T[], keyOf: (value: T) => string): (value: T) => number {
  const ids = new Map<string, number>();
  return (value) => {
    const key = keyOf(value);
    let id = ids.get(key);
    if (id === undefined) {
      id = table.length;
      table.push(value);
      ids.set(key, id);
    }
    return id;
  };
}

/** The data the page's script reads: a shared shape table and each frame as shape indices. */
export function packEpisodes(episodes: readonly EpisodeRecording[]) {
  const palette: string[] = [];
  const paletteId = indexer(palette, (css) => css);
  const color = (c: RGB) => paletteId(`rgb(${c[0]},${c[1]},${c[2]})`);
  const shapes: unknown[][] = [];
  const shapeId = indexer(shapes, (packed) => JSON.stringify(packed));
  let width = 0, height = 0;
  const packed = episodes.map((ep, e) => {
    if (ep.scenes.length === 0) throw new RangeError(`episode ${e} has no frames`);
    const frames = ep.scenes.map((s) => {
      width = Math.max(width, s.width);
      height = Math.max(height, s.height);
      return [color(s.background), ...s.shapes.map((sh) => shapeId(packShape(sh, color)))];
    });
    const rewards = (ep.rewards ?? []).map((r) => Math.round(r * 1e4) / 1e4);
    return {
      title: ep.title ?? `episode ${e + 1}`,
      frames,
      rewards,
      actions: (ep.actions ?? []).map((a) =>
        typeof a === "number" ? a : Array.from(a, (x) => Math.round(x * 1e3) / 1e3)
      ),
      episodeReturn: rewards.reduce((s, r) => s + r, 0),
    };
  });
  return { width, height, palette, shapes, episodes: packed };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The complete HTML page replaying `episodes`. */
export function htmlReplay(
  episodes: readonly EpisodeRecording[],
  options: HtmlReplayOptions = {},
): string {
  if (episodes.length === 0) throw new RangeError("htmlReplay needs at least one episode");
  const data = { ...packEpisodes(episodes), fps: options.fps ?? 50 };
  // "<" escaped so no "</script>" can end the data block early.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const title = escapeHtml(options.title ?? "grpo replay");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 8px; }
#stage { border: 1px solid #ccc; background: #fff; display: block; max-width: 100%; height: auto; }
.bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
button { font: inherit; padding: 2px 10px; }
#scrub { flex: 1; min-width: 200px; }
#info { font-family: ui-monospace, monospace; white-space: pre; }
#returns { border: 1px solid #ddd; background: #fff; display: block; max-width: 100%; }
.hint { color: #777; font-size: 12px; }
</style>
</head>
<body>
<h1>${title}</h1>
<div class="bar">
<label>episode <select id="episode"></select></label>
<span id="summary"></span>
</div>
<canvas id="stage" width="${data.width}" height="${data.height}"></canvas>
<div class="bar">
<button id="play" type="button">play</button>
<button id="prev" type="button" title="previous step (left arrow)">&#9664;</button>
<button id="next" type="button" title="next step (right arrow)">&#9654;</button>
<input id="scrub" type="range" min="0" max="0" value="0">
<label>speed <select id="speed"><option>0.25</option><option>0.5</option><option selected>1</option><option>2</option><option>4</option></select>x</label>
</div>
<div id="info"></div>
<canvas id="returns" width="${data.width}" height="80"></canvas>
<p class="hint">space: play/pause, arrows: step, home/end: first/last frame. The line is the return so far.</p>
<script type="application/json" id="replay-data">${json}</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("replay-data").textContent);
const stage = document.getElementById("stage"), ctx = stage.getContext("2d");
const returnsCanvas = document.getElementById("returns"), rctx = returnsCanvas.getContext("2d");
const ui = {};
for (const id of ["episode", "summary", "play", "prev", "next", "scrub", "speed", "info"]) ui[id] = document.getElementById(id);
let ep = 0, frame = 0, playing = false, last = 0, carry = 0, cumulative = [0];

function quad(x0, y0, x1, y1, w) {
  // A line is the same filled quad the rasterizer draws.
  const len = Math.hypot(x1 - x0, y1 - y0) || 1;
  const nx = -(y1 - y0) / len * w / 2, ny = (x1 - x0) / len * w / 2;
  ctx.moveTo(x0 + nx, y0 + ny); ctx.lineTo(x1 + nx, y1 + ny);
  ctx.lineTo(x1 - nx, y1 - ny); ctx.lineTo(x0 - nx, y0 - ny);
  ctx.closePath();
}

function drawShape(s) {
  ctx.fillStyle = D.palette[s[1]];
  ctx.beginPath();
  if (s[0] === "p") {
    const rings = s.slice(4);
    for (const ring of rings) {
      ctx.moveTo(ring[0], ring[1]);
      for (let k = 2; k < ring.length; k += 2) ctx.lineTo(ring[k], ring[k + 1]);
      ctx.closePath();
    }
    ctx.fill(s[2] ? "evenodd" : "nonzero");
    if (s[3] >= 0) {
      ctx.fillStyle = D.palette[s[3]];
      for (const ring of rings) {
        const n = ring.length / 2;
        for (let k = 0; k < n; k++) {
          const m = (k + 1) % n;
          ctx.beginPath();
          quad(ring[2 * k], ring[2 * k + 1], ring[2 * m], ring[2 * m + 1], 1);
          ctx.fill();
        }
      }
    }
  } else if (s[0] === "l") {
    quad(s[2], s[3], s[4], s[5], s[6]);
    ctx.fill();
  } else if (s[0] === "c") {
    ctx.arc(s[2], s[3], s[4], 0, 2 * Math.PI);
    ctx.fill();
  }
}

function fmt(x) { return Number.isInteger(x) ? String(x) : x.toFixed(2); }

function drawReturns() {
  const w = returnsCanvas.width, h = returnsCanvas.height, n = cumulative.length;
  rctx.clearRect(0, 0, w, h);
  const lo = cumulative.reduce((a, b) => Math.min(a, b)), hi = cumulative.reduce((a, b) => Math.max(a, b)), span = hi - lo || 1;
  const X = (k) => 4 + (w - 8) * (n > 1 ? k / (n - 1) : 0), Y = (v) => h - 4 - (h - 8) * (v - lo) / span;
  rctx.strokeStyle = "#bbb";
  rctx.beginPath(); rctx.moveTo(0, Y(0)); rctx.lineTo(w, Y(0)); rctx.stroke();
  rctx.strokeStyle = "#1f77b4"; rctx.lineWidth = 1.5;
  rctx.beginPath();
  cumulative.forEach((v, k) => k ? rctx.lineTo(X(k), Y(v)) : rctx.moveTo(X(k), Y(v)));
  rctx.stroke();
  rctx.fillStyle = "#d62728";
  rctx.beginPath(); rctx.arc(X(frame), Y(cumulative[frame] ?? 0), 3.5, 0, 2 * Math.PI); rctx.fill();
}

function show(k) {
  const E = D.episodes[ep];
  frame = Math.max(0, Math.min(E.frames.length - 1, k));
  const f = E.frames[frame];
  ctx.fillStyle = D.palette[f[0]];
  ctx.fillRect(0, 0, stage.width, stage.height);
  for (let i = 1; i < f.length; i++) drawShape(D.shapes[f[i]]);
  ui.scrub.value = String(frame);
  const steps = E.frames.length - 1;
  const reward = frame > 0 ? E.rewards[frame - 1] : undefined;
  const action = frame > 0 ? E.actions[frame - 1] : undefined;
  ui.info.textContent = "step " + frame + " / " + steps +
    "   return " + fmt(cumulative[frame] ?? 0) +
    (reward === undefined ? "" : "   reward " + fmt(reward)) +
    (action === undefined ? "" : "   action " + JSON.stringify(action));
  drawReturns();
}

function selectEpisode(e) {
  ep = e;
  const E = D.episodes[ep];
  cumulative = [0];
  for (const r of E.rewards) cumulative.push(cumulative[cumulative.length - 1] + r);
  ui.scrub.max = String(E.frames.length - 1);
  ui.summary.textContent = (E.frames.length - 1) + " steps, episode return " + fmt(E.episodeReturn);
  show(0);
}

function setPlaying(p) {
  playing = p;
  ui.play.textContent = p ? "pause" : "play";
  if (p) {
    if (frame >= D.episodes[ep].frames.length - 1) show(0);
    last = performance.now(); carry = 0;
    requestAnimationFrame(tick);
  }
}

function tick(now) {
  if (!playing) return;
  carry += (now - last) / 1000 * D.fps * Number(ui.speed.value);
  last = now;
  const advance = Math.floor(carry);
  if (advance > 0) {
    carry -= advance;
    const end = D.episodes[ep].frames.length - 1;
    show(Math.min(end, frame + advance));
    if (frame >= end) return setPlaying(false);
  }
  requestAnimationFrame(tick);
}

D.episodes.forEach((E, e) => {
  const o = document.createElement("option");
  o.value = String(e);
  o.textContent = E.title + " (return " + fmt(E.episodeReturn) + ")";
  ui.episode.appendChild(o);
});
ui.episode.onchange = () => { setPlaying(false); selectEpisode(Number(ui.episode.value)); };
ui.play.onclick = () => setPlaying(!playing);
ui.prev.onclick = () => { setPlaying(false); show(frame - 1); };
ui.next.onclick = () => { setPlaying(false); show(frame + 1); };
ui.scrub.oninput = () => { setPlaying(false); show(Number(ui.scrub.value)); };
document.addEventListener("keydown", (e) => {
  if (e.target && e.target.tagName === "SELECT") return;
  if (e.key === " ") { e.preventDefault(); setPlaying(!playing); }
  else if (e.key === "ArrowLeft") { setPlaying(false); show(frame - 1); }
  else if (e.key === "ArrowRight") { setPlaying(false); show(frame + 1); }
  else if (e.key === "Home") { setPlaying(false); show(0); }
  else if (e.key === "End") { setPlaying(false); show(Infinity); }
});
selectEpisode(0);
</script>
</body>
</html>
`;
}

/**
 * How long `grpo eval --render` takes to draw and encode an episode, and how
 * big the files are: a 500-step CartPole episode and a 1000-step LunarLander
 * flight (synthetic poses with engine flames), as GIF and as HTML replay.
 *
 *     deno run -A bench/render.ts
 *
 * @module
 */
import { cartpole } from "../envs/cartpole.ts";
import { envDrawer, episodeGif } from "../src/render/episode.ts";
import { htmlReplay } from "../src/render/html_replay.ts";
import {
  FlameTrail,
  landerTerrain,
  legPoses,
  lunarEnginePowers,
  lunarLanderScene,
} from "../src/render/lunar_lander.ts";
import type { Scene } from "../src/render/raster.ts";

function time<T>(label: string, fn: () => T, size: (t: T) => number): void {
  fn(); // warm-up
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${size(out)} bytes`);
}

const s = new Float64Array([0.02, 0, -0.03, 0]);
const states = [Array.from(s)];
for (let t = 0; t < 500; t++) {
  const a = s[2] + 0.2 * s[3] + 0.01 * s[0] + 0.003 * s[1] > 0 ? 1 : 0;
  cartpole.step(s, 0, new Float32Array([a]), 0, cartpole.params, undefined as never);
  states.push(Array.from(s));
}
const draw = envDrawer("cartpole")!;
const cartScenes = states.map(draw);

const terrain = landerTerrain([1, 5, 2, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 1, 4, 2]);
const trail = new FlameTrail(1);
const landerScenes: Scene[] = [];
let hull = { x: 10, y: 12, angle: 0 }, vx = 1.5, vy = 0;
for (let t = 0; t < 1000; t++) {
  const action = t % 5 === 0 ? 1 : t % 5 === 1 ? 3 : hull.y < 8 ? 2 : 0;
  const particles = trail.step(hull, lunarEnginePowers(action));
  vy += (action === 2 ? 12 : -10) / 50;
  hull = { x: hull.x + vx / 50, y: hull.y + vy / 50, angle: 0.3 * Math.sin(t / 40) };
  if (hull.x > 17 || hull.x < 3) vx = -vx;
  landerScenes.push(
    lunarLanderScene({
      ...terrain,
      hull,
      legs: legPoses(hull),
      legContact: [false, false],
      particles,
    }),
  );
}

time("CartPole 501 frames, GIF", () => episodeGif([{ scenes: cartScenes }]), (b) => b.length);
time("CartPole 501 frames, HTML", () => htmlReplay([{ scenes: cartScenes }]), (h) => h.length);
time("LunarLander 1000 frames, GIF", () => episodeGif([{ scenes: landerScenes }]), (b) => b.length);
time(
  "LunarLander 1000 frames, HTML",
  () => htmlReplay([{ scenes: landerScenes }]),
  (h) => h.length,
);

/**
 * Recorded episodes to an animated GIF or an HTML replay: what
 * `grpo eval --render out.gif|out.html` writes.
 *
 * An episode is a list of {@linkcode Scene}s (display lists), one per frame;
 * {@linkcode envDrawer} turns a built-in env's state into its scene. The GIF
 * palette comes from the scenes' colours, so frames are rasterized once,
 * one at a time.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { writeFileAtomic, writeTextAtomic } from "../io/atomic.ts";
import { cartPoleScene } from "./cartpole.ts";
import { acrobotScene, mountainCarScene, pendulumScene } from "./classic.ts";
import { landerSceneFromState, lunarLanderScene } from "./lunar_lander.ts";
import { buildPalette, GifWriter } from "./gif.ts";
import { type EpisodeRecording, htmlReplay } from "./html_replay.ts";
import { type Frame, rasterize, type Scene } from "./raster.ts";

export type { EpisodeRecording } from "./html_replay.ts";

/** Draws one state of an env as a scene. */
export type SceneDrawer = (state: ArrayLike<number>) => Scene;

/**
 * The drawers of the built-in envs whose state alone fixes their picture, by
 * alias: drawing is the render layer's, so an env's record names no drawer
 * (its frame rate is the record's `renderFps`). `params` are the env's
 * (CartPole's `length` sets the pole).
 */
const DRAWERS: Readonly<Record<string, (params: Record<string, number>) => SceneDrawer>> = {
  cartpole: (params) => (s) => cartPoleScene(s, { length: params.length }),
  acrobot: () => acrobotScene,
  mountaincar: () => (s) => mountainCarScene(s, { goalPosition: 0.5 }),
  mountaincarcontinuous: () => (s) => mountainCarScene(s, { goalPosition: 0.45 }),
  pendulum: () => pendulumScene,
  lunar_lander: () => (s) => lunarLanderScene(landerSceneFromState(s)),
  lunar_lander_continuous: () => (s) => lunarLanderScene(landerSceneFromState(s)),
};

/** The drawer of a built-in env by alias, or undefined for envs without one. */
export function envDrawer(
  alias: string,
  params: Record<string, number> = {},
): SceneDrawer | undefined {
  return Object.hasOwn(DRAWERS, alias) ? DRAWERS[alias](params) : undefined;
}

/** What a `--render` path asks for, or an {@linkcode InputError} naming the choices. */
export function renderFormat(path: string): "gif" | "html" {
  const lower = path.toLowerCase();
  if (lower.endsWith(".gif")) return "gif";
  if (lower.endsWith(".html") || lower.endsWith(".htm")) return "html";
  throw new InputError(
    `--render ${path}: the file must end in .gif (animation) or .html (interactive replay)`,
  );
}

/** GIF choices. */
export interface EpisodeGifOptions {
  /** Frames per second of the env (50 for CartPole and LunarLander). */
  fps?: number;
  /** Keep every n-th frame (and the last), for shorter files. */
  frameStride?: number;
  /** Hundredths of a second to hold each episode's last frame. */
  endPauseCs?: number;
  /** Times to play; 0 loops forever. */
  loop?: number;
}

/** Renders episodes one after another into one animated GIF. */
export function episodeGif(
  episodes: readonly EpisodeRecording[],
  options: EpisodeGifOptions = {},
): Uint8Array {
  const scenes = episodes.flatMap((e) => e.scenes);
  if (scenes.length === 0) throw new RangeError("episodeGif needs at least one frame");
  const { width, height } = scenes[0];
  // Rasterized frames hold exactly the scenes' colours (no anti-aliasing).
  const counts = new Map<number, number>();
  const note = (c: readonly number[]) => {
    const k = (c[0] << 16) | (c[1] << 8) | c[2];
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  for (const s of scenes) {
    if (s.width !== width || s.height !== height) {
      throw new RangeError(`all frames must be ${width}x${height}, got ${s.width}x${s.height}`);
    }
    note(s.background);
    for (const shape of s.shapes) {
      note(shape.color);
      if (shape.kind === "polygon" && shape.outline) note(shape.outline);
    }
  }
  const stride = Math.max(1, Math.floor(options.frameStride ?? 1));
  const delayCs = Math.max(1, Math.round((100 * stride) / (options.fps ?? 50)));
  const writer = new GifWriter(width, height, buildPalette(counts), {
    delayCs,
    loop: options.loop ?? 0,
  });
  let frame: Frame | undefined;
  for (const e of episodes) {
    const n = e.scenes.length;
    for (let k = 0; k < n; k++) {
      if (k % stride !== 0 && k !== n - 1) continue;
      frame = rasterize(e.scenes[k], frame);
      writer.addFrame(frame, k === n - 1 ? delayCs + (options.endPauseCs ?? 100) : delayCs);
    }
  }
  return writer.finish();
}

/** Writes episodes to `path` as a GIF or an HTML replay (by its extension), atomically. */
export async function writeEpisodeRender(
  path: string,
  episodes: readonly EpisodeRecording[],
  options: EpisodeGifOptions & { title?: string } = {},
): Promise<void> {
  const format = renderFormat(path);
  if (episodes.length === 0) throw new RangeError("no episodes to render");
  if (format === "gif") await writeFileAtomic(path, episodeGif(episodes, options));
  else {await writeTextAtomic(
      path,
      htmlReplay(episodes, { title: options.title, fps: options.fps }),
    );}
}

/**
 * Draws recorded states (`states[0]` after reset, `states[k]` after step k)
 * with their rewards and actions, and writes the GIF or HTML replay. The
 * env's {@linkcode envDrawer} draws the states unless `options.draw` is given
 * (LunarLander: `(s) => lunarLanderScene(toLanderScene(s))`).
 */
export async function renderEpisodes(
  path: string,
  env: { alias: string; params?: Record<string, number>; id?: string; renderFps?: number },
  episodes: readonly {
    states: readonly ArrayLike<number>[];
    rewards?: number[];
    actions?: (number | readonly number[])[];
    title?: string;
  }[],
  options: EpisodeGifOptions & { title?: string; draw?: SceneDrawer } = {},
): Promise<void> {
  renderFormat(path);
  const draw = options.draw ?? envDrawer(env.alias, env.params);
  if (!draw) {
    throw new InputError(
      `--render: no drawing for env "${env.alias}"; drawable: ${Object.keys(DRAWERS).join(", ")}`,
    );
  }
  await writeEpisodeRender(
    path,
    episodes.map((e) => ({
      scenes: e.states.map(draw),
      rewards: e.rewards,
      actions: e.actions,
      title: e.title,
    })),
    {
      ...options,
      fps: options.fps ?? env.renderFps,
      title: options.title ?? env.id ?? env.alias,
    },
  );
}

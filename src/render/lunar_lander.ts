/**
 * LunarLander frames as Gymnasium's `rgb_array` draws them: 600x400 pixels,
 * 30 pixels per Box2D metre, a black sky above a white moon whose surface
 * joins 11 chunk heights, two yellow flags on the helipad, and the lander's
 * hull and legs filled (128, 102, 230) with a (77, 77, 128) outline. Engine
 * flame particles are optional decoration ({@linkcode FlameTrail}).
 *
 * Everything in a {@linkcode LanderScene} is in Box2D world units with y up,
 * as Gymnasium's bodies are: x in [0, 20], y in [0, 13.33].
 *
 * @module
 */
import type { RGB, Scene, Shape } from "./raster.ts";
import {
  type EnginePowers,
  LANDER_STATE,
  landerBodyPose,
  lunarEnginePowers,
  smoothTerrain,
} from "../../envs/lunar_lander.ts";

export { type EnginePowers, lunarEnginePowers };

/** Pixels per world unit. */
export const LANDER_SCALE = 30;
/** Frame width in pixels. */
export const LANDER_VIEWPORT_W = 600;
/** Frame height in pixels. */
export const LANDER_VIEWPORT_H = 400;
/** The hull's outline in pixels around its centre (Gymnasium's LANDER_POLY). */
export const LANDER_POLY: readonly (readonly [number, number])[] = [
  [-14, 17],
  [-17, 0],
  [-17, -10],
  [17, -10],
  [17, 0],
  [14, 17],
];
/** A leg's half width and half height in pixels (Gymnasium's LEG_W, LEG_H). */
export const LEG_HALF_SIZE = [2, 8] as const;
/** How far below the hull's centre the legs reach when resting, in pixels (Gymnasium's LEG_DOWN). */
const LEG_DOWN = 18;
const CHUNKS = 11;
/** The x of each terrain chunk in world units: 0, 2, ..., 20. */
export const LANDER_CHUNK_X: readonly number[] = Array.from(
  { length: CHUNKS },
  (_, i) => (LANDER_VIEWPORT_W / LANDER_SCALE / (CHUNKS - 1)) * i,
);
/** Gymnasium's colours. */
export const LANDER_COLORS = {
  moon: [255, 255, 255] as RGB,
  sky: [0, 0, 0] as RGB,
  body: [128, 102, 230] as RGB,
  outline: [77, 77, 128] as RGB,
  flagPole: [255, 255, 255] as RGB,
  flag: [204, 204, 0] as RGB,
  /** Not Gymnasium's: legs touching the ground when `showContact` is on. */
  contact: [90, 200, 90] as RGB,
};

/** Where a body is: its centre in world units and its angle in radians (counter-clockwise). */
export interface LanderPose {
  x: number;
  y: number;
  angle: number;
}

/** A flame particle: its centre in world units and its time to live (1 when born, drawn while >= 0). */
export interface LanderParticle {
  x: number;
  y: number;
  ttl: number;
}

/** Everything a LunarLander frame shows, in Box2D world units (y up). */
export interface LanderScene {
  /** The 11 terrain vertices' x, left to right (usually {@linkcode LANDER_CHUNK_X}). */
  terrainX: readonly number[];
  /** The 11 terrain vertices' heights (Gymnasium's `smooth_y`). */
  terrainY: readonly number[];
  helipadX1: number;
  helipadX2: number;
  helipadY: number;
  hull: LanderPose;
  /**
   * Gymnasium's `legs[0]` and `legs[1]`: the centres and angles of their
   * 4x16 px boxes. `legs[0]` (its i = -1) hangs on the hull's right side.
   */
  legs: readonly [LanderPose, LanderPose];
  /** Whether each leg touches the ground; Gymnasium draws nothing for it (see `showContact`). */
  legContact: readonly [boolean, boolean];
  particles?: readonly LanderParticle[];
}

/** Drawing choices beyond Gymnasium's look. */
export interface LanderDrawOptions {
  /** Fill legs that touch the ground green. */
  showContact?: boolean;
}

const H = LANDER_VIEWPORT_H;
const px = (x: number) => x * LANDER_SCALE + 0.5;
const py = (y: number) => H - 0.5 - y * LANDER_SCALE;

/** The pixel outline of a body: `local` pixel offsets rotated by the pose's angle around its centre. */
function bodyRing(pose: LanderPose, local: readonly (readonly [number, number])[]): number[] {
  const c = Math.cos(pose.angle), s = Math.sin(pose.angle);
  return local.flatMap(([u, v]) => {
    const wx = pose.x + (c * u - s * v) / LANDER_SCALE;
    const wy = pose.y + (s * u + c * v) / LANDER_SCALE;
    return [px(wx), py(wy)];
  });
}

function outlined(ring: number[], fill: RGB, outline: RGB): Shape {
  return { kind: "polygon", rings: [ring], color: fill, outline };
}

/** The particle colour Gymnasium derives from its time to live. */
export function particleColor(ttl: number): RGB {
  return [
    Math.trunc(Math.max(0.2, 0.15 + ttl) * 255),
    Math.trunc(Math.max(0.2, 0.5 * ttl) * 255),
    Math.trunc(Math.max(0.2, 0.5 * ttl) * 255),
  ];
}

/**
 * Where the legs hang from a hull pose, with each leg's joint angle relative
 * to the hull (Gymnasium's limits: legs[0] in [0.4, 0.9], legs[1] in
 * [-0.9, -0.4]; the motors push them to 0.4 and -0.4 in flight). Each leg's
 * point (i * 20, 18) px in its own frame is pinned to the hull's centre.
 */
export function legPoses(hull: LanderPose, jointAngles: readonly [number, number] = [0.4, -0.4]): [
  LanderPose,
  LanderPose,
] {
  const leg = (k: number): LanderPose => {
    const i = k === 0 ? -1 : 1;
    const angle = hull.angle + jointAngles[k];
    const c = Math.cos(angle), s = Math.sin(angle);
    const ax = i * 20, ay = LEG_DOWN;
    return {
      x: hull.x - (c * ax - s * ay) / LANDER_SCALE,
      y: hull.y - (s * ax + c * ay) / LANDER_SCALE,
      angle,
    };
  };
  return [leg(0), leg(1)];
}

/** The hull's outline vertices in world units (for tests and hit checks). */
export function hullVertices(pose: LanderPose): [number, number][] {
  const c = Math.cos(pose.angle), s = Math.sin(pose.angle);
  return LANDER_POLY.map(([u, v]) => [
    pose.x + (c * u - s * v) / LANDER_SCALE,
    pose.y + (s * u + c * v) / LANDER_SCALE,
  ]);
}

/** The scene of a LunarLander env state (`envs/lunar_lander.ts`): terrain, hull and legs as simulated. */
export function landerSceneFromState(state: ArrayLike<number>): LanderScene {
  // One float64 copy for the three bodies' poses.
  const s = state instanceof Float64Array ? state : Float64Array.from(state);
  const terrainX: number[] = [], terrainY: number[] = [];
  for (let i = 0; i < CHUNKS; i++) {
    terrainX.push(state[LANDER_STATE.TERRAIN + 2 * i]);
    terrainY.push(state[LANDER_STATE.TERRAIN + 2 * i + 1]);
  }
  return {
    terrainX,
    terrainY,
    helipadX1: LANDER_CHUNK_X[(CHUNKS >> 1) - 1],
    helipadX2: LANDER_CHUNK_X[(CHUNKS >> 1) + 1],
    helipadY: LANDER_VIEWPORT_H / LANDER_SCALE / 4,
    hull: landerBodyPose(s, 0),
    legs: [landerBodyPose(s, 1), landerBodyPose(s, 2)],
    legContact: [
      state[LANDER_STATE.LEG_CONTACT] === 1,
      state[LANDER_STATE.LEG_CONTACT + 1] === 1,
    ],
  };
}

/** The display list of one LunarLander frame, in Gymnasium's drawing order. */
export function lunarLanderScene(scene: LanderScene, options: LanderDrawOptions = {}): Scene {
  if (scene.terrainX.length !== scene.terrainY.length || scene.terrainX.length < 2) {
    throw new RangeError("terrainX and terrainY must have the same length (>= 2)");
  }
  const Htop = LANDER_VIEWPORT_H / LANDER_SCALE;
  // Gymnasium fills one sky quad per chunk, from the surface up to the top;
  // together they are this one polygon.
  const sky: number[] = [];
  for (let k = 0; k < scene.terrainX.length; k++) {
    sky.push(px(scene.terrainX[k]), py(scene.terrainY[k]));
  }
  sky.push(px(scene.terrainX.at(-1)!), py(Htop), px(scene.terrainX[0]), py(Htop));
  const shapes: Shape[] = [{ kind: "polygon", rings: [sky], color: LANDER_COLORS.sky }];

  for (const p of scene.particles ?? []) {
    if (p.ttl < 0) continue;
    shapes.push({ kind: "circle", cx: px(p.x), cy: py(p.y), r: 2, color: particleColor(p.ttl) });
  }

  shapes.push(
    outlined(bodyRing(scene.hull, LANDER_POLY), LANDER_COLORS.body, LANDER_COLORS.outline),
  );
  const [lw, lh] = LEG_HALF_SIZE;
  const legBox: [number, number][] = [[-lw, -lh], [lw, -lh], [lw, lh], [-lw, lh]];
  scene.legs.forEach((leg, k) => {
    const fill = options.showContact && scene.legContact[k]
      ? LANDER_COLORS.contact
      : LANDER_COLORS.body;
    shapes.push(outlined(bodyRing(leg, legBox), fill, LANDER_COLORS.outline));
  });

  for (const x of [scene.helipadX1, scene.helipadX2]) {
    const fx = px(x);
    const fy1 = py(scene.helipadY);
    const fy2 = fy1 - 50;
    shapes.push({
      kind: "line",
      x0: fx,
      y0: fy1,
      x1: fx,
      y1: fy2,
      width: 1,
      color: LANDER_COLORS.flagPole,
    });
    shapes.push({
      kind: "polygon",
      rings: [[fx, fy2, fx, fy2 + 10, fx + 25, fy2 + 5]],
      color: LANDER_COLORS.flag,
    });
  }
  return {
    width: LANDER_VIEWPORT_W,
    height: LANDER_VIEWPORT_H,
    background: LANDER_COLORS.moon,
    shapes,
  };
}

/**
 * Gymnasium's terrain from its 12 raw chunk heights (`height`, drawn
 * uniformly in [0, H/2]; the 5 middle ones are set to the helipad's y): the
 * 11 smoothed vertex heights and the helipad.
 */
export function landerTerrain(height: readonly number[]): {
  terrainX: number[];
  terrainY: number[];
  helipadX1: number;
  helipadX2: number;
  helipadY: number;
} {
  if (height.length !== CHUNKS + 1) {
    throw new RangeError(`landerTerrain needs ${CHUNKS + 1} chunk heights, got ${height.length}`);
  }
  return {
    terrainX: [...LANDER_CHUNK_X],
    terrainY: smoothTerrain(height),
    helipadX1: LANDER_CHUNK_X[(CHUNKS >> 1) - 1],
    helipadX2: LANDER_CHUNK_X[(CHUNKS >> 1) + 1],
    helipadY: LANDER_VIEWPORT_H / LANDER_SCALE / 4,
  };
}

const FPS = 50;
const MAIN_ENGINE_POWER = 13;
const SIDE_ENGINE_POWER = 0.6;
const SIDE_ENGINE_HEIGHT = 14;
const SIDE_ENGINE_AWAY = 12;
const PARTICLE_AREA = Math.PI * (2 / LANDER_SCALE) ** 2;

interface MovingParticle extends LanderParticle {
  vx: number;
  vy: number;
}

/**
 * Decorative engine flames: particles born where Gymnasium's engines push,
 * with its impulses, then flying ballistically (no collisions) while their
 * time to live falls by 0.15 a frame. Deterministic for a given seed; the
 * env's own dispersion draws are not reproduced, only their spread.
 */
export class FlameTrail {
  #particles: MovingParticle[] = [];
  #seed: number;
  #gravity: number;

  /** `gravity` in world units per second squared (Gymnasium's default -10). */
  constructor(seed = 1, gravity = -10) {
    this.#seed = seed >>> 0 || 1;
    this.#gravity = gravity;
  }

  #uniform(): number {
    // xorshift32: enough for decoration.
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return (this.#seed / 0x100000000) * 2 - 1;
  }

  /**
   * Advances one env step in which the engines fired with `powers` from the
   * hull's pose at the step's start; returns the particles to draw after it.
   */
  step(hull: LanderPose, powers: EnginePowers): LanderParticle[] {
    const tip = [Math.sin(hull.angle), Math.cos(hull.angle)];
    const side = [-tip[1], tip[0]];
    const d = [this.#uniform() / LANDER_SCALE, this.#uniform() / LANDER_SCALE];
    if (powers.main > 0) {
      const ox = tip[0] * (4 / LANDER_SCALE + 2 * d[0]) + side[0] * d[1];
      const oy = -tip[1] * (4 / LANDER_SCALE + 2 * d[0]) - side[1] * d[1];
      const mass = 3.5 * PARTICLE_AREA;
      this.#particles.push({
        x: hull.x + ox,
        y: hull.y + oy,
        vx: (ox * MAIN_ENGINE_POWER * powers.main) / mass,
        vy: (oy * MAIN_ENGINE_POWER * powers.main) / mass,
        ttl: powers.main,
      });
    }
    if (powers.side > 0) {
      const away = 3 * d[1] + (powers.direction * SIDE_ENGINE_AWAY) / LANDER_SCALE;
      const ox = tip[0] * d[0] + side[0] * away;
      const oy = -tip[1] * d[0] - side[1] * away;
      const mass = 0.7 * PARTICLE_AREA;
      this.#particles.push({
        x: hull.x + ox - (tip[0] * 17) / LANDER_SCALE,
        y: hull.y + oy + (tip[1] * SIDE_ENGINE_HEIGHT) / LANDER_SCALE,
        vx: (ox * SIDE_ENGINE_POWER * powers.side) / mass,
        vy: (oy * SIDE_ENGINE_POWER * powers.side) / mass,
        ttl: powers.side,
      });
    }
    const dt = 1 / FPS;
    for (const p of this.#particles) {
      p.vy += this.#gravity * dt;
      p.x += p.vx * dt;
      p.y += p.vy * dt;
      p.ttl -= 0.15;
    }
    this.#particles = this.#particles.filter((p) => p.ttl >= 0);
    return this.#particles.map(({ x, y, ttl }) => ({ x, y, ttl }));
  }
}

/** The terrain part of a {@linkcode LanderScene}. */
export type LanderTerrain = Pick<
  LanderScene,
  "terrainX" | "terrainY" | "helipadX1" | "helipadX2" | "helipadY"
>;

/** A flat moon at the helipad's height, for when the terrain is unknown. */
export const FLAT_TERRAIN: LanderTerrain = landerTerrain(
  Array.from({ length: CHUNKS + 1 }, () => LANDER_VIEWPORT_H / LANDER_SCALE / 4 / 0.99),
);

/**
 * A scene from Gymnasium's 8-number observation alone (`[x, y, vx, vy,
 * angle, angular velocity, leg 0 contact, leg 1 contact]`, positions
 * normalized around the helipad): the hull where the observation puts it,
 * legs hung at `jointAngles` (the observation does not say how far they
 * bent), on `terrain` (flat if unknown). Prefer the engine's own body poses
 * when it has them.
 */
export function landerSceneFromObservation(
  obs: ArrayLike<number>,
  terrain: LanderTerrain = FLAT_TERRAIN,
  jointAngles: readonly [number, number] = [0.4, -0.4],
): LanderScene {
  const halfW = LANDER_VIEWPORT_W / LANDER_SCALE / 2, halfH = LANDER_VIEWPORT_H / LANDER_SCALE / 2;
  const hull = {
    x: obs[0] * halfW + halfW,
    y: obs[1] * halfH + terrain.helipadY + LEG_DOWN / LANDER_SCALE,
    angle: obs[4],
  };
  return {
    ...terrain,
    hull,
    legs: legPoses(hull, jointAngles),
    legContact: [obs[6] > 0.5, obs[7] > 0.5],
  };
}

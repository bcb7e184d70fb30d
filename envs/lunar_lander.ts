/**
 * LunarLander-v3 and LunarLanderContinuous-v3 (Gymnasium 1.x
 * `box2d/lunar_lander.py`) on our Box2D 2.3 engine (`src/physics/`): a hull
 * and two spring-loaded legs on revolute joints fall towards a random
 * terrain of 11 chunks with a flat helipad; the main engine and the two side
 * engines fire impulses with random dispersion where Gymnasium fires them.
 *
 * Reward: the change in shaping `-100 |position| - 100 |velocity| - 100
 * |angle| + 10 per leg touching`, minus 0.3 per frame of main engine and 0.03
 * of side engine; -100 and the end when the hull touches the ground or
 * |x| >= 1, +100 and the end when the lander comes to rest (Box2D puts its
 * island to sleep); 1000 steps at most. Reset places the bodies, applies a
 * random force of up to 1000 N to the hull and takes one no-op step, as
 * Gymnasium does.
 *
 * Observation: `[x, y, vx, vy, angle, angular velocity, leg 0 touching, leg
 * 1 touching]`, scaled as Gymnasium scales them. Discrete actions: 0 no-op,
 * 1 left engine, 2 main engine, 3 right engine. Continuous: `[main, lateral]`
 * in [-1, 1]^2, main on above 0 (50%..100% power), a side engine when
 * |lateral| > 0.5.
 *
 * State: the world (`src/physics/world.ts`, the hull as body 0, so its
 * first 6 floats are the hull's centre of mass, angle, velocity and angular
 * velocity: `gymStateSize`), the terrain's 11 vertices, then the episode's
 * flags and counters, then optional inputs a replay gives instead of the
 * random draws (see `resetInputs` and `stepInputs`).
 *
 * @module
 */
import type { Env, EnvRandom, TrainingPreset } from "./env.ts";
import { landerHeuristicContinuous, landerHeuristicDiscrete } from "./lunar_lander_heuristic.ts";
import { cos, sin } from "../src/math.ts";
import { boxPolygon, polygonFromPoints } from "../src/physics/polygon.ts";
import { BODY_FLOATS, World, type WorldDef, worldStateSize } from "../src/physics/world.ts";
import { worldWgsl } from "../src/physics/wgsl.ts";

const FPS = 50;
const SCALE = 30;
const MAIN_ENGINE_POWER = 13;
const SIDE_ENGINE_POWER = 0.6;
const INITIAL_RANDOM = 1000;
const LANDER_POLY: [number, number][] = [[-14, 17], [-17, 0], [-17, -10], [17, -10], [17, 0], [
  14,
  17,
]];
const LEG_AWAY = 20;
const LEG_DOWN = 18;
const LEG_W = 2;
const LEG_H = 8;
const LEG_SPRING_TORQUE = 40;
const SIDE_ENGINE_HEIGHT = 14;
const SIDE_ENGINE_AWAY = 12;
const MAIN_ENGINE_Y_LOCATION = 4;
const VIEWPORT_W = 600;
const VIEWPORT_H = 400;
const W = VIEWPORT_W / SCALE;
const H = VIEWPORT_H / SCALE;
const CHUNKS = 11;
const HELIPAD_Y = H / 4;

/** The lander's bodies and joints (hull, then Gymnasium's `legs[0]` (i = -1) and `legs[1]`). */
export const LANDER_WORLD: WorldDef = {
  bodies: [
    {
      shape: polygonFromPoints(LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE])),
      density: 5,
      friction: 0.1,
      restitution: 0,
    },
    // Box2D's default friction, 0.2: Gymnasium sets none for the legs.
    { shape: boxPolygon(LEG_W / SCALE, LEG_H / SCALE), density: 1, friction: 0.2, restitution: 0 },
    { shape: boxPolygon(LEG_W / SCALE, LEG_H / SCALE), density: 1, friction: 0.2, restitution: 0 },
  ],
  joints: [-1, 1].map((i, k) => ({
    bodyA: 0,
    bodyB: k + 1,
    localAnchorA: [0, 0] as [number, number],
    localAnchorB: [(i * LEG_AWAY) / SCALE, LEG_DOWN / SCALE] as [number, number],
    // pybox2d sets a joint's reference angle to bodyB.angle - bodyA.angle when not given.
    referenceAngle: 0.05 * i,
    enableLimit: true,
    lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
    upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
    enableMotor: true,
    motorSpeed: 0.3 * i,
    maxMotorTorque: LEG_SPRING_TORQUE,
  })),
  edgeCount: CHUNKS - 1,
  edgeFriction: 0.1,
  maxContacts: 8,
  timeStep: 1 / FPS,
  velocityIterations: 6 * 30,
  positionIterations: 2 * 30,
};

const WORLD = 0;
const TERRAIN = worldStateSize(LANDER_WORLD);
const PREV_SHAPING = TERRAIN + 2 * CHUNKS;
const GAME_OVER = PREV_SHAPING + 1;
const LEG_CONTACT = GAME_OVER + 1;
const WIND_IDX = LEG_CONTACT + 2;
const TORQUE_IDX = WIND_IDX + 1;
/** 1 when the next reset takes `RESET_HEIGHTS` and `RESET_FORCE` instead of drawing them. */
const RESET_GIVEN = TORQUE_IDX + 1;
const RESET_HEIGHTS = RESET_GIVEN + 1;
const RESET_FORCE = RESET_HEIGHTS + CHUNKS + 1;
/** 1 when the next step takes `STEP_DISPERSION` instead of drawing it. */
const STEP_GIVEN = RESET_FORCE + 2;
const STEP_DISPERSION = STEP_GIVEN + 1;
const STATE_SIZE = STEP_DISPERSION + 2;

/** State offsets, for the WGSL twin, renderers and tests. */
export const LANDER_STATE = {
  WORLD,
  TERRAIN,
  PREV_SHAPING,
  GAME_OVER,
  LEG_CONTACT,
  WIND_IDX,
  TORQUE_IDX,
  RESET_GIVEN,
  RESET_HEIGHTS,
  RESET_FORCE,
  STEP_GIVEN,
  STEP_DISPERSION,
  STATE_SIZE,
};

/** LunarLander's parameters (Gymnasium's constructor arguments; `enable_wind` is 0 or 1). */
export interface LunarLanderParams {
  [name: string]: number;
  gravity: number;
  enable_wind: number;
  wind_power: number;
  turbulence_power: number;
}

const world = new World(LANDER_WORLD);
const origin: [number, number] = [0, 0];

/** Gymnasium's `smooth_y` from its 12 chunk heights (the helipad flattened first). */
export function smoothTerrain(height: ArrayLike<number>): number[] {
  const h = Array.from(height);
  for (let k = (CHUNKS >> 1) - 2; k <= (CHUNKS >> 1) + 2; k++) h[k] = HELIPAD_Y;
  return Array.from(
    { length: CHUNKS },
    (_, i) => 0.33 * (h[(i + CHUNKS) % (CHUNKS + 1)] + h[i] + h[i + 1]),
  );
}

function reset(s: Float64Array, so: number, p: LunarLanderParams, rng: EnvRandom): void {
  const given = s[so + RESET_GIVEN] === 1;
  s[so + RESET_GIVEN] = 0;
  const height = Array.from(
    { length: CHUNKS + 1 },
    (_, k) => given ? s[so + RESET_HEIGHTS + k] : rng.range(k, 0, H / 2),
  );
  const smooth = smoothTerrain(height);
  for (let i = 0; i < CHUNKS; i++) {
    // Box2D keeps the edges' vertices in float32.
    s[so + TERRAIN + 2 * i] = Math.fround((W / (CHUNKS - 1)) * i);
    s[so + TERRAIN + 2 * i + 1] = Math.fround(smooth[i]);
  }
  const wo = so + WORLD;
  world.clearConstraints(s, wo);
  world.setBody(s, wo, 0, W / 2, H, 0);
  world.setBody(s, wo, 1, W / 2 + LEG_AWAY / SCALE, H, -0.05);
  world.setBody(s, wo, 2, W / 2 - LEG_AWAY / SCALE, H, 0.05);
  s[so + GAME_OVER] = 0, s[so + LEG_CONTACT] = 0, s[so + LEG_CONTACT + 1] = 0;
  s[so + WIND_IDX] = Math.floor(rng.range(14, -9999, 9999));
  s[so + TORQUE_IDX] = Math.floor(rng.range(15, -9999, 9999));
  world.force[0] = given ? s[so + RESET_FORCE] : rng.range(12, -INITIAL_RANDOM, INITIAL_RANDOM);
  world.force[1] = given ? s[so + RESET_FORCE + 1] : rng.range(13, -INITIAL_RANDOM, INITIAL_RANDOM);
  // Gymnasium's reset ends with a no-op step, whose reward it drops.
  advance(s, so, 0, 0, 0, p, rng, 16);
}

/**
 * The step with engine powers decided (`main` 0 or 0.5..1, `side` 0 or
 * 0.5..1 with `direction` -1 or 1); draws the dispersion at `k0`, `k0 + 1`.
 */
function advance(
  s: Float64Array,
  so: number,
  main: number,
  side: number,
  direction: number,
  p: LunarLanderParams,
  rng: EnvRandom,
  k0: number,
): number {
  const wo = so + WORLD;
  if (p.enable_wind !== 0 && s[so + LEG_CONTACT] === 0 && s[so + LEG_CONTACT + 1] === 0) {
    const wind = s[so + WIND_IDX], turbulence = s[so + TORQUE_IDX];
    world.force[0] += Math.tanh(sin(0.02 * wind) + sin(Math.PI * 0.01 * wind)) * p.wind_power;
    world.force[2] += Math.tanh(sin(0.02 * turbulence) + sin(Math.PI * 0.01 * turbulence)) *
      p.turbulence_power;
    s[so + WIND_IDX] = wind + 1, s[so + TORQUE_IDX] = turbulence + 1;
    world.wake(s, wo);
  }
  const angle = s[wo + 2];
  const tip0 = sin(angle), tip1 = cos(angle);
  const side0 = -tip1, side1 = tip0;
  const given = s[so + STEP_GIVEN] === 1;
  s[so + STEP_GIVEN] = 0;
  const d0 = given ? s[so + STEP_DISPERSION] : rng.range(k0, -1, 1) / SCALE;
  const d1 = given ? s[so + STEP_DISPERSION + 1] : rng.range(k0 + 1, -1, 1) / SCALE;
  world.position(s, wo, 0, origin);
  if (main > 0) {
    const ox = tip0 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) + side0 * d1;
    const oy = -tip1 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) - side1 * d1;
    const k = MAIN_ENGINE_POWER * main;
    world.applyLinearImpulse(s, wo, 0, -ox * k, -oy * k, origin[0] + ox, origin[1] + oy);
  }
  if (side > 0) {
    const lateral = 3 * d1 + (direction * SIDE_ENGINE_AWAY) / SCALE;
    const ox = tip0 * d0 + side0 * lateral;
    const oy = -tip1 * d0 - side1 * lateral;
    const px = origin[0] + ox - (tip0 * 17) / SCALE;
    const py = origin[1] + oy + (tip1 * SIDE_ENGINE_HEIGHT) / SCALE;
    const k = SIDE_ENGINE_POWER * side;
    world.applyLinearImpulse(s, wo, 0, -ox * k, -oy * k, px, py);
  }
  world.gravityY = p.gravity;
  world.step(s, wo, so + TERRAIN);
  // Box2D's contact listener: the hull touching means game over; a leg's
  // flag is set when one of its contacts begins and cleared when one ends,
  // the last event winning.
  if (world.began[0]) s[so + GAME_OVER] = 1;
  for (let leg = 0; leg < 2; leg++) {
    if (world.ended[leg + 1]) s[so + LEG_CONTACT + leg] = 0;
    else if (world.began[leg + 1]) s[so + LEG_CONTACT + leg] = 1;
  }
  const o = observation(s, so);
  const shaping = -100 * Math.sqrt(o[0] * o[0] + o[1] * o[1]) -
    100 * Math.sqrt(o[2] * o[2] + o[3] * o[3]) - 100 * Math.abs(o[4]) + 10 * o[6] + 10 * o[7];
  let reward = shaping - s[so + PREV_SHAPING];
  s[so + PREV_SHAPING] = shaping;
  reward -= main * 0.3 + side * 0.03;
  if (s[so + GAME_OVER] !== 0 || Math.abs(o[0]) >= 1) reward = -100;
  if (!world.awake(s, wo)) reward = 100;
  return reward;
}

const obsScratch = new Float64Array(8);

/** The observation in float64, as Gymnasium's step computes it before rounding to float32. */
function observation(s: Float64Array, so: number): Float64Array {
  const wo = so + WORLD;
  world.position(s, wo, 0, origin);
  const o = obsScratch;
  o[0] = (origin[0] - W / 2) / (W / 2);
  o[1] = (origin[1] - (HELIPAD_Y + LEG_DOWN / SCALE)) / (H / 2);
  o[2] = (s[wo + 3] * (W / 2)) / FPS;
  o[3] = (s[wo + 4] * (H / 2)) / FPS;
  o[4] = s[wo + 2];
  o[5] = (20 * s[wo + 5]) / FPS;
  o[6] = s[so + LEG_CONTACT];
  o[7] = s[so + LEG_CONTACT + 1];
  return o;
}

/** Body `b`'s origin and angle (0: the hull, 1 and 2: Gymnasium's `legs[0]` and `legs[1]`), for drawing. */
export function landerBodyPose(
  s: ArrayLike<number>,
  b: number,
): { x: number; y: number; angle: number } {
  const state = s instanceof Float64Array ? s : Float64Array.from(s);
  world.position(state, WORLD, b, origin);
  return { x: origin[0], y: origin[1], angle: state[WORLD + b * BODY_FLOATS + 2] };
}

/** How hard each engine fires in a step: main 0 or 0.5..1, side 0 or 0.5..1, direction -1 (left engine) or +1 (right). */
export interface EnginePowers {
  main: number;
  side: number;
  direction: number;
}

/** The engine powers of an action: discrete 0..3, or continuous `[main, lateral]` (Gymnasium's mapping). */
export function lunarEnginePowers(action: number | ArrayLike<number>): EnginePowers {
  if (typeof action === "number") {
    const side = action === 1 || action === 3;
    return { main: action === 2 ? 1 : 0, side: side ? 1 : 0, direction: side ? action - 2 : 0 };
  }
  const m = Math.min(1, Math.max(-1, action[0])), l = Math.min(1, Math.max(-1, action[1]));
  const side = Math.abs(l) > 0.5;
  return {
    main: m > 0 ? (m + 1) * 0.5 : 0,
    side: side ? Math.abs(l) : 0,
    direction: side ? Math.sign(l) : 0,
  };
}

const common = {
  obsSize: 8,
  stateSize: STATE_SIZE,
  gymStateSize: 6,
  maxEpisodeSteps: 1000,
  params: { gravity: -10, enable_wind: 0, wind_power: 15, turbulence_power: 1.5 },
  // Weaker gravity gives the engines more time: a gentler landing.
  difficulty: { gravity: [-5, -10] as [number, number] },
  // The hull. A leg's tiny inertia makes its angular velocity as sensitive to
  // the solver's rounding as the accumulated impulses after the bodies.
  exactStateSize: 6,
  // Software adapters (llvmpipe/lavapipe) cap the loop iterations of one
  // invocation at 65535, all loops together (Mesa gallivm's loop limiter, one
  // counter per SIMD batch of 8 envs); once it runs out every loop stops
  // after one pass, physics and step loop alike, silently. A step here takes
  // ~2.8k iterations on average and up to ~15.5k (solver iterations, time of
  // impact); 4 steps peaked at ~35k and 8 at ~59k over 256 envs x 1030 random
  // steps, so 4 keeps a margin of ~2x. Real GPUs have no such cap.
  stepsPerDispatch: 4,
  resetInputs: { terrain: CHUNKS + 1, initial_force: 2, reset_dispersion: 2 },
  stepInputs: { dispersion: 2 },
  renderFps: 50,
  // The reset ends with a physics step (180 solver iterations in f32), and the reward is a
  // difference of shapings of ~100 whose f32 rounding alone is ~1e-5.
  twinTolerance: { reset: 2e-5, reward: 1e-3 },
  setResetInputs(s: Float64Array, so: number, inputs: Record<string, number[]>) {
    s[so + RESET_GIVEN] = 1;
    s.set(inputs.terrain, so + RESET_HEIGHTS);
    s.set(inputs.initial_force, so + RESET_FORCE);
    // The reset's no-op step is a step: its dispersion is that step's input.
    if (inputs.reset_dispersion) {
      s[so + STEP_GIVEN] = 1;
      s.set(inputs.reset_dispersion, so + STEP_DISPERSION);
    }
  },
  setStepInputs(s: Float64Array, so: number, inputs: Record<string, number[]>) {
    s[so + STEP_GIVEN] = 1;
    s.set(inputs.dispersion, so + STEP_DISPERSION);
  },
  reset,
  terminated(s: Float64Array, so: number) {
    return s[so + GAME_OVER] !== 0 || Math.abs(observation(s, so)[0]) >= 1 ||
      !world.awake(s, so + WORLD);
  },
  observe(s: Float64Array, so: number, obs: Float32Array, oo: number) {
    obs.set(observation(s, so), oo);
  },
};

function kernel(continuous: boolean) {
  return [
    ...["collide_edge_polygon", "time_of_impact", "contact_solver", "revolute_joint", "world"].map((
      f,
    ) => new URL(`../shaders/physics/${f}.wgsl`, import.meta.url)),
    worldWgsl(LANDER_WORLD, { world: WORLD, edges: TERRAIN }),
    { name: "<generated: lunar lander layout>", source: layoutWgsl(continuous) },
    new URL("../shaders/envs/lunar_lander.wgsl", import.meta.url),
  ];
}

function layoutWgsl(continuous: boolean): string {
  const names = Object.entries(LANDER_STATE).map(([k, v]) => `const ${k}: u32 = ${v}u;`);
  const constants = [
    `const OBS_SIZE: u32 = 8u;`,
    `const ACTION_SIZE: u32 = ${continuous ? 2 : 1}u;`,
  ];
  return [...names, ...constants, `const CONTINUOUS: bool = ${continuous};`].join("\n");
}

/**
 * LunarLander's stage-2 preset: docs/spec.md's LunarLander example (500
 * iterations of 16 envs x 256 steps); entropy 0.01 keeps the engines
 * exploring, and the target return asks for a landing (+100) with little
 * fuel spent. Annealing the learning rates took the deterministic eval at
 * iteration 500 from 210.5 to 261.2 (docs/results.md). Minibatches of 256
 * samples at twice the learning rates of 64 (3e-4, 1e-3): a quarter as many
 * update steps, each on four times the rows, cost CPU mode less per sample
 * (tfjs's fixed cost per kernel is shared by more rows): ~1.4x the
 * iterations an hour, and >= 250 within 35 minutes on two seeds where 64
 * reached it on one. Both variants share it: a categorical policy drives the
 * continuous one through `discreteActions`, which step exactly as the
 * discrete actions do (tests/lunar_lander_test.ts), so their runs are the
 * same.
 */
const LANDER_PRESET: TrainingPreset = {
  policyLr: 6e-4,
  valueLr: 2e-3,
  entropyCoef: 0.01,
  numIterations: 500,
  numEnvs: 16,
  rolloutSteps: 256,
  batchSize: 256,
  annealLr: true,
  targetReturn: 250,
  pretrainEvalEpisodes: 20,
};

/** LunarLander-v3 (discrete actions). */
export const lunarLander: Env<LunarLanderParams> = {
  ...common,
  id: "LunarLander-v3",
  alias: "lunar_lander",
  description: "land on the pad between the flags; shaped reward, +-100 at the end, 1000 steps",
  actionSpace: { kind: "discrete", n: 4 },
  preset: LANDER_PRESET,
  heuristic(obs, n, out) {
    for (let i = 0; i < n; i++) out[i] = landerHeuristicDiscrete(obs, 8 * i);
  },
  step(s, so, a, ao, p, rng) {
    const action = a[ao];
    return advance(
      s,
      so,
      action === 2 ? 1 : 0,
      action === 1 || action === 3 ? 1 : 0,
      action - 2,
      p,
      rng,
      0,
    );
  },
  wgsl: kernel(false),
};

/** LunarLanderContinuous-v3 (`continuous=True`). */
export const lunarLanderContinuous: Env<LunarLanderParams> = {
  ...common,
  id: "LunarLanderContinuous-v3",
  alias: "lunar_lander_continuous",
  description: "LunarLander with throttles: [main, lateral] in [-1, 1]",
  actionSpace: { kind: "box", low: [-1, -1], high: [1, 1] },
  discreteActions: [[0, 0], [0, -1], [1, 0], [0, 1]],
  preset: LANDER_PRESET,
  heuristic(obs, n, out) {
    for (let i = 0; i < n; i++) landerHeuristicContinuous(obs, 8 * i, out, 2 * i);
  },
  step(s, so, a, ao, p, rng) {
    const { main, side, direction } = lunarEnginePowers(a.subarray(ao, ao + 2));
    return advance(s, so, main, side, direction, p, rng, 0);
  },
  wgsl: kernel(true),
};

/**
 * MountainCar-v0 (Gymnasium 1.x `classic_control/mountain_car.py`): an
 * underpowered car in a valley must rock back and forth to reach the flag at
 * x = 0.5; -1 per step; 200 steps at most.
 *
 * State: `[position, velocity]`, which is also the observation. The dynamics
 * are Gymnasium's explicit update, in the same order of operations:
 * velocity first (clipped to +-max_speed), then position from the new
 * velocity (clipped to [-1.2, 0.6]); hitting the left wall stops the car.
 *
 * @module
 */
import type { Env } from "./env.ts";
import { cos } from "../src/math.ts";

const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const GOAL_VELOCITY = 0;

/** MountainCar's physical parameters (Gymnasium's defaults). */
export interface MountainCarParams {
  [name: string]: number;
  /** Engine force per step for actions 0 (left) and 2 (right). */
  force: number;
  /** Pull of the slope: velocity changes by `-cos(3 x) * gravity` per step. */
  gravity: number;
}

/** MountainCar-v0. */
export const mountainCar: Env<MountainCarParams> = {
  id: "MountainCar-v0",
  alias: "mountaincar",
  description: "drive an underpowered car up a hill; -1 per step, 200 max",
  obsSize: 2,
  stateSize: 2,
  gymStateSize: 2,
  actionSpace: { kind: "discrete", n: 3 },
  maxEpisodeSteps: 200,
  // A fresh random action every step never reaches the flag in 200 steps; one held for 24
  // steps does in ~15% of episodes (148 of 1,000, best -98), which gives stage 1 returns to learn.
  randomActionHold: 24,
  params: { force: 0.001, gravity: 0.0025 },
  // A stronger engine needs fewer swings; at 0.0025 it climbs straight up.
  difficulty: { force: [0.002, 0.001] },
  renderFps: 30,
  // CartPole's rates and a target return near a good Gymnasium score. The curriculum is what
  // solves it: from held-action random data, stage 2 at full difficulty never reaches the flag
  // in 100 iterations, while starting at twice the force it ends reaching it in every episode
  // (-108.6 to -145.7 over seeds 0-2, docs/results.md). 300 iterations, not the spec's 100: the
  // seeds' last checkpoints went from -132.9, -130.7, -109.1 to -103.6, -109.1, -117.9 (RL
  // Baselines3 Zoo trains PPO here for 1M steps; these are 307k).
  preset: {
    policyLr: 3e-4,
    valueLr: 1e-3,
    targetReturn: -110,
    curriculum: true,
    numIterations: 300,
  },
  reset(s, so, _p, rng) {
    s[so] = rng.range(0, -0.6, -0.4);
    s[so + 1] = 0;
  },
  step(s, so, a, ao, p) {
    let position = s[so], velocity = s[so + 1];
    velocity += (a[ao] - 1) * p.force + cos(3 * position) * -p.gravity;
    velocity = Math.min(Math.max(velocity, -MAX_SPEED), MAX_SPEED);
    position += velocity;
    position = Math.min(Math.max(position, MIN_POSITION), MAX_POSITION);
    if (position === MIN_POSITION && velocity < 0) velocity = 0;
    s[so] = position;
    s[so + 1] = velocity;
    return -1.0;
  },
  terminated(s, so) {
    return s[so] >= GOAL_POSITION && s[so + 1] >= GOAL_VELOCITY;
  },
  observe(s, so, obs, oo) {
    obs[oo] = s[so];
    obs[oo + 1] = s[so + 1];
  },
  wgsl: [new URL("../shaders/envs/mountain_car.wgsl", import.meta.url)],
};

/**
 * Pendulum-v1 (Gymnasium 1.x `classic_control/pendulum.py`): swing a
 * pendulum up and hold it upright with a bounded torque; the reward is
 * `-(angle^2 + 0.1 velocity^2 + 0.001 torque^2)` with the angle normalized
 * to [-pi, pi) and 0 upright; it never terminates; 200 steps at most.
 *
 * State: `[theta, theta_dot]` (theta is not wrapped, as in Gymnasium), then
 * `[theta_lo, theta_dot_lo]`, which only the f32 kernel uses: the rounding
 * residue of each (compensated summation). Over 100 steps an f32 pendulum
 * swinging through its unstable upright point drifts ~1e-3 from float64; with
 * the residues it stays within ~1e-5, like float64 with f32 actions. The
 * float64 twin keeps them at 0.
 *
 * Observation: `[cos theta, sin theta, theta_dot]`. Actions: one torque in
 * [-2, 2], clipped; a discrete policy picks among the five torques
 * -2, -1, 0, 1, 2 (`discreteActions`).
 *
 * @module
 */
import type { Env } from "./env.ts";
import { cos, sin } from "../src/math.ts";

const MAX_SPEED = 8;
const MAX_TORQUE = 2.0;

/** Pendulum's physical parameters (Gymnasium's defaults). */
export interface PendulumParams {
  [name: string]: number;
  /** Gravity (Gymnasium's `g` argument). */
  g: number;
  /** Mass at the end of the rod. */
  m: number;
  /** Rod length. */
  l: number;
  /** Seconds per step. */
  dt: number;
}

/** Gymnasium's `angle_normalize`: Python's floored modulo, so the result lies in [-pi, pi). */
export function angleNormalize(x: number): number {
  const period = 2 * Math.PI;
  let m = (x + Math.PI) % period;
  if (m < 0) m += period;
  return m - Math.PI;
}

/** Pendulum-v1. */
export const pendulum: Env<PendulumParams> = {
  id: "Pendulum-v1",
  alias: "pendulum",
  description:
    "swing a pendulum up and keep it upright; reward -(angle, speed, torque costs), 200 steps",
  obsSize: 3,
  stateSize: 4,
  gymStateSize: 2,
  actionSpace: { kind: "box", low: [-MAX_TORQUE], high: [MAX_TORQUE] },
  discreteActions: [[-2], [-1], [0], [1], [2]],
  maxEpisodeSteps: 200,
  params: { g: 10.0, m: 1.0, l: 1.0, dt: 0.05 },
  // Under weaker gravity the full torque lifts the pendulum without swinging.
  difficulty: { g: [4.0, 10.0] },
  renderFps: 30,
  // CartPole's rates and a target return near a good Gymnasium score; gamma 0.9 (RL Baselines3
  // Zoo's Pendulum setting: a swing-up pays off within a few seconds, and a longer horizon only adds
  // variance) and annealed rates: the last checkpoint of 100 iterations on seeds 0-3 scored -163 to
  // -176 with them, -193 to -688 without (docs/results.md, "The other presets").
  preset: { policyLr: 3e-4, valueLr: 1e-3, targetReturn: -150, gamma: 0.9, annealLr: true },
  reset(s, so, _p, rng) {
    s[so] = rng.range(0, -Math.PI, Math.PI);
    s[so + 1] = rng.range(1, -1, 1);
    s[so + 2] = 0;
    s[so + 3] = 0;
  },
  step(s, so, a, ao, p) {
    const th = s[so], thdot = s[so + 1];
    const u = Math.min(Math.max(a[ao], -MAX_TORQUE), MAX_TORQUE);
    const norm = angleNormalize(th);
    const costs = norm * norm + 0.1 * thdot * thdot + 0.001 * (u * u);
    let newthdot = thdot +
      ((3 * p.g) / (2 * p.l) * sin(th) + 3.0 / (p.m * p.l * p.l) * u) * p.dt;
    newthdot = Math.min(Math.max(newthdot, -MAX_SPEED), MAX_SPEED);
    s[so] = th + newthdot * p.dt;
    s[so + 1] = newthdot;
    return -costs;
  },
  terminated() {
    return false;
  },
  observe(s, so, obs, oo) {
    const th = s[so];
    obs[oo] = cos(th);
    obs[oo + 1] = sin(th);
    obs[oo + 2] = s[so + 1];
  },
  wgsl: [new URL("../shaders/envs/pendulum.wgsl", import.meta.url)],
};

/**
 * Acrobot-v1 (Gymnasium 1.x `classic_control/acrobot.py`): two links hang
 * from a fixed pivot and only the joint between them is actuated (torque -1,
 * 0 or +1); swing the free end above the height of one link length over the
 * pivot. -1 per step, 0 on the step that reaches the goal (which terminates);
 * 500 steps at most.
 *
 * State: `[theta1, theta2, dtheta1, dtheta2]`, theta1 from straight down,
 * theta2 relative to the first link. Observation: `[cos theta1, sin theta1,
 * cos theta2, sin theta2, dtheta1, dtheta2]`.
 *
 * Dynamics: Sutton and Barto's book equations (Gymnasium's default
 * `book_or_nips = "book"`), integrated over `dt` by one classic Runge-Kutta 4
 * step with the torque held constant; then both angles are wrapped into
 * [-pi, pi] and the velocities clipped to +-4 pi and +-9 pi. The initial
 * state is uniform in [-0.1, 0.1]^4, rounded to float32 as Gymnasium does.
 *
 * @module
 */
import type { Env } from "./env.ts";
import { cos, sin } from "../src/math.ts";

const MAX_VEL_1 = 4 * Math.PI;
const MAX_VEL_2 = 9 * Math.PI;

/** Acrobot's physical parameters (Gymnasium's class constants). */
export interface AcrobotParams {
  [name: string]: number;
  link_length_1: number;
  link_mass_1: number;
  link_mass_2: number;
  /** Position of each link's centre of mass along it. */
  link_com_pos_1: number;
  link_com_pos_2: number;
  /** Moment of inertia of each link. */
  link_moi: number;
  gravity: number;
  /** Magnitude of the torques of actions 0 (-) and 2 (+). */
  torque: number;
  /** Seconds per step (one RK4 step). */
  dt: number;
}

/** Derivatives `[dtheta1, dtheta2, ddtheta1, ddtheta2]` of the book dynamics, in Gymnasium's order of operations. */
export function acrobotDerivs(
  theta1: number,
  theta2: number,
  dtheta1: number,
  dtheta2: number,
  torque: number,
  p: AcrobotParams,
  out: Float64Array,
): void {
  const m1 = p.link_mass_1, m2 = p.link_mass_2, l1 = p.link_length_1;
  const lc1 = p.link_com_pos_1, lc2 = p.link_com_pos_2, I1 = p.link_moi, I2 = p.link_moi;
  const g = p.gravity;
  const cos2 = cos(theta2), sin2 = sin(theta2);
  const d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos2) + I1 + I2;
  const d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + I2;
  const phi2 = m2 * lc2 * g * cos(theta1 + theta2 - Math.PI / 2.0);
  const phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
    (m1 * lc1 + m2 * l1) * g * cos(theta1 - Math.PI / 2) + phi2;
  const ddtheta2 = (torque + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
    (m2 * lc2 * lc2 + I2 - (d2 * d2) / d1);
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  out[0] = dtheta1;
  out[1] = dtheta2;
  out[2] = ddtheta1;
  out[3] = ddtheta2;
}

/** Gymnasium's `wrap`: shifts `x` by whole periods into [low, high]. */
export function wrap(x: number, low: number, high: number): number {
  const diff = high - low;
  while (x > high) x -= diff;
  while (x < low) x += diff;
  return x;
}

/** The derivatives at y + h * k into `out`: one stage of Gymnasium's `rk4`. */
function rk4Stage(
  y0: number,
  y1: number,
  y2: number,
  y3: number,
  h: number,
  k: Float64Array,
  torque: number,
  p: AcrobotParams,
  out: Float64Array,
): void {
  acrobotDerivs(y0 + h * k[0], y1 + h * k[1], y2 + h * k[2], y3 + h * k[3], torque, p, out);
}

const k1 = new Float64Array(4), k2 = new Float64Array(4);
const k3 = new Float64Array(4), k4 = new Float64Array(4);

/** Acrobot-v1. */
export const acrobot: Env<AcrobotParams> = {
  id: "Acrobot-v1",
  alias: "acrobot",
  description: "swing the tip of a two-link arm above a line; -1 per step, 500 max",
  obsSize: 6,
  stateSize: 4,
  gymStateSize: 4,
  actionSpace: { kind: "discrete", n: 3 },
  maxEpisodeSteps: 500,
  params: {
    link_length_1: 1.0,
    link_mass_1: 1.0,
    link_mass_2: 1.0,
    link_com_pos_1: 0.5,
    link_com_pos_2: 0.5,
    link_moi: 1.0,
    gravity: 9.8,
    torque: 1.0,
    dt: 0.2,
  },
  // A stronger motor pumps energy in fewer swings.
  difficulty: { torque: [2.0, 1.0] },
  renderFps: 15,
  // Untuned starting point: CartPole's rates, and a target return near a good Gymnasium score.
  preset: { policyLr: 3e-4, valueLr: 1e-3, targetReturn: -60 },
  reset(s, so, _p, rng) {
    for (let k = 0; k < 4; k++) s[so + k] = Math.fround(rng.range(k, -0.1, 0.1));
  },
  step(s, so, a, ao, p) {
    const torque = (a[ao] - 1) * p.torque;
    const y0 = s[so], y1 = s[so + 1], y2 = s[so + 2], y3 = s[so + 3];
    const dt = p.dt, dt2 = dt / 2.0;
    acrobotDerivs(y0, y1, y2, y3, torque, p, k1);
    rk4Stage(y0, y1, y2, y3, dt2, k1, torque, p, k2);
    rk4Stage(y0, y1, y2, y3, dt2, k2, torque, p, k3);
    rk4Stage(y0, y1, y2, y3, dt, k3, torque, p, k4);
    const h = dt / 6.0;
    const n0 = y0 + h * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]);
    const n1 = y1 + h * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]);
    const n2 = y2 + h * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2]);
    const n3 = y3 + h * (k1[3] + 2 * k2[3] + 2 * k3[3] + k4[3]);
    s[so] = wrap(n0, -Math.PI, Math.PI);
    s[so + 1] = wrap(n1, -Math.PI, Math.PI);
    s[so + 2] = Math.min(Math.max(n2, -MAX_VEL_1), MAX_VEL_1);
    s[so + 3] = Math.min(Math.max(n3, -MAX_VEL_2), MAX_VEL_2);
    return acrobot.terminated(s, so, p) ? 0.0 : -1.0;
  },
  terminated(s, so) {
    return -cos(s[so]) - cos(s[so + 1] + s[so]) > 1.0;
  },
  observe(s, so, obs, oo) {
    obs[oo] = cos(s[so]);
    obs[oo + 1] = sin(s[so]);
    obs[oo + 2] = cos(s[so + 1]);
    obs[oo + 3] = sin(s[so + 1]);
    obs[oo + 4] = s[so + 2];
    obs[oo + 5] = s[so + 3];
  },
  wgsl: [new URL("../shaders/envs/acrobot.wgsl", import.meta.url)],
};

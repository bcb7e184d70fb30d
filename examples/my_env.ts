/**
 * A worked example of your own environment: park a car at a random spot.
 *
 * Run it with any command that takes `--env`, e.g.
 *
 * ```sh
 * deno task grpo bench envs --env ./examples/my_env.ts --sizes 1,64
 * ```
 *
 * The module exports one object in the {@linkcode Env} contract of
 * `envs/env.ts` (outside this repository, import the types from grpo's
 * `mod.ts`). Only the TypeScript functions are required: without a `wgsl`
 * kernel, GPU mode steps the env on the CPU and uploads its arrays. Rules the
 * functions must follow:
 *
 * - They work on one env's slice (`s[so ..]`, `a[ao ..]`, `obs[oo ..]`) and
 *   keep all state in `s`, never in closures, so any number of envs can be
 *   batched.
 * - Randomness comes only from `rng.uniform(k)` / `rng.range(k, lo, hi)`, the
 *   `k`-th draw of this env at this step, so runs are reproducible and
 *   independent of the number of envs.
 * - `terminated` is a pure function of the state; the step limit
 *   (`maxEpisodeSteps`) and auto-reset are handled by the batch.
 *
 * The task: a car on a line starts at rest somewhere in [-1, 1] and must stop
 * within 0.05 of a parking spot drawn in [-1, 1], with speed under 0.05.
 * Actions: 0 brake/reverse (accelerate left), 1 coast, 2 accelerate right.
 * Rolling friction slows it down. Reward: minus the distance to the spot per
 * step, and +10 on the step it parks (which terminates).
 *
 * @module
 */
import type { Env } from "../envs/env.ts";

/** The physical parameters a curriculum may vary. */
export interface ParkingParams {
  [name: string]: number;
  /** Acceleration of actions 0 and 2. */
  accel: number;
  /** Fraction of the speed lost per step. */
  friction: number;
  /** Seconds per step. */
  dt: number;
  /** How close to the spot counts as parked. */
  tolerance: number;
}

const MAX_SPEED = 2;

/** Parking-v0: state `[x, v, spot]`, observation `[x - spot, v, spot]`. */
const parking: Env<ParkingParams> = {
  id: "Parking-v0",
  alias: "parking",
  description: "stop a car within 0.05 of a random spot; -distance per step, +10 when parked",
  obsSize: 3,
  stateSize: 3,
  gymStateSize: 3,
  actionSpace: { kind: "discrete", n: 3 },
  maxEpisodeSteps: 200,
  params: { accel: 1.0, friction: 0.05, dt: 0.1, tolerance: 0.05 },
  // A wider parking spot is easier to hit.
  difficulty: { tolerance: [0.2, 0.05] },
  reset(s, so, _p, rng) {
    s[so] = rng.range(0, -1, 1);
    s[so + 1] = 0;
    s[so + 2] = rng.range(1, -1, 1);
  },
  step(s, so, a, ao, p) {
    const force = (a[ao] - 1) * p.accel;
    let v = s[so + 1] * (1 - p.friction) + force * p.dt;
    v = Math.min(Math.max(v, -MAX_SPEED), MAX_SPEED);
    s[so] += v * p.dt;
    s[so + 1] = v;
    const distance = Math.abs(s[so] - s[so + 2]);
    return parking.terminated(s, so, p) ? 10 : -distance;
  },
  terminated(s, so, p) {
    return Math.abs(s[so] - s[so + 2]) < p.tolerance && Math.abs(s[so + 1]) < p.tolerance;
  },
  observe(s, so, obs, oo) {
    obs[oo] = s[so] - s[so + 2];
    obs[oo + 1] = s[so + 1];
    obs[oo + 2] = s[so + 2];
  },
};

export default parking;

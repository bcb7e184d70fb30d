// Generalized Advantage Estimation: one invocation per env scans its T steps
// backwards. TypeScript twin: `gae` in src/rl/advantages.ts (see it for the
// recursion). Arrays are step-major: env i at step t is at t * n + i, so the
// invocations of a workgroup read neighbouring floats at every step.

const TERMINATED: u32 = 1u;
const TRUNCATED: u32 = 2u;
const WORKGROUP_SIZE: u32 = 64u;

struct GaeConfig {
  steps: u32,
  n: u32,
  gamma: f32,
  lambda: f32,
}

@group(0) @binding(0) var<uniform> cfg: GaeConfig;
@group(0) @binding(1) var<storage, read> rewards: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
// TERMINATED | TRUNCATED bits per step, as GpuVecEnv's `done`.
@group(0) @binding(3) var<storage, read> done: array<u32>;
// V(final observation), read at truncated steps only.
@group(0) @binding(4) var<storage, read> final_values: array<f32>;
// V(observation after the last step), per env.
@group(0) @binding(5) var<storage, read> last_values: array<f32>;
@group(0) @binding(6) var<storage, read_write> advantages: array<f32>;
@group(0) @binding(7) var<storage, read_write> returns: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn gae(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
  if (i >= cfg.n) {
    return;
  }
  var next_advantage = 0.0;
  var next_value = last_values[i];
  for (var t = cfg.steps; t > 0u; t--) {
    let k = (t - 1u) * cfg.n + i;
    let flags = done[k];
    if ((flags & TERMINATED) != 0u) {
      next_value = 0.0;
      next_advantage = 0.0;
    } else if ((flags & TRUNCATED) != 0u) {
      next_value = final_values[k];
      next_advantage = 0.0;
    }
    let v = values[k];
    let delta = rewards[k] + cfg.gamma * next_value - v;
    let a = delta + cfg.gamma * cfg.lambda * next_advantage;
    advantages[k] = a;
    returns[k] = a + v;
    next_advantage = a;
    next_value = v;
  }
}

// GRPO's outcome advantages (DeepSeekMath): each env's first episode in the
// rollout is scored by its undiscounted return; the host normalizes the
// scores in groups (shaders/group_norm.wgsl) between `episode_scores` and
// `broadcast_scores`. TypeScript twin: `grpoAdvantages` in
// src/rl/advantages.ts. Arrays are step-major (env i at step t: t * n + i).

const TERMINATED: u32 = 1u;
const TRUNCATED: u32 = 2u;
const WORKGROUP_SIZE: u32 = 64u;

struct GrpoConfig {
  steps: u32,
  n: u32,
}

@group(0) @binding(0) var<uniform> cfg: GrpoConfig;
@group(0) @binding(1) var<storage, read> rewards: array<f32>;
@group(0) @binding(2) var<storage, read> done: array<u32>;
// Per env: the scored episode's return, a copy of it to normalize, its length.
@group(0) @binding(3) var<storage, read_write> episode_returns: array<f32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;
@group(0) @binding(5) var<storage, read_write> lengths: array<u32>;
@group(0) @binding(6) var<storage, read_write> advantages: array<f32>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn episode_scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  var sum = 0.0;
  var t = 0u;
  loop {
    if (t >= cfg.steps) {
      break;
    }
    let k = t * cfg.n + i;
    sum += rewards[k];
    t++;
    if ((done[k] & (TERMINATED | TRUNCATED)) != 0u) {
      break;
    }
  }
  episode_returns[i] = sum;
  scores[i] = sum;
  lengths[i] = t;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn broadcast_scores(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = flat(gid, nwg);
  if (k >= cfg.steps * cfg.n) {
    return;
  }
  let i = k % cfg.n;
  advantages[k] = select(0.0, scores[i], k / cfg.n < lengths[i]);
}

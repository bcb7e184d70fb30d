// GPU mode's rollout bookkeeping, one invocation per env. TypeScript twin and
// the record layout: src/rl/rollout_record.ts.
//
// begin_step runs before the policy acts at rollout step `cfg.step`: it makes
// the policy's inputs (return-to-go = target - the episode's running return,
// timestep = the env's step counter) and records them with the observation.
// end_step runs after the env stepped: it records the action, its log-prob,
// the reward, the done bits and the final observation, and keeps the action
// as the next step's previous action. map_actions (between sampling and the
// env step) turns choice indices into an env's table actions. Nothing is read
// back per step: the host reads the whole record once, after the last step.
//
// The record is one f32 array, sections of M = T x N samples, step-major
// (sample k = step * n + i): obs (M x O), final obs (M x O), actions (M x P),
// returns-to-go, rewards, log-probs, timesteps, done bits (M each). Obs and
// final obs come first and adjacent, so the value network reads both as one
// [2M, O] tensor. Timesteps and done bits are stored as f32 values (exact
// below 2^24), not bitcast, so that no float path can flush them as denormals.

const WORKGROUP_SIZE: u32 = 64u;

struct RecordConfig {
  n: u32,
  step: u32,
  obs_size: u32,
  act_size: u32,
  target_return: f32,
  // M = T x N.
  samples: u32,
  // Floats per env action (map_actions).
  env_act_size: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> cfg: RecordConfig;
// GpuVecEnv's arrays.
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> counters: array<u32>;
@group(0) @binding(3) var<storage, read> obs: array<f32>;
@group(0) @binding(4) var<storage, read> final_obs: array<f32>;
@group(0) @binding(5) var<storage, read> reward: array<f32>;
@group(0) @binding(6) var<storage, read> done: array<u32>;
// The action sampler's outputs: n x act_size actions (as the rollout stores them), n log-probs.
@group(0) @binding(7) var<storage, read> actions: array<f32>;
@group(0) @binding(8) var<storage, read> log_probs: array<f32>;
// The policy's per-env inputs.
@group(0) @binding(9) var<storage, read_write> rtg: array<f32>;
@group(0) @binding(10) var<storage, read_write> timestep: array<i32>;
@group(0) @binding(11) var<storage, read_write> prev_action: array<f32>;
@group(0) @binding(12) var<storage, read_write> record: array<f32>;
// Envs with a discrete action table (a box env driven by a categorical policy):
// the table (choices x env_act_size) and the env's actions.
@group(0) @binding(13) var<storage, read> action_table: array<f32>;
@group(0) @binding(14) var<storage, read_write> env_actions: array<f32>;

fn env_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

// Section offsets of the record, in floats.
fn final_obs_at() -> u32 { return cfg.samples * cfg.obs_size; }
fn actions_at() -> u32 { return 2u * cfg.samples * cfg.obs_size; }
fn rtg_at() -> u32 { return actions_at() + cfg.samples * cfg.act_size; }
fn rewards_at() -> u32 { return rtg_at() + cfg.samples; }
fn log_probs_at() -> u32 { return rewards_at() + cfg.samples; }
fn timesteps_at() -> u32 { return log_probs_at() + cfg.samples; }
fn done_at() -> u32 { return timesteps_at() + cfg.samples; }

@compute @workgroup_size(WORKGROUP_SIZE)
fn begin_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  let k = cfg.step * cfg.n + i;
  let r = cfg.target_return - stats[4u * i];
  let t = counters[2u * i];
  rtg[i] = r;
  timestep[i] = i32(t);
  let o = cfg.obs_size;
  for (var d = 0u; d < o; d++) {
    record[k * o + d] = obs[i * o + d];
  }
  record[rtg_at() + k] = r;
  record[timesteps_at() + k] = f32(t);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn end_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  let k = cfg.step * cfg.n + i;
  let o = cfg.obs_size;
  let fo = final_obs_at();
  for (var d = 0u; d < o; d++) {
    record[fo + k * o + d] = final_obs[i * o + d];
  }
  let p = cfg.act_size;
  let ao = actions_at();
  for (var d = 0u; d < p; d++) {
    let a = actions[i * p + d];
    record[ao + k * p + d] = a;
    prev_action[i * p + d] = a;
  }
  record[rewards_at() + k] = reward[i];
  record[log_probs_at() + k] = log_probs[i];
  record[done_at() + k] = f32(done[i]);
}

// The env's actions from sampled choice indices (in `actions`, act_size 1):
// row `choice` of the action table.
@compute @workgroup_size(WORKGROUP_SIZE)
fn map_actions(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  let e = cfg.env_act_size;
  let choice = u32(actions[i]);
  for (var d = 0u; d < e; d++) {
    env_actions[i * e + d] = action_table[choice * e + d];
  }
}

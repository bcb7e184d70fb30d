// The batch driver for one environment kernel: one invocation per env.
// Concatenated after shaders/random.wgsl, the env's kernel and the generated
// random-action function; semantics as documented in envs/env.ts.

struct Config {
  n: u32,
  seed: u32,
  // Steps per dispatch; >1 only with random actions (benchmarks).
  steps: u32,
  // 1: draw actions with random_action() instead of reading `actions`.
  random_actions: u32,
  // 0: leave a finished env as it is (replay), 1: reset it in the same step.
  autoreset: u32,
  // Always 0, but unknown to the shader compiler: see `opaque`.
  zero: u32,
}

const RESET_STEP: u32 = 0xffffffffu;
// Separates the random-action stream from the env's own draws.
const ACTION_STREAM: u32 = 0x5bd1e995u;
const TERMINATED: u32 = 1u;
const TRUNCATED: u32 = 2u;

@group(0) @binding(0) var<uniform> cfg: Config;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read_write> obs: array<f32>;
@group(0) @binding(4) var<storage, read_write> final_obs: array<f32>;
@group(0) @binding(5) var<storage, read_write> reward: array<f32>;
// Per env: bit 0 terminated, bit 1 truncated, of the last step.
@group(0) @binding(6) var<storage, read_write> done: array<u32>;
// Per env: [step in episode, episode number].
@group(0) @binding(7) var<storage, read_write> counters: array<u32>;
// Per env: [running return, sum of finished returns, finished episodes, sum of finished lengths].
@group(0) @binding(8) var<storage, read_write> stats: array<f32>;
@group(0) @binding(9) var<storage, read> actions: array<f32>;

var<private> s: array<f32, STATE_SIZE>;
var<private> a: array<f32, ACTION_SIZE>;
var<private> o: array<f32, OBS_SIZE>;
var<private> rng_env: u32;
var<private> rng_episode: u32;
var<private> rng_step: u32;

fn rand(k: u32) -> f32 {
  return uniform01(hash5(cfg.seed, rng_env, rng_episode, rng_step, k));
}

fn rand_range(k: u32, low: f32, high: f32) -> f32 {
  return low + (high - low) * rand(k);
}

fn action_rand(k: u32) -> f32 {
  return uniform01(hash5(cfg.seed ^ ACTION_STREAM, rng_env, rng_episode, rng_step, k));
}

// x, hidden from the optimizer. The shader compilers reassociate float
// arithmetic (they fold (a + b) - a into b), which erases the rounding error
// that error-free transformations such as TwoSum compute; passing the sum
// through `opaque` keeps it exact.
fn opaque(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ cfg.zero);
}

fn env_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

fn load_state(i: u32) {
  for (var k = 0u; k < STATE_SIZE; k++) {
    s[k] = state[i * STATE_SIZE + k];
  }
}

fn store_state(i: u32) {
  for (var k = 0u; k < STATE_SIZE; k++) {
    state[i * STATE_SIZE + k] = s[k];
  }
}

fn store_obs(i: u32) {
  env_observe();
  for (var k = 0u; k < OBS_SIZE; k++) {
    obs[i * OBS_SIZE + k] = o[k];
  }
}

// Starts a fresh episode in every env (episode numbers are kept: the host sets them).
@compute @workgroup_size(64)
fn reset(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  rng_env = i;
  rng_episode = counters[i * 2u + 1u];
  rng_step = RESET_STEP;
  env_reset();
  store_state(i);
  store_obs(i);
  counters[i * 2u] = 0u;
  done[i] = 0u;
  reward[i] = 0.0;
  stats[i * 4u] = 0.0;
}

// Writes the observation of the current state (after the host set the state).
@compute @workgroup_size(64)
fn observe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  load_state(i);
  store_obs(i);
}

@compute @workgroup_size(64)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  load_state(i);
  rng_env = i;
  var t = counters[i * 2u];
  rng_episode = counters[i * 2u + 1u];
  var ret = stats[i * 4u];
  var flags = 0u;
  var r = 0.0;
  for (var j = 0u; j < cfg.steps; j++) {
    rng_step = t;
    if (cfg.random_actions == 1u) {
      random_action();
    } else {
      for (var k = 0u; k < ACTION_SIZE; k++) {
        a[k] = actions[i * ACTION_SIZE + k];
      }
    }
    r = env_step();
    t += 1u;
    ret += r;
    flags = select(0u, TERMINATED, env_terminated()) | select(0u, TRUNCATED, t >= MAX_EPISODE_STEPS);
    if (flags != 0u && cfg.autoreset == 1u) {
      store_obs_final(i);
      stats[i * 4u + 1u] += ret;
      stats[i * 4u + 2u] += 1.0;
      stats[i * 4u + 3u] += f32(t);
      ret = 0.0;
      t = 0u;
      rng_episode += 1u;
      rng_step = RESET_STEP;
      env_reset();
    }
  }
  store_state(i);
  store_obs(i);
  counters[i * 2u] = t;
  counters[i * 2u + 1u] = rng_episode;
  reward[i] = r;
  done[i] = flags;
  stats[i * 4u] = ret;
}

fn store_obs_final(i: u32) {
  env_observe();
  for (var k = 0u; k < OBS_SIZE; k++) {
    final_obs[i * OBS_SIZE + k] = o[k];
  }
}

// The batch driver for one environment kernel: one invocation per env.
// Concatenated after shaders/random.wgsl, the env's kernel and the generated
// constants (MAX_EPISODE_STEPS, WORKGROUP_SIZE, AUTORESET) and random-action
// function; semantics as documented in envs/env.ts.

struct Config {
  n: u32,
  seed: u32,
  // Env steps per dispatch (several only for rollouts that never leave the
  // device, such as random-action benchmarks).
  steps: u32,
  // Always 0, but unknown to the shader compiler: see `opaque`.
  zero: u32,
}

const RESET_STEP: u32 = 0xffffffffu;
// Random actions are draws at step `t ^ ACTION_STREAM`, apart from the env's own.
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
// hash5's rounds cached by the driver: hash_pair(seed, env) per env, then
// hash_prefix(seed, env, episode) per episode; a draw costs the two rounds of
// hash_suffix.
var<private> env_key: u32;
var<private> rng_key: u32;

// Positions the random stream at env `i`, episode `e`.
fn start_env(i: u32, e: u32) {
  rng_env = i;
  env_key = hash_pair(cfg.seed, i);
  start_episode(e);
}

// Positions the random stream at episode `e` of the current env.
fn start_episode(e: u32) {
  rng_episode = e;
  rng_key = mix32(env_key ^ e);
}

fn rand(k: u32) -> f32 {
  return uniform01(hash_suffix(rng_key, rng_step, k));
}

fn rand_range(k: u32, low: f32, high: f32) -> f32 {
  return low + (high - low) * rand(k);
}

fn action_hash(k: u32) -> u32 {
  return hash_suffix(rng_key, rng_step ^ ACTION_STREAM, k);
}

fn action_rand(k: u32) -> f32 {
  return uniform01(action_hash(k));
}

// x, hidden from the optimizer. The shader compilers reassociate float
// arithmetic (they fold (a + b) - a into b), which erases the rounding error
// that error-free transformations such as TwoSum compute; passing the sum
// through `opaque` keeps it exact.
fn opaque(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ cfg.zero);
}

fn env_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
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
@compute @workgroup_size(WORKGROUP_SIZE)
fn reset(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  start_env(i, counters[i * 2u + 1u]);
  rng_step = RESET_STEP;
  // The state may hold inputs for the reset (an env's resetInputs).
  load_state(i);
  env_reset();
  store_state(i);
  store_obs(i);
  counters[i * 2u] = 0u;
  done[i] = 0u;
  reward[i] = 0.0;
  stats[i * 4u] = 0.0;
}

// Writes the observation of the current state (after the host set the state).
@compute @workgroup_size(WORKGROUP_SIZE)
fn observe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  load_state(i);
  store_obs(i);
}

// `cfg.steps` steps of env i, with the actions in `actions` or, if `random`,
// uniformly random ones. On a CPU adapter (llvmpipe) a SIMD batch of envs
// runs every branch of the loop body whether or not a lane takes it, so all
// that an episode end updates (the stats, the final observation) stays in
// registers until after the loop, and `random` and AUTORESET are constants
// that remove the branches they guard when the entry points are compiled.
fn run_steps(i: u32, random: bool) {
  load_state(i);
  var t = counters[i * 2u];
  start_env(i, counters[i * 2u + 1u]);
  var ret = stats[i * 4u];
  var return_sum = stats[i * 4u + 1u];
  var episodes = stats[i * 4u + 2u];
  var length_sum = stats[i * 4u + 3u];
  // The state at the last episode end, observed into final_obs after the loop.
  var final_state: array<f32, STATE_SIZE>;
  var ended = false;
  var flags = 0u;
  var r = 0.0;
  for (var j = 0u; j < cfg.steps; j++) {
    rng_step = t;
    if (random) {
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
    if (AUTORESET && flags != 0u) {
      final_state = s;
      ended = true;
      return_sum += ret;
      episodes += 1.0;
      length_sum += f32(t);
      ret = 0.0;
      t = 0u;
      start_episode(rng_episode + 1u);
      rng_step = RESET_STEP;
      env_reset();
    }
  }
  store_state(i);
  store_obs(i);
  if (ended) {
    s = final_state;
    store_obs_final(i);
  }
  counters[i * 2u] = t;
  counters[i * 2u + 1u] = rng_episode;
  reward[i] = r;
  done[i] = flags;
  stats[i * 4u] = ret;
  stats[i * 4u + 1u] = return_sum;
  stats[i * 4u + 2u] = episodes;
  stats[i * 4u + 3u] = length_sum;
}

// Steps with the actions in `actions`.
@compute @workgroup_size(WORKGROUP_SIZE)
fn step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i < cfg.n) {
    run_steps(i, false);
  }
}

// Steps with uniformly random actions.
@compute @workgroup_size(WORKGROUP_SIZE)
fn step_random(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = env_index(gid, nwg);
  if (i < cfg.n) {
    run_steps(i, true);
  }
}

fn store_obs_final(i: u32) {
  env_observe();
  for (var k = 0u; k < OBS_SIZE; k++) {
    final_obs[i * OBS_SIZE + k] = o[k];
  }
}

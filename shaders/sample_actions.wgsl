// Action sampling from a policy head's outputs, one invocation per env, with
// the counter-based RNG of shaders/random.wgsl (prepended by the host).
// TypeScript twin: src/rl/sample_actions.ts, which documents the draws.
//
// Draw k of env i is uniform01(hash5(seed, i, episode, step, k)), with
// (step, episode) read from `counters` laid out as GpuVecEnv's (per env:
// step in episode, episode number), so a draw depends on where the env is,
// not on the batch size or on how many iterations ran before.

const WORKGROUP_SIZE: u32 = 64u;
const LOG_2PI: f32 = 1.8378770664093453;
const TWO_PI: f32 = 6.283185307179586;
const PI: f32 = 3.141592653589793;

struct SampleConfig {
  n: u32,
  // Choices (categorical) or action dimensions (Gaussian).
  width: u32,
  seed: u32,
  // 1: the most likely action (argmax, or the mean) instead of a draw.
  deterministic: u32,
}

@group(0) @binding(0) var<uniform> cfg: SampleConfig;
// Categorical: n x width logits. Gaussian: n x width means.
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read> counters: array<u32>;
// Categorical: n x 1 choice indices as f32. Gaussian: n x width unclipped samples.
@group(0) @binding(3) var<storage, read_write> actions: array<f32>;
@group(0) @binding(4) var<storage, read_write> log_probs: array<f32>;
// Gaussian only: width log standard deviations, the box (width lows, then width highs),
// and the samples clipped into it (what the env steps).
@group(0) @binding(5) var<storage, read> log_std: array<f32>;
@group(0) @binding(6) var<storage, read> bounds: array<f32>;
@group(0) @binding(7) var<storage, read_write> env_actions: array<f32>;

fn env_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WORKGROUP_SIZE;
}

fn draw(i: u32, k: u32) -> f32 {
  return uniform01(hash5(cfg.seed, i, counters[i * 2u + 1u], counters[i * 2u], k));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sample_categorical(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  let base = i * cfg.width;
  var m = head[base];
  var argmax = 0u;
  for (var k = 1u; k < cfg.width; k++) {
    if (head[base + k] > m) {
      m = head[base + k];
      argmax = k;
    }
  }
  var total = 0.0;
  var last_positive = argmax;
  for (var k = 0u; k < cfg.width; k++) {
    let e = exp(head[base + k] - m);
    total += e;
    if (e > 0.0) {
      last_positive = k;
    }
  }
  var a = argmax;
  if (cfg.deterministic == 0u) {
    // Inverse CDF on the unnormalized weights: the first choice whose running
    // sum exceeds u * total (a choice of weight 0 is never taken).
    let threshold = draw(i, 0u) * total;
    a = last_positive;
    var cum = 0.0;
    for (var k = 0u; k < cfg.width; k++) {
      cum += exp(head[base + k] - m);
      if (threshold < cum) {
        a = k;
        break;
      }
    }
  }
  actions[i] = f32(a);
  log_probs[i] = head[base + a] - m - log(total);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sample_gaussian(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = env_index(gid, nwg);
  if (i >= cfg.n) {
    return;
  }
  let width = cfg.width;
  var lp = 0.0;
  for (var d = 0u; d < width; d++) {
    var z = 0.0;
    if (cfg.deterministic == 0u) {
      // Box-Muller. 1 - u1 is in (0, 1]; cos(2 pi u2) is written as
      // -cos(2 pi u2 - pi) to keep the argument in [-pi, pi), where WGSL
      // bounds cos's error.
      let u1 = draw(i, d);
      let u2 = draw(i, width + d);
      z = -sqrt(-2.0 * log(1.0 - u1)) * cos(TWO_PI * u2 - PI);
    }
    let ls = log_std[d];
    let x = head[i * width + d] + exp(ls) * z;
    actions[i * width + d] = x;
    env_actions[i * width + d] = clamp(x, bounds[d], bounds[width + d]);
    lp += -0.5 * (z * z + 2.0 * ls + LOG_2PI);
  }
  log_probs[i] = lp;
}

// Counter-based random numbers; the WGSL twin of mix32/hash5/uniform01 in envs/env.ts.

fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = (x ^ (x >> 16u)) * 0x7feb352du;
  x = (x ^ (x >> 15u)) * 0x846ca68bu;
  return x ^ (x >> 16u);
}

fn hash5(a: u32, b: u32, c: u32, d: u32, e: u32) -> u32 {
  return hash_suffix(hash_prefix(a, b, c), d, e);
}

// The first three rounds of hash5, cached per (seed, env, episode) by the driver.
fn hash_prefix(a: u32, b: u32, c: u32) -> u32 {
  return mix32(hash_pair(a, b) ^ c);
}

// The first two rounds of hash5, cached per (seed, env) by the driver.
fn hash_pair(a: u32, b: u32) -> u32 {
  return mix32(mix32(a ^ 0x9e3779b9u) ^ b);
}

fn hash_suffix(prefix: u32, d: u32, e: u32) -> u32 {
  return mix32(mix32(prefix ^ d) ^ e);
}

fn uniform01(h: u32) -> f32 {
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

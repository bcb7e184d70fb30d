// Counter-based random numbers; the WGSL twin of mix32/hash5/uniform01 in envs/env.ts.

fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = (x ^ (x >> 16u)) * 0x7feb352du;
  x = (x ^ (x >> 15u)) * 0x846ca68bu;
  return x ^ (x >> 16u);
}

fn hash5(a: u32, b: u32, c: u32, d: u32, e: u32) -> u32 {
  var h = mix32(a ^ 0x9e3779b9u);
  h = mix32(h ^ b);
  h = mix32(h ^ c);
  h = mix32(h ^ d);
  return mix32(h ^ e);
}

fn uniform01(h: u32) -> f32 {
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

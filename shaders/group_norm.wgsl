// Normalization of consecutive groups of `group_size` floats of `x`, in
// place: (x - mean) / (std + eps), population std. TypeScript twin:
// `normalizeGroups` / `normalizeGlobal` in src/rl/advantages.ts, which also
// defines the partial last group and why a group of equal values gives zeros.
//
// Two paths, chosen by the host on the group size:
// - small groups: `normalize_small`, one invocation per group, two passes
//   over its floats (the mean shifted by the first element, as the twin);
// - large groups (and the whole batch): `partial_stats` reduces chunks of a
//   group in workgroups (Welford per invocation, then Chan's merge in shared
//   memory, which keeps a constant group's mean exact), `finalize_stats`
//   merges a group's chunks, `apply_stats` normalizes every float.

const SMALL_WORKGROUP: u32 = 64u;
const REDUCE_WORKGROUP: u32 = 256u;

struct NormConfig {
  len: u32,
  group_size: u32,
  groups: u32,
  // Chunks per group and floats per chunk (large path).
  chunks: u32,
  chunk_len: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> cfg: NormConfig;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
// Per chunk: (count, mean, M2, unused).
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;
// Per group: (mean, std + eps).
@group(0) @binding(3) var<storage, read_write> stats: array<vec2<f32>>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>, size: u32) -> u32 {
  return gid.x + gid.y * nwg.x * size;
}

@compute @workgroup_size(SMALL_WORKGROUP)
fn normalize_small(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = flat(gid, nwg, SMALL_WORKGROUP);
  if (g >= cfg.groups) {
    return;
  }
  let start = g * cfg.group_size;
  let end = min(start + cfg.group_size, cfg.len);
  let n = f32(end - start);
  let x0 = x[start];
  var shifted = 0.0;
  for (var k = start; k < end; k++) {
    shifted += x[k] - x0;
  }
  let mean = x0 + shifted / n;
  var sq = 0.0;
  for (var k = start; k < end; k++) {
    let d = x[k] - mean;
    sq += d * d;
  }
  let scale = sqrt(sq / n) + cfg.eps;
  for (var k = start; k < end; k++) {
    x[k] = (x[k] - mean) / scale;
  }
}

// Chan et al.'s merge of two (count, mean, M2) summaries.
fn merge(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) {
    return a;
  }
  if (a.x == 0.0) {
    return b;
  }
  let n = a.x + b.x;
  let delta = b.y - a.y;
  return vec3<f32>(n, a.y + delta * (b.x / n), a.z + b.z + delta * delta * (a.x * b.x / n));
}

var<workgroup> shared_stats: array<vec3<f32>, REDUCE_WORKGROUP>;

@compute @workgroup_size(REDUCE_WORKGROUP)
fn partial_stats(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let w = wid.x + wid.y * nwg.x;
  // Uniform control flow: every invocation reaches the barriers.
  let in_range = w < cfg.groups * cfg.chunks;
  let g = w / max(cfg.chunks, 1u);
  let c = w % max(cfg.chunks, 1u);
  let group_end = min((g + 1u) * cfg.group_size, cfg.len);
  let start = g * cfg.group_size + c * cfg.chunk_len;
  let end = select(start, min(start + cfg.chunk_len, group_end), in_range);
  var s = vec3<f32>(0.0, 0.0, 0.0);
  for (var k = start + lid; k < end; k += REDUCE_WORKGROUP) {
    let v = x[k];
    s.x += 1.0;
    let d = v - s.y;
    s.y += d / s.x;
    s.z += d * (v - s.y);
  }
  shared_stats[lid] = s;
  workgroupBarrier();
  for (var stride = REDUCE_WORKGROUP / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      shared_stats[lid] = merge(shared_stats[lid], shared_stats[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && in_range) {
    partials[w] = vec4<f32>(shared_stats[0], 0.0);
  }
}

@compute @workgroup_size(SMALL_WORKGROUP)
fn finalize_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = flat(gid, nwg, SMALL_WORKGROUP);
  if (g >= cfg.groups) {
    return;
  }
  var s = vec3<f32>(0.0, 0.0, 0.0);
  for (var c = 0u; c < cfg.chunks; c++) {
    s = merge(s, partials[g * cfg.chunks + c].xyz);
  }
  stats[g] = vec2<f32>(s.y, sqrt(s.z / s.x) + cfg.eps);
}

@compute @workgroup_size(SMALL_WORKGROUP)
fn apply_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = flat(gid, nwg, SMALL_WORKGROUP);
  if (k >= cfg.len) {
    return;
  }
  let st = stats[k / cfg.group_size];
  x[k] = (x[k] - st.x) / st.y;
}

// Box2D 2.3's time of impact of a swept dynamic polygon against a static
// edge: the WGSL twin of src/physics/time_of_impact.ts (documented there).
// Needs collide_edge_polygon.wgsl (rotate) and the world's constants.

const TOI_FAILED: u32 = 1u;
const TOI_OVERLAPPED: u32 = 2u;
const TOI_TOUCHING: u32 = 3u;
const TOI_SEPARATED: u32 = 4u;
const TOI_TARGET: f32 = 0.005;
const TOI_TOLERANCE: f32 = 0.00125;
const TOI_MAX_ITERATIONS: u32 = 20u;
const TOI_MAX_ROOT_ITERATIONS: u32 = 50u;
const TOI_MAX_PUSH_BACK: u32 = 8u;
const SEP_POINTS: u32 = 0u;
const SEP_FACE_A: u32 = 1u;
const SEP_FACE_B: u32 = 2u;

// Per body its sweep over the step: the centre of mass and angle at
// fraction alpha0 of the step (c0, a0) and at its end (c, a).
var<private> sweep_c0: array<vec2f, NUM_BODIES>;
var<private> sweep_a0: array<f32, NUM_BODIES>;
var<private> sweep_c: array<vec2f, NUM_BODIES>;
var<private> sweep_a: array<f32, NUM_BODIES>;
var<private> sweep_alpha0: array<f32, NUM_BODIES>;

// The swept polygon's world vertices and rotation at the pose last computed.
var<private> toi_v: array<vec2f, MAX_VERTICES>;
var<private> toi_rot: vec2f;
var<private> toi_pos: vec2f;
// Closest features, the separation function and its support indices.
var<private> feature_kind: u32;
var<private> feature_a: u32;
var<private> feature_b: u32;
var<private> sep_kind: u32;
var<private> sep_axis: vec2f;
var<private> sep_point: vec2f;
var<private> support_a: u32;
var<private> support_b: u32;
// The result of time_of_impact.
var<private> toi_state: u32;
var<private> toi_t: f32;

fn advance_sweep(b: u32, alpha: f32) {
  let beta = (alpha - sweep_alpha0[b]) / (1.0 - sweep_alpha0[b]);
  sweep_c0[b] += beta * (sweep_c[b] - sweep_c0[b]);
  sweep_a0[b] += beta * (sweep_a[b] - sweep_a0[b]);
  sweep_alpha0[b] = alpha;
}

fn toi_pose(b: u32, beta: f32) {
  let c = (1.0 - beta) * sweep_c0[b] + beta * sweep_c[b];
  let a = (1.0 - beta) * sweep_a0[b] + beta * sweep_a[b];
  toi_rot = vec2f(cos(a), sin(a));
  toi_pos = c - rotate(toi_rot, BODY_LOCAL_CENTER[b]);
  for (var i = 0u; i < BODY_VERTEX_COUNT[b]; i++) {
    toi_v[i] = toi_pos + rotate(toi_rot, BODY_VERTICES[b * MAX_VERTICES + i]);
  }
}

fn orient(a: vec2f, b: vec2f, c: vec2f) -> f32 {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

fn edge_vertex(k: u32, v1: vec2f, v2: vec2f) -> vec2f {
  return select(v2, v1, k == 0u);
}

// Distance between the edge and the polygon at toi_v (0: overlap), with its closest features.
fn toi_distance(b: u32, v1: vec2f, v2: vec2f) -> f32 {
  let n = BODY_VERTEX_COUNT[b];
  let e = v2 - v1;
  let ee = dot(e, e);
  var inside1 = true;
  var inside2 = true;
  for (var i = 0u; i < n; i++) {
    let j = select(0u, i + 1u, i + 1u < n);
    let o1 = orient(toi_v[i], toi_v[j], v1);
    let o2 = orient(toi_v[i], toi_v[j], v2);
    inside1 = inside1 && o1 >= 0.0;
    inside2 = inside2 && o2 >= 0.0;
    let o3 = orient(v1, v2, toi_v[i]);
    let o4 = orient(v1, v2, toi_v[j]);
    if (o1 * o2 < 0.0 && o3 * o4 < 0.0) {
      return 0.0;
    }
  }
  if (inside1 || inside2) {
    return 0.0;
  }
  var best = 3.4e38;
  for (var i = 0u; i < n; i++) {
    let v = toi_v[i];
    let t = dot(v - v1, e) / ee;
    if (t > 0.0 && t < 1.0) {
      let d = length(v - (v1 + t * e));
      if (d < best) {
        best = d;
        feature_kind = SEP_FACE_A;
        feature_a = 0u;
        feature_b = i;
      }
    } else {
      let k = select(1u, 0u, t <= 0.0);
      let d = length(v - edge_vertex(k, v1, v2));
      if (d < best) {
        best = d;
        feature_kind = SEP_POINTS;
        feature_a = k;
        feature_b = i;
      }
    }
  }
  for (var k = 0u; k < 2u; k++) {
    let q = edge_vertex(k, v1, v2);
    for (var i = 0u; i < n; i++) {
      let j = select(0u, i + 1u, i + 1u < n);
      let f = toi_v[j] - toi_v[i];
      let t = dot(q - toi_v[i], f) / dot(f, f);
      if (t <= 0.0 || t >= 1.0) {
        continue;
      }
      let d = length(q - (toi_v[i] + t * f));
      if (d < best) {
        best = d;
        feature_kind = SEP_FACE_B;
        feature_a = k;
        feature_b = i;
      }
    }
  }
  return best;
}

fn init_separation(b: u32, v1: vec2f, v2: vec2f) {
  sep_kind = feature_kind;
  if (feature_kind == SEP_POINTS) {
    sep_axis = normalize(toi_v[feature_b] - edge_vertex(feature_a, v1, v2));
  } else if (feature_kind == SEP_FACE_B) {
    let n = BODY_VERTEX_COUNT[b];
    let i = feature_b;
    let j = select(0u, i + 1u, i + 1u < n);
    let l1 = BODY_VERTICES[b * MAX_VERTICES + i];
    let l2 = BODY_VERTICES[b * MAX_VERTICES + j];
    let f = l2 - l1;
    sep_axis = vec2f(f.y, -f.x) / length(f);
    sep_point = 0.5 * (l1 + l2);
    let normal = rotate(toi_rot, sep_axis);
    let pb = toi_pos + rotate(toi_rot, sep_point);
    if (dot(edge_vertex(feature_a, v1, v2) - pb, normal) < 0.0) {
      sep_axis = -sep_axis;
    }
  } else {
    let e = v2 - v1;
    sep_axis = vec2f(e.y, -e.x) / length(e);
    sep_point = 0.5 * (v1 + v2);
    if (dot(toi_v[feature_b] - sep_point, sep_axis) < 0.0) {
      sep_axis = -sep_axis;
    }
  }
}

// FindMinSeparation (find) or Evaluate at fraction t of the sweep.
fn toi_separation(b: u32, t: f32, v1: vec2f, v2: vec2f, find: bool) -> f32 {
  toi_pose(b, t);
  if (sep_kind == SEP_FACE_B) {
    let normal = rotate(toi_rot, sep_axis);
    let pb = toi_pos + rotate(toi_rot, sep_point);
    if (find) {
      support_a = select(1u, 0u, -dot(normal, v1) >= -dot(normal, v2));
    }
    return dot(edge_vertex(support_a, v1, v2) - pb, normal);
  }
  let normal = sep_axis;
  if (find) {
    var best = 0u;
    var best_value = -3.4e38;
    for (var i = 0u; i < BODY_VERTEX_COUNT[b]; i++) {
      let value = -dot(normal, toi_v[i]);
      if (value > best_value) {
        best_value = value;
        best = i;
      }
    }
    support_b = best;
    support_a = select(1u, 0u, dot(normal, v1) >= dot(normal, v2));
  }
  if (sep_kind == SEP_POINTS) {
    return dot(toi_v[support_b] - edge_vertex(support_a, v1, v2), normal);
  }
  return dot(toi_v[support_b] - sep_point, normal);
}

// Sets toi_state and toi_t (a fraction of the remaining sweep) for body b against edge v1-v2.
fn time_of_impact(b: u32, v1: vec2f, v2: vec2f) {
  var t1 = 0.0;
  for (var iter = 0u; ; ) {
    toi_pose(b, t1);
    let d = toi_distance(b, v1, v2);
    if (d <= 0.0) {
      toi_state = TOI_OVERLAPPED;
      toi_t = 0.0;
      return;
    }
    if (d < TOI_TARGET + TOI_TOLERANCE) {
      toi_state = TOI_TOUCHING;
      toi_t = t1;
      return;
    }
    init_separation(b, v1, v2);
    var t2 = 1.0;
    for (var push_back = 0u; ; ) {
      var s2 = toi_separation(b, t2, v1, v2, true);
      if (s2 > TOI_TARGET + TOI_TOLERANCE) {
        toi_state = TOI_SEPARATED;
        toi_t = 1.0;
        return;
      }
      if (s2 > TOI_TARGET - TOI_TOLERANCE) {
        t1 = t2;
        break;
      }
      var s1 = toi_separation(b, t1, v1, v2, false);
      if (s1 < TOI_TARGET - TOI_TOLERANCE) {
        toi_state = TOI_FAILED;
        toi_t = t1;
        return;
      }
      if (s1 <= TOI_TARGET + TOI_TOLERANCE) {
        toi_state = TOI_TOUCHING;
        toi_t = t1;
        return;
      }
      var a1 = t1;
      var a2 = t2;
      for (var root = 0u; root < TOI_MAX_ROOT_ITERATIONS; ) {
        var t: f32;
        if ((root & 1u) == 1u) {
          t = a1 + (TOI_TARGET - s1) * (a2 - a1) / (s2 - s1);
        } else {
          t = 0.5 * (a1 + a2);
        }
        root++;
        let sep = toi_separation(b, t, v1, v2, false);
        if (abs(sep - TOI_TARGET) < TOI_TOLERANCE) {
          t2 = t;
          break;
        }
        if (sep > TOI_TARGET) {
          a1 = t;
          s1 = sep;
        } else {
          a2 = t;
          s2 = sep;
        }
      }
      push_back++;
      if (push_back == TOI_MAX_PUSH_BACK) {
        break;
      }
    }
    iter++;
    if (iter == TOI_MAX_ITERATIONS) {
      toi_state = TOI_FAILED;
      toi_t = t1;
      return;
    }
  }
}

// Sequential-impulse contacts between a dynamic polygon and the static
// ground: the WGSL twin of src/physics/contact_solver.ts.

var<private> contact_count: u32;
var<private> contact_body: array<u32, MAX_CONTACTS>;
// Warm-start impulses per contact point, in and out.
var<private> contact_normal_impulse: array<f32, 2 * MAX_CONTACTS>;
var<private> contact_tangent_impulse: array<f32, 2 * MAX_CONTACTS>;
// Velocity constraints.
var<private> vc_normal: array<vec2f, MAX_CONTACTS>;
var<private> vc_count: array<u32, MAX_CONTACTS>;
var<private> vc_k: array<vec3f, MAX_CONTACTS>;
var<private> vc_rb: array<vec2f, 2 * MAX_CONTACTS>;
var<private> vc_normal_mass: array<f32, 2 * MAX_CONTACTS>;
var<private> vc_tangent_mass: array<f32, 2 * MAX_CONTACTS>;
var<private> vc_bias: array<f32, 2 * MAX_CONTACTS>;

fn body_origin(b: u32, r: vec2f) -> vec2f {
  return body_c[b] - rotate(r, BODY_LOCAL_CENTER[b]);
}

fn cross2(a: vec2f, b: vec2f) -> f32 {
  return a.x * b.y - a.y * b.x;
}

// (-w r.y, w r.x): the velocity of a point at r on a body turning at w.
fn cross_sv(w: f32, r: vec2f) -> vec2f {
  return vec2f(-w * r.y, w * r.x);
}

fn contacts_initialize() {
  for (var k = 0u; k < contact_count; k++) {
    let b = contact_body[k];
    let m_b = BODY_INV_MASS[b];
    let i_b = BODY_INV_I[b];
    let r = vec2f(cos(body_a[b]), sin(body_a[b]));
    let p_b = body_origin(b, r);
    let face_a = man_type[k] == FACE_A;
    var n: vec2f;
    var plane: vec2f;
    if (face_a) {
      n = man_normal[k];
      plane = man_point[k];
    } else {
      n = rotate(r, man_normal[k]);
      plane = p_b + rotate(r, man_point[k]);
    }
    let normal = select(-n, n, face_a);
    vc_normal[k] = normal;
    vc_count[k] = man_count[k];
    let t = vec2f(normal.y, -normal.x);
    for (var j = 0u; j < man_count[k]; j++) {
      let q = 2u * k + j;
      let l = man_local[q];
      var p: vec2f;
      if (face_a) {
        let clip = p_b + rotate(r, l);
        let d = POLYGON_RADIUS - dot(clip - plane, n);
        let c_a = clip + d * n;
        let c_b = clip - POLYGON_RADIUS * n;
        p = 0.5 * (c_a + c_b);
      } else {
        let d = POLYGON_RADIUS - dot(l - plane, n);
        let c_b = l + d * n;
        let c_a = l - POLYGON_RADIUS * n;
        p = 0.5 * (c_a + c_b);
      }
      let rb = p - body_c[b];
      vc_rb[q] = rb;
      let rn = cross2(rb, normal);
      let kn = m_b + i_b * rn * rn;
      vc_normal_mass[q] = select(0.0, 1.0 / kn, kn > 0.0);
      let rt = cross2(rb, t);
      let kt = m_b + i_b * rt * rt;
      vc_tangent_mass[q] = select(0.0, 1.0 / kt, kt > 0.0);
      let dv = body_v[b] + cross_sv(body_w[b], rb);
      let v_rel = dot(normal, dv);
      vc_bias[q] = select(0.0, -BODY_RESTITUTION[b] * v_rel, v_rel < -VELOCITY_THRESHOLD);
    }
    if (man_count[k] == 2u) {
      let rn1 = cross2(vc_rb[2u * k], normal);
      let rn2 = cross2(vc_rb[2u * k + 1u], normal);
      let k11 = m_b + i_b * rn1 * rn1;
      let k22 = m_b + i_b * rn2 * rn2;
      let k12 = m_b + i_b * rn1 * rn2;
      if (k11 * k11 < MAX_CONDITION_NUMBER * (k11 * k22 - k12 * k12)) {
        vc_k[k] = vec3f(k11, k12, k22);
      } else {
        vc_count[k] = 1u;
      }
    }
  }
  for (var k = 0u; k < contact_count; k++) {
    let b = contact_body[k];
    let normal = vc_normal[k];
    let t = vec2f(normal.y, -normal.x);
    for (var j = 0u; j < vc_count[k]; j++) {
      let q = 2u * k + j;
      let P = contact_normal_impulse[q] * normal + contact_tangent_impulse[q] * t;
      body_w[b] += BODY_INV_I[b] * cross2(vc_rb[q], P);
      body_v[b] += BODY_INV_MASS[b] * P;
    }
  }
}

// One point's friction impulse; returns the body's new velocity and angular velocity.
fn solve_friction_point(
  q: u32,
  t: vec2f,
  m_b: f32,
  i_b: f32,
  friction: f32,
  v0: vec2f,
  w0: f32,
) -> vec3f {
  let rb = vc_rb[q];
  let vt = dot(v0 + cross_sv(w0, rb), t);
  let max_friction = friction * contact_normal_impulse[q];
  let old = contact_tangent_impulse[q];
  let next = clamp(old - vc_tangent_mass[q] * vt, -max_friction, max_friction);
  contact_tangent_impulse[q] = next;
  let P = (next - old) * t;
  return vec3f(v0 + m_b * P, w0 + i_b * cross2(rb, P));
}

fn contacts_solve_velocities() {
  for (var k = 0u; k < contact_count; k++) {
    let b = contact_body[k];
    let m_b = BODY_INV_MASS[b];
    let i_b = BODY_INV_I[b];
    let normal = vc_normal[k];
    let t = vec2f(normal.y, -normal.x);
    let count = vc_count[k];
    let friction = BODY_FRICTION[b];
    var v = body_v[b];
    var w = body_w[b];
    // Friction at each point, unrolled (llvmpipe caps an invocation's loop iterations).
    if (count > 0u) {
      let vw = solve_friction_point(2u * k, t, m_b, i_b, friction, v, w);
      v = vw.xy;
      w = vw.z;
    }
    if (count > 1u) {
      let vw = solve_friction_point(2u * k + 1u, t, m_b, i_b, friction, v, w);
      v = vw.xy;
      w = vw.z;
    }
    if (count == 1u) {
      let q = 2u * k;
      let rb = vc_rb[q];
      let vn = dot(v + cross_sv(w, rb), normal);
      let old = contact_normal_impulse[q];
      let next = max(old - vc_normal_mass[q] * (vn - vc_bias[q]), 0.0);
      contact_normal_impulse[q] = next;
      let P = (next - old) * normal;
      v += m_b * P;
      w += i_b * cross2(rb, P);
    } else if (count == 2u) {
      let q1 = 2u * k;
      let q2 = q1 + 1u;
      let r1 = vc_rb[q1];
      let r2 = vc_rb[q2];
      let ax = contact_normal_impulse[q1];
      let ay = contact_normal_impulse[q2];
      let k11 = vc_k[k].x;
      let k12 = vc_k[k].y;
      let k22 = vc_k[k].z;
      let vn1 = dot(v + cross_sv(w, r1), normal);
      let vn2 = dot(v + cross_sv(w, r2), normal);
      let bx = vn1 - vc_bias[q1] - (k11 * ax + k12 * ay);
      let by = vn2 - vc_bias[q2] - (k12 * ax + k22 * ay);
      let det = k11 * k22 - k12 * k12;
      let inv = select(0.0, 1.0 / det, det != 0.0);
      var xx = -(inv * (k22 * bx - k12 * by));
      var xy = -(inv * (-k12 * bx + k11 * by));
      var solved = xx >= 0.0 && xy >= 0.0;
      if (!solved) {
        xx = -vc_normal_mass[q1] * bx;
        xy = 0.0;
        solved = xx >= 0.0 && k12 * xx + by >= 0.0;
      }
      if (!solved) {
        xx = 0.0;
        xy = -vc_normal_mass[q2] * by;
        solved = xy >= 0.0 && k12 * xy + bx >= 0.0;
      }
      if (!solved) {
        xx = 0.0;
        xy = 0.0;
        solved = bx >= 0.0 && by >= 0.0;
      }
      if (solved) {
        let P1 = (xx - ax) * normal;
        let P2 = (xy - ay) * normal;
        v += m_b * (P1 + P2);
        w += i_b * (cross2(r1, P1) + cross2(r2, P2));
        contact_normal_impulse[q1] = xx;
        contact_normal_impulse[q2] = xy;
      }
    }
    body_v[b] = v;
    body_w[b] = w;
  }
}

// One pass of position correction; whether every contact is within 3 linear slops.
// One pass of position correction by `baumgarte` of each overlap; whether all are within `tolerance`.
fn contacts_solve_positions(baumgarte: f32, tolerance: f32) -> bool {
  var min_separation = 0.0;
  for (var k = 0u; k < contact_count; k++) {
    let b = contact_body[k];
    let m_b = BODY_INV_MASS[b];
    let i_b = BODY_INV_I[b];
    let face_a = man_type[k] == FACE_A;
    for (var j = 0u; j < man_count[k]; j++) {
      let r = vec2f(cos(body_a[b]), sin(body_a[b]));
      let p_b = body_origin(b, r);
      let l = man_local[2u * k + j];
      var n: vec2f;
      var p: vec2f;
      var separation: f32;
      if (face_a) {
        n = man_normal[k];
        p = p_b + rotate(r, l);
        separation = dot(p - man_point[k], n) - 2.0 * POLYGON_RADIUS;
      } else {
        n = rotate(r, man_normal[k]);
        let plane = p_b + rotate(r, man_point[k]);
        p = l;
        separation = dot(p - plane, n) - 2.0 * POLYGON_RADIUS;
        n = -n;
      }
      let rb = p - body_c[b];
      min_separation = min(min_separation, separation);
      let C = clamp(baumgarte * (separation + LINEAR_SLOP), -MAX_LINEAR_CORRECTION, 0.0);
      let rn = cross2(rb, n);
      let K = m_b + i_b * rn * rn;
      let impulse = select(0.0, -C / K, K > 0.0);
      let P = impulse * n;
      body_c[b] += m_b * P;
      body_a[b] += i_b * cross2(rb, P);
    }
  }
  return min_separation >= -tolerance;
}

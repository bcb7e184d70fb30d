// Revolute joints with motor and limit: the WGSL twin of
// src/physics/revolute_joint.ts (Box2D 2.3's b2RevoluteJoint).

const INACTIVE_LIMIT: f32 = 0.0;
const AT_LOWER_LIMIT: f32 = 1.0;
const AT_UPPER_LIMIT: f32 = 2.0;
const EQUAL_LIMITS: f32 = 3.0;

// Per joint: accumulated impulse (x, y, limit z), motor impulse, limit state.
var<private> joint_impulse: array<vec3f, NUM_JOINTS>;
var<private> joint_motor_impulse: array<f32, NUM_JOINTS>;
var<private> joint_limit_state: array<f32, NUM_JOINTS>;
var<private> joint_ra: array<vec2f, NUM_JOINTS>;
var<private> joint_rb: array<vec2f, NUM_JOINTS>;
// The effective mass (m11, m12, m13) and (m22, m23, m33).
var<private> joint_mass_1: array<vec3f, NUM_JOINTS>;
var<private> joint_mass_2: array<vec3f, NUM_JOINTS>;
var<private> joint_motor_mass: array<f32, NUM_JOINTS>;
// The parts of Solve33 and Solve22 that depend on the effective mass alone, set once a step (the
// velocity pass solves 180 times): ey x ez, and the inverse determinants (x: 3x3, y: 2x2).
var<private> joint_cyz: array<vec3f, NUM_JOINTS>;
var<private> joint_inv_det: array<vec2f, NUM_JOINTS>;

// The anchors relative to the centres of mass, in the world, at the bodies' current angles.
fn joint_anchors(j: u32) {
  let A = JOINT_BODY_A[j];
  let B = JOINT_BODY_B[j];
  joint_ra[j] = rotate(vec2f(cos(body_a[A]), sin(body_a[A])), JOINT_ANCHOR_A[j] - BODY_LOCAL_CENTER[A]);
  joint_rb[j] = rotate(vec2f(cos(body_a[B]), sin(body_a[B])), JOINT_ANCHOR_B[j] - BODY_LOCAL_CENTER[B]);
}

fn joint_initialize(j: u32) {
  let A = JOINT_BODY_A[j];
  let B = JOINT_BODY_B[j];
  joint_anchors(j);
  let ra = joint_ra[j];
  let rb = joint_rb[j];
  let m_a = BODY_INV_MASS[A];
  let m_b = BODY_INV_MASS[B];
  let i_a = BODY_INV_I[A];
  let i_b = BODY_INV_I[B];
  joint_mass_1[j] = vec3f(
    m_a + m_b + ra.y * ra.y * i_a + rb.y * rb.y * i_b,
    -ra.y * ra.x * i_a - rb.y * rb.x * i_b,
    -ra.y * i_a - rb.y * i_b,
  );
  joint_mass_2[j] = vec3f(
    m_a + m_b + ra.x * ra.x * i_a + rb.x * rb.x * i_b,
    ra.x * i_a + rb.x * i_b,
    i_a + i_b,
  );
  joint_motor_mass[j] = select(0.0, 1.0 / (i_a + i_b), i_a + i_b > 0.0);
  joint_solver_constants(j);
  if (!JOINT_ENABLE_MOTOR[j]) {
    joint_motor_impulse[j] = 0.0;
  }
  if (JOINT_ENABLE_LIMIT[j]) {
    let angle = body_a[B] - body_a[A] - JOINT_REFERENCE_ANGLE[j];
    if (abs(JOINT_UPPER_ANGLE[j] - JOINT_LOWER_ANGLE[j]) < 2.0 * ANGULAR_SLOP) {
      joint_limit_state[j] = EQUAL_LIMITS;
    } else if (angle <= JOINT_LOWER_ANGLE[j]) {
      if (joint_limit_state[j] != AT_LOWER_LIMIT) {
        joint_impulse[j].z = 0.0;
      }
      joint_limit_state[j] = AT_LOWER_LIMIT;
    } else if (angle >= JOINT_UPPER_ANGLE[j]) {
      if (joint_limit_state[j] != AT_UPPER_LIMIT) {
        joint_impulse[j].z = 0.0;
      }
      joint_limit_state[j] = AT_UPPER_LIMIT;
    } else {
      joint_limit_state[j] = INACTIVE_LIMIT;
      joint_impulse[j].z = 0.0;
    }
  } else {
    joint_limit_state[j] = INACTIVE_LIMIT;
  }
  let P = joint_impulse[j].xy;
  let L = joint_motor_impulse[j] + joint_impulse[j].z;
  body_v[A] -= m_a * P;
  body_w[A] -= i_a * (cross2(ra, P) + L);
  body_v[B] += m_b * P;
  body_w[B] += i_b * (cross2(rb, P) + L);
}

// The effective mass (symmetric) as its columns ex = (m11, m12, m13), ey = (m12, m22, m23),
// ez = (m13, m23, m33).
fn joint_mass(j: u32) -> mat3x3f {
  let ex = joint_mass_1[j];
  return mat3x3f(ex, vec3f(ex.y, joint_mass_2[j].xy), vec3f(ex.z, joint_mass_2[j].yz));
}

// Solve33's ey x ez and both inverse determinants, from the step's effective mass.
fn joint_solver_constants(j: u32) {
  let k = joint_mass(j);
  let cyz = cross(k[1], k[2]);
  joint_cyz[j] = cyz;
  var det33 = dot(k[0], cyz);
  if (det33 != 0.0) {
    det33 = 1.0 / det33;
  }
  var det22 = k[0].x * k[1].y - k[0].y * k[0].y;
  if (det22 != 0.0) {
    det22 = 1.0 / det22;
  }
  joint_inv_det[j] = vec2f(det33, det22);
}

// b2Mat33::Solve33: x = det b.(ey x ez), y = det ex.(b x ez), z = det ex.(ey x b).
fn joint_solve33(j: u32, b: vec3f) -> vec3f {
  let k = joint_mass(j);
  let x = dot(b, joint_cyz[j]);
  return joint_inv_det[j].x * vec3f(x, dot(k[0], cross(b, k[2])), dot(k[0], cross(k[1], b)));
}

// b2Mat33::Solve22 on the upper-left 2x2 block.
fn joint_solve22(j: u32, b: vec2f) -> vec2f {
  let k = joint_mass(j);
  return joint_inv_det[j].y * vec2f(k[1].y * b.x - k[0].y * b.y, k[0].x * b.y - k[0].y * b.x);
}

fn joint_solve_velocities(j: u32) {
  let A = JOINT_BODY_A[j];
  let B = JOINT_BODY_B[j];
  let m_a = BODY_INV_MASS[A];
  let m_b = BODY_INV_MASS[B];
  let i_a = BODY_INV_I[A];
  let i_b = BODY_INV_I[B];
  let ra = joint_ra[j];
  let rb = joint_rb[j];
  var v_a = body_v[A];
  var w_a = body_w[A];
  var v_b = body_v[B];
  var w_b = body_w[B];
  let limit_state = joint_limit_state[j];
  if (JOINT_ENABLE_MOTOR[j] && limit_state != EQUAL_LIMITS) {
    let cdot = w_b - w_a - JOINT_MOTOR_SPEED[j];
    let old = joint_motor_impulse[j];
    let max_impulse = TIME_STEP * JOINT_MAX_MOTOR_TORQUE[j];
    joint_motor_impulse[j] = clamp(old - joint_motor_mass[j] * cdot, -max_impulse, max_impulse);
    let applied = joint_motor_impulse[j] - old;
    w_a -= i_a * applied;
    w_b += i_b * applied;
  }
  let cdot1 = v_b + cross_sv(w_b, rb) - v_a - cross_sv(w_a, ra);
  var P: vec2f;
  var Lz = 0.0;
  if (JOINT_ENABLE_LIMIT[j] && limit_state != INACTIVE_LIMIT) {
    let cdot2 = w_b - w_a;
    var impulse = joint_solve33(j, vec3f(-cdot1.x, -cdot1.y, -cdot2));
    if (limit_state == EQUAL_LIMITS) {
      joint_impulse[j] += impulse;
    } else {
      let next = joint_impulse[j].z + impulse.z;
      let pulls = select(next > 0.0, next < 0.0, limit_state == AT_LOWER_LIMIT);
      if (pulls) {
        let rhs = -cdot1 + joint_impulse[j].z * vec2f(joint_mass_1[j].z, joint_mass_2[j].y);
        let reduced = joint_solve22(j, rhs);
        impulse = vec3f(reduced, -joint_impulse[j].z);
        joint_impulse[j] = vec3f(joint_impulse[j].xy + reduced, 0.0);
      } else {
        joint_impulse[j] += impulse;
      }
    }
    P = impulse.xy;
    Lz = impulse.z;
  } else {
    P = joint_solve22(j, -cdot1);
    joint_impulse[j] = vec3f(joint_impulse[j].xy + P, joint_impulse[j].z);
  }
  v_a -= m_a * P;
  w_a -= i_a * (cross2(ra, P) + Lz);
  v_b += m_b * P;
  w_b += i_b * (cross2(rb, P) + Lz);
  body_v[A] = v_a;
  body_w[A] = w_a;
  body_v[B] = v_b;
  body_w[B] = w_b;
}

// One pass of position correction; whether the joint is within the slops.
fn joint_solve_positions(j: u32) -> bool {
  let A = JOINT_BODY_A[j];
  let B = JOINT_BODY_B[j];
  let m_a = BODY_INV_MASS[A];
  let m_b = BODY_INV_MASS[B];
  let i_a = BODY_INV_I[A];
  let i_b = BODY_INV_I[B];
  var angular_error = 0.0;
  let limit_state = joint_limit_state[j];
  if (JOINT_ENABLE_LIMIT[j] && limit_state != INACTIVE_LIMIT) {
    let angle = body_a[B] - body_a[A] - JOINT_REFERENCE_ANGLE[j];
    var C: f32;
    if (limit_state == EQUAL_LIMITS) {
      C = clamp(angle - JOINT_LOWER_ANGLE[j], -MAX_ANGULAR_CORRECTION, MAX_ANGULAR_CORRECTION);
      angular_error = abs(C);
    } else if (limit_state == AT_LOWER_LIMIT) {
      C = angle - JOINT_LOWER_ANGLE[j];
      angular_error = -C;
      C = clamp(C + ANGULAR_SLOP, -MAX_ANGULAR_CORRECTION, 0.0);
    } else {
      C = angle - JOINT_UPPER_ANGLE[j];
      angular_error = C;
      C = clamp(C - ANGULAR_SLOP, 0.0, MAX_ANGULAR_CORRECTION);
    }
    let limit_impulse = -joint_motor_mass[j] * C;
    body_a[A] -= i_a * limit_impulse;
    body_a[B] += i_b * limit_impulse;
  }
  joint_anchors(j);
  let ra = joint_ra[j];
  let rb = joint_rb[j];
  let C = body_c[B] + rb - body_c[A] - ra;
  let position_error = sqrt(C.x * C.x + C.y * C.y);
  let k11 = m_a + m_b + i_a * ra.y * ra.y + i_b * rb.y * rb.y;
  let k12 = -i_a * ra.x * ra.y - i_b * rb.x * rb.y;
  let k22 = m_a + m_b + i_a * ra.x * ra.x + i_b * rb.x * rb.x;
  var det = k11 * k22 - k12 * k12;
  if (det != 0.0) {
    det = 1.0 / det;
  }
  let P = vec2f(-det * (k22 * C.x - k12 * C.y), -det * (k11 * C.y - k12 * C.x));
  body_c[A] -= m_a * P;
  body_a[A] -= i_a * cross2(ra, P);
  body_c[B] += m_b * P;
  body_a[B] += i_b * cross2(rb, P);
  return position_error <= LINEAR_SLOP && angular_error <= ANGULAR_SLOP;
}

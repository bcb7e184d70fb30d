// Acrobot-v1, the WGSL twin of envs/acrobot.ts: the book dynamics, one RK4
// step, angles wrapped into [-pi, pi], velocities clipped.
//
// In f32, cos(x - pi/2) loses the low bits of x near zero (and pi/2 itself is
// rounded), so the gravity terms use the equal sin(x) instead.

const STATE_SIZE: u32 = 4u;
const OBS_SIZE: u32 = 6u;
const ACTION_SIZE: u32 = 1u;
const PI: f32 = 3.141592653589793;
const TWO_PI: f32 = 6.283185307179586;
const MAX_VEL_1: f32 = 12.566370614359172;
const MAX_VEL_2: f32 = 28.274333882308138;

struct Params {
  link_length_1: f32,
  link_mass_1: f32,
  link_mass_2: f32,
  link_com_pos_1: f32,
  link_com_pos_2: f32,
  link_moi: f32,
  gravity: f32,
  torque: f32,
  dt: f32,
}

fn env_reset() {
  for (var k = 0u; k < 4u; k++) {
    s[k] = rand_range(k, -0.1, 0.1);
  }
}

// [dtheta1, dtheta2, ddtheta1, ddtheta2] at state y under `torque`.
fn acrobot_derivs(y: vec4<f32>, torque: f32) -> vec4<f32> {
  let m1 = params.link_mass_1;
  let m2 = params.link_mass_2;
  let l1 = params.link_length_1;
  let lc1 = params.link_com_pos_1;
  let lc2 = params.link_com_pos_2;
  let i12 = params.link_moi;
  let g = params.gravity;
  let cos2 = cos(y.y);
  let sin2 = sin(y.y);
  let d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * cos2) + i12 + i12;
  let d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + i12;
  let phi2 = m2 * lc2 * g * sin(y.x + y.y);
  let phi1 = -m2 * l1 * lc2 * (y.w * y.w) * sin2 - 2.0 * m2 * l1 * lc2 * y.w * y.z * sin2 +
    (m1 * lc1 + m2 * l1) * g * sin(y.x) + phi2;
  let ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * (y.z * y.z) * sin2 - phi2) /
    (m2 * lc2 * lc2 + i12 - d2 * d2 / d1);
  let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return vec4<f32>(y.z, y.w, ddtheta1, ddtheta2);
}

fn wrap_angle(x0: f32) -> f32 {
  var x = x0;
  while (x > PI) {
    x -= TWO_PI;
  }
  while (x < -PI) {
    x += TWO_PI;
  }
  return x;
}

fn env_terminated() -> bool {
  return -cos(s[0]) - cos(s[1] + s[0]) > 1.0;
}

fn env_step() -> f32 {
  let torque = (a[0] - 1.0) * params.torque;
  let y = vec4<f32>(s[0], s[1], s[2], s[3]);
  let dt = params.dt;
  let dt2 = dt / 2.0;
  let k1 = acrobot_derivs(y, torque);
  let k2 = acrobot_derivs(y + dt2 * k1, torque);
  let k3 = acrobot_derivs(y + dt2 * k2, torque);
  let k4 = acrobot_derivs(y + dt * k3, torque);
  let n = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
  s[0] = wrap_angle(n.x);
  s[1] = wrap_angle(n.y);
  s[2] = clamp(n.z, -MAX_VEL_1, MAX_VEL_1);
  s[3] = clamp(n.w, -MAX_VEL_2, MAX_VEL_2);
  return select(-1.0, 0.0, env_terminated());
}

fn env_observe() {
  o[0] = cos(s[0]);
  o[1] = sin(s[0]);
  o[2] = cos(s[1]);
  o[3] = sin(s[1]);
  o[4] = s[2];
  o[5] = s[3];
}

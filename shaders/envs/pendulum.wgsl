// Pendulum-v1, the WGSL twin of envs/pendulum.ts.
//
// f32 carries theta and theta_dot as unevaluated sums hi + lo (s[0] + s[2],
// s[1] + s[3]): every update adds its rounding error to lo (two_sum), so the
// state keeps ~48 bits and a chaotic swing-up stays close to float64.

const STATE_SIZE: u32 = 4u;
const OBS_SIZE: u32 = 3u;
const ACTION_SIZE: u32 = 1u;
const MAX_SPEED: f32 = 8.0;
const MAX_TORQUE: f32 = 2.0;
const PI: f32 = 3.141592653589793;
const TWO_PI: f32 = 6.283185307179586;

struct Params {
  g: f32,
  m: f32,
  l: f32,
  dt: f32,
}

fn env_reset() {
  s[0] = rand_range(0u, -PI, PI);
  s[1] = rand_range(1u, -1.0, 1.0);
  s[2] = 0.0;
  s[3] = 0.0;
}

// a + b as hi + lo exactly (Knuth's TwoSum; `opaque` keeps the compiler from
// simplifying lo to 0).
fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let hi = opaque(a + b);
  let b_virtual = hi - a;
  let lo = (a - (hi - b_virtual)) + (b - b_virtual);
  return vec2<f32>(hi, lo);
}

// Python's floored modulo: the result lies in [-pi, pi).
fn angle_normalize(x: f32) -> f32 {
  var m = (x + PI) % TWO_PI;
  if (m < 0.0) {
    m += TWO_PI;
  }
  return m - PI;
}

fn env_step() -> f32 {
  let th = s[0];
  let th_lo = s[2];
  let thdot = s[1] + s[3];
  let u = clamp(a[0], -MAX_TORQUE, MAX_TORQUE);
  let norm = angle_normalize(th) + th_lo;
  let costs = norm * norm + 0.1 * thdot * thdot + 0.001 * (u * u);
  let sin_th = sin(th) + cos(th) * th_lo;
  let l = params.l;
  let dt = params.dt;
  let accel = 3.0 * params.g / (2.0 * l) * sin_th + 3.0 / (params.m * l * l) * u;
  let sum = two_sum(s[1], accel * dt);
  var w = two_sum(sum.x, sum.y + s[3]);
  if (w.x > MAX_SPEED || (w.x == MAX_SPEED && w.y > 0.0)) {
    w = vec2<f32>(MAX_SPEED, 0.0);
  }
  if (w.x < -MAX_SPEED || (w.x == -MAX_SPEED && w.y < 0.0)) {
    w = vec2<f32>(-MAX_SPEED, 0.0);
  }
  let step = two_sum(th, w.x * dt);
  let t = two_sum(step.x, step.y + (th_lo + w.y * dt));
  s[0] = t.x;
  s[2] = t.y;
  s[1] = w.x;
  s[3] = w.y;
  return -costs;
}

fn env_terminated() -> bool {
  return false;
}

fn env_observe() {
  let c = cos(s[0]);
  let sn = sin(s[0]);
  o[0] = c - sn * s[2];
  o[1] = sn + c * s[2];
  o[2] = s[1] + s[3];
}

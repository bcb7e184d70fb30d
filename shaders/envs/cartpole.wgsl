// CartPole-v1, the WGSL twin of envs/cartpole.ts.

const STATE_SIZE: u32 = 4u;
const OBS_SIZE: u32 = 4u;
const ACTION_SIZE: u32 = 1u;
const THETA_THRESHOLD: f32 = 0.20943951023931953;
const X_THRESHOLD: f32 = 2.4;

struct Params {
  gravity: f32,
  masscart: f32,
  masspole: f32,
  length: f32,
  force_mag: f32,
  tau: f32,
}

fn env_reset() {
  for (var k = 0u; k < 4u; k++) {
    s[k] = rand_range(k, -0.05, 0.05);
  }
}

fn env_step() -> f32 {
  let x = s[0];
  let x_dot = s[1];
  let theta = s[2];
  let theta_dot = s[3];
  let force = select(-params.force_mag, params.force_mag, a[0] == 1.0);
  let c = cos(theta);
  let sn = sin(theta);
  let total_mass = params.masspole + params.masscart;
  let pole_mass_length = params.masspole * params.length;
  let temp = (force + pole_mass_length * theta_dot * theta_dot * sn) / total_mass;
  let theta_acc = (params.gravity * sn - c * temp) /
    (params.length * (4.0 / 3.0 - params.masspole * c * c / total_mass));
  let x_acc = temp - pole_mass_length * theta_acc * c / total_mass;
  s[0] = x + params.tau * x_dot;
  s[1] = x_dot + params.tau * x_acc;
  s[2] = theta + params.tau * theta_dot;
  s[3] = theta_dot + params.tau * theta_acc;
  return 1.0;
}

fn env_terminated() -> bool {
  return s[0] < -X_THRESHOLD || s[0] > X_THRESHOLD || s[2] < -THETA_THRESHOLD ||
    s[2] > THETA_THRESHOLD;
}

fn env_observe() {
  for (var k = 0u; k < 4u; k++) {
    o[k] = s[k];
  }
}

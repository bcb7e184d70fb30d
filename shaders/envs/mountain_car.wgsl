// MountainCar-v0, the WGSL twin of envs/mountain_car.ts.

const STATE_SIZE: u32 = 2u;
const OBS_SIZE: u32 = 2u;
const ACTION_SIZE: u32 = 1u;
const MIN_POSITION: f32 = -1.2;
const MAX_POSITION: f32 = 0.6;
const MAX_SPEED: f32 = 0.07;
const GOAL_POSITION: f32 = 0.5;
const GOAL_VELOCITY: f32 = 0.0;

struct Params {
  force: f32,
  gravity: f32,
}

fn env_reset() {
  s[0] = rand_range(0u, -0.6, -0.4);
  s[1] = 0.0;
}

fn env_step() -> f32 {
  var position = s[0];
  var velocity = s[1];
  velocity += (a[0] - 1.0) * params.force + cos(3.0 * position) * -params.gravity;
  velocity = clamp(velocity, -MAX_SPEED, MAX_SPEED);
  position += velocity;
  position = clamp(position, MIN_POSITION, MAX_POSITION);
  if (position == MIN_POSITION && velocity < 0.0) {
    velocity = 0.0;
  }
  s[0] = position;
  s[1] = velocity;
  return -1.0;
}

fn env_terminated() -> bool {
  return s[0] >= GOAL_POSITION && s[1] >= GOAL_VELOCITY;
}

fn env_observe() {
  o[0] = s[0];
  o[1] = s[1];
}

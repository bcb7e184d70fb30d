// LunarLander-v3 (discrete or continuous): the WGSL twin of
// envs/lunar_lander.ts, over the world of shaders/physics/world.wgsl.

const FPS: f32 = 50.0;
const SCALE: f32 = 30.0;
const MAIN_ENGINE_POWER: f32 = 13.0;
const SIDE_ENGINE_POWER: f32 = 0.6;
const INITIAL_RANDOM: f32 = 1000.0;
const LEG_AWAY: f32 = 20.0;
const LEG_DOWN: f32 = 18.0;
const SIDE_ENGINE_HEIGHT: f32 = 14.0;
const SIDE_ENGINE_AWAY: f32 = 12.0;
const MAIN_ENGINE_Y_LOCATION: f32 = 4.0;
const W: f32 = 20.0;
const H: f32 = 13.333333333333334;
const CHUNKS: u32 = 11u;
const HELIPAD_Y: f32 = 3.3333333333333335;

struct Params {
  gravity: f32,
  enable_wind: f32,
  wind_power: f32,
  turbulence_power: f32,
}

fn env_reset() {
  let given = s[RESET_GIVEN] == 1.0;
  s[RESET_GIVEN] = 0.0;
  var height: array<f32, 12>;
  for (var k = 0u; k < CHUNKS + 1u; k++) {
    height[k] = select(rand_range(k, 0.0, H / 2.0), s[RESET_HEIGHTS + k], given);
  }
  for (var k = CHUNKS / 2u - 2u; k <= CHUNKS / 2u + 2u; k++) {
    height[k] = HELIPAD_Y;
  }
  for (var i = 0u; i < CHUNKS; i++) {
    s[TERRAIN + 2u * i] = W / f32(CHUNKS - 1u) * f32(i);
    s[TERRAIN + 2u * i + 1u] = 0.33 * (height[(i + CHUNKS) % (CHUNKS + 1u)] + height[i] + height[i + 1u]);
  }
  world_clear_constraints();
  world_set_body(0u, vec2f(W / 2.0, H), 0.0);
  world_set_body(1u, vec2f(W / 2.0 + LEG_AWAY / SCALE, H), -0.05);
  world_set_body(2u, vec2f(W / 2.0 - LEG_AWAY / SCALE, H), 0.05);
  s[GAME_OVER] = 0.0;
  s[LEG_CONTACT] = 0.0;
  s[LEG_CONTACT + 1u] = 0.0;
  s[WIND_IDX] = floor(rand_range(14u, -9999.0, 9999.0));
  s[TORQUE_IDX] = floor(rand_range(15u, -9999.0, 9999.0));
  let fx = select(rand_range(12u, -INITIAL_RANDOM, INITIAL_RANDOM), s[RESET_FORCE], given);
  let fy = select(rand_range(13u, -INITIAL_RANDOM, INITIAL_RANDOM), s[RESET_FORCE + 1u], given);
  body_force[0] = vec3f(fx, fy, 0.0);
  lander_advance(0.0, 0.0, 0.0, 16u);
}

fn lander_advance(main: f32, side: f32, direction: f32, k0: u32) -> f32 {
  if (params.enable_wind != 0.0 && s[LEG_CONTACT] == 0.0 && s[LEG_CONTACT + 1u] == 0.0) {
    let wind = s[WIND_IDX];
    let turbulence = s[TORQUE_IDX];
    body_force[0].x += tanh(sin(0.02 * wind) + sin(3.141592653589793 * 0.01 * wind)) * params.wind_power;
    body_force[0].z += tanh(sin(0.02 * turbulence) + sin(3.141592653589793 * 0.01 * turbulence)) *
      params.turbulence_power;
    s[WIND_IDX] = wind + 1.0;
    s[TORQUE_IDX] = turbulence + 1.0;
    world_wake();
  }
  let angle = s[WORLD_BASE + 2u];
  let tip = vec2f(sin(angle), cos(angle));
  let side_dir = vec2f(-tip.y, tip.x);
  let given = s[STEP_GIVEN] == 1.0;
  s[STEP_GIVEN] = 0.0;
  let d0 = select(rand_range(k0, -1.0, 1.0) / SCALE, s[STEP_DISPERSION], given);
  let d1 = select(rand_range(k0 + 1u, -1.0, 1.0) / SCALE, s[STEP_DISPERSION + 1u], given);
  let origin = world_position(0u);
  if (main > 0.0) {
    let ox = tip.x * (MAIN_ENGINE_Y_LOCATION / SCALE + 2.0 * d0) + side_dir.x * d1;
    let oy = -tip.y * (MAIN_ENGINE_Y_LOCATION / SCALE + 2.0 * d0) - side_dir.y * d1;
    let k = MAIN_ENGINE_POWER * main;
    world_apply_impulse(0u, vec2f(-ox * k, -oy * k), origin + vec2f(ox, oy));
  }
  if (side > 0.0) {
    let lateral = 3.0 * d1 + direction * SIDE_ENGINE_AWAY / SCALE;
    let ox = tip.x * d0 + side_dir.x * lateral;
    let oy = -tip.y * d0 - side_dir.y * lateral;
    let p = origin + vec2f(ox - tip.x * 17.0 / SCALE, oy + tip.y * SIDE_ENGINE_HEIGHT / SCALE);
    let k = SIDE_ENGINE_POWER * side;
    world_apply_impulse(0u, vec2f(-ox * k, -oy * k), p);
  }
  world_step(vec2f(0.0, params.gravity));
  if (body_began[0]) {
    s[GAME_OVER] = 1.0;
  }
  // The last contact event wins (see envs/lunar_lander.ts).
  for (var leg = 0u; leg < 2u; leg++) {
    if (body_ended[leg + 1u]) {
      s[LEG_CONTACT + leg] = 0.0;
    } else if (body_began[leg + 1u]) {
      s[LEG_CONTACT + leg] = 1.0;
    }
  }
  env_observe();
  let shaping = -100.0 * sqrt(o[0] * o[0] + o[1] * o[1]) - 100.0 * sqrt(o[2] * o[2] + o[3] * o[3]) -
    100.0 * abs(o[4]) + 10.0 * o[6] + 10.0 * o[7];
  var reward = shaping - s[PREV_SHAPING];
  s[PREV_SHAPING] = shaping;
  reward -= main * 0.3 + side * 0.03;
  if (s[GAME_OVER] != 0.0 || abs(o[0]) >= 1.0) {
    reward = -100.0;
  }
  if (!world_awake()) {
    reward = 100.0;
  }
  return reward;
}

fn env_step() -> f32 {
  if (CONTINUOUS) {
    let main = clamp(a[0], -1.0, 1.0);
    let lateral = clamp(a[ACTION_SIZE - 1u], -1.0, 1.0);
    let m = select(0.0, (min(main, 1.0) + 1.0) * 0.5, main > 0.0);
    let side = select(0.0, clamp(abs(lateral), 0.5, 1.0), abs(lateral) > 0.5);
    return lander_advance(m, side, sign(lateral), 0u);
  }
  let action = a[0];
  return lander_advance(select(0.0, 1.0, action == 2.0), select(0.0, 1.0, action == 1.0 || action == 3.0),
    action - 2.0, 0u);
}

fn env_terminated() -> bool {
  let x = (world_position(0u).x - W / 2.0) / (W / 2.0);
  return s[GAME_OVER] != 0.0 || abs(x) >= 1.0 || !world_awake();
}

fn env_observe() {
  let p = world_position(0u);
  o[0] = (p.x - W / 2.0) / (W / 2.0);
  o[1] = (p.y - (HELIPAD_Y + LEG_DOWN / SCALE)) / (H / 2.0);
  o[2] = s[WORLD_BASE + 3u] * (W / 2.0) / FPS;
  o[3] = s[WORLD_BASE + 4u] * (H / 2.0) / FPS;
  o[4] = s[WORLD_BASE + 2u];
  o[5] = 20.0 * s[WORLD_BASE + 5u] / FPS;
  o[6] = s[LEG_CONTACT];
  o[7] = s[LEG_CONTACT + 1u];
}

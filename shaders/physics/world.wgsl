// A Box2D 2.3 world over one env's private state `s`: the WGSL twin of
// src/physics/world.ts (layout and semantics documented there). Needs the
// constants of src/physics/wgsl.ts.

const LINEAR_SLOP: f32 = 0.005;
const ANGULAR_SLOP: f32 = 0.03490658503988659;
const POLYGON_RADIUS: f32 = 0.01;
const MAX_LINEAR_CORRECTION: f32 = 0.2;
const MAX_ANGULAR_CORRECTION: f32 = 0.13962634015954636;
const MAX_TRANSLATION: f32 = 2.0;
const MAX_ROTATION: f32 = 1.5707963267948966;
const BAUMGARTE: f32 = 0.2;
const VELOCITY_THRESHOLD: f32 = 1.0;
const TIME_TO_SLEEP: f32 = 0.5;
const LINEAR_SLEEP_TOLERANCE: f32 = 0.01;
const ANGULAR_SLEEP_TOLERANCE: f32 = 0.03490658503988659;
const MAX_CONDITION_NUMBER: f32 = 1000.0;

const BODY_FLOATS: u32 = 7u;
const JOINT_FLOATS: u32 = 5u;
const CONTACT_FLOATS: u32 = 8u;
const AWAKE_AT: u32 = WORLD_BASE + NUM_BODIES * BODY_FLOATS;
const JOINT_BASE: u32 = AWAKE_AT + 1u;
const CONTACT_BASE: u32 = JOINT_BASE + NUM_JOINTS * JOINT_FLOATS;
const WORLD_END: u32 = CONTACT_BASE + MAX_CONTACTS * CONTACT_FLOATS;

// The solver's bodies during a step.
var<private> body_c: array<vec2f, NUM_BODIES>;
var<private> body_a: array<f32, NUM_BODIES>;
var<private> body_v: array<vec2f, NUM_BODIES>;
var<private> body_w: array<f32, NUM_BODIES>;
// Per body (f.x, f.y, torque), applied by the next step and then cleared.
var<private> body_force: array<vec3f, NUM_BODIES>;
// Per body, after world_step: one of its ground contacts began, ended.
var<private> body_began: array<bool, NUM_BODIES>;
var<private> body_ended: array<bool, NUM_BODIES>;
var<private> contact_key: array<f32, MAX_CONTACTS>;

fn body_at(b: u32) -> u32 {
  return WORLD_BASE + b * BODY_FLOATS;
}

// Places body b's origin at p with angle, at rest, and wakes the world.
fn world_set_body(b: u32, p: vec2f, angle: f32) {
  let o = body_at(b);
  let c = p + rotate(vec2f(cos(angle), sin(angle)), BODY_LOCAL_CENTER[b]);
  s[o] = c.x;
  s[o + 1u] = c.y;
  s[o + 2u] = angle;
  for (var k = 3u; k < BODY_FLOATS; k++) {
    s[o + k] = 0.0;
  }
  s[AWAKE_AT] = 1.0;
}

fn world_clear_constraints() {
  for (var k = JOINT_BASE; k < WORLD_END; k++) {
    s[k] = 0.0;
  }
}

// Body b's origin.
fn world_position(b: u32) -> vec2f {
  let o = body_at(b);
  let r = vec2f(cos(s[o + 2u]), sin(s[o + 2u]));
  return vec2f(s[o], s[o + 1u]) - rotate(r, BODY_LOCAL_CENTER[b]);
}

fn world_awake() -> bool {
  return s[AWAKE_AT] != 0.0;
}

fn world_wake() {
  if (s[AWAKE_AT] != 0.0) {
    return;
  }
  s[AWAKE_AT] = 1.0;
  for (var b = 0u; b < NUM_BODIES; b++) {
    s[body_at(b) + 6u] = 0.0;
  }
}

fn world_apply_impulse(b: u32, impulse: vec2f, point: vec2f) {
  world_wake();
  let o = body_at(b);
  s[o + 3u] += BODY_INV_MASS[b] * impulse.x;
  s[o + 4u] += BODY_INV_MASS[b] * impulse.y;
  s[o + 5u] += BODY_INV_I[b] * cross2(point - vec2f(s[o], s[o + 1u]), impulse);
}

fn clear_forces() {
  for (var b = 0u; b < NUM_BODIES; b++) {
    body_force[b] = vec3f(0.0);
  }
}

fn world_step(gravity: vec2f) {
  for (var b = 0u; b < NUM_BODIES; b++) {
    body_began[b] = false;
    body_ended[b] = false;
  }
  if (s[AWAKE_AT] == 0.0) {
    clear_forces();
    return;
  }
  world_collide();
  world_solve(gravity);
  clear_forces();
}

fn transform_polygon(b: u32) {
  let o = body_at(b);
  let r = vec2f(cos(s[o + 2u]), sin(s[o + 2u]));
  poly_body = b;
  poly_rot = r;
  poly_centroid = vec2f(s[o], s[o + 1u]);
  poly_pos = poly_centroid - rotate(r, BODY_LOCAL_CENTER[b]);
  poly_count = BODY_VERTEX_COUNT[b];
  for (var i = 0u; i < poly_count; i++) {
    poly_v[i] = poly_pos + rotate(r, BODY_VERTICES[b * MAX_VERTICES + i]);
    poly_n[i] = rotate(r, BODY_NORMALS[b * MAX_VERTICES + i]);
  }
}

fn world_collide() {
  var count = 0u;
  let r = 2.0 * POLYGON_RADIUS;
  for (var b = 0u; b < NUM_BODIES; b++) {
    transform_polygon(b);
    var lo = vec2f(3.4e38);
    var hi = vec2f(-3.4e38);
    for (var i = 0u; i < poly_count; i++) {
      lo = min(lo, poly_v[i]);
      hi = max(hi, poly_v[i]);
    }
    for (var e = 0u; e < NUM_EDGES; e++) {
      let v1 = vec2f(s[EDGE_BASE + 2u * e], s[EDGE_BASE + 2u * e + 1u]);
      let v2 = vec2f(s[EDGE_BASE + 2u * e + 2u], s[EDGE_BASE + 2u * e + 3u]);
      if (min(v1.x, v2.x) > hi.x + r || max(v1.x, v2.x) < lo.x - r || min(v1.y, v2.y) > hi.y + r ||
        max(v1.y, v2.y) < lo.y - r || count == MAX_CONTACTS) {
        continue;
      }
      let points = collide_edge_polygon(v1, v2, count);
      if (points == 0u) {
        continue;
      }
      let key = f32(b * NUM_EDGES + e + 1u);
      contact_key[count] = key;
      contact_body[count] = b;
      var old = -1;
      for (var k = 0u; k < MAX_CONTACTS; k++) {
        if (s[CONTACT_BASE + k * CONTACT_FLOATS] == key) {
          old = i32(k);
        }
      }
      for (var j = 0u; j < 2u; j++) {
        let q = 2u * count + j;
        contact_normal_impulse[q] = 0.0;
        contact_tangent_impulse[q] = 0.0;
        if (j >= points || old < 0) {
          continue;
        }
        let o = CONTACT_BASE + u32(old) * CONTACT_FLOATS;
        for (var i = 0u; i < u32(s[o + 1u]); i++) {
          if (s[o + 2u + 3u * i] == man_id[q]) {
            contact_normal_impulse[q] = s[o + 3u + 3u * i];
            contact_tangent_impulse[q] = s[o + 4u + 3u * i];
            break;
          }
        }
      }
      if (old < 0) {
        body_began[b] = true;
      }
      count += 1u;
    }
  }
  for (var k = 0u; k < MAX_CONTACTS; k++) {
    let key = s[CONTACT_BASE + k * CONTACT_FLOATS];
    if (key == 0.0) {
      continue;
    }
    var still = false;
    for (var i = 0u; i < count; i++) {
      still = still || contact_key[i] == key;
    }
    if (!still) {
      body_ended[u32(key - 1.0) / NUM_EDGES] = true;
    }
  }
  contact_count = count;
}

fn world_solve(gravity: vec2f) {
  let h = TIME_STEP;
  for (var b = 0u; b < NUM_BODIES; b++) {
    let o = body_at(b);
    body_c[b] = vec2f(s[o], s[o + 1u]);
    body_a[b] = s[o + 2u];
    body_v[b] = vec2f(s[o + 3u], s[o + 4u]) + h * (gravity + BODY_INV_MASS[b] * body_force[b].xy);
    body_w[b] = s[o + 5u] + h * BODY_INV_I[b] * body_force[b].z;
  }
  contacts_initialize();
  for (var j = 0u; j < NUM_JOINTS; j++) {
    let o = JOINT_BASE + j * JOINT_FLOATS;
    joint_impulse[j] = vec3f(s[o], s[o + 1u], s[o + 2u]);
    joint_motor_impulse[j] = s[o + 3u];
    joint_limit_state[j] = s[o + 4u];
    joint_initialize(j);
  }
  for (var it = 0u; it < VELOCITY_ITERATIONS; it++) {
    for (var j = 0u; j < NUM_JOINTS; j++) {
      joint_solve_velocities(j);
    }
    contacts_solve_velocities();
  }
  for (var b = 0u; b < NUM_BODIES; b++) {
    var v = body_v[b];
    var w = body_w[b];
    let t = h * v;
    if (dot(t, t) > MAX_TRANSLATION * MAX_TRANSLATION) {
      v *= MAX_TRANSLATION / sqrt(dot(t, t));
    }
    let rotation = h * w;
    if (rotation * rotation > MAX_ROTATION * MAX_ROTATION) {
      w *= MAX_ROTATION / abs(rotation);
    }
    body_c[b] += h * v;
    body_a[b] += h * w;
    body_v[b] = v;
    body_w[b] = w;
  }
  var position_solved = false;
  for (var it = 0u; it < POSITION_ITERATIONS; it++) {
    let contacts_okay = contacts_solve_positions();
    var joints_okay = true;
    for (var j = 0u; j < NUM_JOINTS; j++) {
      joints_okay = joint_solve_positions(j) && joints_okay;
    }
    if (contacts_okay && joints_okay) {
      position_solved = true;
      break;
    }
  }
  var min_sleep_time = 3.4e38;
  for (var b = 0u; b < NUM_BODIES; b++) {
    let o = body_at(b);
    s[o] = body_c[b].x;
    s[o + 1u] = body_c[b].y;
    s[o + 2u] = body_a[b];
    s[o + 3u] = body_v[b].x;
    s[o + 4u] = body_v[b].y;
    s[o + 5u] = body_w[b];
    let v = body_v[b];
    if (body_w[b] * body_w[b] > ANGULAR_SLEEP_TOLERANCE * ANGULAR_SLEEP_TOLERANCE ||
      v.x * v.x + v.y * v.y > LINEAR_SLEEP_TOLERANCE * LINEAR_SLEEP_TOLERANCE) {
      s[o + 6u] = 0.0;
      min_sleep_time = 0.0;
    } else {
      s[o + 6u] += h;
      min_sleep_time = min(min_sleep_time, s[o + 6u]);
    }
  }
  for (var j = 0u; j < NUM_JOINTS; j++) {
    let o = JOINT_BASE + j * JOINT_FLOATS;
    s[o] = joint_impulse[j].x;
    s[o + 1u] = joint_impulse[j].y;
    s[o + 2u] = joint_impulse[j].z;
    s[o + 3u] = joint_motor_impulse[j];
    s[o + 4u] = joint_limit_state[j];
  }
  for (var k = 0u; k < MAX_CONTACTS * CONTACT_FLOATS; k++) {
    s[CONTACT_BASE + k] = 0.0;
  }
  for (var k = 0u; k < contact_count; k++) {
    let o = CONTACT_BASE + k * CONTACT_FLOATS;
    s[o] = contact_key[k];
    s[o + 1u] = f32(man_count[k]);
    for (var j = 0u; j < man_count[k]; j++) {
      s[o + 2u + 3u * j] = man_id[2u * k + j];
      s[o + 3u + 3u * j] = contact_normal_impulse[2u * k + j];
      s[o + 4u + 3u * j] = contact_tangent_impulse[2u * k + j];
    }
  }
  if (min_sleep_time >= TIME_TO_SLEEP && position_solved) {
    s[AWAKE_AT] = 0.0;
    for (var b = 0u; b < NUM_BODIES; b++) {
      let o = body_at(b);
      s[o + 3u] = 0.0;
      s[o + 4u] = 0.0;
      s[o + 5u] = 0.0;
      s[o + 6u] = 0.0;
    }
  }
}

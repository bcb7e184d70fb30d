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
const TOI_BAUMGARTE: f32 = 0.75;
const TOI_POSITION_ITERATIONS: u32 = 20u;
const MAX_SUB_STEPS: u32 = 8u;
const AABB_MARGIN: f32 = 0.12;
const FLT_EPSILON: f32 = 1.1920928955078125e-7;
const PAIR_ACTIVE: u32 = 1u;
const PAIR_TOI_VALID: u32 = 2u;
const PAIR_DISABLED: u32 = 4u;
const NUM_PAIRS: u32 = NUM_BODIES * NUM_EDGES;

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
// Per body, after world_step: one of its ground contacts began; its last contact event was an end.
var<private> body_began: array<bool, NUM_BODIES>;
var<private> body_ended: array<bool, NUM_BODIES>;
var<private> contact_key: array<f32, MAX_CONTACTS>;
// Per (body, edge) pair during continuous collision: PAIR_* flags, cached alpha, events taken.
var<private> toi_pair: array<u32, NUM_PAIRS>;
var<private> toi_alpha: array<f32, NUM_PAIRS>;
var<private> toi_count: array<u32, NUM_PAIRS>;

fn body_at(b: u32) -> u32 {
  return WORLD_BASE + b * BODY_FLOATS;
}

// Writes body b's position, angle and velocities back to the state slice.
fn store_body(b: u32) {
  let o = body_at(b);
  s[o] = body_c[b].x;
  s[o + 1u] = body_c[b].y;
  s[o + 2u] = body_a[b];
  s[o + 3u] = body_v[b].x;
  s[o + 4u] = body_v[b].y;
  s[o + 5u] = body_w[b];
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
  if (s[AWAKE_AT] != 0.0) {
    world_solve_toi();
  }
  clear_forces();
}

// Places body b's polygon at centre of mass c and angle a.
fn transform_polygon(b: u32, c: vec2f, a: f32) {
  let r = vec2f(cos(a), sin(a));
  poly_body = b;
  poly_rot = r;
  poly_centroid = c;
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
  for (var ib = 0u; ib < NUM_BODIES; ib++) {
    let b = BODY_ORDER[ib];
    let ob = body_at(b);
    transform_polygon(b, vec2f(s[ob], s[ob + 1u]), s[ob + 2u]);
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
    sweep_c0[b] = body_c[b];
    sweep_a0[b] = body_a[b];
    sweep_alpha0[b] = 0.0;
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
    joints_solve_velocities();
    contacts_solve_velocities();
  }
  for (var b = 0u; b < NUM_BODIES; b++) {
    integrate(b, h);
  }
  var position_solved = false;
  for (var it = 0u; it < POSITION_ITERATIONS; it++) {
    let contacts_okay = contacts_solve_positions(BAUMGARTE, 3.0 * LINEAR_SLOP);
    let joints_okay = joints_solve_positions();
    if (contacts_okay && joints_okay) {
      position_solved = true;
      break;
    }
  }
  var min_sleep_time = 3.4e38;
  for (var b = 0u; b < NUM_BODIES; b++) {
    store_body(b);
    sweep_c[b] = body_c[b];
    sweep_a[b] = body_a[b];
    let o = body_at(b);
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

// Moves body b on by h at its velocity, with Box2D's translation and rotation clamps.
fn integrate(b: u32, h: f32) {
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

fn edge_v(e: u32) -> vec2f {
  return vec2f(s[EDGE_BASE + 2u * e], s[EDGE_BASE + 2u * e + 1u]);
}

// b2Contact::Update of body b against edge e at the body's solver pose: the
// manifold into solver contact k, the state's contact slot rewritten
// (impulses carried over by feature id), begin and end events.
fn update_contact(b: u32, e: u32, k: u32) -> u32 {
  transform_polygon(b, body_c[b], body_a[b]);
  let points = collide_edge_polygon(edge_v(e), edge_v(e + 1u), k);
  let key = f32(b * NUM_EDGES + e + 1u);
  var slot = -1;
  var free = -1;
  for (var j = 0u; j < MAX_CONTACTS; j++) {
    let o = CONTACT_BASE + j * CONTACT_FLOATS;
    if (s[o] == key) {
      slot = i32(j);
    } else if (s[o] == 0.0 && free < 0) {
      free = i32(j);
    }
  }
  if (points == 0u) {
    if (slot >= 0) {
      for (var i = 0u; i < CONTACT_FLOATS; i++) {
        s[CONTACT_BASE + u32(slot) * CONTACT_FLOATS + i] = 0.0;
      }
      body_ended[b] = true;
    }
    return 0u;
  }
  if (slot < 0) {
    if (free < 0) {
      return 0u;
    }
    slot = free;
    body_began[b] = true;
    body_ended[b] = false;
    for (var i = 0u; i < CONTACT_FLOATS; i++) {
      s[CONTACT_BASE + u32(slot) * CONTACT_FLOATS + i] = 0.0;
    }
  }
  let o = CONTACT_BASE + u32(slot) * CONTACT_FLOATS;
  var old: array<f32, 6>;
  for (var i = 0u; i < 6u; i++) {
    old[i] = s[o + 2u + i];
  }
  let old_count = u32(s[o + 1u]);
  s[o] = key;
  s[o + 1u] = f32(points);
  for (var j = 0u; j < 2u; j++) {
    let q = o + 2u + 3u * j;
    s[q] = 0.0;
    s[q + 1u] = 0.0;
    s[q + 2u] = 0.0;
    if (j >= points) {
      continue;
    }
    let id = man_id[2u * k + j];
    s[q] = id;
    for (var i = 0u; i < old_count; i++) {
      if (old[3u * i] == id) {
        s[q + 1u] = old[3u * i + 1u];
        s[q + 2u] = old[3u * i + 2u];
      }
    }
  }
  return points;
}

// b2World::SolveTOI (see src/physics/world.ts).
fn world_solve_toi() {
  for (var b = 0u; b < NUM_BODIES; b++) {
    var lo = vec2f(3.4e38);
    var hi = vec2f(-3.4e38);
    for (var end = 0u; end < 2u; end++) {
      if (end == 0u) {
        transform_polygon(b, sweep_c0[b], sweep_a0[b]);
      } else {
        transform_polygon(b, sweep_c[b], sweep_a[b]);
      }
      for (var i = 0u; i < poly_count; i++) {
        lo = min(lo, poly_v[i]);
        hi = max(hi, poly_v[i]);
      }
    }
    for (var e = 0u; e < NUM_EDGES; e++) {
      let v1 = edge_v(e);
      let v2 = edge_v(e + 1u);
      let near = !(min(v1.x, v2.x) > hi.x + AABB_MARGIN || max(v1.x, v2.x) < lo.x - AABB_MARGIN ||
        min(v1.y, v2.y) > hi.y + AABB_MARGIN || max(v1.y, v2.y) < lo.y - AABB_MARGIN);
      toi_pair[b * NUM_EDGES + e] = select(0u, PAIR_ACTIVE, near);
      toi_count[b * NUM_EDGES + e] = 0u;
    }
  }
  var ground_alpha0 = 0.0;
  for (var event = 0u; event < NUM_PAIRS * (MAX_SUB_STEPS + 2u); event++) {
    var min_pair = -1;
    var min_alpha = 1.0;
    for (var k = 0u; k < NUM_PAIRS; k++) {
      if ((toi_pair[k] & PAIR_ACTIVE) == 0u || (toi_pair[k] & PAIR_DISABLED) != 0u ||
        toi_count[k] > MAX_SUB_STEPS) {
        continue;
      }
      if ((toi_pair[k] & PAIR_TOI_VALID) == 0u) {
        let b = k / NUM_EDGES;
        let e = k % NUM_EDGES;
        var alpha0 = sweep_alpha0[b];
        if (alpha0 < ground_alpha0) {
          alpha0 = ground_alpha0;
          advance_sweep(b, alpha0);
        } else {
          ground_alpha0 = alpha0;
        }
        time_of_impact(b, edge_v(e), edge_v(e + 1u));
        toi_alpha[k] = select(1.0, min(alpha0 + (1.0 - alpha0) * toi_t, 1.0), toi_state == TOI_TOUCHING);
        toi_pair[k] |= PAIR_TOI_VALID;
      }
      if (toi_alpha[k] < min_alpha) {
        min_pair = i32(k);
        min_alpha = toi_alpha[k];
      }
    }
    if (min_pair < 0 || 1.0 - 10.0 * FLT_EPSILON < min_alpha) {
      break;
    }
    let pair = u32(min_pair);
    let b = pair / NUM_EDGES;
    let e = pair % NUM_EDGES;
    let backup_c0 = sweep_c0[b];
    let backup_a0 = sweep_a0[b];
    let backup_alpha0 = sweep_alpha0[b];
    advance_sweep(b, min_alpha);
    body_c[b] = sweep_c0[b];
    body_a[b] = sweep_a0[b];
    toi_count[pair] += 1u;
    toi_pair[pair] &= ~PAIR_TOI_VALID;
    if (update_contact(b, e, 0u) == 0u) {
      toi_pair[pair] |= PAIR_DISABLED;
      sweep_c0[b] = backup_c0;
      sweep_a0[b] = backup_a0;
      sweep_alpha0[b] = backup_alpha0;
      body_c[b] = sweep_c[b];
      body_a[b] = sweep_a[b];
      continue;
    }
    var count = 1u;
    for (var e2 = 0u; e2 < NUM_EDGES && count < MAX_CONTACTS; e2++) {
      if (e2 == e || (toi_pair[b * NUM_EDGES + e2] & PAIR_ACTIVE) == 0u) {
        continue;
      }
      if (update_contact(b, e2, count) > 0u) {
        count += 1u;
      }
    }
    contact_count = count;
    for (var k = 0u; k < count; k++) {
      contact_body[k] = b;
      contact_normal_impulse[2u * k] = 0.0;
      contact_normal_impulse[2u * k + 1u] = 0.0;
      contact_tangent_impulse[2u * k] = 0.0;
      contact_tangent_impulse[2u * k + 1u] = 0.0;
    }
    for (var it = 0u; it < TOI_POSITION_ITERATIONS; it++) {
      if (contacts_solve_positions(TOI_BAUMGARTE, 1.5 * LINEAR_SLOP)) {
        break;
      }
    }
    sweep_c0[b] = body_c[b];
    sweep_a0[b] = body_a[b];
    contacts_initialize();
    for (var it = 0u; it < VELOCITY_ITERATIONS; it++) {
      contacts_solve_velocities();
    }
    integrate(b, (1.0 - min_alpha) * TIME_STEP);
    sweep_c[b] = body_c[b];
    sweep_a[b] = body_a[b];
    for (var e2 = 0u; e2 < NUM_EDGES; e2++) {
      toi_pair[b * NUM_EDGES + e2] &= ~PAIR_TOI_VALID;
    }
  }
  for (var b = 0u; b < NUM_BODIES; b++) {
    store_body(b);
  }
}

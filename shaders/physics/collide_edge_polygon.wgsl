// The edge-polygon contact manifold: the WGSL twin of
// src/physics/collide_edge_polygon.ts (Box2D 2.3's b2CollideEdgeAndPolygon
// for an edge without ghost vertices).

const FACE_A: u32 = 0u;
const FACE_B: u32 = 1u;
const FEATURE_VERTEX: f32 = 0.0;
const FEATURE_FACE: f32 = 1.0;

// The polygon being collided, in the world (set by transform_polygon).
var<private> poly_v: array<vec2f, MAX_VERTICES>;
var<private> poly_n: array<vec2f, MAX_VERTICES>;
var<private> poly_count: u32;
var<private> poly_body: u32;
var<private> poly_centroid: vec2f;
var<private> poly_pos: vec2f;
var<private> poly_rot: vec2f;

// Manifolds of this step's contacts.
var<private> man_type: array<u32, MAX_CONTACTS>;
var<private> man_normal: array<vec2f, MAX_CONTACTS>;
var<private> man_point: array<vec2f, MAX_CONTACTS>;
var<private> man_count: array<u32, MAX_CONTACTS>;
var<private> man_local: array<vec2f, 2 * MAX_CONTACTS>;
var<private> man_id: array<f32, 2 * MAX_CONTACTS>;

struct ClipVertex {
  v: vec2f,
  id: f32,
}

fn feature_id(index_a: f32, index_b: f32, type_a: f32, type_b: f32) -> f32 {
  return index_a + 16.0 * index_b + 256.0 * type_a + 512.0 * type_b;
}

fn rotate(r: vec2f, v: vec2f) -> vec2f {
  return vec2f(r.x * v.x - r.y * v.y, r.y * v.x + r.x * v.y);
}

fn rotate_inv(r: vec2f, v: vec2f) -> vec2f {
  return vec2f(r.x * v.x + r.y * v.y, -r.y * v.x + r.x * v.y);
}

// Number of points kept in out (written through the returned struct).
struct Clip {
  count: u32,
  p0: ClipVertex,
  p1: ClipVertex,
}

fn clip_segment_to_line(a: ClipVertex, b: ClipVertex, n: vec2f, offset: f32, vertex_index_a: u32) -> Clip {
  var out: Clip;
  out.count = 0u;
  let d0 = n.x * a.v.x + n.y * a.v.y - offset;
  let d1 = n.x * b.v.x + n.y * b.v.y - offset;
  if (d0 <= 0.0) {
    out.p0 = a;
    out.count = 1u;
  }
  if (d1 <= 0.0) {
    if (out.count == 0u) {
      out.p0 = b;
    } else {
      out.p1 = b;
    }
    out.count += 1u;
  }
  if (d0 * d1 < 0.0) {
    let t = d0 / (d0 - d1);
    var p: ClipVertex;
    p.v = vec2f(a.v.x + t * (b.v.x - a.v.x), a.v.y + t * (b.v.y - a.v.y));
    let index_b = floor(a.id / 16.0) % 16.0;
    p.id = feature_id(f32(vertex_index_a), index_b, FEATURE_VERTEX, FEATURE_FACE);
    if (out.count == 0u) {
      out.p0 = p;
    } else {
      out.p1 = p;
    }
    out.count += 1u;
  }
  return out;
}

// The manifold of edge v1-v2 against the current polygon into slot k; returns its point count.
fn collide_edge_polygon(v1: vec2f, v2: vec2f, k: u32) -> u32 {
  man_count[k] = 0u;
  let radius = 2.0 * POLYGON_RADIUS;
  var e = v2 - v1;
  e = e / sqrt(e.x * e.x + e.y * e.y);
  let n1 = vec2f(e.y, -e.x);
  let front = n1.x * (poly_centroid.x - v1.x) + n1.y * (poly_centroid.y - v1.y) >= 0.0;
  let n = select(-n1, n1, front);

  var edge_separation = 3.4e38;
  for (var i = 0u; i < poly_count; i++) {
    let s = n.x * (poly_v[i].x - v1.x) + n.y * (poly_v[i].y - v1.y);
    edge_separation = min(edge_separation, s);
  }
  if (edge_separation > radius) {
    return 0u;
  }

  var polygon_index = -1;
  var polygon_separation = -3.4e38;
  for (var i = 0u; i < poly_count; i++) {
    let m = -poly_n[i];
    let v = poly_v[i];
    let s = min(m.x * (v.x - v1.x) + m.y * (v.y - v1.y), m.x * (v.x - v2.x) + m.y * (v.y - v2.y));
    if (s > radius) {
      return 0u;
    }
    if (s > polygon_separation) {
      polygon_index = i32(i);
      polygon_separation = s;
    }
  }

  let use_polygon = polygon_index >= 0 && polygon_separation > 0.98 * edge_separation + 0.001;
  var ie0: ClipVertex;
  var ie1: ClipVertex;
  var rv1: vec2f;
  var rv2: vec2f;
  var rn: vec2f;
  var ri1: u32;
  var ri2: u32;
  if (!use_polygon) {
    var best = 0u;
    var best_value = n.x * poly_n[0].x + n.y * poly_n[0].y;
    for (var i = 1u; i < poly_count; i++) {
      let value = n.x * poly_n[i].x + n.y * poly_n[i].y;
      if (value < best_value) {
        best_value = value;
        best = i;
      }
    }
    let i2 = select(0u, best + 1u, best + 1u < poly_count);
    ie0 = ClipVertex(poly_v[best], feature_id(0.0, f32(best), FEATURE_FACE, FEATURE_VERTEX));
    ie1 = ClipVertex(poly_v[i2], feature_id(0.0, f32(i2), FEATURE_FACE, FEATURE_VERTEX));
    if (front) {
      ri1 = 0u;
      ri2 = 1u;
      rv1 = v1;
      rv2 = v2;
      rn = n1;
    } else {
      ri1 = 1u;
      ri2 = 0u;
      rv1 = v2;
      rv2 = v1;
      rn = -n1;
    }
  } else {
    let pi = u32(polygon_index);
    ie0 = ClipVertex(v1, feature_id(0.0, f32(pi), FEATURE_VERTEX, FEATURE_FACE));
    ie1 = ClipVertex(v2, feature_id(0.0, f32(pi), FEATURE_VERTEX, FEATURE_FACE));
    ri1 = pi;
    ri2 = select(0u, ri1 + 1u, ri1 + 1u < poly_count);
    rv1 = poly_v[ri1];
    rv2 = poly_v[ri2];
    rn = poly_n[ri1];
  }
  let side1 = vec2f(rn.y, -rn.x);
  let c1 = clip_segment_to_line(ie0, ie1, side1, side1.x * rv1.x + side1.y * rv1.y, ri1);
  if (c1.count < 2u) {
    return 0u;
  }
  let c2 = clip_segment_to_line(c1.p0, c1.p1, -side1, -side1.x * rv2.x - side1.y * rv2.y, ri2);
  if (c2.count < 2u) {
    return 0u;
  }

  let base = poly_body * MAX_VERTICES;
  if (!use_polygon) {
    man_type[k] = FACE_A;
    man_normal[k] = rn;
    man_point[k] = rv1;
  } else {
    man_type[k] = FACE_B;
    man_normal[k] = BODY_NORMALS[base + ri1];
    man_point[k] = BODY_VERTICES[base + ri1];
  }
  var count = 0u;
  for (var i = 0u; i < 2u; i++) {
    var cp = c2.p1;
    if (i == 0u) {
      cp = c2.p0;
    }
    if (rn.x * (cp.v.x - rv1.x) + rn.y * (cp.v.y - rv1.y) > radius) {
      continue;
    }
    let q = 2u * k + count;
    if (!use_polygon) {
      man_local[q] = rotate_inv(poly_rot, cp.v - poly_pos);
      man_id[q] = cp.id;
    } else {
      let index_a = cp.id % 16.0;
      let index_b = floor(cp.id / 16.0) % 16.0;
      let type_a = floor(cp.id / 256.0) % 2.0;
      let type_b = floor(cp.id / 512.0) % 2.0;
      man_local[q] = cp.v;
      man_id[q] = feature_id(index_b, index_a, type_b, type_a);
    }
    count += 1u;
  }
  man_count[k] = count;
  return count;
}

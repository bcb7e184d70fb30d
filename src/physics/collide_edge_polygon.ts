/**
 * The contact manifold between a static edge and a polygon, as Box2D 2.3's
 * `b2CollideEdgeAndPolygon` computes it for an edge without ghost vertices
 * (Gymnasium's terrain): separating-axis tests on the edge normal and the
 * polygon's normals (with Box2D's hysteresis), a reference face, the incident
 * face clipped against its side planes, and every clipped point within the
 * two skins kept. WGSL twin: `collide_edge_polygon` in
 * `shaders/physics/collide_edge_polygon.wgsl`.
 *
 * @module
 */
import { POLYGON_RADIUS } from "./settings.ts";

/** Manifold type: the normal is the edge's (points in the polygon's frame). */
export const FACE_A = 0;
/** Manifold type: the normal is one of the polygon's (points in the edge's frame, the world). */
export const FACE_B = 1;

/**
 * Floats of one manifold: `[type, localNormal.x, .y, localPoint.x, .y,
 * pointCount, p0.x, p0.y, id0, p1.x, p1.y, id1]`.
 */
export const MANIFOLD_FLOATS = 12;

/** A contact feature id: `indexA + 16 indexB + 256 typeA + 512 typeB` (exact in f32). */
function featureId(indexA: number, indexB: number, typeA: number, typeB: number): number {
  return indexA + 16 * indexB + 256 * typeA + 512 * typeB;
}
const VERTEX = 0, FACE = 1;

/** The polygon in the world: vertices and normals transformed, plus its transform. */
export interface WorldPolygon {
  count: number;
  /** World vertices, x and y interleaved. */
  v: Float32Array;
  /** World normals, interleaved. */
  n: Float32Array;
  /** Local vertices and normals, interleaved (for the manifold's local data). */
  localV: Float32Array;
  localN: Float32Array;
  /** World centroid. */
  cx: number;
  cy: number;
  /** Body transform: origin and rotation. */
  px: number;
  py: number;
  cos: number;
  sin: number;
}

// Clip buffers: [x, y, id] x 2, reused.
const ie = new Float32Array(6);
const clip1 = new Float32Array(6);
const clip2 = new Float32Array(6);

/**
 * `b2ClipSegmentToLine`: keeps the points of `vin` on the back side of the
 * plane and the intersection point; returns how many points `vout` holds.
 */
function clipSegmentToLine(
  vout: Float32Array,
  vin: Float32Array,
  nx: number,
  ny: number,
  offset: number,
  vertexIndexA: number,
): number {
  let count = 0;
  const d0 = nx * vin[0] + ny * vin[1] - offset;
  const d1 = nx * vin[3] + ny * vin[4] - offset;
  if (d0 <= 0) (vout[0] = vin[0]), (vout[1] = vin[1]), (vout[2] = vin[2]), count++;
  if (d1 <= 0) {
    vout[count * 3] = vin[3], vout[count * 3 + 1] = vin[4], vout[count * 3 + 2] = vin[5];
    count++;
  }
  if (d0 * d1 < 0) {
    const t = d0 / (d0 - d1);
    vout[count * 3] = vin[0] + t * (vin[3] - vin[0]);
    vout[count * 3 + 1] = vin[1] + t * (vin[4] - vin[1]);
    // The new point is where the incident edge (its feature indexB) crosses face vertexIndexA.
    const indexB = Math.floor(vin[2] / 16) % 16;
    vout[count * 3 + 2] = featureId(vertexIndexA, indexB, VERTEX, FACE);
    count++;
  }
  return count;
}

/**
 * Writes the manifold of edge `(x1, y1)-(x2, y2)` against polygon `p` at
 * `out[o ..]` and returns its point count (0: not touching).
 */
export function collideEdgePolygon(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  p: WorldPolygon,
  out: Float32Array,
  o: number,
): number {
  out[o + 5] = 0;
  const radius = 2 * POLYGON_RADIUS;
  let ex = x2 - x1, ey = y2 - y1;
  const len = Math.sqrt(ex * ex + ey * ey);
  ex /= len, ey /= len;
  const n1x = ey, n1y = -ex;
  const front = n1x * (p.cx - x1) + n1y * (p.cy - y1) >= 0;
  const nx = front ? n1x : -n1x, ny = front ? n1y : -n1y;

  // The edge's axis.
  let edgeSeparation = Infinity;
  for (let i = 0; i < p.count; i++) {
    const s = nx * (p.v[2 * i] - x1) + ny * (p.v[2 * i + 1] - y1);
    if (s < edgeSeparation) edgeSeparation = s;
  }
  if (edgeSeparation > radius) return 0;

  // The polygon's axes. Without ghost vertices both adjacency limits are
  // -normal, and no polygon normal is ever excluded by them.
  let polygonIndex = -1, polygonSeparation = -Infinity;
  for (let i = 0; i < p.count; i++) {
    const mx = -p.n[2 * i], my = -p.n[2 * i + 1];
    const vx = p.v[2 * i], vy = p.v[2 * i + 1];
    const s = Math.min(mx * (vx - x1) + my * (vy - y1), mx * (vx - x2) + my * (vy - y2));
    if (s > radius) return 0;
    if (s > polygonSeparation) (polygonIndex = i), (polygonSeparation = s);
  }

  // Hysteresis: prefer the edge's axis unless the polygon's is clearly better.
  const usePolygon = polygonIndex >= 0 && polygonSeparation > 0.98 * edgeSeparation + 0.001;
  let rv1x: number, rv1y: number, rv2x: number, rv2y: number, rnx: number, rny: number;
  let ri1: number, ri2: number;
  if (!usePolygon) {
    // Incident face: the polygon edge most anti-parallel to the normal.
    let best = 0, bestValue = nx * p.n[0] + ny * p.n[1];
    for (let i = 1; i < p.count; i++) {
      const value = nx * p.n[2 * i] + ny * p.n[2 * i + 1];
      if (value < bestValue) (bestValue = value), (best = i);
    }
    const i2 = best + 1 < p.count ? best + 1 : 0;
    ie[0] = p.v[2 * best], ie[1] = p.v[2 * best + 1], ie[2] = featureId(0, best, FACE, VERTEX);
    ie[3] = p.v[2 * i2], ie[4] = p.v[2 * i2 + 1], ie[5] = featureId(0, i2, FACE, VERTEX);
    if (front) {
      (ri1 = 0), (ri2 = 1), (rv1x = x1), (rv1y = y1), (rv2x = x2), (rv2y = y2);
      (rnx = n1x), (rny = n1y);
    } else {
      (ri1 = 1), (ri2 = 0), (rv1x = x2), (rv1y = y2), (rv2x = x1), (rv2y = y1);
      (rnx = -n1x), (rny = -n1y);
    }
  } else {
    ie[0] = x1, ie[1] = y1, ie[2] = featureId(0, polygonIndex, VERTEX, FACE);
    ie[3] = x2, ie[4] = y2, ie[5] = featureId(0, polygonIndex, VERTEX, FACE);
    ri1 = polygonIndex;
    ri2 = ri1 + 1 < p.count ? ri1 + 1 : 0;
    (rv1x = p.v[2 * ri1]),
      (rv1y = p.v[2 * ri1 + 1]),
      (rv2x = p.v[2 * ri2]),
      (rv2y = p.v[2 * ri2 + 1]);
    (rnx = p.n[2 * ri1]), (rny = p.n[2 * ri1 + 1]);
  }
  const side1x = rny, side1y = -rnx;
  if (clipSegmentToLine(clip1, ie, side1x, side1y, side1x * rv1x + side1y * rv1y, ri1) < 2) {
    return 0;
  }
  if (clipSegmentToLine(clip2, clip1, -side1x, -side1y, -side1x * rv2x - side1y * rv2y, ri2) < 2) {
    return 0;
  }

  out[o] = usePolygon ? FACE_B : FACE_A;
  if (!usePolygon) {
    (out[o + 1] = rnx), (out[o + 2] = rny), (out[o + 3] = rv1x), (out[o + 4] = rv1y);
  } else {
    out[o + 1] = p.localN[2 * ri1], out[o + 2] = p.localN[2 * ri1 + 1];
    out[o + 3] = p.localV[2 * ri1], out[o + 4] = p.localV[2 * ri1 + 1];
  }
  let count = 0;
  for (let i = 0; i < 2; i++) {
    const cx = clip2[3 * i], cy = clip2[3 * i + 1], id = clip2[3 * i + 2];
    if (rnx * (cx - rv1x) + rny * (cy - rv1y) > radius) continue;
    const q = o + 6 + 3 * count;
    if (!usePolygon) {
      // The point in the polygon's frame: R^T (c - p).
      const dx = cx - p.px, dy = cy - p.py;
      out[q] = p.cos * dx + p.sin * dy;
      out[q + 1] = -p.sin * dx + p.cos * dy;
      out[q + 2] = id;
    } else {
      // Swap the feature's A and B sides: the manifold's A is the edge.
      const indexA = id % 16, indexB = Math.floor(id / 16) % 16;
      const typeA = Math.floor(id / 256) % 2, typeB = Math.floor(id / 512) % 2;
      out[q] = cx, out[q + 1] = cy, out[q + 2] = featureId(indexB, indexA, typeB, typeA);
    }
    count++;
  }
  out[o + 5] = count;
  return count;
}

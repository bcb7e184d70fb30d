/**
 * Box2D 2.3's time of impact (`b2TimeOfImpact`) of a dynamic polygon swept
 * over a step against a static edge: conservative advancement on a
 * separating axis (`b2SeparationFunction`: two closest points, the edge's
 * face or the polygon's face) with Box2D's mixed bisection and secant root
 * finder, stopping when the cores (the shapes without their skins) come
 * within `target` = max(linear slop, both skins - 3 linear slops) of each
 * other, give or take a quarter slop. The closest features come from an
 * exact segment-polygon distance in place of Box2D's GJK (they agree but in
 * degenerate ties). WGSL twin: `shaders/physics/time_of_impact.wgsl`.
 *
 * @module
 */
import { cos, sin } from "./f32.ts";
import { LINEAR_SLOP, POLYGON_RADIUS } from "./settings.ts";

/**
 * Floats of a body's sweep: `[localCenter.x, .y, c0.x, c0.y, a0, c.x, c.y, a,
 * alpha0]`: its centre of mass moves linearly from `c0` (angle `a0`) at
 * fraction `alpha0` of the step to `c` (angle `a`) at its end.
 */
export const SWEEP_FLOATS = 9;

/** The outcomes of `timeOfImpact` (Box2D's `b2TOIOutput::State`). */
export const TOI_FAILED = 1, TOI_OVERLAPPED = 2, TOI_TOUCHING = 3, TOI_SEPARATED = 4;

const TARGET = Math.max(LINEAR_SLOP, 2 * POLYGON_RADIUS - 3 * LINEAR_SLOP);
const TOLERANCE = 0.25 * LINEAR_SLOP;
const MAX_ITERATIONS = 20;
const MAX_ROOT_ITERATIONS = 50;
/** Box2D's `b2_maxPolygonVertices`, the push-back limit. */
const MAX_PUSH_BACK = 8;

/** Separation function kinds. */
const POINTS = 0, FACE_A = 1, FACE_B = 2;

/**
 * Moves `alpha0` of the sweep at `sw[o ..]` forward to `alpha` (`b2Sweep::Advance`):
 * `c0`, `a0` become the pose at `alpha`.
 */
export function advanceSweep(sw: Float32Array, o: number, alpha: number): void {
  const beta = (alpha - sw[o + 8]) / (1 - sw[o + 8]);
  sw[o + 2] += beta * (sw[o + 5] - sw[o + 2]);
  sw[o + 3] += beta * (sw[o + 6] - sw[o + 3]);
  sw[o + 4] += beta * (sw[o + 7] - sw[o + 4]);
  sw[o + 8] = alpha;
}

/** The polygon, as the time of impact sees it: local vertices and, per call, its pose. */
export interface SweptPolygon {
  count: number;
  /** Local vertices, x and y interleaved. */
  localV: Float32Array;
}

// The polygon's world vertices at the time last transformed, and scratch for the pose.
const wv = new Float32Array(16);
const pose = new Float32Array(4);

/** The body's origin and rotation at fraction `beta` of its sweep, into `pose`. */
function sweepPose(sw: Float32Array, o: number, beta: number): void {
  const cx = (1 - beta) * sw[o + 2] + beta * sw[o + 5];
  const cy = (1 - beta) * sw[o + 3] + beta * sw[o + 6];
  const a = (1 - beta) * sw[o + 4] + beta * sw[o + 7];
  const c = cos(a), s = sin(a);
  pose[0] = cx - (c * sw[o] - s * sw[o + 1]), pose[1] = cy - (s * sw[o] + c * sw[o + 1]);
  pose[2] = c, pose[3] = s;
}

function transformVertices(p: SweptPolygon): void {
  const [px, py, c, s] = pose;
  for (let i = 0; i < p.count; i++) {
    const x = p.localV[2 * i], y = p.localV[2 * i + 1];
    wv[2 * i] = px + c * x - s * y, wv[2 * i + 1] = py + s * x + c * y;
  }
}

/** Orientation of c relative to the line a->b (twice the signed area). */
function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

// The closest features found by `distance`: kind, and indices (edge vertex, polygon vertex).
let featureKind = POINTS, featureA = 0, featureB = 0;

/**
 * The distance between the edge and the polygon's world vertices `wv`
 * (0 when they overlap), recording the closest features: a polygon vertex
 * against the edge's face, an edge vertex against a polygon face, or two
 * vertices.
 */
function distance(p: SweptPolygon, x1: number, y1: number, x2: number, y2: number): number {
  const n = p.count;
  const ex = x2 - x1, ey = y2 - y1, ee = ex * ex + ey * ey;
  // Overlap: the edge crosses a polygon side, or an end of it is inside.
  let inside1 = true, inside2 = true;
  for (let i = 0; i < n; i++) {
    const j = i + 1 < n ? i + 1 : 0;
    const ax = wv[2 * i], ay = wv[2 * i + 1], bx = wv[2 * j], by = wv[2 * j + 1];
    const o1 = orient(ax, ay, bx, by, x1, y1), o2 = orient(ax, ay, bx, by, x2, y2);
    if (o1 < 0) inside1 = false;
    if (o2 < 0) inside2 = false;
    const o3 = orient(x1, y1, x2, y2, ax, ay), o4 = orient(x1, y1, x2, y2, bx, by);
    if (o1 * o2 < 0 && o3 * o4 < 0) return 0;
  }
  if (inside1 || inside2) return 0;
  let best = Infinity;
  // Polygon vertices against the edge.
  for (let i = 0; i < n; i++) {
    const vx = wv[2 * i], vy = wv[2 * i + 1];
    const t = ((vx - x1) * ex + (vy - y1) * ey) / ee;
    if (t > 0 && t < 1) {
      const dx = vx - (x1 + t * ex), dy = vy - (y1 + t * ey), d = Math.sqrt(dx * dx + dy * dy);
      if (d < best) (best = d), (featureKind = FACE_A), (featureA = 0), (featureB = i);
    } else {
      const k = t <= 0 ? 0 : 1;
      const dx = vx - (k === 0 ? x1 : x2), dy = vy - (k === 0 ? y1 : y2);
      const d = Math.sqrt(dx * dx + dy * dy);
      if (d < best) (best = d), (featureKind = POINTS), (featureA = k), (featureB = i);
    }
  }
  // Edge vertices against the polygon's faces (vertex pairs are counted above).
  for (let k = 0; k < 2; k++) {
    const qx = k === 0 ? x1 : x2, qy = k === 0 ? y1 : y2;
    for (let i = 0; i < n; i++) {
      const j = i + 1 < n ? i + 1 : 0;
      const ax = wv[2 * i], ay = wv[2 * i + 1];
      const fx = wv[2 * j] - ax, fy = wv[2 * j + 1] - ay;
      const t = ((qx - ax) * fx + (qy - ay) * fy) / (fx * fx + fy * fy);
      if (t <= 0 || t >= 1) continue;
      const dx = qx - (ax + t * fx), dy = qy - (ay + t * fy), d = Math.sqrt(dx * dx + dy * dy);
      if (d < best) (best = d), (featureKind = FACE_B), (featureA = k), (featureB = i);
    }
  }
  return best;
}

// The separation function: kind, axis (world for POINTS and FACE_A, the
// polygon's frame for FACE_B) and the face's local midpoint.
let sepKind = POINTS, axisX = 0, axisY = 0, pointX = 0, pointY = 0;
// The support indices FindMinSeparation found.
let supportA = 0, supportB = 0;

function edgeVertex(k: number, x1: number, y1: number, x2: number, y2: number): [number, number] {
  return k === 0 ? [x1, y1] : [x2, y2];
}

/** `b2SeparationFunction::Initialize` from the features `distance` found, at the pose in `wv`. */
function initSeparation(
  p: SweptPolygon,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
): void {
  sepKind = featureKind;
  const [c, s] = [pose[2], pose[3]];
  if (featureKind === POINTS) {
    const [ax, ay] = edgeVertex(featureA, x1, y1, x2, y2);
    const dx = wv[2 * featureB] - ax, dy = wv[2 * featureB + 1] - ay, len = Math.hypot(dx, dy);
    axisX = dx / len, axisY = dy / len;
  } else if (featureKind === FACE_B) {
    const i = featureB, j = i + 1 < p.count ? i + 1 : 0;
    const fx = p.localV[2 * j] - p.localV[2 * i], fy = p.localV[2 * j + 1] - p.localV[2 * i + 1];
    const len = Math.hypot(fx, fy);
    axisX = fy / len, axisY = -fx / len;
    pointX = 0.5 * (p.localV[2 * i] + p.localV[2 * j]);
    pointY = 0.5 * (p.localV[2 * i + 1] + p.localV[2 * j + 1]);
    const nx = c * axisX - s * axisY, ny = s * axisX + c * axisY;
    const bx = pose[0] + c * pointX - s * pointY, by = pose[1] + s * pointX + c * pointY;
    const [ax, ay] = edgeVertex(featureA, x1, y1, x2, y2);
    if ((ax - bx) * nx + (ay - by) * ny < 0) (axisX = -axisX), (axisY = -axisY);
  } else {
    const ex = x2 - x1, ey = y2 - y1, len = Math.hypot(ex, ey);
    axisX = ey / len, axisY = -ex / len;
    pointX = 0.5 * (x1 + x2), pointY = 0.5 * (y1 + y2);
    const bx = wv[2 * featureB], by = wv[2 * featureB + 1];
    if ((bx - pointX) * axisX + (by - pointY) * axisY < 0) (axisX = -axisX), (axisY = -axisY);
  }
}

/**
 * The separation along the function's axis at fraction `t` of the sweep;
 * with `find`, of the deepest features (`FindMinSeparation`, recorded in
 * `supportA`, `supportB`), else of those recorded (`Evaluate`).
 */
function separation(
  p: SweptPolygon,
  sw: Float32Array,
  o: number,
  t: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  find: boolean,
): number {
  sweepPose(sw, o, t);
  transformVertices(p);
  const [c, s] = [pose[2], pose[3]];
  if (sepKind === FACE_B) {
    const nx = c * axisX - s * axisY, ny = s * axisX + c * axisY;
    const bx = pose[0] + c * pointX - s * pointY, by = pose[1] + s * pointX + c * pointY;
    if (find) {
      // The edge vertex deepest along -normal.
      supportA = -nx * x1 - ny * y1 >= -nx * x2 - ny * y2 ? 0 : 1;
      supportB = -1;
    }
    const [ax, ay] = edgeVertex(supportA, x1, y1, x2, y2);
    return (ax - bx) * nx + (ay - by) * ny;
  }
  // POINTS and FACE_A: the axis is in the world (the edge's frame).
  const nx = axisX, ny = axisY;
  if (find) {
    let best = 0, bestValue = -Infinity;
    for (let i = 0; i < p.count; i++) {
      const value = -nx * wv[2 * i] - ny * wv[2 * i + 1];
      if (value > bestValue) (bestValue = value), (best = i);
    }
    supportB = best;
    supportA = sepKind === POINTS ? (nx * x1 + ny * y1 >= nx * x2 + ny * y2 ? 0 : 1) : -1;
  }
  const bx = wv[2 * supportB], by = wv[2 * supportB + 1];
  if (sepKind === POINTS) {
    const [ax, ay] = edgeVertex(supportA, x1, y1, x2, y2);
    return (bx - ax) * nx + (by - ay) * ny;
  }
  return (bx - pointX) * nx + (by - pointY) * ny;
}

/** What `timeOfImpact` found: its state and the fraction of the sweep. */
export const toiResult = { state: TOI_SEPARATED, t: 1 };

/**
 * The time of impact of polygon `p`, swept by `sw[o ..]` from `alpha0` to
 * the end of the step, against edge `(x1, y1)-(x2, y2)`; writes `toiResult`
 * (`t` is a fraction of the remaining sweep, as Box2D's `output.t`).
 */
export function timeOfImpact(
  p: SweptPolygon,
  sw: Float32Array,
  o: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
): void {
  // The sweep over [alpha0, 1], as a sweep over [0, 1].
  let t1 = 0;
  for (let iter = 0;;) {
    sweepPose(sw, o, t1);
    transformVertices(p);
    const d = distance(p, x1, y1, x2, y2);
    if (d <= 0) return void ((toiResult.state = TOI_OVERLAPPED), (toiResult.t = 0));
    if (d < TARGET + TOLERANCE) return void ((toiResult.state = TOI_TOUCHING), (toiResult.t = t1));
    initSeparation(p, x1, y1, x2, y2);
    let t2 = 1;
    for (let pushBack = 0;;) {
      let s2 = separation(p, sw, o, t2, x1, y1, x2, y2, true);
      if (s2 > TARGET + TOLERANCE) {
        return void ((toiResult.state = TOI_SEPARATED), (toiResult.t = 1));
      }
      if (s2 > TARGET - TOLERANCE) {
        t1 = t2;
        break;
      }
      let s1 = separation(p, sw, o, t1, x1, y1, x2, y2, false);
      if (s1 < TARGET - TOLERANCE) return void ((toiResult.state = TOI_FAILED), (toiResult.t = t1));
      if (s1 <= TARGET + TOLERANCE) {
        return void ((toiResult.state = TOI_TOUCHING), (toiResult.t = t1));
      }
      let a1 = t1, a2 = t2;
      for (let root = 0; root < MAX_ROOT_ITERATIONS;) {
        // Alternate the secant rule (odd iterations) and bisection.
        const t = root & 1 ? a1 + ((TARGET - s1) * (a2 - a1)) / (s2 - s1) : 0.5 * (a1 + a2);
        root++;
        const sep = separation(p, sw, o, t, x1, y1, x2, y2, false);
        if (Math.abs(sep - TARGET) < TOLERANCE) {
          t2 = t;
          break;
        }
        if (sep > TARGET) (a1 = t), (s1 = sep);
        else (a2 = t), (s2 = sep);
      }
      if (++pushBack === MAX_PUSH_BACK) break;
    }
    if (++iter === MAX_ITERATIONS) return void ((toiResult.state = TOI_FAILED), (toiResult.t = t1));
  }
}

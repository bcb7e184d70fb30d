/**
 * Box2D 2.3's sequential-impulse contact solver (`b2ContactSolver`) for
 * contacts between a dynamic polygon (body B) and the static ground (body
 * A, which never moves, so its mass and velocity terms vanish): warm-started
 * normal and friction impulses, the two-point block solver, and
 * non-linear Gauss-Seidel position correction. WGSL twin:
 * `shaders/physics/contact_solver.wgsl`.
 *
 * @module
 */
import { cos, f32, sin } from "./f32.ts";
import type { SolverBodies } from "./bodies.ts";
import { FACE_A, MANIFOLD_FLOATS } from "./collide_edge_polygon.ts";
import {
  LINEAR_SLOP,
  MAX_CONDITION_NUMBER,
  MAX_LINEAR_CORRECTION,
  POLYGON_RADIUS,
  VELOCITY_THRESHOLD,
} from "./settings.ts";

/** Per-point floats of a velocity constraint: rB.x, rB.y, normal impulse, tangent impulse, normal mass, tangent mass, velocity bias. */
const POINT = 7;
/** Per-contact floats: body, pointCount, n.x, n.y, friction, restitution, K11, K12, K22, then 2 points. */
const VC = 6 + 3 + 2 * POINT;

/** The contact constraints of one step. */
export class ContactSolver {
  /** Number of contacts in use. */
  count = 0;
  /** The manifolds (see `MANIFOLD_FLOATS`), filled by the collision phase. */
  readonly manifolds: Float32Array;
  /** Per contact: the body index, friction and restitution, set with the manifold. */
  readonly body: Int32Array;
  readonly friction: Float32Array;
  readonly restitution: Float32Array;
  /** Per contact and point: the warm-start impulses [normal, tangent], in and out. */
  readonly impulses: Float32Array;
  private readonly vc: Float32Array;

  constructor(maxContacts: number) {
    this.manifolds = new Float32Array(maxContacts * MANIFOLD_FLOATS);
    this.body = new Int32Array(maxContacts);
    this.friction = new Float32Array(maxContacts);
    this.restitution = new Float32Array(maxContacts);
    this.impulses = new Float32Array(maxContacts * 4);
    this.vc = new Float32Array(maxContacts * VC);
  }

  /**
   * Builds the velocity constraints from the manifolds at the bodies'
   * positions (`InitializeVelocityConstraints`) and applies the warm-start
   * impulses (`WarmStart`).
   */
  initialize(bodies: SolverBodies): void {
    const { vc, manifolds } = this;
    const { c, a, v, w, invMass, invI, localCenter } = bodies;
    for (let k = 0; k < this.count; k++) {
      const m = k * MANIFOLD_FLOATS, o = k * VC, b = this.body[k];
      const mB = invMass[b], iB = invI[b];
      const cosB = cos(a[b]), sinB = sin(a[b]);
      const pBx = c[2 * b] - (cosB * localCenter[2 * b] - sinB * localCenter[2 * b + 1]);
      const pBy = c[2 * b + 1] - (sinB * localCenter[2 * b] + cosB * localCenter[2 * b + 1]);
      const pointCount = manifolds[m + 5];
      // b2WorldManifold::Initialize; A is the ground at the identity transform.
      let nx: number, ny: number;
      const faceA = manifolds[m] === FACE_A;
      if (faceA) (nx = manifolds[m + 1]), (ny = manifolds[m + 2]);
      else {
        nx = cosB * manifolds[m + 1] - sinB * manifolds[m + 2];
        ny = sinB * manifolds[m + 1] + cosB * manifolds[m + 2];
      }
      const planeX = faceA
        ? manifolds[m + 3]
        : pBx + cosB * manifolds[m + 3] - sinB * manifolds[m + 4];
      const planeY = faceA
        ? manifolds[m + 4]
        : pBy + sinB * manifolds[m + 3] + cosB * manifolds[m + 4];
      vc[o] = b, vc[o + 1] = pointCount, vc[o + 4] = this.friction[k];
      vc[o + 5] = this.restitution[k];
      vc[o + 2] = faceA ? nx : -nx, vc[o + 3] = faceA ? ny : -ny;
      const tx = vc[o + 3], ty = -vc[o + 2];
      for (let j = 0; j < pointCount; j++) {
        const lx = manifolds[m + 6 + 3 * j], ly = manifolds[m + 7 + 3 * j];
        let px: number, py: number;
        if (faceA) {
          const clipX = pBx + cosB * lx - sinB * ly, clipY = pBy + sinB * lx + cosB * ly;
          const d = POLYGON_RADIUS - ((clipX - planeX) * nx + (clipY - planeY) * ny);
          const cAx = clipX + d * nx, cAy = clipY + d * ny;
          const cBx = clipX - POLYGON_RADIUS * nx, cBy = clipY - POLYGON_RADIUS * ny;
          (px = 0.5 * (cAx + cBx)), (py = 0.5 * (cAy + cBy));
        } else {
          const d = POLYGON_RADIUS - ((lx - planeX) * nx + (ly - planeY) * ny);
          const cBx = lx + d * nx, cBy = ly + d * ny;
          const cAx = lx - POLYGON_RADIUS * nx, cAy = ly - POLYGON_RADIUS * ny;
          (px = 0.5 * (cAx + cBx)), (py = 0.5 * (cAy + cBy));
        }
        const q = o + 9 + j * POINT;
        const rBx = px - c[2 * b], rBy = py - c[2 * b + 1];
        vc[q] = rBx, vc[q + 1] = rBy;
        vc[q + 2] = this.impulses[4 * k + 2 * j], vc[q + 3] = this.impulses[4 * k + 2 * j + 1];
        const rnB = rBx * vc[o + 3] - rBy * vc[o + 2];
        const kNormal = mB + iB * rnB * rnB;
        vc[q + 4] = kNormal > 0 ? 1 / kNormal : 0;
        const rtB = rBx * ty - rBy * tx;
        const kTangent = mB + iB * rtB * rtB;
        vc[q + 5] = kTangent > 0 ? 1 / kTangent : 0;
        const dvx = v[2 * b] - w[b] * rBy, dvy = v[2 * b + 1] + w[b] * rBx;
        const vRel = vc[o + 2] * dvx + vc[o + 3] * dvy;
        vc[q + 6] = vRel < -VELOCITY_THRESHOLD ? -vc[o + 5] * vRel : 0;
      }
      if (pointCount === 2) {
        const r1x = vc[o + 9], r1y = vc[o + 10];
        const r2x = vc[o + 9 + POINT], r2y = vc[o + 10 + POINT];
        const rn1 = r1x * vc[o + 3] - r1y * vc[o + 2];
        const rn2 = r2x * vc[o + 3] - r2y * vc[o + 2];
        const k11 = mB + iB * rn1 * rn1, k22 = mB + iB * rn2 * rn2, k12 = mB + iB * rn1 * rn2;
        if (k11 * k11 < MAX_CONDITION_NUMBER * (k11 * k22 - k12 * k12)) {
          vc[o + 6] = k11, vc[o + 7] = k12, vc[o + 8] = k22;
        } else {
          // Redundant points: solve the first only.
          vc[o + 1] = 1;
        }
      }
    }
    // Warm start, once every constraint has its velocity bias.
    for (let k = 0; k < this.count; k++) {
      const o = k * VC, b = vc[o];
      const mB = invMass[b], iB = invI[b];
      const nx = vc[o + 2], ny = vc[o + 3], tx = ny, ty = -nx;
      for (let j = 0; j < vc[o + 1]; j++) {
        const q = o + 9 + j * POINT;
        const Px = vc[q + 2] * nx + vc[q + 3] * tx;
        const Py = vc[q + 2] * ny + vc[q + 3] * ty;
        w[b] += iB * (vc[q] * Py - vc[q + 1] * Px);
        v[2 * b] += mB * Px, v[2 * b + 1] += mB * Py;
      }
    }
  }

  /**
   * One Gauss-Seidel pass over the contacts: friction first, then the normal
   * impulses. Every operation is rounded to float32 in Box2D's order (the
   * resting contacts' impulses are sensitive to it).
   */
  solveVelocities(bodies: SolverBodies): void {
    const { vc } = this;
    const { v, w, invMass, invI } = bodies;
    for (let k = 0; k < this.count; k++) {
      const o = k * VC, b = vc[o];
      const mB = invMass[b], iB = invI[b];
      const nx = vc[o + 2], ny = vc[o + 3], tx = ny, ty = -nx;
      const count = vc[o + 1], friction = vc[o + 4];
      let vx = v[2 * b], vy = v[2 * b + 1], wB = w[b];
      for (let j = 0; j < count; j++) {
        const q = o + 9 + j * POINT;
        const rx = vc[q], ry = vc[q + 1];
        const dvx = f32(vx - f32(wB * ry)), dvy = f32(vy + f32(wB * rx));
        const vt = f32(f32(dvx * tx) + f32(dvy * ty));
        const lambda0 = f32(vc[q + 5] * -vt);
        const maxFriction = f32(friction * vc[q + 2]);
        const old = vc[q + 3];
        const next = Math.max(-maxFriction, Math.min(f32(old + lambda0), maxFriction));
        vc[q + 3] = next;
        const lambda = f32(next - old), Px = f32(lambda * tx), Py = f32(lambda * ty);
        vx = f32(vx + f32(mB * Px)), vy = f32(vy + f32(mB * Py));
        wB = f32(wB + f32(iB * f32(f32(rx * Py) - f32(ry * Px))));
      }
      if (count === 1) {
        const q = o + 9;
        const rx = vc[q], ry = vc[q + 1];
        const dvx = f32(vx - f32(wB * ry)), dvy = f32(vy + f32(wB * rx));
        const vn = f32(f32(dvx * nx) + f32(dvy * ny));
        const lambda0 = f32(-vc[q + 4] * f32(vn - vc[q + 6]));
        const old = vc[q + 2];
        const next = Math.max(f32(old + lambda0), 0);
        vc[q + 2] = next;
        const lambda = f32(next - old), Px = f32(lambda * nx), Py = f32(lambda * ny);
        vx = f32(vx + f32(mB * Px)), vy = f32(vy + f32(mB * Py));
        wB = f32(wB + f32(iB * f32(f32(rx * Py) - f32(ry * Px))));
      } else if (count === 2) {
        // The block solver: the 2x2 LCP by enumerating its four cases.
        const q1 = o + 9, q2 = o + 9 + POINT;
        const r1x = vc[q1], r1y = vc[q1 + 1], r2x = vc[q2], r2y = vc[q2 + 1];
        const ax = vc[q1 + 2], ay = vc[q2 + 2];
        const k11 = vc[o + 6], k12 = vc[o + 7], k22 = vc[o + 8];
        const dv1x = f32(vx - f32(wB * r1y)), dv1y = f32(vy + f32(wB * r1x));
        const dv2x = f32(vx - f32(wB * r2y)), dv2y = f32(vy + f32(wB * r2x));
        const vn1 = f32(f32(dv1x * nx) + f32(dv1y * ny));
        const vn2 = f32(f32(dv2x * nx) + f32(dv2y * ny));
        let bx = f32(vn1 - vc[q1 + 6]), by = f32(vn2 - vc[q2 + 6]);
        bx = f32(bx - f32(f32(k11 * ax) + f32(k12 * ay)));
        by = f32(by - f32(f32(k12 * ax) + f32(k22 * ay)));
        // K's inverse (b2Mat22::GetInverse), as Box2D keeps it.
        let det = f32(f32(k11 * k22) - f32(k12 * k12));
        if (det !== 0) det = f32(1 / det);
        const n11 = f32(det * k22), n12 = f32(-det * k12), n22 = f32(det * k11);
        let xx = -f32(f32(n11 * bx) + f32(n12 * by)), xy = -f32(f32(n12 * bx) + f32(n22 * by));
        let solved = xx >= 0 && xy >= 0;
        if (!solved) {
          xx = f32(-vc[q1 + 4] * bx), xy = 0;
          solved = xx >= 0 && f32(f32(k12 * xx) + by) >= 0;
        }
        if (!solved) {
          xx = 0, xy = f32(-vc[q2 + 4] * by);
          solved = xy >= 0 && f32(f32(k12 * xy) + bx) >= 0;
        }
        if (!solved) {
          xx = 0, xy = 0;
          solved = bx >= 0 && by >= 0;
        }
        if (solved) {
          const dx = f32(xx - ax), dy = f32(xy - ay);
          const P1x = f32(dx * nx), P1y = f32(dx * ny), P2x = f32(dy * nx), P2y = f32(dy * ny);
          vx = f32(vx + f32(mB * f32(P1x + P2x))), vy = f32(vy + f32(mB * f32(P1y + P2y)));
          const c1 = f32(f32(r1x * P1y) - f32(r1y * P1x));
          const c2 = f32(f32(r2x * P2y) - f32(r2y * P2x));
          wB = f32(wB + f32(iB * f32(c1 + c2)));
          vc[q1 + 2] = xx, vc[q2 + 2] = xy;
        }
      }
      v[2 * b] = vx, v[2 * b + 1] = vy, w[b] = wB;
    }
  }

  /** Copies the accumulated impulses back for warm starting the next step (`StoreImpulses`). */
  storeImpulses(): void {
    const { vc } = this;
    for (let k = 0; k < this.count; k++) {
      const o = k * VC;
      for (let j = 0; j < 2; j++) {
        const q = o + 9 + j * POINT;
        this.impulses[4 * k + 2 * j] = vc[q + 2];
        this.impulses[4 * k + 2 * j + 1] = vc[q + 3];
      }
    }
  }

  /**
   * One pass of position correction, each overlap reduced by `baumgarte`
   * of it (`SolvePositionConstraints`: 0.2, or `SolveTOIPositionConstraints`:
   * 0.75); returns whether every contact overlaps by less than `tolerance`
   * (3 or 1.5 linear slops).
   */
  solvePositions(bodies: SolverBodies, baumgarte: number, tolerance: number): boolean {
    const { manifolds } = this;
    const { c, a, invMass, invI, localCenter } = bodies;
    let minSeparation = 0;
    for (let k = 0; k < this.count; k++) {
      const m = k * MANIFOLD_FLOATS, b = this.body[k];
      const mB = invMass[b], iB = invI[b];
      const faceA = manifolds[m] === FACE_A;
      const pointCount = manifolds[m + 5];
      for (let j = 0; j < pointCount; j++) {
        const cosB = cos(a[b]), sinB = sin(a[b]);
        const pBx = c[2 * b] - (cosB * localCenter[2 * b] - sinB * localCenter[2 * b + 1]);
        const pBy = c[2 * b + 1] - (sinB * localCenter[2 * b] + cosB * localCenter[2 * b + 1]);
        const lx = manifolds[m + 6 + 3 * j], ly = manifolds[m + 7 + 3 * j];
        let nx: number, ny: number, px: number, py: number, separation: number;
        if (faceA) {
          (nx = manifolds[m + 1]), (ny = manifolds[m + 2]);
          px = pBx + cosB * lx - sinB * ly, py = pBy + sinB * lx + cosB * ly;
          separation = (px - manifolds[m + 3]) * nx + (py - manifolds[m + 4]) * ny -
            2 * POLYGON_RADIUS;
        } else {
          nx = cosB * manifolds[m + 1] - sinB * manifolds[m + 2];
          ny = sinB * manifolds[m + 1] + cosB * manifolds[m + 2];
          const planeX = pBx + cosB * manifolds[m + 3] - sinB * manifolds[m + 4];
          const planeY = pBy + sinB * manifolds[m + 3] + cosB * manifolds[m + 4];
          (px = lx), (py = ly);
          separation = (px - planeX) * nx + (py - planeY) * ny - 2 * POLYGON_RADIUS;
          (nx = -nx), (ny = -ny);
        }
        const rx = px - c[2 * b], ry = py - c[2 * b + 1];
        minSeparation = Math.min(minSeparation, separation);
        const C = Math.max(
          -MAX_LINEAR_CORRECTION,
          Math.min(baumgarte * (separation + LINEAR_SLOP), 0),
        );
        const rn = rx * ny - ry * nx;
        const K = mB + iB * rn * rn;
        const impulse = K > 0 ? -C / K : 0;
        const Px = impulse * nx, Py = impulse * ny;
        c[2 * b] += mB * Px, c[2 * b + 1] += mB * Py;
        a[b] += iB * (rx * Py - ry * Px);
      }
    }
    return minSeparation >= -tolerance;
  }
}

/**
 * Box2D 2.3's revolute joint (`b2RevoluteJoint`) between two dynamic bodies:
 * a point-to-point constraint, a motor with a torque limit and an angle
 * limit, warm-started from the impulses of the previous step. WGSL twin:
 * `shaders/physics/revolute_joint.wgsl`.
 *
 * @module
 */
import { cos, f32, sin } from "./f32.ts";
import type { SolverBodies } from "./bodies.ts";
import { ANGULAR_SLOP, LINEAR_SLOP, MAX_ANGULAR_CORRECTION } from "./settings.ts";

/** A revolute joint's definition (Box2D's `b2RevoluteJointDef`). */
export interface RevoluteJointDef {
  bodyA: number;
  bodyB: number;
  /** Anchor in body A's frame. */
  localAnchorA: [number, number];
  /** Anchor in body B's frame. */
  localAnchorB: [number, number];
  /** Body B's angle minus body A's at which the joint angle is 0. */
  referenceAngle: number;
  enableLimit: boolean;
  lowerAngle: number;
  upperAngle: number;
  enableMotor: boolean;
  motorSpeed: number;
  maxMotorTorque: number;
}

/** The limit's state (`b2LimitState`), kept across steps in the joint's state. */
export const INACTIVE_LIMIT = 0, AT_LOWER_LIMIT = 1, AT_UPPER_LIMIT = 2, EQUAL_LIMITS = 3;

/**
 * Floats of a joint's state: accumulated impulse x, y, z (z: the limit's),
 * motor impulse, limit state.
 */
export const JOINT_FLOATS = 5;

/** A joint's per-step solver data. */
export class RevoluteJoint {
  readonly def: RevoluteJointDef;
  // Anchors relative to the centres of mass, in the world, and the effective mass (3x3, symmetric).
  private rAx = 0;
  private rAy = 0;
  private rBx = 0;
  private rBy = 0;
  private m11 = 0;
  private m12 = 0;
  private m13 = 0;
  private m22 = 0;
  private m23 = 0;
  private m33 = 0;
  private motorMass = 0;
  /** The state (impulses, limit state) this step works on; see `JOINT_FLOATS`. */
  readonly impulse = new Float32Array(JOINT_FLOATS);

  constructor(def: RevoluteJointDef) {
    this.def = def;
  }

  /** `InitVelocityConstraints`: effective masses, limit state, warm start. */
  initialize(bodies: SolverBodies): void {
    const { def, impulse } = this;
    const { a, v, w, invMass, invI } = bodies;
    const A = def.bodyA, B = def.bodyB;
    this.anchors(bodies);
    const { rAx, rAy, rBx, rBy } = this;
    const mA = invMass[A], mB = invMass[B], iA = invI[A], iB = invI[B];
    this.m11 = f32(mA + mB + rAy * rAy * iA + rBy * rBy * iB);
    this.m12 = f32(-rAy * rAx * iA - rBy * rBx * iB);
    this.m13 = f32(-rAy * iA - rBy * iB);
    this.m22 = f32(mA + mB + rAx * rAx * iA + rBx * rBx * iB);
    this.m23 = f32(rAx * iA + rBx * iB);
    this.m33 = f32(iA + iB);
    this.motorMass = f32(iA + iB > 0 ? 1 / (iA + iB) : 0);
    if (!def.enableMotor) impulse[3] = 0;
    if (def.enableLimit) {
      const angle = a[B] - a[A] - def.referenceAngle;
      if (Math.abs(def.upperAngle - def.lowerAngle) < 2 * ANGULAR_SLOP) impulse[4] = EQUAL_LIMITS;
      else if (angle <= def.lowerAngle) {
        if (impulse[4] !== AT_LOWER_LIMIT) impulse[2] = 0;
        impulse[4] = AT_LOWER_LIMIT;
      } else if (angle >= def.upperAngle) {
        if (impulse[4] !== AT_UPPER_LIMIT) impulse[2] = 0;
        impulse[4] = AT_UPPER_LIMIT;
      } else {
        impulse[4] = INACTIVE_LIMIT;
        impulse[2] = 0;
      }
    } else impulse[4] = INACTIVE_LIMIT;
    const Px = impulse[0], Py = impulse[1], L = impulse[3] + impulse[2];
    v[2 * A] -= mA * Px, v[2 * A + 1] -= mA * Py;
    w[A] -= iA * (rAx * Py - rAy * Px + L);
    v[2 * B] += mB * Px, v[2 * B + 1] += mB * Py;
    w[B] += iB * (rBx * Py - rBy * Px + L);
  }

  /** `SolveVelocityConstraints`: motor, then limit with point, or point alone. */
  solveVelocities(bodies: SolverBodies, dt: number): void {
    const { def, impulse, rAx, rAy, rBx, rBy } = this;
    const { v, w, invMass, invI } = bodies;
    const A = def.bodyA, B = def.bodyB;
    const mA = invMass[A], mB = invMass[B], iA = invI[A], iB = invI[B];
    let vAx = v[2 * A], vAy = v[2 * A + 1], wA = w[A];
    let vBx = v[2 * B], vBy = v[2 * B + 1], wB = w[B];
    const limitState = impulse[4];
    if (def.enableMotor && limitState !== EQUAL_LIMITS) {
      const cdot = wB - wA - def.motorSpeed;
      const old = impulse[3], maxImpulse = dt * def.maxMotorTorque;
      impulse[3] = Math.max(-maxImpulse, Math.min(old - this.motorMass * cdot, maxImpulse));
      const applied = impulse[3] - old;
      wA -= iA * applied, wB += iB * applied;
    }
    const cdot1x = vBx - wB * rBy - vAx + wA * rAy;
    const cdot1y = vBy + wB * rBx - vAy - wA * rAx;
    let Px: number, Py: number, Lz: number;
    if (def.enableLimit && limitState !== INACTIVE_LIMIT) {
      const cdot2 = wB - wA;
      let [ix, iy, iz] = this.solve33(-cdot1x, -cdot1y, -cdot2);
      if (limitState === EQUAL_LIMITS) {
        impulse[0] += ix, impulse[1] += iy, impulse[2] += iz;
      } else {
        const next = impulse[2] + iz;
        if (limitState === AT_LOWER_LIMIT ? next < 0 : next > 0) {
          // The limit would pull: drop it and solve the point constraint with its old impulse removed.
          const rhsX = -cdot1x + impulse[2] * this.m13, rhsY = -cdot1y + impulse[2] * this.m23;
          [ix, iy] = this.solve22(rhsX, rhsY);
          iz = -impulse[2];
          impulse[0] += ix, impulse[1] += iy, impulse[2] = 0;
        } else {
          impulse[0] += ix, impulse[1] += iy, impulse[2] += iz;
        }
      }
      (Px = ix), (Py = iy), (Lz = iz);
    } else {
      [Px, Py] = this.solve22(-cdot1x, -cdot1y);
      impulse[0] += Px, impulse[1] += Py;
      Lz = 0;
    }
    vAx -= mA * Px, vAy -= mA * Py, wA -= iA * (rAx * Py - rAy * Px + Lz);
    vBx += mB * Px, vBy += mB * Py, wB += iB * (rBx * Py - rBy * Px + Lz);
    v[2 * A] = vAx, v[2 * A + 1] = vAy, w[A] = wA;
    v[2 * B] = vBx, v[2 * B + 1] = vBy, w[B] = wB;
  }

  /** `SolvePositionConstraints`; returns whether the joint is within the slops. */
  solvePositions(bodies: SolverBodies): boolean {
    const { def, impulse } = this;
    const { c, a, invMass, invI } = bodies;
    const A = def.bodyA, B = def.bodyB;
    const mA = invMass[A], mB = invMass[B], iA = invI[A], iB = invI[B];
    let angularError = 0;
    const limitState = impulse[4];
    if (def.enableLimit && limitState !== INACTIVE_LIMIT) {
      const angle = a[B] - a[A] - def.referenceAngle;
      let C: number;
      if (limitState === EQUAL_LIMITS) {
        C = Math.max(
          -MAX_ANGULAR_CORRECTION,
          Math.min(angle - def.lowerAngle, MAX_ANGULAR_CORRECTION),
        );
        angularError = Math.abs(C);
      } else if (limitState === AT_LOWER_LIMIT) {
        C = angle - def.lowerAngle;
        angularError = -C;
        C = Math.max(-MAX_ANGULAR_CORRECTION, Math.min(C + ANGULAR_SLOP, 0));
      } else {
        C = angle - def.upperAngle;
        angularError = C;
        C = Math.max(0, Math.min(C - ANGULAR_SLOP, MAX_ANGULAR_CORRECTION));
      }
      const limitImpulse = -this.motorMass * C;
      a[A] -= iA * limitImpulse, a[B] += iB * limitImpulse;
    }
    this.anchors(bodies);
    const { rAx, rAy, rBx, rBy } = this;
    const Cx = c[2 * B] + rBx - c[2 * A] - rAx, Cy = c[2 * B + 1] + rBy - c[2 * A + 1] - rAy;
    const positionError = Math.sqrt(Cx * Cx + Cy * Cy);
    const k11 = mA + mB + iA * rAy * rAy + iB * rBy * rBy;
    const k12 = -iA * rAx * rAy - iB * rBx * rBy;
    const k22 = mA + mB + iA * rAx * rAx + iB * rBx * rBx;
    let det = k11 * k22 - k12 * k12;
    if (det !== 0) det = 1 / det;
    const Px = -det * (k22 * Cx - k12 * Cy), Py = -det * (k11 * Cy - k12 * Cx);
    c[2 * A] -= mA * Px, c[2 * A + 1] -= mA * Py, a[A] -= iA * (rAx * Py - rAy * Px);
    c[2 * B] += mB * Px, c[2 * B + 1] += mB * Py, a[B] += iB * (rBx * Py - rBy * Px);
    return positionError <= LINEAR_SLOP && angularError <= ANGULAR_SLOP;
  }

  /** The anchors relative to the centres of mass, in the world, at the bodies' current angles. */
  private anchors(bodies: SolverBodies): void {
    const { def } = this;
    const { a, localCenter } = bodies;
    const A = def.bodyA, B = def.bodyB;
    const cA = cos(a[A]), sA = sin(a[A]), cB = cos(a[B]), sB = sin(a[B]);
    const lax = def.localAnchorA[0] - localCenter[2 * A];
    const lay = def.localAnchorA[1] - localCenter[2 * A + 1];
    const lbx = def.localAnchorB[0] - localCenter[2 * B];
    const lby = def.localAnchorB[1] - localCenter[2 * B + 1];
    this.rAx = f32(cA * lax - sA * lay), this.rAy = f32(sA * lax + cA * lay);
    this.rBx = f32(cB * lbx - sB * lby), this.rBy = f32(sB * lbx + cB * lby);
  }

  /** `b2Mat33::Solve33` on the effective mass. */
  private solve33(bx: number, by: number, bz: number): [number, number, number] {
    const { m11, m12, m13, m22, m23, m33 } = this;
    // Columns ex = (m11, m12, m13), ey = (m12, m22, m23), ez = (m13, m23, m33).
    const cyzX = m22 * m33 - m23 * m23, cyzY = m23 * m13 - m12 * m33, cyzZ = m12 * m23 - m22 * m13;
    let det = m11 * cyzX + m12 * cyzY + m13 * cyzZ;
    if (det !== 0) det = 1 / det;
    // x = det * dot(b, ey x ez), y = det * dot(ex, b x ez), z = det * dot(ex, ey x b).
    const x = det * (bx * cyzX + by * cyzY + bz * cyzZ);
    const y = det *
      (m11 * (by * m33 - bz * m23) + m12 * (bz * m13 - bx * m33) + m13 * (bx * m23 - by * m13));
    const z = det *
      (m11 * (m22 * bz - m23 * by) + m12 * (m23 * bx - m12 * bz) + m13 * (m12 * by - m22 * bx));
    return [x, y, z];
  }

  /** `b2Mat33::Solve22` on the upper-left 2x2 block. */
  private solve22(bx: number, by: number): [number, number] {
    const { m11, m12, m22 } = this;
    let det = m11 * m22 - m12 * m12;
    if (det !== 0) det = 1 / det;
    return [det * (m22 * bx - m12 * by), det * (m11 * by - m12 * bx)];
  }
}

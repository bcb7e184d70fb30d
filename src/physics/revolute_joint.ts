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
  /** The step's bound on the motor's accumulated impulse. */
  private maxMotorImpulse = 0;
  // The parts of Solve33 and Solve22 that depend on the effective mass alone,
  // computed once per step: ey x ez and the inverse determinants.
  private cyzX = 0;
  private cyzY = 0;
  private cyzZ = 0;
  private det33 = 0;
  private det22 = 0;
  /** The state (impulses, limit state) this step works on; see `JOINT_FLOATS`. */
  readonly impulse = new Float32Array(JOINT_FLOATS);

  /** The definition's bodies and switches, copied here for the hot velocity pass. */
  private readonly bodyA: number;
  private readonly bodyB: number;
  private readonly enableMotor: boolean;
  private readonly enableLimit: boolean;
  /** The definition's angles, speed and torque as Box2D stores them (float32). */
  private readonly referenceAngle: number;
  private readonly lowerAngle: number;
  private readonly upperAngle: number;
  private readonly motorSpeed: number;
  private readonly maxMotorTorque: number;

  constructor(def: RevoluteJointDef) {
    this.def = def;
    this.bodyA = def.bodyA, this.bodyB = def.bodyB;
    this.enableMotor = def.enableMotor, this.enableLimit = def.enableLimit;
    this.referenceAngle = f32(def.referenceAngle);
    this.lowerAngle = f32(def.lowerAngle);
    this.upperAngle = f32(def.upperAngle);
    this.motorSpeed = f32(def.motorSpeed);
    this.maxMotorTorque = f32(def.maxMotorTorque);
  }

  /** `InitVelocityConstraints` for a step of `dt`: effective masses, limit state, warm start. */
  initialize(bodies: SolverBodies, dt: number): void {
    this.maxMotorImpulse = f32(dt * this.maxMotorTorque);
    const { def, impulse } = this;
    const { a, v, w, invMass, invI } = bodies;
    const A = def.bodyA, B = def.bodyB;
    this.anchors(bodies);
    const { rAx, rAy, rBx, rBy } = this;
    const mA = invMass[A], mB = invMass[B], iA = invI[A], iB = invI[B];
    const mAB = f32(mA + mB);
    this.m11 = f32(f32(mAB + f32(f32(rAy * rAy) * iA)) + f32(f32(rBy * rBy) * iB));
    this.m12 = f32(f32(f32(-rAy * rAx) * iA) - f32(f32(rBy * rBx) * iB));
    this.m13 = f32(f32(-rAy * iA) - f32(rBy * iB));
    this.m22 = f32(f32(mAB + f32(f32(rAx * rAx) * iA)) + f32(f32(rBx * rBx) * iB));
    this.m23 = f32(f32(rAx * iA) + f32(rBx * iB));
    this.m33 = f32(iA + iB);
    this.motorMass = this.m33 > 0 ? f32(1 / this.m33) : 0;
    const { m11, m12, m13, m22, m23, m33 } = this;
    this.cyzX = f32(f32(m22 * m33) - f32(m23 * m23));
    this.cyzY = f32(f32(m23 * m13) - f32(m12 * m33));
    this.cyzZ = f32(f32(m12 * m23) - f32(m22 * m13));
    const det33 = dot3(m11, m12, m13, this.cyzX, this.cyzY, this.cyzZ);
    this.det33 = det33 !== 0 ? f32(1 / det33) : 0;
    const det22 = f32(f32(m11 * m22) - f32(m12 * m12));
    this.det22 = det22 !== 0 ? f32(1 / det22) : 0;
    if (!def.enableMotor) impulse[3] = 0;
    if (def.enableLimit) {
      const angle = f32(f32(a[B] - a[A]) - this.referenceAngle);
      if (Math.abs(f32(this.upperAngle - this.lowerAngle)) < f32(2 * ANGULAR_SLOP)) {
        impulse[4] = EQUAL_LIMITS;
      } else if (angle <= this.lowerAngle) {
        if (impulse[4] !== AT_LOWER_LIMIT) impulse[2] = 0;
        impulse[4] = AT_LOWER_LIMIT;
      } else if (angle >= this.upperAngle) {
        if (impulse[4] !== AT_UPPER_LIMIT) impulse[2] = 0;
        impulse[4] = AT_UPPER_LIMIT;
      } else {
        impulse[4] = INACTIVE_LIMIT;
        impulse[2] = 0;
      }
    } else impulse[4] = INACTIVE_LIMIT;
    const Px = impulse[0], Py = impulse[1], motor = impulse[3], z = impulse[2];
    v[2 * A] -= f32(mA * Px), v[2 * A + 1] -= f32(mA * Py);
    w[A] -= f32(iA * f32(f32(f32(f32(rAx * Py) - f32(rAy * Px)) + motor) + z));
    v[2 * B] += f32(mB * Px), v[2 * B + 1] += f32(mB * Py);
    w[B] += f32(iB * f32(f32(f32(f32(rBx * Py) - f32(rBy * Px)) + motor) + z));
  }

  /**
   * `SolveVelocityConstraints`: motor, then limit with point, or point alone.
   * The hottest code of LunarLander (180 passes a step): everything lives in
   * locals, and `b2Mat33::Solve33` and `Solve22` are written out in place.
   */
  solveVelocities(bodies: SolverBodies): void {
    const { impulse, rAx, rAy, rBx, rBy, m11, m12, m13, m22, m23, m33 } = this;
    const { v, w, invMass, invI } = bodies;
    const A = this.bodyA, B = this.bodyB;
    const mA = invMass[A], mB = invMass[B], iA = invI[A], iB = invI[B];
    let vAx = v[2 * A], vAy = v[2 * A + 1], wA = w[A];
    let vBx = v[2 * B], vBy = v[2 * B + 1], wB = w[B];
    const limitState = impulse[4];
    if (this.enableMotor && limitState !== EQUAL_LIMITS) {
      const cdot = f32(f32(wB - wA) - this.motorSpeed);
      const old = impulse[3], maxImpulse = this.maxMotorImpulse;
      const next = f32(old + f32(-this.motorMass * cdot));
      const clamped = Math.max(-maxImpulse, Math.min(next, maxImpulse));
      impulse[3] = clamped;
      const applied = f32(clamped - old);
      wA = f32(wA - f32(iA * applied)), wB = f32(wB + f32(iB * applied));
    }
    const cdot1x = f32(f32(f32(vBx - f32(wB * rBy)) - vAx) + f32(wA * rAy));
    const cdot1y = f32(f32(f32(vBy + f32(wB * rBx)) - vAy) - f32(wA * rAx));
    // Lz starts at -0, the exact identity of addition, so the point-only case rounds as Box2D's.
    let Px: number, Py: number, Lz = -0;
    if (this.enableLimit && limitState !== INACTIVE_LIMIT) {
      // Solve33(Cdot1, Cdot2): x = det * dot(b, ey x ez), y = det * dot(ex, b x ez),
      // z = det * dot(ex, ey x b), with columns ex = (m11, m12, m13), ey = (m12, m22, m23), ez = (m13, m23, m33).
      const bx = cdot1x, by = cdot1y, bz = f32(wB - wA), det = this.det33;
      let ix = -f32(det * dot3(bx, by, bz, this.cyzX, this.cyzY, this.cyzZ));
      const bez1 = f32(f32(by * m33) - f32(bz * m23)), bez2 = f32(f32(bz * m13) - f32(bx * m33));
      const bez3 = f32(f32(bx * m23) - f32(by * m13));
      let iy = -f32(det * dot3(m11, m12, m13, bez1, bez2, bez3));
      const eyb1 = f32(f32(m22 * bz) - f32(m23 * by)), eyb2 = f32(f32(m23 * bx) - f32(m12 * bz));
      const eyb3 = f32(f32(m12 * by) - f32(m22 * bx));
      let iz = -f32(det * dot3(m11, m12, m13, eyb1, eyb2, eyb3));
      if (limitState === EQUAL_LIMITS) {
        impulse[0] += ix, impulse[1] += iy, impulse[2] += iz;
      } else {
        const next = f32(impulse[2] + iz);
        if (limitState === AT_LOWER_LIMIT ? next < 0 : next > 0) {
          // The limit would pull: drop it and solve the point constraint with its old impulse removed.
          const rhsX = f32(-cdot1x + f32(impulse[2] * m13));
          const rhsY = f32(-cdot1y + f32(impulse[2] * m23));
          ix = f32(this.det22 * f32(f32(m22 * rhsX) - f32(m12 * rhsY)));
          iy = f32(this.det22 * f32(f32(m11 * rhsY) - f32(m12 * rhsX)));
          iz = -impulse[2];
          impulse[0] += ix, impulse[1] += iy, impulse[2] = 0;
        } else {
          impulse[0] += ix, impulse[1] += iy, impulse[2] += iz;
        }
      }
      (Px = ix), (Py = iy), (Lz = iz);
    } else {
      // Solve22(-Cdot1).
      Px = f32(this.det22 * f32(f32(m22 * -cdot1x) - f32(m12 * -cdot1y)));
      Py = f32(this.det22 * f32(f32(m11 * -cdot1y) - f32(m12 * -cdot1x)));
      impulse[0] += Px, impulse[1] += Py;
    }
    vAx = f32(vAx - f32(mA * Px)), vAy = f32(vAy - f32(mA * Py));
    wA = f32(wA - f32(iA * f32(f32(f32(rAx * Py) - f32(rAy * Px)) + Lz)));
    vBx = f32(vBx + f32(mB * Px)), vBy = f32(vBy + f32(mB * Py));
    wB = f32(wB + f32(iB * f32(f32(f32(rBx * Py) - f32(rBy * Px)) + Lz)));
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
      const angle = f32(f32(a[B] - a[A]) - this.referenceAngle);
      let C: number;
      if (limitState === EQUAL_LIMITS) {
        C = Math.max(
          -MAX_ANGULAR_CORRECTION_F32,
          Math.min(f32(angle - this.lowerAngle), MAX_ANGULAR_CORRECTION_F32),
        );
        angularError = Math.abs(C);
      } else if (limitState === AT_LOWER_LIMIT) {
        C = f32(angle - this.lowerAngle);
        angularError = -C;
        C = Math.max(-MAX_ANGULAR_CORRECTION_F32, Math.min(f32(C + ANGULAR_SLOP_F32), 0));
      } else {
        C = f32(angle - this.upperAngle);
        angularError = C;
        C = Math.max(0, Math.min(f32(C - ANGULAR_SLOP_F32), MAX_ANGULAR_CORRECTION_F32));
      }
      const limitImpulse = f32(-this.motorMass * C);
      a[A] -= f32(iA * limitImpulse), a[B] += f32(iB * limitImpulse);
    }
    this.anchors(bodies);
    const { rAx, rAy, rBx, rBy } = this;
    const Cx = f32(f32(f32(c[2 * B] + rBx) - c[2 * A]) - rAx);
    const Cy = f32(f32(f32(c[2 * B + 1] + rBy) - c[2 * A + 1]) - rAy);
    const positionError = f32(Math.sqrt(f32(f32(Cx * Cx) + f32(Cy * Cy))));
    const mAB = f32(mA + mB);
    const k11 = f32(f32(mAB + f32(f32(iA * rAy) * rAy)) + f32(f32(iB * rBy) * rBy));
    const k12 = f32(f32(f32(-iA * rAx) * rAy) - f32(f32(iB * rBx) * rBy));
    const k22 = f32(f32(mAB + f32(f32(iA * rAx) * rAx)) + f32(f32(iB * rBx) * rBx));
    let det = f32(f32(k11 * k22) - f32(k12 * k12));
    if (det !== 0) det = f32(1 / det);
    const Px = -f32(det * f32(f32(k22 * Cx) - f32(k12 * Cy)));
    const Py = -f32(det * f32(f32(k11 * Cy) - f32(k12 * Cx)));
    c[2 * A] -= f32(mA * Px), c[2 * A + 1] -= f32(mA * Py);
    a[A] -= f32(iA * f32(f32(rAx * Py) - f32(rAy * Px)));
    c[2 * B] += f32(mB * Px), c[2 * B + 1] += f32(mB * Py);
    a[B] += f32(iB * f32(f32(rBx * Py) - f32(rBy * Px)));
    return positionError <= LINEAR_SLOP_F32 && angularError <= ANGULAR_SLOP_F32;
  }

  /** The anchors relative to the centres of mass, in the world, at the bodies' current angles. */
  private anchors(bodies: SolverBodies): void {
    const { def } = this;
    const { a, localCenter } = bodies;
    const A = def.bodyA, B = def.bodyB;
    const cA = cos(a[A]), sA = sin(a[A]), cB = cos(a[B]), sB = sin(a[B]);
    const lax = f32(f32(def.localAnchorA[0]) - localCenter[2 * A]);
    const lay = f32(f32(def.localAnchorA[1]) - localCenter[2 * A + 1]);
    const lbx = f32(f32(def.localAnchorB[0]) - localCenter[2 * B]);
    const lby = f32(f32(def.localAnchorB[1]) - localCenter[2 * B + 1]);
    this.rAx = f32(f32(cA * lax) - f32(sA * lay)), this.rAy = f32(f32(sA * lax) + f32(cA * lay));
    this.rBx = f32(f32(cB * lbx) - f32(sB * lby)), this.rBy = f32(f32(sB * lbx) + f32(cB * lby));
  }
}

/** `b2Dot` of two 3-vectors in float32. */
function dot3(ax: number, ay: number, az: number, bx: number, by: number, bz: number): number {
  return f32(f32(f32(ax * bx) + f32(ay * by)) + f32(az * bz));
}

const ANGULAR_SLOP_F32 = f32(ANGULAR_SLOP);
const LINEAR_SLOP_F32 = f32(LINEAR_SLOP);
const MAX_ANGULAR_CORRECTION_F32 = f32(MAX_ANGULAR_CORRECTION);

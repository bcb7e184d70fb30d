/**
 * A batched-friendly Box2D 2.3 world: dynamic convex polygons joined by
 * revolute joints, colliding with a static chain of edges (the ground), all
 * of its changing state in a flat slice of floats so that a batch of worlds
 * is one array (CPU mode) or one storage buffer (GPU mode, with the WGSL twin
 * in `shaders/physics/`).
 *
 * `step` is `b2World::Step(dt, velocityIterations, positionIterations)`:
 * update the contacts from the current positions (new manifolds, impulses
 * carried over by feature id, begin and end events), then solve the island:
 * integrate velocities (gravity and applied forces), initialise and
 * warm-start contacts and joints, the velocity iterations (joints, then
 * contacts), integrate positions (with Box2D's translation and rotation
 * clamps), the position iterations (until both contacts and joints are
 * within tolerance), and Box2D's sleep rule.
 *
 * Then Box2D's continuous collision: time-of-impact sub-steps of the bodies
 * against the ground edges. Contact events and the island's solve follow
 * Box2D's order (newest first), and the floats Box2D keeps are stored and
 * computed as float32 where its result depends on it (`f32.ts`).
 *
 * Differences from Box2D, all moot for LunarLander: the bodies form one
 * island (they sleep together; in LunarLander the joints join them
 * anyway); there are no polygon-polygon contacts (its bodies collide only
 * with the ground); at most `maxContacts` contacts touch at once.
 *
 * State layout (floats from the world's offset): per body `[c.x, c.y, angle,
 * v.x, v.y, w, sleepTime]` (c the centre of mass), then `awake`, then per
 * joint its {@linkcode JOINT_FLOATS}, then per contact slot `[key,
 * pointCount, id0, normalImpulse0, tangentImpulse0, id1, ...]` where key is
 * `body * edgeCount + edge + 1` (0: free).
 *
 * @module
 */
import { cos, f32, sin } from "./f32.ts";

import { SolverBodies } from "./bodies.ts";
import { collideEdgePolygon, MANIFOLD_FLOATS, type WorldPolygon } from "./collide_edge_polygon.ts";
import { ContactSolver } from "./contact_solver.ts";
import { type Polygon, polygonMass } from "./polygon.ts";
import { JOINT_FLOATS, RevoluteJoint, type RevoluteJointDef } from "./revolute_joint.ts";
import {
  ANGULAR_SLEEP_TOLERANCE,
  BAUMGARTE,
  LINEAR_SLEEP_TOLERANCE,
  LINEAR_SLOP,
  MAX_ROTATION,
  MAX_SUB_STEPS,
  MAX_TRANSLATION,
  POLYGON_RADIUS,
  TIME_TO_SLEEP,
  TOI_BAUMGARTE,
  TOI_POSITION_ITERATIONS,
} from "./settings.ts";
import {
  advanceSweep,
  SWEEP_FLOATS,
  timeOfImpact,
  TOI_TOUCHING,
  toiResult,
} from "./time_of_impact.ts";

/** A dynamic body with one polygon fixture. */
export interface BodyDef {
  shape: Polygon;
  density: number;
  friction: number;
  restitution: number;
}

/** What a world is made of; everything here is constant over an episode. */
export interface WorldDef {
  bodies: BodyDef[];
  joints: RevoluteJointDef[];
  /** Edges of the ground chain (its vertices live in the env's state). */
  edgeCount: number;
  edgeFriction: number;
  /** Contact slots: the most (body, edge) pairs that may touch at once. */
  maxContacts: number;
  timeStep: number;
  velocityIterations: number;
  positionIterations: number;
}

/** Box2D's fat-AABB margin (`b2_aabbExtension`) plus both skins: pairs this near may collide. */
const AABB_MARGIN = 0.1 + 2 * POLYGON_RADIUS;
/** `FLT_EPSILON`: Box2D stops sub-stepping within 10 of it of the step's end. */
const FLT_EPSILON = 1.1920928955078125e-7;
/** Pair flags during continuous collision: near, cached time of impact valid, disabled for the step. */
const PAIR_ACTIVE = 1, PAIR_TOI_VALID = 2, PAIR_DISABLED = 4;

/** Floats per body in the state. */
export const BODY_FLOATS = 7;
/** Floats per contact slot in the state. */
export const CONTACT_FLOATS = 8;

/** Floats of state a world of this definition needs. */
export function worldStateSize(def: WorldDef): number {
  return def.bodies.length * BODY_FLOATS + 1 + def.joints.length * JOINT_FLOATS +
    def.maxContacts * CONTACT_FLOATS;
}

/**
 * The order Box2D's island solves bodies (their contacts) and joints in, for
 * bodies and joints created in index order: its world lists the newest
 * first, so the search starts at the last body, and a body's joints are
 * visited newest first, each body's contacts added when it is taken off the
 * search's stack.
 */
export function islandOrder(def: WorldDef): [number[], number[]] {
  const n = def.bodies.length;
  const bodies: number[] = [], joints: number[] = [];
  const seen = new Array(n).fill(false), added = new Array(def.joints.length).fill(false);
  for (let seed = n - 1; seed >= 0; seed--) {
    if (seen[seed]) continue;
    const stack = [seed];
    seen[seed] = true;
    while (stack.length > 0) {
      const b = stack.pop()!;
      bodies.push(b);
      for (let j = def.joints.length - 1; j >= 0; j--) {
        const { bodyA, bodyB } = def.joints[j];
        if (added[j] || (bodyA !== b && bodyB !== b)) continue;
        added[j] = true;
        joints.push(j);
        const other = bodyA === b ? bodyB : bodyA;
        if (!seen[other]) (seen[other] = true), stack.push(other);
      }
    }
  }
  return [bodies, joints];
}

/** Mass data of every body, as Box2D computes it. */
export function bodyMasses(
  def: WorldDef,
): { invMass: number[]; invI: number[]; localCenter: [number, number][] } {
  const masses = def.bodies.map((b) => polygonMass(b.shape.vertices, b.density));
  return {
    invMass: masses.map((m) => (m.mass > 0 ? 1 / m.mass : 0)),
    invI: masses.map((m) => (m.inertia > 0 ? 1 / m.inertia : 0)),
    localCenter: masses.map((m) => m.center),
  };
}

/**
 * One world definition's stepper over any number of state slices (it keeps
 * only per-step scratch). Forces and torques are accumulated by the caller
 * in `force` before `step` (Box2D's `ApplyForceToCenter`, `ApplyTorque`)
 * and cleared by it.
 */
export class World {
  readonly def: WorldDef;
  readonly bodies: SolverBodies;
  /** Per body `[f.x, f.y, torque]`, applied during the next step. */
  readonly force: Float32Array;
  /** Per body, after `step`: whether it touched the ground at the step's contact update. */
  readonly touching: Uint8Array;
  /** Per body, after `step`: whether one of its contacts began. */
  readonly began: Uint8Array;
  /**
   * Per body, after `step`: whether its last contact event was an end. Box2D
   * updates its contacts newest first, so an old contact ending fires after a
   * new one beginning; a time-of-impact contact fires after both.
   */
  readonly ended: Uint8Array;
  /** The gravity of the next step (a parameter of the env). */
  gravityX = 0;
  gravityY = -10;
  private readonly joints: RevoluteJoint[];
  private readonly contacts: ContactSolver;
  private readonly polygons: WorldPolygon[];
  private readonly keys: Float32Array;
  /** Per body its sweep over the step (`SWEEP_FLOATS`), for continuous collision. */
  private readonly sweeps: Float32Array;
  private readonly sweepBackup = new Float32Array(SWEEP_FLOATS);
  /** Per (body, edge) pair during continuous collision: `PAIR_*` flags, cached alpha, events taken. */
  private readonly toiPairs: Uint8Array;
  private readonly toiAlpha: Float32Array;
  private readonly toiCount: Uint8Array;
  private readonly oldPoints = new Float32Array(6);
  /** Box2D's island order of the bodies and joints (see `islandOrder`). */
  private readonly bodyOrder: number[];
  private readonly jointOrder: number[];
  private readonly jointBase: number;
  private readonly contactBase: number;

  constructor(def: WorldDef) {
    this.def = def;
    const { invMass, invI, localCenter } = bodyMasses(def);
    this.bodies = new SolverBodies(invMass, invI, localCenter);
    const n = def.bodies.length;
    this.force = new Float32Array(3 * n);
    this.touching = new Uint8Array(n);
    this.began = new Uint8Array(n);
    this.ended = new Uint8Array(n);
    this.joints = def.joints.map((j) => new RevoluteJoint(j));
    this.contacts = new ContactSolver(def.maxContacts);
    this.keys = new Float32Array(def.maxContacts);
    this.polygons = def.bodies.map(({ shape }) => ({
      count: shape.vertices.length,
      v: new Float32Array(2 * shape.vertices.length),
      n: new Float32Array(2 * shape.vertices.length),
      localV: Float32Array.from(shape.vertices.flat()),
      localN: Float32Array.from(shape.normals.flat()),
      cx: 0,
      cy: 0,
      px: 0,
      py: 0,
      cos: 1,
      sin: 0,
    }));
    [this.bodyOrder, this.jointOrder] = islandOrder(def);
    this.sweeps = new Float32Array(n * SWEEP_FLOATS);
    for (let b = 0; b < n; b++) this.sweeps.set(localCenter[b], b * SWEEP_FLOATS);
    this.toiPairs = new Uint8Array(n * def.edgeCount);
    this.toiAlpha = new Float32Array(n * def.edgeCount);
    this.toiCount = new Uint8Array(n * def.edgeCount);
    this.jointBase = n * BODY_FLOATS + 1;
    this.contactBase = this.jointBase + def.joints.length * JOINT_FLOATS;
  }

  /** Places body `b`'s origin at `(x, y)` with `angle`, at rest, and wakes the world. */
  setBody(s: Float64Array, wo: number, b: number, x: number, y: number, angle: number): void {
    const lc = this.bodies.localCenter, o = wo + b * BODY_FLOATS;
    const c = cos(angle), sn = sin(angle);
    s[o] = f32(x + c * lc[2 * b] - sn * lc[2 * b + 1]);
    s[o + 1] = f32(y + sn * lc[2 * b] + c * lc[2 * b + 1]);
    s[o + 2] = f32(angle);
    for (let k = 3; k < BODY_FLOATS; k++) s[o + k] = 0;
    s[wo + this.def.bodies.length * BODY_FLOATS] = 1;
  }

  /** Clears joint and contact state (a new episode). */
  clearConstraints(s: Float64Array, wo: number): void {
    s.fill(0, wo + this.jointBase, wo + worldStateSize(this.def));
  }

  /** Body `b`'s origin (Box2D's `GetPosition`), written to `out`. */
  position(s: Float64Array, wo: number, b: number, out: [number, number]): void {
    const lc = this.bodies.localCenter, o = wo + b * BODY_FLOATS;
    const c = cos(s[o + 2]), sn = sin(s[o + 2]);
    out[0] = s[o] - (c * lc[2 * b] - sn * lc[2 * b + 1]);
    out[1] = s[o + 1] - (sn * lc[2 * b] + c * lc[2 * b + 1]);
  }

  /** Whether the world is awake (Box2D's `IsAwake` of its bodies). */
  awake(s: Float64Array, wo: number): boolean {
    return s[wo + this.def.bodies.length * BODY_FLOATS] !== 0;
  }

  /** `ApplyLinearImpulse(impulse, point, wake = true)` on body `b`. */
  applyLinearImpulse(
    s: Float64Array,
    wo: number,
    b: number,
    ix: number,
    iy: number,
    px: number,
    py: number,
  ): void {
    this.wake(s, wo);
    const o = wo + b * BODY_FLOATS;
    const m = this.bodies.invMass[b], iI = this.bodies.invI[b];
    s[o + 3] = f32(s[o + 3] + m * ix), s[o + 4] = f32(s[o + 4] + m * iy);
    s[o + 5] = f32(s[o + 5] + iI * ((px - s[o]) * iy - (py - s[o + 1]) * ix));
  }

  /** Wakes a sleeping world (`SetAwake(true)`: sleep timers restart). */
  wake(s: Float64Array, wo: number): void {
    const n = this.def.bodies.length;
    if (s[wo + n * BODY_FLOATS] !== 0) return;
    s[wo + n * BODY_FLOATS] = 1;
    for (let b = 0; b < n; b++) s[wo + b * BODY_FLOATS + 6] = 0;
  }

  /** One `b2World::Step`; the ground chain's vertices are `s[eo .. eo + 2 (edgeCount + 1))`. */
  step(s: Float64Array, wo: number, eo: number): void {
    const n = this.def.bodies.length;
    if (s[wo + n * BODY_FLOATS] === 0) {
      this.force.fill(0);
      this.touching.fill(0), this.began.fill(0), this.ended.fill(0);
      return;
    }
    this.collide(s, wo, eo);
    this.solve(s, wo);
    if (s[wo + n * BODY_FLOATS] !== 0) this.solveTimeOfImpact(s, wo, eo);
    this.force.fill(0);
  }

  /** The contact update: new manifolds, warm-start impulses matched by feature id, events. */
  private collide(s: Float64Array, wo: number, eo: number): void {
    const { def, contacts, keys, polygons } = this;
    const E = def.edgeCount, cb = wo + this.contactBase;
    this.touching.fill(0), this.began.fill(0), this.ended.fill(0);
    let count = 0;
    for (const b of this.bodyOrder) {
      const p = polygons[b], o = wo + b * BODY_FLOATS;
      this.transformPolygon(b, s[o], s[o + 1], s[o + 2]);
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (let i = 0; i < p.count; i++) {
        minX = Math.min(minX, p.v[2 * i]), maxX = Math.max(maxX, p.v[2 * i]);
        minY = Math.min(minY, p.v[2 * i + 1]), maxY = Math.max(maxY, p.v[2 * i + 1]);
      }
      const r = 2 * POLYGON_RADIUS;
      for (let e = 0; e < E; e++) {
        const x1 = s[eo + 2 * e], y1 = s[eo + 2 * e + 1];
        const x2 = s[eo + 2 * e + 2], y2 = s[eo + 2 * e + 3];
        if (
          Math.min(x1, x2) > maxX + r || Math.max(x1, x2) < minX - r ||
          Math.min(y1, y2) > maxY + r || Math.max(y1, y2) < minY - r || count === def.maxContacts
        ) continue;
        const m = count * MANIFOLD_FLOATS;
        const points = collideEdgePolygon(x1, y1, x2, y2, p, contacts.manifolds, m);
        if (points === 0) continue;
        const key = b * E + e + 1;
        keys[count] = key;
        contacts.body[count] = b;
        contacts.friction[count] = Math.sqrt(def.bodies[b].friction * def.edgeFriction);
        contacts.restitution[count] = def.bodies[b].restitution;
        // Carry impulses over from the old contact of this pair, point by matching feature id.
        let old = -1;
        for (let k = 0; k < def.maxContacts; k++) if (s[cb + k * CONTACT_FLOATS] === key) old = k;
        for (let j = 0; j < 2; j++) {
          contacts.impulses[4 * count + 2 * j] = 0, contacts.impulses[4 * count + 2 * j + 1] = 0;
          if (j >= points || old < 0) continue;
          const id = contacts.manifolds[m + 8 + 3 * j], o = cb + old * CONTACT_FLOATS;
          for (let i = 0; i < s[o + 1]; i++) {
            if (s[o + 2 + 3 * i] === id) {
              contacts.impulses[4 * count + 2 * j] = s[o + 3 + 3 * i];
              contacts.impulses[4 * count + 2 * j + 1] = s[o + 4 + 3 * i];
              break;
            }
          }
        }
        this.touching[b] = 1;
        if (old < 0) this.began[b] = 1;
        count++;
      }
    }
    // Contacts that no longer touch end.
    for (let k = 0; k < def.maxContacts; k++) {
      const key = s[cb + k * CONTACT_FLOATS];
      if (key === 0) continue;
      let still = false;
      for (let i = 0; i < count; i++) if (keys[i] === key) still = true;
      if (!still) this.ended[Math.floor((key - 1) / E)] = 1;
    }
    contacts.count = count;
  }

  /** Places body `b`'s polygon at centre of mass `(cx, cy)` and `angle`. */
  private transformPolygon(b: number, cx: number, cy: number, angle: number): void {
    const p = this.polygons[b];
    const lc = this.bodies.localCenter;
    const c = cos(angle), sn = sin(angle);
    p.cos = c, p.sin = sn;
    p.px = f32(cx - (c * lc[2 * b] - sn * lc[2 * b + 1]));
    p.py = f32(cy - (sn * lc[2 * b] + c * lc[2 * b + 1]));
    for (let i = 0; i < p.count; i++) {
      const x = p.localV[2 * i], y = p.localV[2 * i + 1];
      p.v[2 * i] = p.px + c * x - sn * y, p.v[2 * i + 1] = p.py + sn * x + c * y;
      const nx = p.localN[2 * i], ny = p.localN[2 * i + 1];
      p.n[2 * i] = c * nx - sn * ny, p.n[2 * i + 1] = sn * nx + c * ny;
    }
    // The world centroid is the centre of mass (uniform density).
    p.cx = cx, p.cy = cy;
  }

  /** `b2Island::Solve` over all bodies, then stores state and applies the sleep rule. */
  private solve(s: Float64Array, wo: number): void {
    const { def, bodies, contacts, joints, force } = this;
    const n = def.bodies.length, h = f32(def.timeStep);
    const { c, a, v, w, invMass, invI } = bodies;
    for (let b = 0; b < n; b++) {
      const o = wo + b * BODY_FLOATS, so = b * SWEEP_FLOATS;
      c[2 * b] = s[o], c[2 * b + 1] = s[o + 1], a[b] = s[o + 2];
      // The sweep of the step starts here (its end is set after the solve).
      this.sweeps[so + 2] = s[o], this.sweeps[so + 3] = s[o + 1], this.sweeps[so + 4] = s[o + 2];
      this.sweeps[so + 8] = 0;
      v[2 * b] = s[o + 3] + h * (this.gravityX + invMass[b] * force[3 * b]);
      v[2 * b + 1] = s[o + 4] + h * (this.gravityY + invMass[b] * force[3 * b + 1]);
      w[b] = s[o + 5] + h * invI[b] * force[3 * b + 2];
    }
    contacts.initialize(bodies);
    const jointOrder = this.jointOrder;
    const jb = wo + this.jointBase;
    joints.forEach((joint, j) => {
      for (let k = 0; k < JOINT_FLOATS; k++) joint.impulse[k] = s[jb + j * JOINT_FLOATS + k];
      joint.initialize(bodies, h);
    });
    for (let it = 0; it < def.velocityIterations; it++) {
      for (let j = 0; j < jointOrder.length; j++) joints[jointOrder[j]].solveVelocities(bodies);
      contacts.solveVelocities(bodies);
    }
    contacts.storeImpulses();
    for (let b = 0; b < n; b++) this.integrate(b, h);
    let positionSolved = false;
    for (let it = 0; it < def.positionIterations; it++) {
      const contactsOkay = contacts.solvePositions(bodies, BAUMGARTE, 3 * LINEAR_SLOP);
      let jointsOkay = true;
      for (const j of this.jointOrder) jointsOkay = joints[j].solvePositions(bodies) && jointsOkay;
      if (contactsOkay && jointsOkay) {
        positionSolved = true;
        break;
      }
    }
    // Store bodies, joints and contacts; then the sleep rule.
    let minSleepTime = Infinity;
    const linTolSqr = LINEAR_SLEEP_TOLERANCE * LINEAR_SLEEP_TOLERANCE;
    const angTolSqr = ANGULAR_SLEEP_TOLERANCE * ANGULAR_SLEEP_TOLERANCE;
    for (let b = 0; b < n; b++) {
      const o = wo + b * BODY_FLOATS;
      s[o] = c[2 * b], s[o + 1] = c[2 * b + 1], s[o + 2] = a[b];
      s[o + 3] = v[2 * b], s[o + 4] = v[2 * b + 1], s[o + 5] = w[b];
      const so = b * SWEEP_FLOATS;
      this.sweeps[so + 5] = c[2 * b],
        this.sweeps[so + 6] = c[2 * b + 1],
        this.sweeps[so + 7] = a[b];
      if (
        w[b] * w[b] > angTolSqr || v[2 * b] * v[2 * b] + v[2 * b + 1] * v[2 * b + 1] > linTolSqr
      ) {
        s[o + 6] = 0;
        minSleepTime = 0;
      } else {
        // In f32, as Box2D accumulates it, so that both twins sleep at the same step.
        s[o + 6] = f32(s[o + 6] + f32(h));
        minSleepTime = Math.min(minSleepTime, s[o + 6]);
      }
    }
    joints.forEach((joint, j) => {
      for (let k = 0; k < JOINT_FLOATS; k++) s[jb + j * JOINT_FLOATS + k] = joint.impulse[k];
    });
    const cb = wo + this.contactBase;
    s.fill(0, cb, cb + def.maxContacts * CONTACT_FLOATS);
    for (let k = 0; k < contacts.count; k++) {
      const o = cb + k * CONTACT_FLOATS, m = k * MANIFOLD_FLOATS;
      const points = contacts.manifolds[m + 5];
      s[o] = this.keys[k], s[o + 1] = points;
      for (let j = 0; j < points; j++) {
        s[o + 2 + 3 * j] = contacts.manifolds[m + 8 + 3 * j];
        s[o + 3 + 3 * j] = contacts.impulses[4 * k + 2 * j];
        s[o + 4 + 3 * j] = contacts.impulses[4 * k + 2 * j + 1];
      }
    }
    if (minSleepTime >= TIME_TO_SLEEP && positionSolved) {
      s[wo + n * BODY_FLOATS] = 0;
      for (let b = 0; b < n; b++) {
        const o = wo + b * BODY_FLOATS;
        s[o + 3] = 0, s[o + 4] = 0, s[o + 5] = 0, s[o + 6] = 0;
      }
    }
  }

  /**
   * `b2World::SolveTOI`: while a body's sweep over the step brings it within
   * Box2D's target distance of an edge, take the earliest such event: move
   * the body back to that time, update its contacts there (events fire),
   * push it out with the TOI position solver, solve its contacts' velocities
   * (no warm start, no joints: Box2D's TOI island holds the body and the
   * ground alone) and move it on for the rest of the step.
   */
  private solveTimeOfImpact(s: Float64Array, wo: number, eo: number): void {
    const { def, bodies, contacts, sweeps, polygons } = this;
    const n = def.bodies.length, E = def.edgeCount, cb = wo + this.contactBase;
    const { c, a, v, w } = bodies;
    const pairs = this.toiPairs;
    // Candidate pairs (Box2D's contacts): the edge near the body's sweep.
    for (let b = 0; b < n; b++) {
      const p = polygons[b], so = b * SWEEP_FLOATS;
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (const end of [0, 3]) {
        this.transformPolygon(b, sweeps[so + 2 + end], sweeps[so + 3 + end], sweeps[so + 4 + end]);
        for (let i = 0; i < p.count; i++) {
          minX = Math.min(minX, p.v[2 * i]), maxX = Math.max(maxX, p.v[2 * i]);
          minY = Math.min(minY, p.v[2 * i + 1]), maxY = Math.max(maxY, p.v[2 * i + 1]);
        }
      }
      for (let e = 0; e < E; e++) {
        const x1 = s[eo + 2 * e], y1 = s[eo + 2 * e + 1];
        const x2 = s[eo + 2 * e + 2], y2 = s[eo + 2 * e + 3];
        const k = b * E + e;
        pairs[k] = Math.min(x1, x2) > maxX + AABB_MARGIN || Math.max(x1, x2) < minX - AABB_MARGIN ||
            Math.min(y1, y2) > maxY + AABB_MARGIN || Math.max(y1, y2) < minY - AABB_MARGIN
          ? 0
          : PAIR_ACTIVE;
      }
    }
    this.toiCount.fill(0);
    let groundAlpha0 = 0;
    for (;;) {
      let minPair = -1, minAlpha = 1;
      for (let k = 0; k < n * E; k++) {
        if ((pairs[k] & PAIR_ACTIVE) === 0 || pairs[k] & PAIR_DISABLED) continue;
        if (this.toiCount[k] > MAX_SUB_STEPS) continue;
        if ((pairs[k] & PAIR_TOI_VALID) === 0) {
          const b = Math.floor(k / E), e = k % E, so = b * SWEEP_FLOATS;
          // Box2D puts both sweeps on one interval; the ground's alpha0 is the latest seen.
          let alpha0 = sweeps[so + 8];
          if (alpha0 < groundAlpha0) advanceSweep(sweeps, so, alpha0 = groundAlpha0);
          else groundAlpha0 = alpha0;
          const x1 = s[eo + 2 * e], y1 = s[eo + 2 * e + 1];
          timeOfImpact(polygons[b], sweeps, so, x1, y1, s[eo + 2 * e + 2], s[eo + 2 * e + 3]);
          this.toiAlpha[k] = toiResult.state === TOI_TOUCHING
            ? Math.min(alpha0 + (1 - alpha0) * toiResult.t, 1)
            : 1;
          pairs[k] |= PAIR_TOI_VALID;
        }
        if (this.toiAlpha[k] < minAlpha) (minPair = k), (minAlpha = this.toiAlpha[k]);
      }
      if (minPair < 0 || 1 - 10 * FLT_EPSILON < minAlpha) break;
      const b = Math.floor(minPair / E), e = minPair % E, so = b * SWEEP_FLOATS;
      const backup = this.sweepBackup;
      for (let i = 0; i < SWEEP_FLOATS; i++) backup[i] = sweeps[so + i];
      advanceSweep(sweeps, so, minAlpha);
      c[2 * b] = sweeps[so + 2], c[2 * b + 1] = sweeps[so + 3], a[b] = sweeps[so + 4];
      this.toiCount[minPair]++;
      pairs[minPair] &= ~PAIR_TOI_VALID;
      if (this.updateContact(s, cb, eo, b, e, 0) === 0) {
        // Not touching after all: back to the sweep's end, and no more events for this pair.
        pairs[minPair] |= PAIR_DISABLED;
        for (let i = 0; i < SWEEP_FLOATS; i++) sweeps[so + i] = backup[i];
        c[2 * b] = sweeps[so + 5], c[2 * b + 1] = sweeps[so + 6], a[b] = sweeps[so + 7];
        continue;
      }
      // The island: this contact, then the body's other touching contacts at this time.
      let count = 1;
      for (let e2 = 0; e2 < E && count < def.maxContacts; e2++) {
        if (e2 === e || (pairs[b * E + e2] & PAIR_ACTIVE) === 0) continue;
        if (this.updateContact(s, cb, eo, b, e2, count) > 0) count++;
      }
      contacts.count = count;
      for (let k = 0; k < count; k++) {
        contacts.body[k] = b;
        contacts.friction[k] = Math.sqrt(def.bodies[b].friction * def.edgeFriction);
        contacts.restitution[k] = def.bodies[b].restitution;
      }
      contacts.impulses.fill(0);
      for (let it = 0; it < TOI_POSITION_ITERATIONS; it++) {
        if (contacts.solvePositions(bodies, TOI_BAUMGARTE, 1.5 * LINEAR_SLOP)) break;
      }
      sweeps[so + 2] = c[2 * b], sweeps[so + 3] = c[2 * b + 1], sweeps[so + 4] = a[b];
      contacts.initialize(bodies);
      for (let it = 0; it < def.velocityIterations; it++) contacts.solveVelocities(bodies);
      const h = f32((1 - minAlpha) * f32(def.timeStep));
      this.integrate(b, h);
      sweeps[so + 5] = c[2 * b], sweeps[so + 6] = c[2 * b + 1], sweeps[so + 7] = a[b];
      for (let e2 = 0; e2 < E; e2++) pairs[b * E + e2] &= ~PAIR_TOI_VALID;
    }
    for (let b = 0; b < n; b++) {
      const o = wo + b * BODY_FLOATS;
      s[o] = c[2 * b], s[o + 1] = c[2 * b + 1], s[o + 2] = a[b];
      s[o + 3] = v[2 * b], s[o + 4] = v[2 * b + 1], s[o + 5] = w[b];
    }
  }

  /**
   * `b2Contact::Update` of body `b` against edge `e` at the body's solver
   * pose: the manifold into contact `k` of the solver, the state's contact
   * slot rewritten (impulses carried over by feature id), begin and end
   * events; returns the point count.
   */
  private updateContact(
    s: Float64Array,
    cb: number,
    eo: number,
    b: number,
    e: number,
    k: number,
  ): number {
    const { def, bodies, contacts } = this;
    const { c, a } = bodies;
    this.transformPolygon(b, c[2 * b], c[2 * b + 1], a[b]);
    const m = k * MANIFOLD_FLOATS;
    const points = collideEdgePolygon(
      s[eo + 2 * e],
      s[eo + 2 * e + 1],
      s[eo + 2 * e + 2],
      s[eo + 2 * e + 3],
      this.polygons[b],
      contacts.manifolds,
      m,
    );
    const key = b * def.edgeCount + e + 1;
    let slot = -1, free = -1;
    for (let j = 0; j < def.maxContacts; j++) {
      const o = cb + j * CONTACT_FLOATS;
      if (s[o] === key) slot = j;
      else if (s[o] === 0 && free < 0) free = j;
    }
    if (points === 0) {
      if (slot >= 0) {
        s.fill(0, cb + slot * CONTACT_FLOATS, cb + (slot + 1) * CONTACT_FLOATS);
        this.ended[b] = 1;
      }
      return 0;
    }
    if (slot < 0) {
      if (free < 0) return 0;
      slot = free;
      this.began[b] = 1, this.ended[b] = 0;
      s.fill(0, cb + slot * CONTACT_FLOATS, cb + (slot + 1) * CONTACT_FLOATS);
    }
    const o = cb + slot * CONTACT_FLOATS, old = this.oldPoints;
    for (let i = 0; i < 6; i++) old[i] = s[o + 2 + i];
    const oldCount = s[o + 1];
    s[o] = key, s[o + 1] = points;
    for (let j = 0; j < 2; j++) {
      const q = o + 2 + 3 * j;
      s[q] = 0, s[q + 1] = 0, s[q + 2] = 0;
      if (j >= points) continue;
      const id = contacts.manifolds[m + 8 + 3 * j];
      s[q] = id;
      for (let i = 0; i < oldCount; i++) {
        if (old[3 * i] === id) (s[q + 1] = old[3 * i + 1]), (s[q + 2] = old[3 * i + 2]);
      }
    }
    return points;
  }

  /** Moves body `b` on by `h` at its velocity, with Box2D's translation and rotation clamps. */
  private integrate(b: number, h: number): void {
    const { c, a, v, w } = this.bodies;
    let vx = v[2 * b], vy = v[2 * b + 1], wb = w[b];
    const tx = h * vx, ty = h * vy;
    if (tx * tx + ty * ty > MAX_TRANSLATION * MAX_TRANSLATION) {
      const ratio = MAX_TRANSLATION / Math.sqrt(tx * tx + ty * ty);
      vx *= ratio, vy *= ratio;
    }
    const rotation = h * wb;
    if (rotation * rotation > MAX_ROTATION * MAX_ROTATION) wb *= MAX_ROTATION / Math.abs(rotation);
    c[2 * b] += h * vx, c[2 * b + 1] += h * vy, a[b] += h * wb;
    v[2 * b] = vx, v[2 * b + 1] = vy, w[b] = wb;
  }
}

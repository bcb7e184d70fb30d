/**
 * The solver's view of the dynamic bodies during one step (Box2D's
 * `b2Position` and `b2Velocity` arrays): centre of mass, angle, linear and
 * angular velocity, with the constant mass data beside them.
 *
 * @module
 */

/** Positions, velocities and mass data of a world's dynamic bodies. */
export class SolverBodies {
  /** Centres of mass, x and y interleaved. */
  readonly c: Float32Array;
  readonly a: Float32Array;
  /** Linear velocities, interleaved. */
  readonly v: Float32Array;
  readonly w: Float32Array;
  readonly invMass: Float32Array;
  readonly invI: Float32Array;
  /** Centres of mass in the bodies' frames, interleaved. */
  readonly localCenter: Float32Array;

  constructor(invMass: number[], invI: number[], localCenter: [number, number][]) {
    const n = invMass.length;
    this.c = new Float32Array(2 * n);
    this.a = new Float32Array(n);
    this.v = new Float32Array(2 * n);
    this.w = new Float32Array(n);
    this.invMass = Float32Array.from(invMass);
    this.invI = Float32Array.from(invI);
    this.localCenter = Float32Array.from(localCenter.flat());
  }
}

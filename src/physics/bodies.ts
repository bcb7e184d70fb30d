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
  readonly c: Float64Array;
  readonly a: Float64Array;
  /** Linear velocities, interleaved. */
  readonly v: Float64Array;
  readonly w: Float64Array;
  readonly invMass: Float64Array;
  readonly invI: Float64Array;
  /** Centres of mass in the bodies' frames, interleaved. */
  readonly localCenter: Float64Array;

  constructor(invMass: number[], invI: number[], localCenter: [number, number][]) {
    const n = invMass.length;
    this.c = new Float64Array(2 * n);
    this.a = new Float64Array(n);
    this.v = new Float64Array(2 * n);
    this.w = new Float64Array(n);
    this.invMass = Float64Array.from(invMass);
    this.invI = Float64Array.from(invI);
    this.localCenter = Float64Array.from(localCenter.flat());
  }
}

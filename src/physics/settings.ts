/**
 * Box2D 2.3's tuning constants (`b2Settings.h`), the ones Gymnasium's Box2D
 * environments run with. Lengths in metres, angles in radians, times in
 * seconds. The WGSL twin declares the same names in `shaders/physics/world.wgsl`.
 *
 * @module
 */

/** Collision and constraint tolerance: contacts settle this far into each other. */
export const LINEAR_SLOP = 0.005;
/** Angular tolerance of joint limits and contact normals. */
export const ANGULAR_SLOP = (2 / 180) * Math.PI;
/** The skin around every polygon and edge. */
export const POLYGON_RADIUS = 2 * LINEAR_SLOP;
/** Largest position correction of one position iteration (prevents overshoot). */
export const MAX_LINEAR_CORRECTION = 0.2;
/** Largest angular correction of one position iteration. */
export const MAX_ANGULAR_CORRECTION = (8 / 180) * Math.PI;
/** Largest translation of a body in one step. */
export const MAX_TRANSLATION = 2;
/** Largest rotation of a body in one step. */
export const MAX_ROTATION = 0.5 * Math.PI;
/** Fraction of the overlap that the position solver removes per iteration. */
export const BAUMGARTE = 0.2;
/** Fraction of the overlap that a time-of-impact sub-step's position solver removes per iteration. */
export const TOI_BAUMGARTE = 0.75;
/** Position iterations of a time-of-impact sub-step. */
export const TOI_POSITION_ITERATIONS = 20;
/** Time-of-impact events one contact may take per step, minus 1 (Box2D's `b2_maxSubSteps`). */
export const MAX_SUB_STEPS = 8;
/** Approach speed under which restitution is ignored. */
export const VELOCITY_THRESHOLD = 1;
/** How long every body of an island must be slow before the island sleeps. */
export const TIME_TO_SLEEP = 0.5;
/** A body slower than this may sleep. */
export const LINEAR_SLEEP_TOLERANCE = 0.01;
/** A body turning slower than this may sleep. */
export const ANGULAR_SLEEP_TOLERANCE = (2 / 180) * Math.PI;
/** Two-point contacts whose mass matrix is worse conditioned than this are solved at one point. */
export const MAX_CONDITION_NUMBER = 1000;

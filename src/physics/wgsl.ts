/**
 * A world definition as WGSL constants, for the kernels in
 * `shaders/physics/`: body shapes and mass data, joints, iteration counts
 * and where the world and the ground chain sit in the env's state. Mass data
 * is computed once, in float64, by the same code as the TypeScript twin's.
 *
 * @module
 */
import { bodyMasses, islandOrder, type WorldDef } from "./world.ts";
import { maxOf } from "../range.ts";

/** Offsets, in the env's state, of the world and of the ground chain's vertices. */
export interface WorldOffsets {
  world: number;
  edges: number;
}

/** A number as a WGSL f32 literal (`1` becomes `1.0`). */
export function f32(x: number): string {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

function array(type: string, values: string[]): string {
  const padded = values.length > 0
    ? values
    : [type === "u32" ? "0u" : type === "bool" ? "false" : `${type}()`];
  return `array<${type}, ${padded.length}>(${padded.join(", ")})`;
}

const vec2 = ([x, y]: readonly number[]) => `vec2f(${f32(x)}, ${f32(y)})`;

/** The WGSL constants of `def` (a shader part named after the world). */
export function worldWgsl(def: WorldDef, at: WorldOffsets): { name: string; source: string } {
  const { invMass, invI, localCenter } = bodyMasses(def);
  const maxVertices = maxOf(def.bodies.map((b) => b.shape.vertices.length));
  const padded = (pick: (b: WorldDef["bodies"][number]) => [number, number][]) =>
    def.bodies.flatMap((b) => {
      const vs = pick(b).map(vec2);
      return [...vs, ...Array(maxVertices - vs.length).fill("vec2f()")];
    });
  const j = def.joints;
  const [bodyOrder, jointOrder] = islandOrder(def);
  const lines = [
    `const NUM_BODIES: u32 = ${def.bodies.length}u;`,
    `const NUM_JOINTS: u32 = ${j.length}u;`,
    `const NUM_EDGES: u32 = ${def.edgeCount}u;`,
    `const MAX_CONTACTS: u32 = ${def.maxContacts}u;`,
    `const MAX_VERTICES: u32 = ${maxVertices}u;`,
    `const WORLD_BASE: u32 = ${at.world}u;`,
    `const EDGE_BASE: u32 = ${at.edges}u;`,
    `const TIME_STEP: f32 = ${f32(def.timeStep)};`,
    `const VELOCITY_ITERATIONS: u32 = ${def.velocityIterations}u;`,
    `const POSITION_ITERATIONS: u32 = ${def.positionIterations}u;`,
    `const BODY_VERTEX_COUNT = ${
      array("u32", def.bodies.map((b) => `${b.shape.vertices.length}u`))
    };`,
    `const BODY_VERTICES = ${array("vec2f", padded((b) => b.shape.vertices))};`,
    `const BODY_NORMALS = ${array("vec2f", padded((b) => b.shape.normals))};`,
    `const BODY_LOCAL_CENTER = ${array("vec2f", localCenter.map(vec2))};`,
    `const BODY_INV_MASS = ${array("f32", invMass.map(f32))};`,
    `const BODY_INV_I = ${array("f32", invI.map(f32))};`,
    `const BODY_FRICTION = ${
      array("f32", def.bodies.map((b) => f32(Math.sqrt(b.friction * def.edgeFriction))))
    };`,
    `const BODY_RESTITUTION = ${array("f32", def.bodies.map((b) => f32(b.restitution)))};`,
    `const BODY_ORDER = ${array("u32", bodyOrder.map((b) => `${b}u`))};`,
    `const JOINT_ORDER = ${array("u32", jointOrder.map((x) => `${x}u`))};`,
    `const JOINT_BODY_A = ${array("u32", j.map((x) => `${x.bodyA}u`))};`,
    `const JOINT_BODY_B = ${array("u32", j.map((x) => `${x.bodyB}u`))};`,
    `const JOINT_ANCHOR_A = ${array("vec2f", j.map((x) => vec2(x.localAnchorA)))};`,
    `const JOINT_ANCHOR_B = ${array("vec2f", j.map((x) => vec2(x.localAnchorB)))};`,
    `const JOINT_REFERENCE_ANGLE = ${array("f32", j.map((x) => f32(x.referenceAngle)))};`,
    `const JOINT_ENABLE_LIMIT = ${array("bool", j.map((x) => String(x.enableLimit)))};`,
    `const JOINT_LOWER_ANGLE = ${array("f32", j.map((x) => f32(x.lowerAngle)))};`,
    `const JOINT_UPPER_ANGLE = ${array("f32", j.map((x) => f32(x.upperAngle)))};`,
    `const JOINT_ENABLE_MOTOR = ${array("bool", j.map((x) => String(x.enableMotor)))};`,
    `const JOINT_MOTOR_SPEED = ${array("f32", j.map((x) => f32(x.motorSpeed)))};`,
    `const JOINT_MAX_MOTOR_TORQUE = ${array("f32", j.map((x) => f32(x.maxMotorTorque)))};`,
  ];
  // The joints in island order, unrolled: llvmpipe caps the loop iterations
  // of an invocation (all loops together), and these run 240 times a step.
  lines.push(
    "fn joints_solve_velocities() {",
    ...jointOrder.map((x) => `  joint_solve_velocities(${x}u);`),
    "}",
    "fn joints_solve_positions() -> bool {",
    "  var okay = true;",
    ...jointOrder.map((x) => `  okay = joint_solve_positions(${x}u) && okay;`),
    "  return okay;",
    "}",
  );
  return { name: "<generated: physics world constants>", source: lines.join("\n") };
}

/**
 * The Box2D engine's pieces: polygons built as b2PolygonShape builds them,
 * edge-polygon manifolds, and a box resting on the ground (no energy gained,
 * then asleep).
 */
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { boxPolygon, polygonFromPoints, polygonMass } from "../src/physics/polygon.ts";
import {
  collideEdgePolygon,
  FACE_A,
  MANIFOLD_FLOATS,
  type WorldPolygon,
} from "../src/physics/collide_edge_polygon.ts";
import { BODY_FLOATS, World, type WorldDef, worldStateSize } from "../src/physics/world.ts";
import { LINEAR_SLOP } from "../src/physics/settings.ts";

Deno.test("polygons start at the rightmost-lowest vertex and wind counter-clockwise", () => {
  const hull = polygonFromPoints([[-14, 17], [-17, 0], [-17, -10], [17, -10], [17, 0], [14, 17]]);
  assertEquals(hull.vertices, [[17, -10], [17, 0], [14, 17], [-14, 17], [-17, 0], [-17, -10]]);
  // (+ 0 turns -0 into 0.)
  assertEquals(hull.normals[0].map((v) => v + 0), [1, 0]);
  assertEquals(hull.normals[5].map((v) => v + 0), [0, -1]);
  // Interior points are dropped.
  assertEquals(polygonFromPoints([[0, 0], [2, 0], [2, 2], [1, 1], [0, 2]]).vertices.length, 4);
});

Deno.test("polygon mass data: LunarLander's hull and a leg box", () => {
  const hull = polygonFromPoints(
    [[-14, 17], [-17, 0], [-17, -10], [17, -10], [17, 0], [14, 17]].map(([x, y]) => [
      x / 30,
      y / 30,
    ]),
  );
  const m = polygonMass(hull.vertices, 5);
  // Area 867 px^2 = 0.9633 m^2, density 5 (Gymnasium's lander.mass).
  assertAlmostEquals(m.mass, (867 / 900) * 5, 1e-12);
  assertAlmostEquals(m.center[0], 0, 1e-12);
  // A w x h box: I = m (w^2 + h^2) / 12 about its centre.
  const box = polygonMass(boxPolygon(2 / 30, 8 / 30).vertices, 1);
  const w = 4 / 30, h = 16 / 30;
  assertAlmostEquals(box.mass, w * h, 1e-12);
  assertAlmostEquals(box.inertia, (w * h * (w * w + h * h)) / 12, 1e-12);
});

function worldPolygon(vertices: [number, number][], x: number, y: number): WorldPolygon {
  const p = boxPolygon(1, 1);
  const poly = polygonFromPoints(vertices.length ? vertices : p.vertices);
  const n = poly.vertices.length;
  return {
    count: n,
    v: Float32Array.from(poly.vertices.flatMap(([vx, vy]) => [vx + x, vy + y])),
    n: Float32Array.from(poly.normals.flat()),
    localV: Float32Array.from(poly.vertices.flat()),
    localN: Float32Array.from(poly.normals.flat()),
    cx: x,
    cy: y,
    px: x,
    py: y,
    cos: 1,
    sin: 0,
  };
}

Deno.test("an edge under a box touches at two points only within the skins", () => {
  const out = new Float32Array(MANIFOLD_FLOATS);
  const box: [number, number][] = [[-1, -1], [1, -1], [1, 1], [-1, 1]];
  // Resting 0.015 above the edge: inside the two 0.01 skins.
  assertEquals(collideEdgePolygon(-5, 0, 5, 0, worldPolygon(box, 0, 1.015), out, 0), 2);
  assertEquals(out[0], FACE_A);
  assertEquals([out[1] + 0, out[2]], [0, 1]);
  // Points in the box's frame at its bottom corners.
  assertEquals([out[6], out[7], out[9], out[10]], [-1, -1, 1, -1]);
  assert(out[8] !== out[11], "the two points have different feature ids");
  assertEquals(collideEdgePolygon(-5, 0, 5, 0, worldPolygon(box, 0, 1.03), out, 0), 0);
  // Hanging over the edge's end by half: one clipped point at the end.
  const n = collideEdgePolygon(-5, 0, 0, 0, worldPolygon(box, 0, 1.01), out, 0);
  assertEquals(n, 2);
  assertEquals([out[6], out[9] + 0], [-1, 0], "the point past the edge's end is clipped to x = 0");
});

/** One box on a flat edge. */
const BOX_WORLD: WorldDef = {
  bodies: [{ shape: boxPolygon(0.5, 0.25), density: 1, friction: 0.3, restitution: 0 }],
  joints: [],
  edgeCount: 1,
  edgeFriction: 0.3,
  maxContacts: 2,
  timeStep: 1 / 50,
  velocityIterations: 180,
  positionIterations: 60,
};

Deno.test("a box dropped on the ground gains no energy at rest, then sleeps", () => {
  const world = new World(BOX_WORLD);
  const s = new Float64Array(worldStateSize(BOX_WORLD) + 4);
  const eo = worldStateSize(BOX_WORLD);
  s.set([-10, 0, 10, 0], eo);
  world.setBody(s, 0, 0, 0, 0.6, 0.1);
  const mass = 0.5 * 0.25 * 4, inertia = (mass * (1 + 0.25)) / 12;
  const energy = () =>
    0.5 * mass * (s[3] ** 2 + s[4] ** 2) + 0.5 * inertia * s[5] ** 2 + mass * 10 * s[1];
  let touched = -1, previous = energy();
  for (let t = 0; t < 200 && world.awake(s, 0); t++) {
    world.step(s, 0, eo);
    if (world.touching[0] && touched < 0) touched = t;
    const e = energy();
    // Position correction may lift the box by at most the allowed overlap.
    if (touched >= 0) assert(e <= previous + mass * 10 * LINEAR_SLOP, `energy grew at step ${t}`);
    previous = e;
  }
  assert(touched > 0, "the box reached the ground");
  assert(!world.awake(s, 0), "the box fell asleep");
  // It rests flat on the ground, on its skin.
  assertAlmostEquals(s[2] % (Math.PI / 2), 0, 1e-3, "flat");
  assertAlmostEquals(s[1], 0.25 + 0.02 - LINEAR_SLOP, 2 * LINEAR_SLOP, "height");
  assertEquals(s.slice(3, BODY_FLOATS), new Float64Array(BODY_FLOATS - 3), "at rest");
});

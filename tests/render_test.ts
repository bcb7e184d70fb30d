/**
 * The rasterizer and the env frames, checked against known geometry: the
 * cart moves 600 / 4.8 = 125 px per metre, the pole turns with theta, the
 * lander's hull sits where its pose says, the terrain splits sky from moon.
 */
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  createFrame,
  drawLine,
  fillCircle,
  fillPolygon,
  type Frame,
  getPixel,
  rasterize,
  type RGB,
} from "../src/render/raster.ts";
import { CARTPOLE_COLORS, cartPoleScale, cartPoleScene } from "../src/render/cartpole.ts";
import {
  FlameTrail,
  hullVertices,
  LANDER_COLORS,
  LANDER_SCALE,
  type LanderScene,
  landerSceneFromObservation,
  landerTerrain,
  legPoses,
  lunarEnginePowers,
  lunarLanderScene,
  particleColor,
} from "../src/render/lunar_lander.ts";
import { acrobotScene, mountainCarScene, pendulumScene } from "../src/render/classic.ts";

const same = (a: RGB, b: RGB) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** The pixels of one colour: count, centroid, bounding box. */
function pixelsOf(frame: Frame, color: RGB) {
  let n = 0, sx = 0, sy = 0;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let j = 0; j < frame.height; j++) {
    for (let i = 0; i < frame.width; i++) {
      if (!same(getPixel(frame, i, j), color)) continue;
      n++;
      sx += i + 0.5;
      sy += j + 0.5;
      x0 = Math.min(x0, i);
      x1 = Math.max(x1, i);
      y0 = Math.min(y0, j);
      y1 = Math.max(y1, j);
    }
  }
  return { n, cx: sx / n, cy: sy / n, x0, y0, x1, y1 };
}

Deno.test("a polygon covers exactly the pixels whose centres are inside", () => {
  const f = createFrame(8, 6, [0, 0, 0]);
  fillPolygon(f, [[1, 1, 4, 1, 4, 3, 1, 3]], [255, 0, 0]);
  const red = pixelsOf(f, [255, 0, 0]);
  assertEquals([red.n, red.x0, red.y0, red.x1, red.y1], [6, 1, 1, 3, 2]);
});

Deno.test("even-odd leaves the pentagram's centre empty, nonzero fills it", () => {
  const star: number[] = [];
  for (let k = 0; k < 5; k++) {
    const a = -Math.PI / 2 + (k * 4 * Math.PI) / 5;
    star.push(50 + 40 * Math.cos(a), 50 + 40 * Math.sin(a));
  }
  const evenodd = createFrame(100, 100, [0, 0, 0]);
  const nonzero = createFrame(100, 100, [0, 0, 0]);
  fillPolygon(evenodd, [star], [255, 255, 255], "evenodd");
  fillPolygon(nonzero, [star], [255, 255, 255], "nonzero");
  assertEquals(getPixel(evenodd, 50, 52), [0, 0, 0]);
  assertEquals(getPixel(nonzero, 50, 52), [255, 255, 255]);
  // A point in one arm is inside under both rules.
  assertEquals(getPixel(evenodd, 50, 15), [255, 255, 255]);
  assertEquals(getPixel(nonzero, 50, 15), [255, 255, 255]);
});

Deno.test("a reversed inner ring is a hole under both rules; a same-direction one only under even-odd", () => {
  const outer = [10, 10, 90, 10, 90, 90, 10, 90];
  const innerSame = [30, 30, 70, 30, 70, 70, 30, 70];
  const innerReversed = [30, 30, 30, 70, 70, 70, 70, 30];
  const at = (rings: number[][], rule: "nonzero" | "evenodd") => {
    const f = createFrame(100, 100, [0, 0, 0]);
    fillPolygon(f, rings, [9, 9, 9], rule);
    return [getPixel(f, 50, 50)[0], getPixel(f, 20, 50)[0]];
  };
  assertEquals(at([outer, innerReversed], "nonzero"), [0, 9]);
  assertEquals(at([outer, innerReversed], "evenodd"), [0, 9]);
  assertEquals(at([outer, innerSame], "nonzero"), [9, 9]);
  assertEquals(at([outer, innerSame], "evenodd"), [0, 9]);
});

Deno.test("lines keep their width at every angle, circles their area", () => {
  for (const deg of [0, 17, 45, 80, 90]) {
    const f = createFrame(200, 200, [0, 0, 0]);
    const a = (deg * Math.PI) / 180;
    drawLine(
      f,
      100 - 60 * Math.cos(a),
      100 - 60 * Math.sin(a),
      100 + 60 * Math.cos(a),
      100 + 60 * Math.sin(a),
      [1, 1, 1],
      4,
    );
    // Area of a 120 x 4 strip, up to one pixel row along each long edge.
    assertAlmostEquals(pixelsOf(f, [1, 1, 1]).n, 480, 130, `${deg} degrees`);
  }
  const f = createFrame(100, 100, [0, 0, 0]);
  fillCircle(f, 50.3, 49.6, 20, [7, 7, 7]);
  const disc = pixelsOf(f, [7, 7, 7]);
  assertAlmostEquals(disc.n, Math.PI * 400, 40);
  assertAlmostEquals(disc.cx, 50.3, 0.3);
  assertAlmostEquals(disc.cy, 49.6, 0.3);
});

Deno.test("the cart moves 125 px per metre, centred at x = 0", () => {
  assertEquals(cartPoleScale(), 125);
  const centres = [-1.6, -0.5, 0, 0.8, 2.0].map((x) => {
    const frame = rasterize(cartPoleScene([x, 0, 0, 0]));
    // Row 310 crosses the cart below the axle and the track line.
    let x0 = -1, x1 = -1;
    for (let i = 0; i < frame.width; i++) {
      if (same(getPixel(frame, i, 310), CARTPOLE_COLORS.cart)) {
        if (x0 < 0) x0 = i;
        x1 = i;
      }
    }
    assertEquals(x1 - x0 + 1, 50, `cart width at x = ${x}`);
    return (x0 + x1 + 1) / 2;
  });
  assertAlmostEquals(centres[2], 300, 0.5);
  [-1.6, -0.5, 0, 0.8, 2.0].forEach((x, k) => assertAlmostEquals(centres[k], 300 + 125 * x, 0.5));
});

Deno.test("the cart's body spans 30 rows with its top 100 px above the bottom", () => {
  const frame = rasterize(cartPoleScene([0, 0, 0, 0]));
  let top = -1, bottom = -1;
  for (let j = 0; j < frame.height; j++) {
    if (same(getPixel(frame, 280, j), CARTPOLE_COLORS.cart)) {
      if (top < 0) top = j;
      bottom = j;
    }
  }
  // The cart spans pygame y 85..115, flipped to 399.5 - y: pixel centres
  // 284.5 .. 313.5.
  assertEquals([top, bottom], [284, 313]);
  // The track crosses the whole frame on row 299.
  assert(same(getPixel(frame, 3, 299), CARTPOLE_COLORS.track));
  assert(same(getPixel(frame, 597, 299), CARTPOLE_COLORS.track));
  assert(same(getPixel(frame, 3, 298), CARTPOLE_COLORS.background));
  assert(same(getPixel(frame, 300, 292), CARTPOLE_COLORS.axle));
});

Deno.test("the pole turns with theta: upright at 0, its tip to the right for theta > 0", () => {
  const tip = (theta: number, length = 0.5) => {
    const frame = rasterize(cartPoleScene([0, 0, theta, 0], { length }));
    const pole = pixelsOf(frame, CARTPOLE_COLORS.pole);
    return { frame, pole };
  };
  const upright = tip(0).pole;
  assertEquals(upright.x1 - upright.x0 + 1, 10);
  // The axle is 107.5 px above the bottom; the pole reaches 125 - 5 px above it.
  assertAlmostEquals(upright.y0, 400 - 107.5 - 120, 1);
  // The axle circle covers the pole's foot the same way at every angle, so
  // the visible pole's centroid turns rigidly about the axle (300.5, 292).
  const d = 292 - upright.cy;
  assertAlmostEquals(upright.cx, 300.5, 0.6);
  assertAlmostEquals(d, (120 - 5) / 2, 5);
  for (const theta of [0.1, 0.2, -0.15]) {
    const { pole } = tip(theta);
    assertAlmostEquals(pole.cx, 300.5 + d * Math.sin(theta), 1, `cx at ${theta}`);
    assertAlmostEquals(pole.cy, 292 - d * Math.cos(theta), 1, `cy at ${theta}`);
    assertAlmostEquals(pole.n, upright.n, upright.n * 0.05, `area at ${theta}`);
  }
  // A longer pole (the curriculum's length = 1) is twice as tall.
  const long = tip(0, 1).pole;
  assertAlmostEquals(long.y0, 400 - 107.5 - 245, 1);
});

const TERRAIN = landerTerrain([1, 5, 2, 3.3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 1, 4, 2]);

function lander(hull: { x: number; y: number; angle: number }): LanderScene {
  return { ...TERRAIN, hull, legs: legPoses(hull), legContact: [true, true] };
}

Deno.test("the lander's hull is drawn where its pose says, turned by its angle", () => {
  for (
    const hull of [{ x: 10, y: 9, angle: 0 }, { x: 6.2, y: 11.1, angle: 0.7 }, {
      x: 14,
      y: 8.3,
      angle: -2,
    }]
  ) {
    const frame = rasterize(lunarLanderScene(lander(hull), { showContact: true }));
    const body = pixelsOf(frame, LANDER_COLORS.body);
    // The polygon's area centroid, in pixels.
    const v = hullVertices(hull).map(([x, y]) => [x * LANDER_SCALE, 400 - y * LANDER_SCALE]);
    let a = 0, cx = 0, cy = 0;
    for (let k = 0; k < v.length; k++) {
      const [x0, y0] = v[k], [x1, y1] = v[(k + 1) % v.length];
      const c = x0 * y1 - x1 * y0;
      a += c / 2;
      cx += (x0 + x1) * c;
      cy += (y0 + y1) * c;
    }
    cx /= 6 * a;
    cy /= 6 * a;
    assertAlmostEquals(body.cx, cx, 0.7, `hull x at ${JSON.stringify(hull)}`);
    assertAlmostEquals(body.cy, cy, 0.7, `hull y at ${JSON.stringify(hull)}`);
    // The outline covers about half a pixel of the fill along its perimeter (~120 px).
    assertAlmostEquals(body.n, Math.abs(a), 90, "hull area");
    // Legs touching the ground are green with showContact, beside the hull.
    const legs = pixelsOf(frame, LANDER_COLORS.contact);
    assert(legs.n > 2 * 20 && legs.n < 2 * 64, `leg pixels ${legs.n}`);
  }
  // Upright, the hull is 34 px wide and 27 px tall; on its side, the other way round.
  const box = (angle: number) => {
    const b = pixelsOf(
      rasterize(lunarLanderScene(lander({ x: 10, y: 9, angle }), { showContact: true })),
      LANDER_COLORS.body,
    );
    return [b.x1 - b.x0 + 1, b.y1 - b.y0 + 1];
  };
  const [w0, h0] = box(0), [w1, h1] = box(Math.PI / 2);
  assertAlmostEquals(w0, 34, 1);
  assertAlmostEquals(h0, 27, 1);
  assertAlmostEquals(w1, 27, 1);
  assertAlmostEquals(h1, 34, 1);
});

Deno.test("the terrain splits a black sky from the white moon; flags stand on the helipad", () => {
  const frame = rasterize(lunarLanderScene(lander({ x: 10, y: 9, angle: 0 })));
  TERRAIN.terrainX.forEach((x, k) => {
    // Beside the vertex, clear of the flag poles.
    const i = Math.min(596, Math.round(x * 30) + 3);
    const row = 400 - TERRAIN.terrainY[k] * 30;
    assert(
      same(getPixel(frame, i, Math.floor(row - 4)), LANDER_COLORS.sky),
      `sky above chunk ${k}`,
    );
    assert(
      same(getPixel(frame, i, Math.ceil(row + 3)), LANDER_COLORS.moon),
      `moon below chunk ${k}`,
    );
  });
  // Helipad flags: poles 50 px tall from y = H/4, yellow pennants at the top.
  for (const x of [TERRAIN.helipadX1, TERRAIN.helipadX2]) {
    const i = x * 30;
    assert(same(getPixel(frame, i, 400 - 100 - 20), LANDER_COLORS.flagPole), `pole at ${x}`);
    assert(same(getPixel(frame, i + 5, 400 - 100 - 45), LANDER_COLORS.flag), `flag at ${x}`);
  }
});

Deno.test("engine particles appear below the hull when the main engine fires, coloured by their age", () => {
  const hull = { x: 10, y: 9, angle: 0 };
  const trail = new FlameTrail(5);
  assertEquals(trail.step(hull, lunarEnginePowers(0)), []);
  const parts = trail.step(hull, lunarEnginePowers(2));
  assertEquals(parts.length, 1);
  assert(parts[0].y < hull.y, "the flame goes down");
  assertAlmostEquals(parts[0].ttl, 0.85, 1e-9);
  const frame = rasterize(lunarLanderScene({ ...lander(hull), particles: parts }));
  const p = pixelsOf(frame, particleColor(parts[0].ttl));
  assertAlmostEquals(p.cx, parts[0].x * 30 + 0.5, 1);
  assertAlmostEquals(p.cy, 400 - 0.5 - parts[0].y * 30, 1);
  // Seven frames later the particle has burnt out.
  for (let k = 0; k < 6; k++) trail.step(hull, lunarEnginePowers(0));
  assertEquals(trail.step(hull, lunarEnginePowers(0)), []);
  assertEquals(lunarEnginePowers([0.5, -0.8]), { main: 0.75, side: 0.8, direction: -1 });
  assertEquals(lunarEnginePowers(3), { main: 0, side: 1, direction: 1 });
});

Deno.test("Acrobot, MountainCar and Pendulum frames put their parts where the state says", () => {
  // Pendulum: the rod's far end circle is 1 m (500 / 4.4 px) from the pivot, theta = 0 upright, counter-clockwise.
  const scale = 500 / 4.4;
  for (const theta of [0, 0.6, -2]) {
    const rod = pixelsOf(rasterize(pendulumScene([theta, 0])), [204, 77, 77]);
    // The rod's centroid lies about half way out (both end circles weigh the same).
    assertAlmostEquals(rod.cx, 250.5 - 0.5 * scale * Math.sin(theta), 2, `pendulum x at ${theta}`);
    assertAlmostEquals(rod.cy, 249.5 - 0.5 * scale * Math.cos(theta), 2, `pendulum y at ${theta}`);
  }
  // Acrobot: theta1 = 0 hangs straight down; the second link continues along theta1 + theta2.
  const links = (s: number[]) => pixelsOf(rasterize(acrobotScene(s)), [0, 204, 204]);
  const down = links([0, 0, 0, 0]);
  assertAlmostEquals(down.cx, 250.5, 1);
  assert(down.y0 >= 249 && down.y1 > 249 + 2 * scale - 20, "hangs below the pivot");
  const side = links([Math.PI / 2, 0, 0, 0]);
  assertAlmostEquals(side.cy, 249.5, 1);
  assert(side.x0 >= 249 && side.x1 > 249 + 2 * scale - 20, "points right at theta1 = pi/2");
  // MountainCar: the car moves 600 / 1.8 px per unit of position.
  const car = (pos: number) => pixelsOf(rasterize(mountainCarScene([pos, 0])), [0, 0, 0]);
  const carPixels = (pos: number) => {
    const f = rasterize(mountainCarScene([pos, 0]));
    let n = 0, sx = 0;
    const x = (pos + 1.2) * (600 / 1.8);
    for (let j = 0; j < 400; j++) {
      for (let i = Math.floor(x - 30); i < x + 30; i++) {
        if (same(getPixel(f, i, j), [128, 128, 128])) [n, sx] = [n + 1, sx + i + 0.5];
      }
    }
    return sx / n;
  };
  for (const pos of [-1.0, -0.5, 0.2]) {
    // The two wheels straddle the car's centre.
    assertAlmostEquals(carPixels(pos), (pos + 1.2) * (600 / 1.8), 2.5, `wheels at ${pos}`);
  }
  assert(car(-0.5).n > 800, "car body and hill drawn");
});

Deno.test("a lander scene from an observation puts the hull where Gymnasium's normalization says", () => {
  // x = 0, y = 0 is the helipad's centre with the legs' length above it.
  const scene = landerSceneFromObservation([0, 0, 0, 0, 0.25, 0, 1, 0], TERRAIN);
  assertAlmostEquals(scene.hull.x, 10, 1e-12);
  assertAlmostEquals(scene.hull.y, TERRAIN.helipadY + 18 / 30, 1e-12);
  assertEquals([scene.hull.angle, scene.legContact], [0.25, [true, false]]);
  const high = landerSceneFromObservation([-0.5, 1, 0, 0, 0, 0, 0, 0]);
  assertAlmostEquals(high.hull.x, 5, 1e-12);
  assertAlmostEquals(high.hull.y, 400 / 30 / 2 + 400 / 30 / 4 + 0.6, 1e-12);
  // legs[0] hangs on the right, legs[1] on the left, both below the hull.
  assert(high.legs[0].x > high.hull.x && high.legs[1].x < high.hull.x);
  assert(high.legs.every((l) => l.y < high.hull.y));
  // The flat default terrain sits at the helipad's height.
  const flat = rasterize(lunarLanderScene(high));
  assert(same(getPixel(flat, 50, 400 - 100 - 3), LANDER_COLORS.sky));
  assert(same(getPixel(flat, 50, 400 - 100 + 3), LANDER_COLORS.moon));
});

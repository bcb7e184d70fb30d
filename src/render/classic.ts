/**
 * Acrobot, MountainCar and Pendulum frames as Gymnasium's `rgb_array` draws
 * them (same sizes, scales and colours). Like `cartpole.ts`, a pygame point
 * (x, y) with y up maps to (x + 0.5, H - 0.5 - y) after Gymnasium's flip.
 *
 * Pendulum's torque arrow (a bitmap in Gymnasium) is not drawn.
 *
 * @module
 */
import type { RGB, Scene, Shape } from "./raster.ts";

const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [0, 0, 0];
const YELLOW: RGB = [204, 204, 0];

/** A rectangle from (l, b) to (r, t) rotated by `angle` (counter-clockwise, y up) and moved to (x, y). */
function rotatedRect(
  l: number,
  r: number,
  t: number,
  b: number,
  angle: number,
  x: number,
  y: number,
  map: (x: number, y: number) => [number, number],
): number[] {
  const c = Math.cos(angle), s = Math.sin(angle);
  return [[l, b], [l, t], [r, t], [r, b]].flatMap(([u, v]) =>
    map(u * c - v * s + x, u * s + v * c + y)
  );
}

function flipper(height: number) {
  return (x: number, y: number): [number, number] => [x + 0.5, height - 0.5 - y];
}

/** Acrobot-v1's frame (500x500) of its state `[theta1, theta2, dtheta1, dtheta2]`. */
export function acrobotScene(state: ArrayLike<number>): Scene {
  const D = 500, L1 = 1, L2 = 1;
  const scale = D / ((L1 + L2 + 0.2) * 2);
  const offset = D / 2;
  const map = flipper(D);
  const [t1, t2] = [state[0], state[1]];
  // Gymnasium swaps the coordinates of its points: x = L sin(theta), y = -L cos(theta).
  const p1 = [L1 * Math.sin(t1) * scale, -L1 * Math.cos(t1) * scale];
  const [gx0, gy] = map(-2.2 * scale + offset, 1 * scale + offset);
  const [gx1] = map(2.2 * scale + offset, 1 * scale + offset);
  const shapes: Shape[] = [
    { kind: "line", x0: gx0, y0: gy, x1: gx1, y1: gy, width: 1, color: BLACK },
  ];
  const joints: [number[], number, number][] = [
    [[0, 0], t1 - Math.PI / 2, L1 * scale],
    [p1, t1 + t2 - Math.PI / 2, L2 * scale],
  ];
  for (const [[x, y], th, len] of joints) {
    shapes.push({
      kind: "polygon",
      rings: [rotatedRect(0, len, 0.1 * scale, -0.1 * scale, th, x + offset, y + offset, map)],
      color: [0, 204, 204],
    });
    const [cx, cy] = map(Math.trunc(x + offset), Math.trunc(y + offset));
    shapes.push({ kind: "circle", cx, cy, r: Math.trunc(0.1 * scale), color: YELLOW });
  }
  return { width: D, height: D, background: WHITE, shapes };
}

/** Where MountainCar's goal flag stands: 0.5 for MountainCar-v0, 0.45 for the continuous one. */
export interface MountainCarDrawOptions {
  goalPosition?: number;
}

/** MountainCar's frame (600x400) of its state `[position, velocity]`. */
export function mountainCarScene(
  state: ArrayLike<number>,
  options: MountainCarDrawOptions = {},
): Scene {
  const W = 600, H = 400, minPos = -1.2, maxPos = 0.6;
  const goal = options.goalPosition ?? 0.5;
  const scale = W / (maxPos - minPos);
  const height = (x: number) => Math.sin(3 * x) * 0.45 + 0.55;
  const map = flipper(H);
  const shapes: Shape[] = [];
  // The hill: 100 samples joined by 1 px lines.
  let prev = map(0, height(minPos) * scale);
  for (let k = 1; k < 100; k++) {
    const x = minPos + ((maxPos - minPos) * k) / 99;
    const next = map((x - minPos) * scale, height(x) * scale);
    shapes.push({
      kind: "line",
      x0: prev[0],
      y0: prev[1],
      x1: next[0],
      y1: next[1],
      width: 1,
      color: BLACK,
    });
    prev = next;
  }
  const pos = state[0];
  const clearance = 10, carW = 40, carH = 20;
  // Gymnasium tilts the car by cos(3 pos), the hill's slope up to a factor.
  const angle = Math.cos(3 * pos);
  const cx = (pos - minPos) * scale, cy = clearance + height(pos) * scale;
  shapes.push({
    kind: "polygon",
    rings: [rotatedRect(-carW / 2, carW / 2, carH, 0, angle, cx, cy, map)],
    color: BLACK,
  });
  for (const u of [carW / 4, -carW / 4]) {
    const [wx, wy] = map(
      Math.trunc(u * Math.cos(angle) + cx),
      Math.trunc(u * Math.sin(angle) + cy),
    );
    shapes.push({
      kind: "circle",
      cx: wx,
      cy: wy,
      r: Math.trunc(carH / 2.5),
      color: [128, 128, 128],
    });
  }
  const flagX = Math.trunc((goal - minPos) * scale);
  const flagY1 = Math.trunc(height(goal) * scale);
  const flagY2 = flagY1 + 50;
  const [fx, fy1] = map(flagX, flagY1);
  const [, fy2] = map(flagX, flagY2);
  shapes.push({
    kind: "line",
    x0: fx,
    y0: fy1 + 0.5,
    x1: fx,
    y1: fy2 - 0.5,
    width: 1,
    color: BLACK,
  });
  shapes.push({
    kind: "polygon",
    rings: [[fx, fy2, fx, fy2 + 10, fx + 25, fy2 + 5]],
    color: YELLOW,
  });
  return { width: W, height: H, background: WHITE, shapes };
}

/** Pendulum-v1's frame (500x500) of its state `[theta, theta_dot]` (theta = 0 upright). */
export function pendulumScene(state: ArrayLike<number>): Scene {
  const D = 500, bound = 2.2;
  const scale = D / (bound * 2);
  const offset = Math.floor(D / 2);
  const map = flipper(D);
  const rodLength = 1 * scale, rodWidth = 0.2 * scale;
  const red: RGB = [204, 77, 77];
  const angle = state[0] + Math.PI / 2;
  const [ox, oy] = map(offset, offset);
  const end = map(
    Math.trunc(rodLength * Math.cos(angle) + offset),
    Math.trunc(rodLength * Math.sin(angle) + offset),
  );
  return {
    width: D,
    height: D,
    background: WHITE,
    shapes: [
      {
        kind: "polygon",
        rings: [rotatedRect(0, rodLength, rodWidth / 2, -rodWidth / 2, angle, offset, offset, map)],
        color: red,
      },
      { kind: "circle", cx: ox, cy: oy, r: Math.trunc(rodWidth / 2), color: red },
      { kind: "circle", cx: end[0], cy: end[1], r: Math.trunc(rodWidth / 2), color: red },
      { kind: "circle", cx: ox, cy: oy, r: Math.trunc(0.05 * scale), color: BLACK },
    ],
  };
}

/**
 * CartPole frames as Gymnasium's `rgb_array` draws them (600x400, white
 * background, black cart 50x30 whose top sits 100 px above the bottom, a
 * brownish pole 10 px wide, a blue-grey axle, a black track line).
 *
 * Gymnasium draws in pygame with y up and then flips the surface; a pygame
 * pixel (i, r) lands on row H - 1 - r, so a pygame point (x, y) maps to
 * (x + 0.5, H - 0.5 - y) in the pixel-centre coordinates of `raster.ts`.
 *
 * @module
 */
import type { RGB, Scene, Shape } from "./raster.ts";

/** Frame width in pixels (Gymnasium's `screen_width`). */
export const CARTPOLE_WIDTH = 600;
/** Frame height in pixels (Gymnasium's `screen_height`). */
export const CARTPOLE_HEIGHT = 400;
/** Gymnasium's colours. */
export const CARTPOLE_COLORS = {
  background: [255, 255, 255] as RGB,
  cart: [0, 0, 0] as RGB,
  pole: [202, 152, 101] as RGB,
  axle: [129, 132, 203] as RGB,
  track: [0, 0, 0] as RGB,
};
const POLE_WIDTH = 10;
const CART_WIDTH = 50;
const CART_HEIGHT = 30;
/** Height of the cart's top (and the track) above the frame's bottom edge, in pixels. */
export const CART_TOP_Y = 100;

/** What a CartPole frame needs besides the state. */
export interface CartPoleDrawOptions {
  /** Half the pole's length in metres (the env's `length` parameter). */
  length?: number;
  /** |x| at which the episode ends; the frame shows twice this many metres. */
  xThreshold?: number;
}

/** Pixels per metre: 600 / 4.8 = 125 with Gymnasium's defaults. */
export function cartPoleScale(xThreshold = 2.4): number {
  return CARTPOLE_WIDTH / (2 * xThreshold);
}

/** The scene of CartPole's state `[x, x_dot, theta, theta_dot]`. */
export function cartPoleScene(
  state: ArrayLike<number>,
  options: CartPoleDrawOptions = {},
): Scene {
  const length = options.length ?? 0.5;
  const scale = cartPoleScale(options.xThreshold ?? 2.4);
  const H = CARTPOLE_HEIGHT;
  const px = (x: number) => x + 0.5;
  const py = (y: number) => H - 0.5 - y;
  const x = state[0], theta = state[2];
  const cartX = x * scale + CARTPOLE_WIDTH / 2;
  const cartY = CART_TOP_Y;
  const axleOffset = CART_HEIGHT / 4;

  const l = -CART_WIDTH / 2, r = CART_WIDTH / 2, t = CART_HEIGHT / 2, b = -CART_HEIGHT / 2;
  const cart = [[l, b], [l, t], [r, t], [r, b]].flatMap(([u, v]) => [px(u + cartX), py(v + cartY)]);

  // The pole: a rectangle from -w/2 below the axle to len - w/2 above it,
  // rotated by -theta (pygame's rotate_rad, y up), so theta > 0 leans right.
  const polelen = scale * 2 * length;
  const pl = -POLE_WIDTH / 2,
    pr = POLE_WIDTH / 2,
    pt = polelen - POLE_WIDTH / 2,
    pb = -POLE_WIDTH / 2;
  const cos = Math.cos(-theta), sin = Math.sin(-theta);
  const pole = [[pl, pb], [pl, pt], [pr, pt], [pr, pb]].flatMap(([u, v]) => [
    px(u * cos - v * sin + cartX),
    py(u * sin + v * cos + cartY + axleOffset),
  ]);

  const shapes: Shape[] = [
    { kind: "polygon", rings: [cart], color: CARTPOLE_COLORS.cart },
    { kind: "polygon", rings: [pole], color: CARTPOLE_COLORS.pole },
    {
      kind: "circle",
      cx: px(Math.trunc(cartX)),
      cy: py(Math.trunc(cartY + axleOffset)),
      r: POLE_WIDTH / 2,
      color: CARTPOLE_COLORS.axle,
    },
    {
      kind: "line",
      x0: 0,
      y0: py(cartY),
      x1: CARTPOLE_WIDTH,
      y1: py(cartY),
      width: 1,
      color: CARTPOLE_COLORS.track,
    },
  ];
  return { width: CARTPOLE_WIDTH, height: H, background: CARTPOLE_COLORS.background, shapes };
}

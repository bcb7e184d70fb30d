/**
 * A small RGB rasterizer for flat-coloured frames like Gymnasium's
 * `rgb_array` renders: scanline-filled polygons (even-odd or nonzero),
 * lines with a width, circles.
 *
 * Coordinates are pixels with y pointing down; pixel (i, j) covers the unit
 * square from (i, j) to (i + 1, j + 1) and is painted when its centre
 * (i + 0.5, j + 0.5) is inside the shape. There is no anti-aliasing on
 * purpose: the frames keep a handful of exact colours, which GIF palettes
 * hold without loss.
 *
 * Environments describe a frame as a list of {@linkcode Shape}s (a display
 * list), so the same geometry is rasterized here for GIFs and PNGs and drawn
 * by a browser's canvas in the HTML replay.
 *
 * @module
 */

/** An RGB colour, each channel 0..255. */
export type RGB = readonly [number, number, number];

/** An RGB image, rows top to bottom, 3 bytes per pixel (the layout of an `rgb_array` frame). */
export interface Frame {
  width: number;
  height: number;
  /** `width * height * 3` bytes. */
  data: Uint8Array;
}

/** How a polygon decides what is inside when its edges cross or nest. */
export type FillRule = "nonzero" | "evenodd";

/**
 * One drawing primitive. A polygon's `rings` are flat `[x0, y0, x1, y1, ...]`
 * closed rings filled together (holes, by the rule); `outline`, when given,
 * is then drawn along every edge as a 1 px line.
 */
export type Shape =
  | { kind: "polygon"; rings: number[][]; color: RGB; rule?: FillRule; outline?: RGB }
  | { kind: "line"; x0: number; y0: number; x1: number; y1: number; width: number; color: RGB }
  | { kind: "circle"; cx: number; cy: number; r: number; color: RGB };

/** A frame's size, background and shapes: what an environment's drawer returns per state. */
export interface Scene {
  width: number;
  height: number;
  background: RGB;
  shapes: Shape[];
}

/** A new frame filled with `color` (white by default). */
export function createFrame(width: number, height: number, color: RGB = [255, 255, 255]): Frame {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`frame size must be positive integers, got ${width}x${height}`);
  }
  const frame = { width, height, data: new Uint8Array(width * height * 3) };
  clear(frame, color);
  return frame;
}

/** Fills the whole frame with `color`. */
export function clear(frame: Frame, color: RGB): void {
  const d = frame.data;
  for (let o = 0; o < d.length; o += 3) {
    d[o] = color[0];
    d[o + 1] = color[1];
    d[o + 2] = color[2];
  }
}

/** The colour of pixel (i, j). */
export function getPixel(frame: Frame, i: number, j: number): RGB {
  const o = (j * frame.width + i) * 3;
  return [frame.data[o], frame.data[o + 1], frame.data[o + 2]];
}

function fillSpan(frame: Frame, j: number, i0: number, i1: number, color: RGB): void {
  const a = Math.max(0, i0), b = Math.min(frame.width, i1);
  const d = frame.data;
  for (let o = (j * frame.width + a) * 3, end = (j * frame.width + b) * 3; o < end; o += 3) {
    d[o] = color[0];
    d[o + 1] = color[1];
    d[o + 2] = color[2];
  }
}

/**
 * Fills the polygon(s) made of `rings` (each flat `[x0, y0, x1, y1, ...]`,
 * implicitly closed) by scanlines through pixel centres.
 */
export function fillPolygon(
  frame: Frame,
  rings: readonly (readonly number[])[],
  color: RGB,
  rule: FillRule = "nonzero",
): void {
  let yMin = Infinity, yMax = -Infinity;
  for (const ring of rings) {
    for (let k = 1; k < ring.length; k += 2) {
      yMin = Math.min(yMin, ring[k]);
      yMax = Math.max(yMax, ring[k]);
    }
  }
  if (!(yMin < yMax)) return;
  const j0 = Math.max(0, Math.ceil(yMin - 0.5));
  const j1 = Math.min(frame.height - 1, Math.ceil(yMax - 0.5) - 1);
  const xs: number[] = [];
  const dirs: number[] = [];
  const order: number[] = [];
  for (let j = j0; j <= j1; j++) {
    const y = j + 0.5;
    xs.length = 0;
    dirs.length = 0;
    for (const ring of rings) {
      const n = ring.length >> 1;
      for (let e = 0; e < n; e++) {
        const ax = ring[2 * e], ay = ring[2 * e + 1];
        const f = (e + 1) % n;
        const bx = ring[2 * f], by = ring[2 * f + 1];
        // Half-open in y so a vertex shared by two edges is counted once.
        if (ay <= y && y < by) {
          xs.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
          dirs.push(1);
        } else if (by <= y && y < ay) {
          xs.push(ax + ((y - ay) * (bx - ax)) / (by - ay));
          dirs.push(-1);
        }
      }
    }
    if (xs.length === 0) continue;
    order.length = 0;
    for (let k = 0; k < xs.length; k++) order.push(k);
    order.sort((p, q) => xs[p] - xs[q]);
    let winding = 0;
    for (let k = 0; k < order.length - 1; k++) {
      winding += rule === "evenodd" ? 1 : dirs[order[k]];
      const inside = rule === "evenodd" ? (winding & 1) === 1 : winding !== 0;
      if (!inside) continue;
      // Pixels whose centre x + 0.5 lies in [xa, xb).
      const i0 = Math.ceil(xs[order[k]] - 0.5);
      const i1 = Math.ceil(xs[order[k + 1]] - 0.5);
      if (i1 > i0) fillSpan(frame, j, i0, i1, color);
    }
  }
}

/** Draws a line segment `width` pixels wide with square-cut (butt) ends, as a filled quad. */
export function drawLine(
  frame: Frame,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  color: RGB,
  width = 1,
): void {
  const dx = x1 - x0, dy = y1 - y0;
  const len = Math.hypot(dx, dy);
  if (len === 0) return;
  const h = width / 2;
  const nx = (-dy / len) * h, ny = (dx / len) * h;
  fillPolygon(
    frame,
    [[x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny]],
    color,
  );
}

/** Fills the disc of radius `r` around (cx, cy). */
export function fillCircle(frame: Frame, cx: number, cy: number, r: number, color: RGB): void {
  const j0 = Math.max(0, Math.ceil(cy - r - 0.5));
  const j1 = Math.min(frame.height - 1, Math.floor(cy + r - 0.5));
  for (let j = j0; j <= j1; j++) {
    const dy = j + 0.5 - cy;
    const half = Math.sqrt(Math.max(0, r * r - dy * dy));
    // Centres within [cx - half, cx + half].
    fillSpan(frame, j, Math.ceil(cx - half - 0.5), Math.floor(cx + half - 0.5) + 1, color);
  }
}

/** Draws one shape. */
export function drawShape(frame: Frame, shape: Shape): void {
  switch (shape.kind) {
    case "polygon":
      fillPolygon(frame, shape.rings, shape.color, shape.rule);
      if (shape.outline) {
        for (const ring of shape.rings) {
          const n = ring.length >> 1;
          for (let k = 0; k < n; k++) {
            const m = (k + 1) % n;
            drawLine(
              frame,
              ring[2 * k],
              ring[2 * k + 1],
              ring[2 * m],
              ring[2 * m + 1],
              shape.outline,
            );
          }
        }
      }
      return;
    case "line":
      return drawLine(frame, shape.x0, shape.y0, shape.x1, shape.y1, shape.color, shape.width);
    case "circle":
      return fillCircle(frame, shape.cx, shape.cy, shape.r, shape.color);
  }
}

/** Rasterizes a scene into `frame` (reused when its size matches) or a new frame. */
export function rasterize(scene: Scene, frame?: Frame): Frame {
  if (frame && frame.width === scene.width && frame.height === scene.height) {
    clear(frame, scene.background);
  } else {
    frame = createFrame(scene.width, scene.height, scene.background);
  }
  for (const shape of scene.shapes) drawShape(frame, shape);
  return frame;
}

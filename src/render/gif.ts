/**
 * Animated GIF89a encoding: one global palette, LZW with variable code
 * sizes and clear codes, the NETSCAPE2.0 loop extension, a delay per frame.
 *
 * Frames after the first store only the rectangle that changed (disposal
 * "leave in place"), and a frame equal to the one before it lengthens that
 * frame's delay instead of being stored, so a 500-step CartPole episode
 * stays small. The palette is exact when the frames hold at most 256
 * colours (always so for the flat-coloured env frames), and a median cut of
 * the colour histogram otherwise.
 *
 * @module
 */
import type { Frame, RGB } from "./raster.ts";

/** Animation settings. */
export interface GifOptions {
  /** Hundredths of a second per frame (2 = 50 fps, Gymnasium's render_fps for CartPole and LunarLander). */
  delayCs?: number;
  /** Times to play; 0 loops forever. */
  loop?: number;
}

const key = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b;

/** Counts the colours of frames, by 24-bit `0xRRGGBB` key. */
export function colorHistogram(
  frames: Iterable<Frame>,
  into = new Map<number, number>(),
): Map<number, number> {
  for (const f of frames) {
    const d = f.data;
    let last = -1, run = 0;
    for (let o = 0; o < d.length; o += 3) {
      const k = key(d[o], d[o + 1], d[o + 2]);
      if (k === last) {
        run++;
        continue;
      }
      if (last >= 0) into.set(last, (into.get(last) ?? 0) + run);
      last = k;
      run = 1;
    }
    if (last >= 0) into.set(last, (into.get(last) ?? 0) + run);
  }
  return into;
}

/**
 * A palette of at most `max` colours for a histogram (colour key -> count):
 * the colours themselves when there are few enough, else a median cut that
 * splits the box with the most weighted spread at its weighted median.
 */
export function buildPalette(histogram: Map<number, number>, max = 256): RGB[] {
  const colors = [...histogram.entries()].map(([k, n]) => ({
    c: [(k >> 16) & 255, (k >> 8) & 255, k & 255] as [number, number, number],
    n,
  }));
  if (colors.length === 0) return [[0, 0, 0]];
  if (colors.length <= max) return colors.map((e) => e.c);
  type Box = { items: typeof colors; axis: number; score: number };
  const makeBox = (items: typeof colors): Box => {
    let axis = 0, score = -1;
    let total = 0;
    for (const e of items) total += e.n;
    for (let a = 0; a < 3; a++) {
      let lo = 255, hi = 0;
      for (const e of items) {
        lo = Math.min(lo, e.c[a]);
        hi = Math.max(hi, e.c[a]);
      }
      const s = (hi - lo) * Math.sqrt(total);
      if (s > score) [axis, score] = [a, s];
    }
    return { items, axis, score: items.length > 1 ? score : -1 };
  };
  const boxes = [makeBox(colors)];
  while (boxes.length < max) {
    let best = 0;
    for (let b = 1; b < boxes.length; b++) if (boxes[b].score > boxes[best].score) best = b;
    const box = boxes[best];
    if (box.score <= 0) break;
    const items = [...box.items].sort((p, q) => p.c[box.axis] - q.c[box.axis]);
    let total = 0;
    for (const e of items) total += e.n;
    let acc = 0, cut = 1;
    for (; cut < items.length - 1; cut++) {
      acc += items[cut - 1].n;
      if (acc >= total / 2) break;
    }
    boxes.splice(best, 1, makeBox(items.slice(0, cut)), makeBox(items.slice(cut)));
  }
  return boxes.map(({ items }) => {
    let n = 0, r = 0, g = 0, b = 0;
    for (const e of items) {
      n += e.n;
      r += e.c[0] * e.n;
      g += e.c[1] * e.n;
      b += e.c[2] * e.n;
    }
    return [Math.round(r / n), Math.round(g / n), Math.round(b / n)] as RGB;
  });
}

/** Collects bytes in growing chunks. */
class ByteSink {
  #chunks: Uint8Array[] = [];
  #buf = new Uint8Array(1 << 16);
  #pos = 0;
  #done = 0;

  byte(b: number): void {
    if (this.#pos === this.#buf.length) this.#flush();
    this.#buf[this.#pos++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let k = 0; k < bs.length; k++) this.byte(bs[k]);
  }

  u16(v: number): void {
    this.byte(v & 255);
    this.byte((v >> 8) & 255);
  }

  #flush(): void {
    this.#chunks.push(this.#buf.slice(0, this.#pos));
    this.#done += this.#pos;
    this.#pos = 0;
  }

  /** All bytes so far, as one array. */
  finish(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#done);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/**
 * LZW-compresses palette indices as GIF image data: the minimum code size
 * byte, then sub-blocks of at most 255 bytes, then a zero-length block.
 */
function lzwEncode(indices: Uint8Array, minCodeSize: number, sink: ByteSink): void {
  const clear = 1 << minCodeSize, eoi = clear + 1;
  const width = 1 << minCodeSize;
  // (prefix code, next index) -> code, as a dense table; -1 = absent.
  const table = new Int16Array(4096 * width).fill(-1);
  let codeSize = minCodeSize + 1, next = eoi + 1;
  const block = new Uint8Array(255);
  let blockLen = 0, bits = 0, nbits = 0;
  sink.byte(minCodeSize);
  const emit = (code: number) => {
    bits |= code << nbits;
    nbits += codeSize;
    while (nbits >= 8) {
      block[blockLen++] = bits & 255;
      bits >>>= 8;
      nbits -= 8;
      if (blockLen === 255) {
        sink.byte(255);
        sink.bytes(block);
        blockLen = 0;
      }
    }
  };
  emit(clear);
  if (indices.length > 0) {
    let prefix = indices[0];
    for (let i = 1; i < indices.length; i++) {
      const k = indices[i];
      const found = table[prefix * width + k];
      if (found >= 0) {
        prefix = found;
        continue;
      }
      emit(prefix);
      if (next === 4096) {
        // Table full: start over so the codes keep adapting to the image.
        emit(clear);
        table.fill(-1);
        codeSize = minCodeSize + 1;
        next = eoi + 1;
      } else {
        // The decoder adds each entry one code later than we do, so widen
        // codes as soon as the entry we add needs the extra bit.
        if (next >= 1 << codeSize) codeSize++;
        table[prefix * width + k] = next++;
      }
      prefix = k;
    }
    emit(prefix);
  }
  emit(eoi);
  if (nbits > 0) {
    block[blockLen++] = bits & 255;
    if (blockLen === 255) {
      sink.byte(255);
      sink.bytes(block);
      blockLen = 0;
    }
  }
  if (blockLen > 0) {
    sink.byte(blockLen);
    sink.bytes(block.subarray(0, blockLen));
  }
  sink.byte(0);
}

/** Maps RGB pixels to palette indices: exact matches first, else the nearest colour (cached). */
class PaletteIndex {
  #exact = new Map<number, number>();
  #palette: readonly RGB[];

  constructor(palette: readonly RGB[]) {
    this.#palette = palette;
    palette.forEach((c, i) => {
      const k = key(c[0], c[1], c[2]);
      if (!this.#exact.has(k)) this.#exact.set(k, i);
    });
  }

  of(r: number, g: number, b: number): number {
    const k = key(r, g, b);
    const hit = this.#exact.get(k);
    if (hit !== undefined) return hit;
    let best = 0, bestD = Infinity;
    this.#palette.forEach((c, i) => {
      const d = (c[0] - r) ** 2 + (c[1] - g) ** 2 + (c[2] - b) ** 2;
      if (d < bestD) [best, bestD] = [i, d];
    });
    this.#exact.set(k, best);
    return best;
  }

  indices(frame: Frame, out: Uint8Array): Uint8Array {
    const d = frame.data;
    let lastKey = -1, last = 0;
    for (let p = 0, o = 0; o < d.length; p++, o += 3) {
      const k = key(d[o], d[o + 1], d[o + 2]);
      if (k !== lastKey) {
        last = this.of(d[o], d[o + 1], d[o + 2]);
        lastKey = k;
      }
      out[p] = last;
    }
    return out;
  }
}

interface PendingFrame {
  x: number;
  y: number;
  w: number;
  h: number;
  pixels: Uint8Array;
  delayCs: number;
}

/**
 * Writes an animated GIF frame by frame with a palette fixed up front, so an
 * episode never needs all its frames in memory at once.
 */
export class GifWriter {
  readonly width: number;
  readonly height: number;
  #sink = new ByteSink();
  #index: PaletteIndex;
  #minCodeSize: number;
  #delayCs: number;
  #prev: Uint8Array | null = null;
  #cur: Uint8Array;
  #pending: PendingFrame | null = null;
  #frames = 0;
  #finished = false;

  /** Starts a `width` x `height` GIF with `palette` (1..256 colours). */
  constructor(width: number, height: number, palette: readonly RGB[], options: GifOptions = {}) {
    if (palette.length < 1 || palette.length > 256) {
      throw new RangeError(`a GIF palette holds 1..256 colours, got ${palette.length}`);
    }
    if (!(width > 0 && height > 0 && width < 65536 && height < 65536)) {
      throw new RangeError(`GIF size must be 1..65535, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.#index = new PaletteIndex(palette);
    this.#delayCs = Math.max(0, Math.round(options.delayCs ?? 2));
    this.#cur = new Uint8Array(width * height);
    let bitsPerIndex = 1;
    while (1 << bitsPerIndex < palette.length) bitsPerIndex++;
    this.#minCodeSize = Math.max(2, bitsPerIndex);
    const s = this.#sink;
    s.bytes([...new TextEncoder().encode("GIF89a")]);
    s.u16(width);
    s.u16(height);
    // Global colour table present, 8 bits per primary, 2^bitsPerIndex entries.
    s.byte(0x80 | (7 << 4) | (bitsPerIndex - 1));
    s.byte(0); // background colour index
    s.byte(0); // no pixel aspect ratio
    for (let i = 0; i < 1 << bitsPerIndex; i++) s.bytes(palette[i] ?? [0, 0, 0]);
    // NETSCAPE2.0 application extension: loop count.
    s.bytes([0x21, 0xff, 0x0b, ...new TextEncoder().encode("NETSCAPE2.0"), 0x03, 0x01]);
    s.u16(Math.max(0, Math.min(65535, options.loop ?? 0)));
    s.byte(0);
  }

  /** Stored frames so far (equal consecutive frames count once). */
  get frameCount(): number {
    return this.#frames + (this.#pending ? 1 : 0);
  }

  /** Appends a frame shown for `delayCs` hundredths of a second (the writer's default if omitted). */
  addFrame(frame: Frame, delayCs: number = this.#delayCs): void {
    if (this.#finished) throw new Error("GifWriter: addFrame after finish");
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new RangeError(
        `frame is ${frame.width}x${frame.height}, the GIF is ${this.width}x${this.height}`,
      );
    }
    const cur = this.#index.indices(frame, this.#cur);
    const prev = this.#prev;
    let x0 = 0, y0 = 0, x1 = this.width - 1, y1 = this.height - 1;
    if (prev) {
      // The bounding box of changed pixels.
      x0 = this.width, y0 = this.height, x1 = -1, y1 = -1;
      const W = this.width;
      for (let j = 0; j < this.height; j++) {
        const row = j * W;
        let i = 0;
        while (i < W && cur[row + i] === prev[row + i]) i++;
        if (i === W) continue;
        let k = W - 1;
        while (cur[row + k] === prev[row + k]) k--;
        if (j < y0) y0 = j;
        y1 = j;
        if (i < x0) x0 = i;
        if (k > x1) x1 = k;
      }
      if (x1 < 0) {
        // Nothing changed: show the previous frame longer.
        this.#pending!.delayCs += delayCs;
        return;
      }
    }
    this.#flushPending();
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    const pixels = new Uint8Array(w * h);
    for (let j = 0; j < h; j++) {
      const from = (y0 + j) * this.width + x0;
      pixels.set(cur.subarray(from, from + w), j * w);
    }
    this.#pending = { x: x0, y: y0, w, h, pixels, delayCs };
    // Swap buffers: the current indices become the previous frame.
    this.#cur = prev ?? new Uint8Array(this.width * this.height);
    this.#prev = cur;
  }

  #flushPending(): void {
    const f = this.#pending;
    if (!f) return;
    const s = this.#sink;
    // Graphic control extension: disposal 1 (leave in place), no transparency.
    s.bytes([0x21, 0xf9, 0x04, 1 << 2]);
    s.u16(Math.min(65535, f.delayCs));
    s.bytes([0, 0]);
    s.byte(0x2c);
    s.u16(f.x);
    s.u16(f.y);
    s.u16(f.w);
    s.u16(f.h);
    s.byte(0); // no local colour table, not interlaced
    lzwEncode(f.pixels, this.#minCodeSize, s);
    this.#pending = null;
    this.#frames++;
  }

  /** Ends the GIF and returns its bytes. */
  finish(): Uint8Array {
    if (this.#finished) throw new Error("GifWriter: finish called twice");
    this.#flushPending();
    this.#finished = true;
    this.#sink.byte(0x3b);
    return this.#sink.finish();
  }
}

/** Encodes frames (all the same size) as an animated GIF with a palette computed from all of them. */
export function encodeGif(frames: readonly Frame[], options: GifOptions = {}): Uint8Array {
  if (frames.length === 0) throw new RangeError("encodeGif needs at least one frame");
  const palette = buildPalette(colorHistogram(frames));
  const writer = new GifWriter(frames[0].width, frames[0].height, palette, options);
  for (const f of frames) writer.addFrame(f);
  return writer.finish();
}

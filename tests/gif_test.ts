/**
 * The GIF encoder, checked by an independent decoder written here from the
 * GIF89a spec: exact pixels for palette-exact frames, frame count, delays,
 * loop count, code-size growth and clear codes on noisy images, and the
 * median-cut palette when there are more than 256 colours.
 */
import { assert, assertEquals } from "./assert.ts";
import { buildPalette, colorHistogram, encodeGif, GifWriter } from "../src/render/gif.ts";
import { createFrame, type Frame, rasterize } from "../src/render/raster.ts";
import { cartPoleScene } from "../src/render/cartpole.ts";
import { CHROMIUM, evaluateInPage } from "./chromium.ts";
import { landerTerrain, legPoses, lunarLanderScene } from "../src/render/lunar_lander.ts";

interface DecodedGif {
  width: number;
  height: number;
  loop: number | null;
  delays: number[];
  /** Each frame composited onto the ones before (disposal 0/1), as RGB. */
  frames: Uint8Array[];
  paletteSize: number;
}

/** A GIF decoder independent of the encoder: sub-blocks, LZW, compositing. */
function decodeGif(bytes: Uint8Array): DecodedGif {
  let p = 0;
  const u8 = () => bytes[p++];
  const u16 = () => bytes[p++] | (bytes[p++] << 8);
  const sig = new TextDecoder().decode(bytes.subarray(0, 6));
  assertEquals(sig, "GIF89a");
  p = 6;
  const width = u16(), height = u16();
  const packed = u8();
  u8();
  u8();
  assert(packed & 0x80, "global colour table present");
  const paletteSize = 2 << (packed & 7);
  const palette = bytes.slice(p, p + 3 * paletteSize);
  p += 3 * paletteSize;
  const canvas = new Uint8Array(width * height * 3);
  const frames: Uint8Array[] = [];
  const delays: number[] = [];
  let loop: number | null = null;
  let delay = 0;
  const subBlocks = (): Uint8Array => {
    const parts: number[] = [];
    for (let n = u8(); n > 0; n = u8()) {
      for (let k = 0; k < n; k++) parts.push(u8());
    }
    return new Uint8Array(parts);
  };
  for (;;) {
    const intro = u8();
    if (intro === 0x3b) break;
    if (intro === 0x21) {
      const label = u8();
      if (label === 0xf9) {
        const data = subBlocks();
        delay = data[1] | (data[2] << 8);
      } else if (label === 0xff) {
        const n = u8();
        const app = new TextDecoder().decode(bytes.subarray(p, p + n));
        p += n;
        const data = subBlocks();
        if (app === "NETSCAPE2.0") loop = data[1] | (data[2] << 8);
      } else subBlocks();
      continue;
    }
    assertEquals(intro, 0x2c, `unexpected block 0x${intro.toString(16)} at ${p - 1}`);
    const x = u16(), y = u16(), w = u16(), h = u16();
    assertEquals(u8() & 0xc0, 0, "no local table, not interlaced");
    const minCodeSize = u8();
    const data = subBlocks();
    const indices = lzwDecode(data, minCodeSize, w * h);
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++) {
        const c = indices[j * w + i];
        assert(c < paletteSize, "index inside the palette");
        canvas.set(palette.subarray(3 * c, 3 * c + 3), ((y + j) * width + x + i) * 3);
      }
    }
    frames.push(canvas.slice());
    delays.push(delay);
  }
  return { width, height, loop, delays, frames, paletteSize };
}

function lzwDecode(data: Uint8Array, minCodeSize: number, count: number): Uint8Array {
  const clear = 1 << minCodeSize, eoi = clear + 1;
  const prefix = new Int32Array(4096), suffix = new Uint8Array(4096), length = new Int32Array(4096);
  for (let c = 0; c < clear; c++) [prefix[c], suffix[c], length[c]] = [-1, c, 1];
  const out = new Uint8Array(count);
  let n = 0, pos = 0, codeSize = minCodeSize + 1, next = eoi + 1, prev = -1;
  const readCode = () => {
    let code = 0;
    for (let b = 0; b < codeSize; b++, pos++) {
      if (data[pos >> 3] & (1 << (pos & 7))) code |= 1 << b;
    }
    return code;
  };
  const write = (code: number) => {
    const len = length[code];
    for (let k = len - 1, c = code; k >= 0; k--, c = prefix[c]) out[n + k] = suffix[c];
    n += len;
  };
  const first = (code: number) => {
    while (prefix[code] >= 0) code = prefix[code];
    return suffix[code];
  };
  for (;;) {
    assert(pos + codeSize <= data.length * 8, "ran out of data before the end code");
    const code = readCode();
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    if (prev < 0) {
      write(code);
      prev = code;
      continue;
    }
    assert(code <= next, `code ${code} beyond the table (${next})`);
    const k = code < next ? first(code) : first(prev);
    if (next < 4096) {
      [prefix[next], suffix[next], length[next]] = [prev, k, length[prev] + 1];
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    write(code);
    prev = code;
  }
  assertEquals(n, count, "pixel count");
  return out;
}

/** Fails at the first differing byte (a deep-equality diff of 100k bytes takes minutes). */
function assertSamePixels(actual: Uint8Array, expected: Uint8Array, message: string): void {
  assertEquals(actual.length, expected.length, `${message}: length`);
  const k = actual.findIndex((v, i) => v !== expected[i]);
  assert(k < 0, `${message}: pixel ${Math.floor(k / 3)} differs: ${actual[k]} vs ${expected[k]}`);
}

function frameOf(width: number, height: number, pixel: (i: number, j: number) => number[]): Frame {
  const f = createFrame(width, height);
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) f.data.set(pixel(i, j), (j * width + i) * 3);
  }
  return f;
}

function rng(seed: number) {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed >>> 24;
  };
}

Deno.test("a GIF of palette-exact frames decodes to the same pixels, frame count, delays and loop", () => {
  const colors = [[255, 255, 255], [0, 0, 0], [202, 152, 101], [129, 132, 203], [10, 200, 30]];
  const frames = [0, 1, 2, 3].map((t) =>
    frameOf(37, 23, (i, j) => colors[(i * (t + 1) + j * 3 + t) % colors.length])
  );
  const writer = new GifWriter(37, 23, buildPalette(colorHistogram(frames)), { loop: 3 });
  [2, 7, 300, 1].forEach((d, t) => writer.addFrame(frames[t], d));
  const gif = decodeGif(writer.finish());
  assertEquals([gif.width, gif.height, gif.loop], [37, 23, 3]);
  assertEquals(gif.delays, [2, 7, 300, 1]);
  assertEquals(gif.frames.length, 4);
  gif.frames.forEach((f, t) => assertSamePixels(f, frames[t].data, `frame ${t}`));
  assertEquals(gif.paletteSize, 8);
});

Deno.test("noisy frames with 256 colours exercise code widening and clear codes, losslessly", () => {
  const next = rng(7);
  const frames = [0, 1].map(() => frameOf(160, 120, () => [next(), 0, 255]));
  const palette = buildPalette(colorHistogram(frames));
  assertEquals(palette.length, 256);
  const bytes = encodeGif(frames, { delayCs: 4 });
  const gif = decodeGif(bytes);
  assertEquals(gif.delays, [4, 4]);
  assertEquals(gif.loop, 0);
  gif.frames.forEach((f, t) => assertSamePixels(f, frames[t].data, `frame ${t}`));
});

Deno.test("palettes of 1, 2, 3 and 17 colours round-trip (minimum code size 2 and up)", () => {
  for (const n of [1, 2, 3, 17]) {
    const next = rng(n);
    const frame = frameOf(50, 9, () => {
      const c = next() % n;
      return [c * 13, 255 - c * 7, c];
    });
    const gif = decodeGif(encodeGif([frame]));
    assertSamePixels(gif.frames[0], frame.data, `${n} colours`);
    assertEquals(gif.paletteSize, Math.max(2, 1 << Math.ceil(Math.log2(n))));
  }
});

Deno.test("only the changed rectangle is stored, and equal frames lengthen the delay", () => {
  const a = createFrame(40, 30);
  const b = createFrame(40, 30);
  b.data.set([0, 0, 0], (12 * 40 + 5) * 3);
  b.data.set([0, 0, 0], (20 * 40 + 33) * 3);
  const bytes = encodeGif([a, a, b, b, b, a], { delayCs: 3 });
  const gif = decodeGif(bytes);
  assertEquals(gif.delays, [6, 9, 3]);
  [a, b, a].forEach((f, t) => assertSamePixels(gif.frames[t], f.data, `frame ${t}`));
  // A full 40x30 frame would need more than the whole file does.
  assert(bytes.length < 200, `${bytes.length} bytes`);
});

Deno.test("more than 256 colours: a median-cut palette keeps every pixel close", () => {
  const frame = frameOf(64, 64, (i, j) => [i * 4, j * 4, (i + j) * 2]);
  assertEquals(colorHistogram([frame]).size, 4096);
  const gif = decodeGif(encodeGif([frame]));
  let worst = 0;
  for (let k = 0; k < frame.data.length; k++) {
    worst = Math.max(worst, Math.abs(gif.frames[0][k] - frame.data[k]));
  }
  assert(worst <= 24, `worst channel error ${worst}`);
});

Deno.test("CartPole frames survive a GIF round trip exactly", () => {
  const frames = [[0, 0, 0, 0], [0.5, 0, 0.1, 0], [-1.5, 0, -0.2, 0]].map((s) =>
    rasterize(cartPoleScene(s))
  );
  const gif = decodeGif(encodeGif(frames));
  assertEquals(gif.frames.length, 3);
  gif.frames.forEach((f, t) => assertSamePixels(f, frames[t].data, `frame ${t}`));
});

/** FNV-1a over RGB bytes, the same in the page's script. */
function fnv(rgb: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < rgb.length; k++) h = Math.imul(h ^ rgb[k], 0x01000193) >>> 0;
  return h;
}

Deno.test({
  name:
    "Chromium's own GIF decoder (WebCodecs ImageDecoder) sees the same frames, delays and colours",
  ignore: !CHROMIUM,
  async fn() {
    const terrain = landerTerrain([1, 5, 2, 3.3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 1, 4, 2]);
    const frames = [0, 1, 2, 3, 4].map((k) => {
      const hull = { x: 8 + k, y: 11 - k, angle: 0.3 * k - 0.5 };
      return rasterize(
        lunarLanderScene({ ...terrain, hull, legs: legPoses(hull), legContact: [false, false] }),
      );
    });
    const writer = new GifWriter(600, 400, buildPalette(colorHistogram(frames)));
    [3, 5, 2, 7, 11].forEach((d, k) => writer.addFrame(frames[k], d));
    const base64 = btoa(String.fromCharCode(...writer.finish()));
    const page = await Deno.makeTempFile({ prefix: "grpo-gif-", suffix: ".html" });
    await Deno.writeTextFile(page, "<!DOCTYPE html><title>gif</title>");
    const seen = await evaluateInPage(
      `file://${page}`,
      `(async () => {
      const bytes = Uint8Array.from(atob("${base64}"), (c) => c.charCodeAt(0));
      const decoder = new ImageDecoder({ data: bytes, type: "image/gif" });
      await decoder.tracks.ready;
      const out = { count: decoder.tracks.selectedTrack.frameCount, frames: [] };
      for (let k = 0; k < out.count; k++) {
        const { image } = await decoder.decode({ frameIndex: k });
        const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
        const ctx = canvas.getContext("2d");
        ctx.drawImage(image, 0, 0);
        const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let h = 0x811c9dc5;
        for (let p = 0; p < d.length; p += 4) {
          for (let c = 0; c < 3; c++) h = Math.imul(h ^ d[p + c], 0x01000193) >>> 0;
        }
        out.frames.push({ hash: h, duration: image.duration, size: [canvas.width, canvas.height] });
        image.close();
      }
      return out;
    })()`,
    ) as {
      count: number;
      frames: { hash: number; duration: number; size: number[] }[];
    };
    await Deno.remove(page);
    assertEquals(seen.count, 5);
    seen.frames.forEach((f, k) => {
      assertEquals(f.size, [600, 400]);
      assertEquals(f.duration, [3, 5, 2, 7, 11][k] * 10_000, `frame ${k} lasts (microseconds)`);
      assertEquals(f.hash, fnv(frames[k].data), `frame ${k} pixels`);
    });
  },
});

/**
 * A minimal PNG encoder (8-bit RGB, no interlace, filter "up" on every row,
 * zlib from `node:zlib`): enough to save a frame and look at it.
 *
 * @module
 */
import { deflateSync } from "node:zlib";
import type { Frame } from "./raster.ts";
import { concatArrays } from "../concat.ts";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC), as PNG chunks carry it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let k = 0; k < 4; k++) out[4 + k] = type.charCodeAt(k);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The PNG file of an RGB frame. */
export function encodePng(frame: Frame): Uint8Array {
  const { width, height, data } = frame;
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let j = 0; j < height; j++) {
    const row = j * stride;
    const o = j * (stride + 1);
    // Filter 2 ("up"): flat frames repeat rows, which then deflate to almost nothing.
    raw[o] = j === 0 ? 0 : 2;
    for (let i = 0; i < stride; i++) {
      raw[o + 1 + i] = j === 0 ? data[row + i] : (data[row + i] - data[row - stride + i]) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk("IEND", new Uint8Array(0)),
  ];
  return concatArrays(Uint8Array, parts);
}

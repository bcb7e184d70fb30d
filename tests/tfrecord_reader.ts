/**
 * A reader of TensorBoard event files written for the tests, independently of
 * `src/io/tensorboard.ts`: its own CRC-32C (table built from the polynomial's
 * normal form, bit by bit from the top), its own protobuf wire decoding.
 *
 * @module
 */

const TABLE: Uint32Array = (() => {
  // Reflected CRC: the table for byte b is the CRC of b shifted through 8 rounds.
  const poly = reverse32(0x1edc6f41);
  const t = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let r = b;
    for (let i = 0; i < 8; i++) r = (r >>> 1) ^ (-(r & 1) & poly);
    t[b] = r >>> 0;
  }
  return t;
})();

function reverse32(x: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) r = (r << 1) | ((x >>> i) & 1);
  return r >>> 0;
}

/** CRC-32C of `data`. */
export function readerCrc32c(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const byte of data) c = (TABLE[(c ^ byte) & 255] ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}

function unmask(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot << 15) | (rot >>> 17)) >>> 0;
}

/** One decoded protobuf field. */
export type Field =
  | { field: number; type: "varint"; value: bigint }
  | { field: number; type: "fixed64"; bytes: Uint8Array }
  | { field: number; type: "bytes"; bytes: Uint8Array }
  | { field: number; type: "fixed32"; bytes: Uint8Array };

/** Splits a protobuf message into its fields, in order. */
export function decodeFields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  const take = (n: number) => {
    if (pos + n > buf.length) throw new Error("truncated field");
    const b = buf.slice(pos, pos + n);
    pos += n;
    return b;
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3, wire = key & 7;
    if (wire === 0) out.push({ field, type: "varint", value: varint() });
    else if (wire === 1) out.push({ field, type: "fixed64", bytes: take(8) });
    else if (wire === 2) out.push({ field, type: "bytes", bytes: take(Number(varint())) });
    else if (wire === 5) out.push({ field, type: "fixed32", bytes: take(4) });
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

/** An event as the tests see it. */
export interface ReadEvent {
  wallTime?: number;
  step?: bigint;
  fileVersion?: string;
  values: { tag: string; simpleValue: number }[];
}

const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Decodes an Event (fields 1, 2, 3 and 5 > 1 > {1, 2}); unknown fields are an error. */
export function decodeEvent(data: Uint8Array): ReadEvent {
  const e: ReadEvent = { values: [] };
  for (const f of decodeFields(data)) {
    if (f.field === 1 && f.type === "fixed64") e.wallTime = le(f.bytes).getFloat64(0, true);
    else if (f.field === 2 && f.type === "varint") e.step = BigInt.asIntN(64, f.value);
    else if (f.field === 3 && f.type === "bytes") e.fileVersion = new TextDecoder().decode(f.bytes);
    else if (f.field === 5 && f.type === "bytes") {
      for (const v of decodeFields(f.bytes)) {
        if (v.field !== 1 || v.type !== "bytes") throw new Error("Summary: unexpected field");
        let tag = "", simpleValue = NaN;
        for (const x of decodeFields(v.bytes)) {
          if (x.field === 1 && x.type === "bytes") tag = new TextDecoder().decode(x.bytes);
          else if (x.field === 2 && x.type === "fixed32") {
            simpleValue = le(x.bytes).getFloat32(0, true);
          } else throw new Error(`Value: unexpected field ${x.field}`);
        }
        e.values.push({ tag, simpleValue });
      }
    } else throw new Error(`Event: unexpected field ${f.field} (${f.type})`);
  }
  return e;
}

/** The records of a TFRecord file, each CRC checked; a truncated last record is reported, not returned. */
export function readRecords(file: Uint8Array): { records: Uint8Array[]; truncatedTail: boolean } {
  const records: Uint8Array[] = [];
  let pos = 0;
  while (pos < file.length) {
    if (pos + 12 > file.length) return { records, truncatedTail: true };
    const header = file.subarray(pos, pos + 8);
    const length = Number(le(header).getBigUint64(0, true));
    const lengthCrc = le(file.subarray(pos + 8, pos + 12)).getUint32(0, true);
    if (unmask(lengthCrc) !== readerCrc32c(header)) throw new Error(`bad length CRC at ${pos}`);
    if (pos + 12 + length + 4 > file.length) return { records, truncatedTail: true };
    const data = file.subarray(pos + 12, pos + 12 + length);
    const dataCrc = le(file.subarray(pos + 12 + length, pos + 16 + length)).getUint32(0, true);
    if (unmask(dataCrc) !== readerCrc32c(data)) throw new Error(`bad data CRC at ${pos}`);
    records.push(data);
    pos += 16 + length;
  }
  return { records, truncatedTail: false };
}

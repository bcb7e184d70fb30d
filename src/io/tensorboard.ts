/**
 * TensorBoard event files, written without TensorFlow: TFRecord framing
 * around hand-encoded `Event` protobufs with scalar summaries.
 *
 * A file is a sequence of records, each
 *
 * ```text
 * uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * ```
 *
 * where `masked_crc32c(x) = rotr(crc32c(x), 15) + 0xa282ead8` (mod 2^32) and
 * `data` is an `Event` (tensorflow/core/util/event.proto):
 *
 * ```text
 * Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 * Summary { repeated Value value = 1; }
 * Value   { string tag = 1; float simple_value = 2; }
 * ```
 *
 * The first record is `file_version: "brain.Event:2"`; then one event per
 * {@linkcode TensorBoardWriter.addScalars} call, holding all its scalars.
 * The file is named `events.out.tfevents.<unix seconds>.<host>` as
 * TensorFlow names it. Each record is written with one unbuffered write as
 * soon as it is added, so a crash loses at most the record being written and
 * leaves every earlier one whole (TensorBoard skips a truncated last record).
 * An event log is appended to, not replaced, so it is not written through
 * `atomic.ts`; {@linkcode truncateEventFiles} (a resumed run) rewrites one
 * through it.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.ts";

const CRC32C_TABLE = (() => {
  // Castagnoli polynomial 0x1EDC6F41, bit-reversed.
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli) of `bytes`, as TFRecord uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs stay strong. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Frames `data` as one TFRecord. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** A growing byte buffer with the protobuf wire encodings this file needs. */
class ProtoWriter {
  private bytes: number[] = [];

  /** A varint of a non-negative integer up to 2^53. */
  varint(x: number): this {
    let v = x;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  private key(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** Wire type 1: a double, little-endian. */
  double(field: number, x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, true);
    this.key(field, 1).bytes.push(...b);
    return this;
  }

  /** Wire type 5: a float, little-endian. */
  float(field: number, x: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.key(field, 5).bytes.push(...b);
    return this;
  }

  /** Wire type 0: an int64 as a varint (negative values as ten-byte two's complement). */
  int64(field: number, x: number): this {
    this.key(field, 0);
    if (x >= 0) return this.varint(x);
    let v = BigInt.asUintN(64, BigInt(x));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  /** Wire type 2: length-delimited bytes (a string or an embedded message). */
  lengthDelimited(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length).bytes.push(...data);
    return this;
  }

  string(field: number, s: string): this {
    return this.lengthDelimited(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** What one event holds: a file version, or scalars. */
export interface EventFields {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Tag and value pairs, written as one `Summary`. */
  scalars?: [string, number][];
}

/** Encodes an `Event` protobuf. */
export function encodeEvent(e: EventFields): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime).int64(2, Math.trunc(e.step));
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars) {
    const summary = new ProtoWriter();
    for (const [tag, value] of e.scalars) {
      summary.lengthDelimited(1, new ProtoWriter().string(1, tag).float(2, value).finish());
    }
    w.lengthDelimited(5, summary.finish());
  }
  return w.finish();
}

/** The version string TensorBoard expects in a file's first event. */
export const FILE_VERSION = "brain.Event:2";

/** Options of {@linkcode TensorBoardWriter.create}. */
export interface TensorBoardOptions {
  /** Clock in milliseconds since the epoch (tests pass a fixed one). */
  now?: () => number;
  /** Host name in the file name (default: this machine's). */
  host?: string;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Appends scalar events to a new TensorBoard event file in a log directory.
 *
 * @example Usage
 * ```ts
 * import { TensorBoardWriter } from "@grpo/grpo";
 *
 * const dir = await Deno.makeTempDir();
 * const writer = await TensorBoardWriter.create(dir); // `tensorboard --logdir dir` reads it
 * writer.addScalars(1, { mean_reward: 21.5, policy_loss: 0.03 });
 * writer.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class TensorBoardWriter {
  private closed = false;

  private constructor(
    /** The event file's path. */
    readonly path: string,
    private readonly file: Deno.FsFile,
    private readonly now: () => number,
  ) {}

  /** Creates `dir` if needed and a new event file in it, starting with the file-version event. */
  static async create(dir: string, options: TensorBoardOptions = {}): Promise<TensorBoardWriter> {
    const now = options.now ?? Date.now;
    await Deno.mkdir(dir, { recursive: true });
    const base = `events.out.tfevents.${Math.floor(now() / 1000)}.${options.host ?? hostName()}`;
    // A second writer in the same second gets a suffix instead of sharing the file.
    for (let k = 0;; k++) {
      const path = join(dir, k === 0 ? base : `${base}.${k}`);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { write: true, createNew: true });
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        throw e;
      }
      const writer = new TensorBoardWriter(path, file, now);
      writer.writeEvent({ wallTime: now() / 1000, step: 0, fileVersion: FILE_VERSION });
      return writer;
    }
  }

  /** Appends one event record to the file. */
  private writeEvent(e: EventFields): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const record = tfRecord(encodeEvent(e));
    let written = 0;
    while (written < record.length) written += this.file.writeSync(record.subarray(written));
  }

  /**
   * Writes one event with a scalar per entry of `scalars` at `step`; entries
   * that are not numbers are skipped (NaN and infinities are kept: TensorBoard
   * shows them). `wallTime` is in seconds (default: now).
   */
  addScalars(step: number, scalars: Record<string, unknown>, wallTime?: number): void {
    const pairs = Object.entries(scalars).filter((e): e is [string, number] =>
      typeof e[1] === "number"
    );
    this.writeEvent({ wallTime: wallTime ?? this.now() / 1000, step, scalars: pairs });
  }

  /** Closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}

/** The prefix of every event file's name. */
const EVENT_FILE_PREFIX = "events.out.tfevents.";

/**
 * The `step` (field 2) of an encoded `Event`, or undefined when it is not
 * well-formed protobuf; an event without one has step 0.
 */
export function eventStep(data: Uint8Array): number | undefined {
  let pos = 0;
  const varint = (): number | undefined => {
    let x = 0n, shift = 0n;
    for (let k = 0; k < 10; k++) {
      if (pos >= data.length) return undefined;
      const b = data[pos++];
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return Number(BigInt.asIntN(64, x));
      shift += 7n;
    }
    return undefined;
  };
  let step = 0;
  while (pos < data.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      if (key >>> 3 === 2) step = v;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const n = varint();
      if (n === undefined || n < 0) return undefined;
      pos += n;
    } else return undefined;
    if (pos > data.length) return undefined;
  }
  return step;
}

/**
 * The byte length of the leading records of a TFRecord file that are whole
 * (both CRCs check) and whose event's step is at most `lastStep`.
 */
export function keptRecordBytes(bytes: Uint8Array, lastStep: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + 12 <= bytes.length) {
    const length = Number(view.getBigUint64(pos, true));
    const end = pos + 12 + length + 4;
    if (
      end > bytes.length ||
      view.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))
    ) break;
    const data = bytes.subarray(pos + 12, pos + 12 + length);
    if (view.getUint32(pos + 12 + length, true) !== maskedCrc32c(data)) break;
    const step = eventStep(data);
    if (step === undefined || step > lastStep) break;
    pos = end;
  }
  return pos;
}

/**
 * Cuts every event file in `dir` after its last whole event at a step up to
 * `lastStep` (atomically), so a run resumed at `lastStep` writes the later
 * steps once, in a new file; returns the paths that changed.
 */
export async function truncateEventFiles(dir: string, lastStep: number): Promise<string[]> {
  const changed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return changed;
    throw e;
  }
  for (const entry of entries) {
    if (
      !entry.isFile || !entry.name.startsWith(EVENT_FILE_PREFIX) || entry.name.includes(".tmp-")
    ) {
      continue;
    }
    const path = join(dir, entry.name);
    const bytes = await Deno.readFile(path);
    const kept = keptRecordBytes(bytes, lastStep);
    if (kept === bytes.length) continue;
    await writeFileAtomic(path, bytes.subarray(0, kept));
    changed.push(path);
  }
  return changed;
}

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON header, then the raw little-endian tensor
 * bytes. The header maps each tensor name to `{dtype, shape, data_offsets:
 * [begin, end]}` (offsets into the byte buffer after the header) and may hold
 * `__metadata__`, a map of strings. Python's `safetensors.numpy.load_file`
 * reads what {@linkcode encodeSafetensors} writes.
 *
 * The reader is strict: anything that does not describe exactly the bytes
 * that follow (short file, bad JSON, unknown dtype, offsets out of range,
 * overlapping or leaving holes, shapes that disagree with byte sizes) is an
 * {@linkcode InputError}, never a crash or a huge allocation.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** The dtypes we read and write, with their typed arrays. */
export const DTYPES = {
  F32: { bytes: 4, array: Float32Array },
  F64: { bytes: 8, array: Float64Array },
  I32: { bytes: 4, array: Int32Array },
  U32: { bytes: 4, array: Uint32Array },
  I16: { bytes: 2, array: Int16Array },
  U16: { bytes: 2, array: Uint16Array },
  I8: { bytes: 1, array: Int8Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
} as const;

/** A dtype name of {@linkcode DTYPES}. */
export type Dtype = keyof typeof DTYPES;

/** Typed array of a dtype. */
export type TensorArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** One tensor: its dtype, shape and data (row-major). */
export interface TensorEntry {
  /** The element type, as safetensors names it (`F32`, `I64`, ...). */
  dtype: Dtype;
  /** Size of each dimension. */
  shape: number[];
  /** The elements in row-major order, in the typed array of `dtype`. */
  data: TensorArray;
}

/** A decoded file: tensors in file order, and the metadata strings. */
export interface Safetensors {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Largest header we accept (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes tensors and metadata; tensors are laid out in the map's order, header padded to 8 bytes. */
export function encodeSafetensors(
  tensors: Map<string, TensorEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("safetensors writing needs a little-endian host");
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new Error("a tensor may not be named __metadata__");
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `tensor ${name}: shape [${t.shape}] needs ${count} values, has ${t.data.length}`,
      );
    }
    const bytes = count * DTYPES[t.dtype].bytes;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json).length;
  json += " ".repeat((8 - (jsonBytes() % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/**
 * Decodes and validates a safetensors file; `source` names it in errors.
 * Every problem is an {@linkcode InputError} of one line.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): Safetensors {
  const bad = (why: string) =>
    new InputError(`${source} is not a valid safetensors file: ${why}; re-create it with grpo`);
  if (bytes.length < 8) {
    throw bad(`only ${bytes.length} bytes, the 8-byte header length is missing`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw bad(`header length ${n64} exceeds the ${bytes.length - 8} bytes that follow`);
  }
  const n = Number(n64);
  let header: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith("{")) throw new Error("not a JSON object");
    header = JSON.parse(text);
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("header is not a JSON object");
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw bad("__metadata__ is not a map of strings");
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") throw bad(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw bad(`tensor ${name} is not an object`);
    if (typeof e.dtype !== "string" || !Object.hasOwn(DTYPES, e.dtype)) {
      throw bad(`tensor ${name} has unsupported dtype ${JSON.stringify(e.dtype)}`);
    }
    const dtype = e.dtype as Dtype;
    if (
      !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      throw bad(`tensor ${name} has an invalid shape`);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1] ||
      offs[1] > dataLength
    ) {
      throw bad(`tensor ${name} has data_offsets outside the ${dataLength} data bytes`);
    }
    // Multiply stepwise so a huge shape cannot overflow into a matching size.
    let count = 1;
    for (const d of shape) {
      count *= d;
      if (count > dataLength) break;
    }
    if (count * DTYPES[dtype].bytes !== offs[1] - offs[0]) {
      throw bad(
        `tensor ${name}: shape [${shape}] of ${dtype} does not match its ${
          offs[1] - offs[0]
        } bytes`,
      );
    }
    entries.push({ name, dtype, shape, begin: offs[0], end: offs[1] });
  }
  // The tensors must tile the data exactly: no overlap, no hole, nothing after.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      throw bad(`tensor ${e.name} starts at byte ${e.begin}, expected ${at} (overlap or hole)`);
    }
    at = e.end;
  }
  if (at !== dataLength) throw bad(`${dataLength - at} bytes after the last tensor`);
  const tensors = new Map<string, TensorEntry>();
  for (const e of entries) {
    const { bytes: size, array } = DTYPES[e.dtype];
    // Copy so the data is aligned and independent of the file buffer.
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end);
    if (!LITTLE_ENDIAN && size > 1) {
      throw new Error("safetensors reading needs a little-endian host");
    }
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: new array(copy.buffer, 0, (e.end - e.begin) / size),
    });
  }
  return { tensors, metadata };
}

/**
 * Reads and decodes a file; a missing file or a directory is an
 * {@linkcode InputError}, other file-system faults keep their errno code for
 * the CLI's one-line mapping.
 */
export async function readSafetensors(path: string): Promise<Safetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(`${path} does not exist; check the path`);
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError(`${path} is a directory; give the .safetensors file inside it`);
    }
    throw e; // other faults (permissions, a file where a directory is expected): see main.ts
  }
  return decodeSafetensors(bytes, path);
}

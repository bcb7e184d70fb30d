/**
 * Atomic file writes: write a temporary file beside the target, then rename
 * it over the target, so a reader never sees half a file and a crash leaves
 * the old one in place.
 *
 * @module
 */
import { dirname } from "node:path";

/** Writes `data` to `path` atomically, creating the parent directory. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes `text` to `path` atomically. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

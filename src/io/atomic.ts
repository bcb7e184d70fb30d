/**
 * Atomic file writes: write a temporary file beside the target, then rename
 * it over the target, so a reader never sees half a file and a crash leaves
 * the old one in place.
 *
 * @module
 */
import { dirname, join } from "node:path";

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

/** The temporary name {@linkcode writeFileAtomic} gives a file before renaming it: `<name>.tmp-<pid>-<8 hex>`. */
const TEMP_NAME = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Removes the temporary files a killed writer left in `dir` (not below it);
 * returns their paths. Only for a directory this process alone writes (a
 * resumed run's), as another writer's temporary file looks the same.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !TEMP_NAME.test(entry.name)) continue;
      const path = join(dir, entry.name);
      await Deno.remove(path);
      removed.push(path);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return removed;
}

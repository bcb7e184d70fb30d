/**
 * File-system faults as one line for the user: the operation, the path and
 * the fix. Deno's errors carry the errno code (`ENOSPC`, `EROFS`, ...) and
 * name the path in their message (`... (os error 28): writefile 'out/x'`);
 * this maps them so no command needs its own try/catch.
 *
 * @module
 */

const FILE_NOT_DIR = (p: string) =>
  `${p} is a file, not a directory; move that file away or choose another path`;

/** The fix for each errno code, given the path. */
const FIXES: Record<string, (path: string) => string> = {
  ENOSPC: (p) => `no space left on the device holding ${p}; free some space or write elsewhere`,
  EDQUOT: (p) => `disk quota exceeded writing ${p}; free some space or write elsewhere`,
  EROFS: (p) => `${p} is on a read-only file system; write elsewhere`,
  EACCES: (p) => `permission denied for ${p}; fix its permissions or choose another path`,
  EPERM: (p) => `operation not permitted on ${p}; choose another path`,
  ENOTDIR: (p) =>
    `${p}: part of this path is a file, not a directory; move that file away or choose another path`,
  EISDIR: (p) => `${p} is a directory; give a file path`,
  ENOENT: (p) => `${p} does not exist; check the path`,
  EEXIST: (p) => `${p} already exists; remove it or choose another path`,
  ENAMETOOLONG: (p) => `the path ${p.slice(0, 80)}... is too long; choose a shorter one`,
  EMFILE: (p) => `too many open files while opening ${p}; raise the limit (ulimit -n)`,
  EIO: (p) => `input/output error on ${p}; check the device, or write elsewhere`,
};

/** Flags that choose where a command writes, for the hint. */
const WHERE = "(--out, --log-dir, --output or --render)";

/**
 * The one-line message for a file-system error, or undefined when `e` is
 * not one (then it is a bug and keeps its stack trace).
 */
export function fsErrorMessage(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) return undefined;
  // "... (os error 2): rename 'a' -> 'b'": the operation and its first path.
  const m = /\(os error \d+\): (\w+) '([^']*)'/.exec(e.message);
  // Without a path, the write went to an open file: most likely the standard output.
  const op = m?.[1] ?? "write";
  const path = m?.[2] ?? "the standard output (or an open file)";
  // mkdir -p over an existing file says EEXIST: a file where a directory is expected.
  const fix = op === "mkdir" && code === "EEXIST" ? FILE_NOT_DIR : FIXES[code];
  const what = fix ? fix(path) : `${e.message.split("\n")[0]}`;
  const hint = m && (code === "ENOSPC" || code === "EROFS" || code === "EDQUOT") ? ` ${WHERE}` : "";
  return `${op} failed: ${what}${hint}`;
}

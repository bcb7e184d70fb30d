/**
 * File-system faults are one line naming the path and the fix, exit 2, and
 * earlier results kept: a file where a directory is expected (ENOTDIR), no
 * space left (/dev/full), a path the kernel refuses (/sys, EPERM/EACCES even
 * for root), and a read-only file system (EROFS, synthesized: no read-only
 * mount is available to the tests).
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { flags, runGrpo, tinyStage1 } from "./cli_helpers.ts";
import { fsErrorMessage } from "../src/io/fs_errors.ts";

/** A temp dir with a tiny checkpoint and a regular file `file`, under which no path can be made. */
async function dirWithFile(): Promise<{ dir: string; ckpt: string; file: string }> {
  const dir = await Deno.makeTempDir();
  const ckpt = await tinyStage1(dir, { seed: 5, name: "p.safetensors" });
  const file = join(dir, "file");
  await Deno.writeTextFile(file, "x");
  return { dir, ckpt, file };
}

function assertOneLine(err: string, ...parts: string[]) {
  assertEquals(err.split("\n").length, 1, err);
  assert(err.startsWith("error: "), err);
  for (const p of parts) assert(err.includes(p), `${JSON.stringify(p)} in ${err}`);
}

Deno.test("eval --render into a path under a regular file prints the scores, then one error line", async () => {
  const { dir, ckpt, file } = await dirWithFile();
  const r = await runGrpo([
    "eval",
    ...flags({ checkpoint: ckpt, "num-episodes": 2, render: join(file, "out.gif"), device: "cpu" }),
  ]);
  assertEquals(r.code, 2);
  assert(r.out.includes("mean return"), `scores printed: ${r.out}`);
  assertOneLine(r.err, file, "not a directory");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint path under a regular file is called that, not a directory", async () => {
  const { dir, file } = await dirWithFile();
  const r = await runGrpo(["eval", "--checkpoint", join(file, "x.safetensors"), "--device", "cpu"]);
  assertEquals(r.code, 2);
  assertOneLine(r.err, file, "not a directory");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train with --log-dir under a regular file is one error line and exit 2", async () => {
  const { dir, ckpt, file } = await dirWithFile();
  const r = await runGrpo([
    "train",
    ...flags({
      checkpoint: ckpt,
      "num-iterations": 1,
      "num-envs": 2,
      "rollout-steps": 4,
      out: join(dir, "ck"),
      "log-dir": join(file, "logs"),
      device: "cpu",
    }),
  ]);
  assertEquals(r.code, 2);
  assertOneLine(r.err, file, "not a directory");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("report --output where the kernel refuses (/sys) is one error line and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "metrics.jsonl"),
    '{"iteration":1,"env_steps":10,"mean_reward":1}\n',
  );
  const r = await runGrpo(["report", dir, "--output", "/sys/grpo-test/report.html"]);
  assertEquals(r.code, 2);
  assertOneLine(r.err, "/sys/grpo-test");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a full disk on stdout (/dev/full) is one error line and exit 2", async () => {
  const main = new URL("../src/cli/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: ["-c", `"${Deno.execPath()}" run -A "${main}" envs > /dev/full`],
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  assertEquals(out.code, 2, err);
  assertOneLine(err, "no space left");
});

Deno.test("errno codes map to one line naming the operation, the path and the fix", () => {
  const fault = (code: string, message: string) => Object.assign(new Error(message), { code });
  assertEquals(
    fsErrorMessage(fault("EROFS", "Read-only file system (os error 30): mkdir '/ro/run'")),
    "mkdir failed: /ro/run is on a read-only file system; write elsewhere (--out, --log-dir, --output or --render)",
  );
  assert(
    fsErrorMessage(fault("ENOSPC", "No space left on device (os error 28): writefile 'a/b'"))!
      .includes("a/b"),
  );
  assertEquals(fsErrorMessage(new Error("a bug")), undefined);
  assertEquals(fsErrorMessage(new TypeError("x is undefined")), undefined);
});

/**
 * `deno task gpu-kit`: packs `dist/gpu-kit/` for a bare x86-64 Linux host
 * with a GPU and no network (no Deno, no Node): this Deno binary, the one
 * `npx deno@...` runs, xz-compressed; the single-file bundle `grpo.js`; and
 * `bench/gpu_suite.sh`, which unpacks Deno there and measures. Copy the
 * folder over and run `bash gpu-kit/gpu_suite.sh result.json`.
 *
 * `--baseline NAME=FILE.js` (repeatable) adds another build's bundle, say an
 * earlier commit's `deno task bundle` output, as `baseline_NAME.js`: the suite
 * then measures LunarLander's GPU steps/s with it too, beside this build's,
 * and `bash gpu-kit/gpu_iteration_ab.sh` times GPU-mode training iterations
 * of both.
 *
 * @module
 */
const MAX_BYTES = 60 * 1024 * 1024;
const root = new URL("../", import.meta.url);
const kit = new URL("dist/gpu-kit/", root);

async function run(command: string, args: string[], stdout?: string): Promise<void> {
  const out = await new Deno.Command(command, {
    args,
    stdout: stdout ? "piped" : "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${command} ${args.join(" ")} failed (exit ${out.code})`);
  if (stdout) await Deno.writeFile(stdout, out.stdout);
}

if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
  console.error(`error: the kit carries this Deno binary, so build it on x86-64 Linux`);
  Deno.exit(2);
}
const baselines: [string, string][] = [];
for (let i = 0; i < Deno.args.length; i++) {
  const m = Deno.args[i] === "--baseline"
    ? /^([A-Za-z0-9_-]+)=(.+\.js)$/.exec(Deno.args[i + 1] ?? "")
    : null;
  if (!m) {
    console.error(`error: unknown argument "${Deno.args[i]}"; use --baseline NAME=FILE.js`);
    Deno.exit(2);
  }
  if (!(await Deno.stat(m[2]).catch(() => null))?.isFile) {
    console.error(`error: no file ${m[2]}; build it first (deno task bundle in that checkout)`);
    Deno.exit(2);
  }
  baselines.push([m[1], m[2]]);
  i++;
}
await run(Deno.execPath(), ["run", "-A", new URL("scripts/bundle.ts", root).pathname]);
await Deno.mkdir(kit, { recursive: true });
for await (const entry of Deno.readDir(kit)) {
  if (entry.name.startsWith("baseline_")) await Deno.remove(new URL(entry.name, kit));
}
for (const [name, file] of baselines) {
  await Deno.copyFile(file, new URL(`baseline_${name}.js`, kit));
}
await Deno.copyFile(new URL("dist/grpo.js", root), new URL("grpo.js", kit));
for (const script of ["gpu_suite.sh", "gpu_iteration_ab.sh"]) {
  await Deno.copyFile(new URL(`bench/${script}`, root), new URL(script, kit));
  await Deno.chmod(new URL(script, kit), 0o755);
}

// Compressing 95 MB takes a minute or two: reuse the last one for the same binary. Preset 6
// needs ~100 MB of memory (9 needs ~700 MB, for ~2 MB less).
const deno = Deno.execPath();
const { size, mtime } = await Deno.stat(deno);
const stamp = `${deno} ${size} ${mtime?.toISOString()} ${Deno.version.deno}\n`;
const stampFile = new URL("deno.xz.source", kit);
const previous = await Deno.readTextFile(stampFile).catch(() => "");
if (previous !== stamp || !(await Deno.stat(new URL("deno.xz", kit)).catch(() => null))) {
  console.log(`compressing ${deno} (${(size / 1e6).toFixed(0)} MB) with xz ...`);
  const xz = new URL("deno.xz", kit).pathname;
  try {
    await run("xz", ["-6", "-T1", "-c", deno], xz);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    await run("python3", [
      "-c",
      "import lzma,shutil,sys; shutil.copyfileobj(open(sys.argv[1],'rb'), lzma.open(sys.argv[2],'wb',preset=6))",
      deno,
      xz,
    ]);
  }
  await Deno.writeTextFile(stampFile, stamp);
}

let total = 0;
for await (const entry of Deno.readDir(kit)) {
  total += (await Deno.stat(new URL(entry.name, kit))).size;
}
console.log(`wrote ${kit.pathname}: ${(total / 2 ** 20).toFixed(1)} MiB (limit 60 MiB)`);
if (total > MAX_BYTES) {
  console.error("error: the kit is over 60 MiB");
  Deno.exit(1);
}

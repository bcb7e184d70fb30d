/**
 * `deno task bundle`: writes `dist/grpo.js`, the CLI as one JavaScript file
 * that runs with `deno run -A dist/grpo.js <command>` from any directory, with
 * an empty Deno cache and no network: the npm packages are inlined by
 * `deno bundle`, and the files the sources read at run time, the WGSL shaders
 * and tfjs's wasm binaries, are built in (see `embedShaders`, `embedWasm`).
 * They are generated here at bundle time only, from the files themselves, so
 * the development path reads the files and nothing can go stale.
 *
 * @module
 */
import "@tensorflow/tfjs-backend-wasm";
import { Buffer } from "node:buffer";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root);
const build = new URL(".build/", dist);
const output = new URL("grpo.js", dist);

/** Every `.wgsl` file under `shaders/`, keyed by its path in the repository. */
async function shaderSources(): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  const walk = async (dir: URL, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(".wgsl")) {
        sources[`${prefix}${entry.name}`] = await Deno.readTextFile(new URL(entry.name, dir));
      }
    }
  };
  await walk(new URL("shaders/", root), "shaders/");
  return Object.fromEntries(Object.entries(sources).sort(([a], [b]) => a.localeCompare(b)));
}

/** tfjs's three wasm binaries (tfjs picks one at run time), base64. */
async function wasmBinaries(): Promise<Record<string, string>> {
  const dir = new URL(".", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const names = [
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
  ];
  const files: Record<string, string> = {};
  for (const name of names) {
    files[name] = Buffer.from(await Deno.readFile(new URL(name, dir))).toString("base64");
  }
  return files;
}

await Deno.remove(build, { recursive: true }).catch(() => {});
await Deno.mkdir(build, { recursive: true });
const shaders = await shaderSources();
await Deno.writeTextFile(
  new URL("assets.ts", build),
  [
    `import { embedShaders } from "../../src/gpu/shader.ts";`,
    `import { embedWasm } from "../../src/model/backend.ts";`,
    `embedShaders(${JSON.stringify(shaders)});`,
    `embedWasm(${JSON.stringify(await wasmBinaries())});`,
    "",
  ].join("\n"),
);
// The assets module is imported first, so it runs before the CLI starts. The
// CLI's own `import.meta.main` is false in a bundle (it is not the entry). The
// bundle is also the helper thread's worker (src/rl/helper_thread.ts): one file, two roles.
await Deno.writeTextFile(
  new URL("main.ts", build),
  [
    `import "./assets.ts";`,
    `import { main } from "../../src/cli/main.ts";`,
    `import { setHelperWorkerUrl } from "../../src/rl/helper_thread.ts";`,
    `import { serveHelperJobs } from "../../src/rl/helper_worker.ts";`,
    `if ("WorkerGlobalScope" in globalThis) serveHelperJobs();`,
    `else {`,
    `  setHelperWorkerUrl(import.meta.url);`,
    `  Deno.exit(await main(Deno.args));`,
    `}`,
    "",
  ].join("\n"),
);
const bundled = await new Deno.Command(Deno.execPath(), {
  args: [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--config",
    new URL("deno.json", root).pathname,
    "--output",
    output.pathname,
    new URL("main.ts", build).pathname,
  ],
  stdout: "inherit",
  stderr: "inherit",
}).output();
await Deno.remove(build, { recursive: true });
if (!bundled.success) Deno.exit(bundled.code);
// tfjs-backend-wasm's Node build (the one npm resolution picks) names the
// CommonJS `__dirname` when it starts; Deno gives CommonJS modules one, but in
// the bundle its code is plain ES module code. Its wasm comes from the
// embedded copies, so any directory will do: the bundle's own.
const code = await Deno.readTextFile(output);
if (/\b(var|let|const) (__dirname|__filename)\b/.test(code)) {
  throw new Error("the bundle declares __dirname itself; revisit scripts/bundle.ts");
}
await Deno.writeTextFile(
  output,
  "const __filename = new URL(import.meta.url).pathname;\n" +
    'const __dirname = new URL(".", import.meta.url).pathname;\n' + code,
);
const size = (await Deno.stat(output)).size;
console.log(
  `wrote ${output.pathname} (${(size / 1e6).toFixed(1)} MB, ${
    Object.keys(shaders).length
  } shaders and 3 wasm binaries built in)`,
);

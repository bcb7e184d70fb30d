/**
 * Imports point down the layers (docs/architecture.md): every relative import
 * of a module in `src/`, `envs/`, `examples/` or `mod.ts` goes to its own
 * layer or one below, so that no layer depends on one above it.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/**
 * The layers, bottom first; a path is a folder (`src/rl`) or one file. A
 * module may import from its own layer and those listed before it.
 */
const LAYERS: readonly (readonly string[])[] = [
  [
    "src/errors.ts",
    "src/range.ts",
    "src/concat.ts",
    "src/version.ts",
    "src/math.ts",
    "src/device.ts",
  ],
  ["src/physics"],
  ["envs"],
  ["src/io"],
  ["src/model"],
  ["src/rl"],
  ["src/gpu"],
  ["src/bridge"],
  ["src/play"],
  ["src/render"],
  ["src/cli"],
  ["mod.ts", "examples"],
];

/** The layer index of a repo-relative path, or -1 when no layer holds it. */
function layerOf(path: string): number {
  return LAYERS.findIndex((layer) => layer.some((p) => path === p || path.startsWith(`${p}/`)));
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Static (`import ... from`, `export ... from`) and dynamic (`import("...")`) relative imports. */
function relativeImports(source: string): string[] {
  const re =
    /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.[^"]+)"|\bimport\(\s*"(\.[^"]+)"\s*\)/g;
  return [...source.matchAll(re)].map((m) => m[1] ?? m[2]);
}

/** Every import that climbs to a higher layer, as `from -> to`, and every module outside the layers. */
function violations(): string[] {
  const files = ["mod.ts", ...tsFiles("src"), ...tsFiles("envs"), ...tsFiles("examples")];
  const out: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (from < 0) {
      out.push(`${file}: in no layer (add it to LAYERS and docs/architecture.md)`);
      continue;
    }
    for (const spec of relativeImports(readFileSync(join(ROOT, file), "utf8"))) {
      if (!spec.endsWith(".ts")) continue; // deno.json, read for the version
      const target = relative(ROOT, join(ROOT, dirname(file), spec)).replaceAll("\\", "/");
      const to = layerOf(target);
      if (to > from) out.push(`${file} -> ${target}`);
    }
  }
  return out;
}

Deno.test("no import climbs from a lower layer to a higher one", () => {
  assertEquals(violations(), []);
});

Deno.test("the import scanner sees multi-line, type-only, re-exported and dynamic imports", () => {
  const source = `import {\n  a,\n  b,\n} from "./x.ts";\nimport type { C } from "../y.ts";\n` +
    `export { d } from "./z.ts";\nconst m = await import("./w.ts");\n`;
  assertEquals(relativeImports(source), ["./x.ts", "../y.ts", "./z.ts", "./w.ts"]);
});

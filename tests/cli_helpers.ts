/**
 * Helpers of the CLI tests that run `grpo` in process (`main`) or as a
 * subprocess: a tiny stage-1 checkpoint, captured console output, the
 * command line of the `grpo` binary, and reading a run's logs.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cartpole } from "../envs/cartpole.ts";
import { main } from "../src/cli/main.ts";
import { initBackend } from "../src/model/backend.ts";
import { saveCheckpoint } from "../src/model/checkpoint.ts";
import { tinyPolicy } from "./fixtures.ts";
import type { DecisionTransformer } from "../src/model/decision_transformer.ts";

/**
 * Writes a tiny untrained CartPole stage-1 checkpoint to `dir/name`: of
 * `policy` (which it disposes), else of a {@linkcode tinyPolicy} drawn from
 * `seed`.
 */
export async function tinyStage1(
  dir: string,
  { seed = 3, name = "stage1.safetensors", policy }: {
    seed?: number;
    name?: string;
    policy?: DecisionTransformer;
  } = {},
): Promise<string> {
  await initBackend("cpu");
  policy ??= tinyPolicy(seed);
  const path = join(dir, name);
  await saveCheckpoint(path, {
    envId: cartpole.id,
    policy,
    targetReturn: 50,
    trainingArgs: {},
    stage: "pretrain",
  });
  policy.dispose();
  return path;
}

/** Runs `fn` with console.log and console.error captured. */
export async function quietly<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { result: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Runs `grpo argv` in-process; returns the exit code and the lines it printed. */
export async function runGrpo(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** The repository's deno.json (a subprocess in another directory needs it named). */
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

/** A `grpo` subprocess with `args`, in `cwd`, stdout and stderr piped, stdin closed. */
export function grpoProcess(args: string[], cwd: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, MAIN, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/** The rows of a metrics.jsonl. */
export function metricsRows(logDir: string): Record<string, unknown>[] {
  return Deno.readTextFileSync(join(logDir, "metrics.jsonl")).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
}

/** The one entry of `parent` (a run directory under --out or --log-dir). */
export function onlyEntry(parent: string): string {
  const names = [...Deno.readDirSync(parent)].map((e) => e.name);
  if (names.length !== 1) throw new Error(`${parent} holds ${names.join(", ")}, not one entry`);
  return join(parent, names[0]);
}

/**
 * Waits until `check()` is true (polling every 20 ms) or the process has
 * exited; returns whether `check()` came true.
 */
export async function until(check: () => boolean, child: Deno.ChildProcess): Promise<boolean> {
  let exited = false;
  child.status.then(() => (exited = true));
  while (!check()) {
    if (exited) return check();
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether two byte arrays are equal (an assertEquals diff of a checkpoint would take minutes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A command line's `--name value` pairs, in the order given:
 * `flags({ "num-envs": 2, device: "cpu" })` is
 * `["--num-envs", "2", "--device", "cpu"]`.
 */
export function flags(values: Record<string, string | number>): string[] {
  return Object.entries(values).flatMap(([name, value]) => [`--${name}`, String(value)]);
}

/** Runs `body` in a fresh temp dir (named with `prefix`) and removes the dir after, thrown or not. */
export async function inTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

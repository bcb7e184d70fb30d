/**
 * Env throughput, every built-in env in CPU and GPU mode at 1, 64, 4096 and
 * 65536 envs (random actions, auto-reset), beside Gymnasium's Python figures
 * (CartPole's and LunarLander's).
 * Each figure is the fastest of `--repeats` timings of `--seconds` each: the
 * 2-core machine it is quoted for is shared, and interference only slows.
 *
 * ```sh
 * deno run -A bench/envs.ts [--json] [--seconds 0.3] [--repeats 3] [--sizes 1,64,4096,65536] [--env cartpole]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ENVS, findEnv } from "../envs/registry.ts";
import { getGpu, releaseGpu } from "../src/device.ts";
import { benchCpu, benchGpu, type EnvBenchResult } from "../src/play/env_bench.ts";

/**
 * Gymnasium 1.x's own CartPole-v1 on the same machine kind (2-core CPU),
 * random actions with auto-reset: one env, and a SyncVectorEnv of 64.
 */
export const GYMNASIUM_CARTPOLE = { single: 155_000, syncVector64: 148_000 };

/** Gymnasium 1.x's LunarLander-v3 (Box2D) on the same machine kind: one env, random actions. */
export const GYMNASIUM_LUNAR_LANDER = { single: 36_700 };

function rate(x: number | undefined): string {
  if (x === undefined) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k`;
  return x.toFixed(0);
}

/** A markdown table: one row per env and batch size. */
export function resultsTable(results: EnvBenchResult[]): string {
  const rows = new Map<string, { cpu?: EnvBenchResult; gpu?: EnvBenchResult }>();
  for (const r of results) {
    const key = `${r.env}\u0000${r.numEnvs}`;
    rows.set(key, { ...rows.get(key), [r.mode]: r });
  }
  const lines = [
    "| env | envs | CPU mode steps/s | GPU mode steps/s | GPU steps/dispatch | CPU, GPU mode vs Gymnasium |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [key, { cpu, gpu }] of rows) {
    const [env, n] = key.split("\u0000");
    // CartPole: like with like (1 env, or a batch with SyncVectorEnv of 64); LunarLander: against
    // Gymnasium's single env, the issue's yardstick.
    const reference = env === "CartPole-v1"
      ? (Number(n) === 1 ? GYMNASIUM_CARTPOLE.single : GYMNASIUM_CARTPOLE.syncVector64)
      : env === "LunarLander-v3"
      ? GYMNASIUM_LUNAR_LANDER.single
      : undefined;
    const times = (r?: EnvBenchResult) =>
      r && reference
        ? `${(r.stepsPerSecond / reference).toFixed(r.stepsPerSecond < 10 * reference ? 1 : 0)}x`
        : "-";
    const ratio = reference ? `${times(cpu)}, ${times(gpu)}` : "";
    lines.push(
      `| ${env} | ${n} | ${rate(cpu?.stepsPerSecond)} | ${rate(gpu?.stepsPerSecond)} | ${
        gpu?.stepsPerDispatch ?? "-"
      } | ${ratio} |`,
    );
  }
  lines.push(
    `| Gymnasium CartPole-v1 (Python) | 1 | ${rate(GYMNASIUM_CARTPOLE.single)} | | | 1x |`,
    `| Gymnasium CartPole-v1 SyncVectorEnv (Python) | 64 | ${
      rate(GYMNASIUM_CARTPOLE.syncVector64)
    } | | | 1x |`,
    `| Gymnasium LunarLander-v3 (Python, Box2D) | 1 | ${
      rate(GYMNASIUM_LUNAR_LANDER.single)
    } | | | 1x |`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "boolean" },
      seconds: { type: "string", default: "0.3" },
      repeats: { type: "string", default: "3" },
      sizes: { type: "string", default: "1,64,4096,65536" },
      env: { type: "string" },
      mode: { type: "string", default: "both" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  const seconds = Number(values.seconds);
  const repeats = Number(values.repeats);
  const envs = values.env ? [findEnv(values.env)] : ENVS;
  const gpu = values.mode === "cpu" ? null : await getGpu();
  const results: EnvBenchResult[] = [];
  try {
    for (const env of envs) {
      for (const n of sizes) {
        if (values.mode !== "gpu") results.push(benchCpu(env, n, seconds, repeats));
        if (gpu) results.push(await benchGpu(env, n, seconds, undefined, repeats));
        if (!values.json) {
          const last = results.filter((r) => r.env === env.id && r.numEnvs === n);
          console.error(
            `${env.id} ${n} envs: ${
              last.map((r) => `${r.mode} ${rate(r.stepsPerSecond)}`).join(", ")
            }`,
          );
        }
      }
    }
  } finally {
    await releaseGpu();
  }
  const machine = {
    cpus: navigator.hardwareConcurrency,
    adapter: gpu ? gpu.adapter : null,
    deno: Deno.version.deno,
  };
  if (values.json) {
    console.log(JSON.stringify({ machine, gymnasium: GYMNASIUM_CARTPOLE, results }, null, 2));
  } else {
    const adapter = gpu
      ? `${gpu.adapter.description}${gpu.adapter.isFallback ? " (software)" : ""}`
      : "none";
    console.log(`\n${machine.cpus} CPUs, WebGPU adapter: ${adapter}, Deno ${machine.deno}\n`);
    console.log(resultsTable(results));
  }
}

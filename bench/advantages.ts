/**
 * Advantage throughput: GAE followed by group normalization (group size 8),
 * TypeScript twin vs WGSL kernels, at N envs x T steps. The GPU figures time
 * `--calls` back-to-back GAE + normalization submissions ending in one wait
 * (the rollout's data already on the device, nothing read back), and the
 * latency of one call including its wait. Each figure is the fastest of
 * `--repeats` timings (the machine is shared; interference only slows).
 *
 * ```sh
 * deno run -A bench/advantages.ts [--sizes 8x128,64x256,4096x256] [--repeats 3] [--calls 20] [--json]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { gae, type GaeInput, type GaeOutput, normalizeGroups } from "../src/rl/advantages.ts";
import { GpuAdvantages } from "../src/gpu/advantages.ts";
import { getGpu, releaseGpu } from "../src/device.ts";

const GROUP_SIZE = 8;

/** One row of the table. */
export interface AdvantageBenchResult {
  numEnvs: number;
  steps: number;
  /** Samples (T x N) per second through GAE + group normalization. */
  tsSamplesPerSecond: number;
  gpuSamplesPerSecond?: number;
  /** Milliseconds of one GPU call including the wait for it. */
  gpuLatencyMs?: number;
}

function rollout(T: number, N: number): GaeInput & { done: Uint32Array } {
  let s = 1;
  const rand = () => ((s = Math.imul(s, 1664525) + 1013904223 >>> 0) / 4294967296);
  const n = T * N;
  const terminated = new Uint8Array(n), truncated = new Uint8Array(n), done = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    terminated[k] = rand() < 0.02 ? 1 : 0;
    truncated[k] = rand() < 0.005 ? 1 : 0;
    done[k] = terminated[k] | (truncated[k] << 1);
  }
  const f = (len: number) => Float32Array.from({ length: len }, rand);
  return {
    steps: T,
    numEnvs: N,
    rewards: f(n),
    values: f(n),
    terminated,
    truncated,
    done,
    finalValues: f(n),
    lastValues: f(N),
  };
}

function fastest(repeats: number, run: () => number): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) best = Math.min(best, run());
  return best;
}

async function fastestAsync(repeats: number, run: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) best = Math.min(best, await run());
  return best;
}

/** Times the TypeScript twin: seconds per GAE + normalization. */
function benchTs(r: GaeInput, repeats: number): number {
  const n = r.steps * r.numEnvs;
  const out: GaeOutput = { advantages: new Float32Array(n), returns: new Float32Array(n) };
  const calls = Math.max(1, Math.ceil(2e6 / n));
  return fastest(repeats, () => {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) {
      gae(r, 0.99, 0.95, out);
      normalizeGroups(out.advantages, GROUP_SIZE);
    }
    return (performance.now() - t0) / 1000 / calls;
  });
}

/** Times the WGSL kernels: seconds per call pipelined, and one call's latency. */
async function benchGpu(
  device: GPUDevice,
  r: GaeInput & { done: Uint32Array },
  repeats: number,
  calls: number,
): Promise<{ perCall: number; latency: number }> {
  const runner = await GpuAdvantages.create(device);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const make = (data: Float32Array | Uint32Array) => {
    const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage });
    device.queue.writeBuffer(b, 0, data as Uint32Array<ArrayBuffer>);
    return b;
  };
  const n = r.steps * r.numEnvs;
  const b = {
    rewards: make(r.rewards),
    values: make(r.values),
    done: make(r.done),
    finalValues: make(r.finalValues),
    lastValues: make(r.lastValues),
    advantages: make(new Float32Array(n)),
    returns: make(new Float32Array(n)),
  };
  const once = () => {
    runner.gae(b, r.steps, r.numEnvs, 0.99, 0.95);
    runner.normalizeGroups(b.advantages, n, GROUP_SIZE);
  };
  once();
  await device.queue.onSubmittedWorkDone();
  const perCall = await fastestAsync(repeats, async () => {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) once();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000 / calls;
  });
  const latency = await fastestAsync(repeats, async () => {
    const t0 = performance.now();
    once();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000;
  });
  Object.values(b).forEach((x) => x.destroy());
  runner.destroy();
  return { perCall, latency };
}

function rate(x: number | undefined): string {
  if (x === undefined) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k`;
  return x.toFixed(0);
}

/** A markdown table of the results. */
export function resultsTable(results: AdvantageBenchResult[], adapter: string): string {
  const lines = [
    `| envs x steps | TS samples/s | WGSL samples/s (${adapter}) | WGSL one call + wait |`,
    "| ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.numEnvs}x${r.steps} | ${rate(r.tsSamplesPerSecond)} | ${
        rate(r.gpuSamplesPerSecond)
      } | ${r.gpuLatencyMs === undefined ? "-" : `${r.gpuLatencyMs.toFixed(2)} ms`} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: "8x128,64x256,4096x256" },
      repeats: { type: "string", default: "3" },
      calls: { type: "string", default: "20" },
      json: { type: "boolean", default: false },
    },
  });
  const repeats = Number(values.repeats), calls = Number(values.calls);
  const gpu = await getGpu();
  const results: AdvantageBenchResult[] = [];
  for (const size of values.sizes.split(",")) {
    const [N, T] = size.split("x").map(Number);
    const r = rollout(T, N);
    const ts = benchTs(r, repeats);
    const row: AdvantageBenchResult = { numEnvs: N, steps: T, tsSamplesPerSecond: (T * N) / ts };
    if (gpu) {
      const g = await benchGpu(gpu.device, r, repeats, calls);
      row.gpuSamplesPerSecond = (T * N) / g.perCall;
      row.gpuLatencyMs = g.latency * 1000;
    }
    results.push(row);
  }
  const adapter = gpu?.adapter.description ?? "no adapter";
  console.log(values.json ? JSON.stringify({ adapter, results }) : resultsTable(results, adapter));
  await releaseGpu();
}

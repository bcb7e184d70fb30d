/**
 * `grpo bench envs`: env steps/s for every env, CPU and GPU mode, at 1, 64,
 * 4096 and 65536 envs.
 *
 * @module
 */
import { ENVS } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { getGpu } from "../device.ts";
import { benchCpu, benchGpu, type EnvBenchResult } from "../play/env_bench.ts";
import { resolveEnv } from "../../envs/registry.ts";
import { type Command, defineCommand } from "./command.ts";
import { formatRange, inRange } from "../range.ts";
import { NUM_ENVS_RANGE } from "./limits.ts";
import { formatRate } from "./progress.ts";

/** `grpo bench`. */
export const benchCommand: Command = defineCommand({
  name: "bench",
  summary: "measure env steps/s in CPU and GPU mode (grpo bench envs)",
  usage:
    "grpo bench envs [--env NAME] [--sizes 1,64,4096,65536] [--mode cpu|gpu|both] [--repeats 3] [--steps-per-dispatch N] [--json]",
  flags: {
    env: { type: "string", help: "one env instead of all" },
    sizes: { type: "string", default: "1,64,4096,65536", help: "numbers of envs" },
    mode: {
      type: "string",
      default: "both",
      choices: ["cpu", "gpu", "both"],
      help: "which modes to measure",
    },
    seconds: {
      type: "number",
      default: 0.5,
      range: { min: 0, max: 3600, minOpen: true },
      help: "time per repeat",
    },
    repeats: {
      type: "integer",
      default: 3,
      range: { min: 1, max: 1000 },
      help: "timed repeats per measurement; the fastest is reported (the CPU may be shared)",
    },
    "steps-per-dispatch": {
      type: "integer",
      range: { min: 1, max: 10000 },
      help:
        "GPU mode: env steps looped inside one dispatch (default: enough for ~1M env steps, 100 to 10000; a software adapter caps it at the env's own limit)",
    },
    json: { type: "boolean", help: "print JSON" },
  },
  maxPositionals: 1,
  async run({ values, positionals }) {
    if (positionals[0] !== "envs") {
      throw new InputError(
        `grpo bench: unknown target "${positionals[0] ?? ""}"; use grpo bench envs`,
      );
    }
    const sizes = String(values.sizes).split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || !inRange(n, NUM_ENVS_RANGE))) {
      throw new InputError(
        `grpo bench: --sizes must be integers in ${
          formatRange(NUM_ENVS_RANGE)
        } separated by commas, got "${values.sizes}"`,
      );
    }
    if (values.repeats < 1) {
      throw new InputError(`grpo bench: --repeats must be at least 1, got ${values.repeats}`);
    }
    const envs = values.env ? [await resolveEnv(values.env)] : ENVS;
    const gpu = values.mode === "cpu" ? null : await getGpu();
    if (values.mode === "gpu" && !gpu) {
      throw new InputError("grpo bench: no WebGPU adapter; use --mode cpu");
    }
    const seconds = values.seconds;
    const results: EnvBenchResult[] = [];
    const report = (r: EnvBenchResult) => {
      results.push(r);
      if (!values.json) {
        console.log(
          `${r.env.padEnd(16)} ${r.mode}  ${String(r.numEnvs).padStart(6)} envs  ${
            formatRate(r.stepsPerSecond).padStart(7)
          } steps/s${r.stepsPerDispatch ? `  (${r.stepsPerDispatch} steps/dispatch)` : ""}`,
        );
      }
    };
    if (!values.json && gpu) {
      console.log(
        `GPU adapter: ${gpu.adapter.description}${gpu.adapter.isFallback ? " (software)" : ""}`,
      );
    }
    for (const env of envs) {
      for (const n of sizes) {
        const repeats = values.repeats;
        if (values.mode !== "gpu") report(benchCpu(env, n, seconds, repeats));
        if (gpu) report(await benchGpu(env, n, seconds, values["steps-per-dispatch"], repeats));
      }
    }
    if (values.json) {
      console.log(
        JSON.stringify(
          { adapter: gpu?.adapter ?? null, cpu: navigator.hardwareConcurrency, results },
          null,
          2,
        ),
      );
    }
  },
});

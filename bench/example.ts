/**
 * One end-to-end run of the spec's pipeline (stage 1, GRPO, deterministic
 * evaluation), measured: wall time of each stage, env steps, steps to a
 * return threshold and the final evaluation. Used by `bench/cartpole.ts` and
 * `bench/advantage_modes.ts`.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { main } from "../src/cli/main.ts";
import { initBackend } from "../src/model/backend.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { evaluatePolicy, meanStd } from "../src/play/evaluate.ts";
import { resolveEnv } from "../envs/registry.ts";

/** What a run is asked to do. */
export interface ExampleOptions {
  env: string;
  /** Extra `grpo train` flags (iterations, envs, advantage mode, seed...). */
  trainFlags: string[];
  /** Deterministic evaluation episodes. */
  evalEpisodes: number;
  /** Mean training reward that counts as solved, for "env steps to threshold". */
  threshold: number;
  /** Where the run writes. */
  dir: string;
  /** Run stage 1 first at these sizes (default: `grpo train`'s own stage 1, the spec's CartPole sizes). */
  stage1?: { episodes: number; epochs: number };
}

/** What a run measured. */
export interface ExampleResult {
  env: string;
  trainFlags: string[];
  wallSeconds: number;
  envSteps: number;
  /** Env steps of the first iteration whose mean reward reached the threshold (null: never). */
  stepsToThreshold: number | null;
  finalMeanReward: number;
  evalMean: number;
  evalStd: number;
  /** Share of evaluation episodes whose return reached the threshold. */
  evalAtThreshold: number;
  evalEpisodes: number;
  checkpoint: string;
  /** The same evaluation of best.safetensors (the best periodic evaluation), when there is one. */
  best?: { evalMean: number; evalStd: number; evalAtThreshold: number; checkpoint: string };
}

/** Runs `grpo train` then evaluates its last (and best) checkpoint deterministically. */
export async function runExample(o: ExampleOptions): Promise<ExampleResult> {
  const started = performance.now();
  const out = join(o.dir, "checkpoints"), logs = join(o.dir, "logs");
  const stage1Flags: string[] = [];
  if (o.stage1) {
    // Stage 1 runs on the same device and seed as stage 2.
    const shared = ["--device", "--seed"].flatMap((flag) => {
      const at = o.trainFlags.indexOf(flag);
      return at < 0 ? [] : [flag, o.trainFlags[at + 1]];
    });
    const sizes = ["--num-episodes", `${o.stage1.episodes}`, "--num-epochs", `${o.stage1.epochs}`];
    const code = await main(["pretrain", "--env", o.env, "--out", out, ...sizes, ...shared]);
    if (code !== 0) throw new Error(`grpo pretrain exited with ${code}`);
    const run = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.startsWith("gym_"))
      .sort().at(-1)!;
    stage1Flags.push("--checkpoint", join(out, run, "best_model.safetensors"));
  }
  const code = await main([
    "train",
    "--env",
    o.env,
    "--out",
    out,
    "--log-dir",
    logs,
    ...stage1Flags,
    ...o.trainFlags,
  ]);
  if (code !== 0) throw new Error(`grpo train exited with ${code}`);
  const wallSeconds = (performance.now() - started) / 1000;
  const runDir = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.startsWith("grpo_"))
    .sort().at(-1)!;
  const logDir = [...Deno.readDirSync(logs)].map((e) => e.name).sort().at(-1)!;
  const rows = Deno.readTextFileSync(join(logs, logDir, "metrics.jsonl")).trim().split("\n").map((
    l,
  ) => JSON.parse(l));
  const solved = rows.find((r) => (r.mean_reward ?? -Infinity) >= o.threshold);
  const env = await resolveEnv(o.env);
  await initBackend("cpu");
  // Evaluation seeds differ from the periodic evaluations' that picked best.safetensors.
  const evaluate = async (checkpoint: string) => {
    const { policy, info } = await loadCheckpoint(checkpoint, env);
    const { returns } = await evaluatePolicy(env, policy, {
      numEpisodes: o.evalEpisodes,
      deterministic: true,
      targetReturn: info.targetReturn,
      seed: 12345,
      mode: "cpu",
    });
    policy.dispose();
    const { mean, std } = meanStd(returns);
    const reached = returns.filter((r) => r >= o.threshold).length / returns.length;
    return { evalMean: mean, evalStd: std, evalAtThreshold: reached, checkpoint };
  };
  const last = await evaluate(join(out, runDir, "last.safetensors"));
  const bestPath = join(out, runDir, "best.safetensors");
  const best = existsSync(bestPath) ? await evaluate(bestPath) : undefined;
  return {
    env: env.id,
    trainFlags: o.trainFlags,
    wallSeconds,
    envSteps: rows.at(-1).step,
    stepsToThreshold: solved ? solved.step : null,
    finalMeanReward: rows.at(-1).mean_reward,
    evalMean: last.evalMean,
    evalStd: last.evalStd,
    evalAtThreshold: last.evalAtThreshold,
    evalEpisodes: o.evalEpisodes,
    checkpoint: last.checkpoint,
    best,
  };
}

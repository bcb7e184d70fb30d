/**
 * `grpo pretrain`: stage 1 (docs/spec.md's `run_gym_pipeline_optimized.py`).
 * Collects random-policy episodes (or reads `--dataset`), trains a Decision
 * Transformer by behaviour cloning and writes
 * `<out>/gym_<env>_<timestamp>/{best_model,last}.safetensors`, the dataset
 * and `metrics.jsonl` there.
 *
 * @module
 */
import { join } from "node:path";
import { GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";
import { EVAL_EPISODES, isBuiltinEnv } from "../../envs/registry.ts";
import { isExternalEnv } from "../rl/vec_env.ts";
import { InputError } from "../errors.ts";
import { resolveMode } from "../device.ts";
import { saveCheckpoint } from "../model/checkpoint.ts";
import { MetricsLog } from "../io/metrics.ts";
import { initBackend } from "../model/backend.ts";
import {
  type BehaviourCloningConfig,
  DEFAULT_BC_CONFIG,
  trainBehaviourCloning,
} from "../rl/behaviour_cloning.ts";
import { episodeReturns, loadDataset, saveDataset } from "../rl/dataset.ts";
import { collectRandomEpisodes } from "../play/collect_dataset.ts";
import { evaluatePolicy, meanStd } from "../play/evaluate.ts";
import { DEVICE_FLAG, deviceChoice, type FlagSpec, type FlagValues } from "./args.ts";
import {
  EPISODES_RANGE,
  ITERATIONS_RANGE,
  LR_RANGE,
  memoryBudget,
  pretrainBytes,
  refuseIfTooBig,
  RETURN_RANGE,
  SEED_RANGE,
} from "./limits.ts";
import { MODEL_LIMITS } from "../model/checkpoint.ts";
import { type Command, defineCommand } from "./command.ts";
import { formatDuration, ProgressLine, runTimestamp } from "./progress.ts";
import { maxOf } from "../range.ts";
import { StopSignal } from "./interrupt.ts";

/**
 * `--quick-test` caps: the whole stage in seconds, giving a model that beats
 * random play. Batches of 16 without dropout, because a short run on little
 * data needs many small steps to leave the uniform policy (docs/results.md,
 * round 9); 12 epochs on every episode, best_model the epoch of lowest loss
 * on them: a 10% validation split of 200 episodes is too noisy to pick by
 * (its minimum came at epoch 1 on seed 0), and with it 8 epochs beat random
 * play at the dataset's best return on 3 seeds of 8, these on 8 of 8
 * (docs/results.md, "Stage 1").
 */
export const QUICK_TEST = {
  numEpisodes: 200,
  numEpochs: 12,
  batchSize: 16,
  dropout: 0,
  valFraction: 0,
} as const;

/**
 * The env starts of the evaluations that pick `best_model`: a stream of their
 * own (offset by `--seed`), so `grpo eval`'s default starts (seed 0) score the
 * picked model on episodes the choice never saw (`grpo eval --seed 1000000`
 * replays the choice's episodes of a run with `--seed 0`).
 */
export const SELECTION_SEED = 1_000_000;

const d = DEFAULT_BC_CONFIG;

/** `grpo pretrain`'s flags. */
const flags = {
  env: {
    type: "string",
    default: "cartpole",
    help: "environment: alias, Gymnasium id or module path",
  },
  ...GYM_FLAGS,
  "num-episodes": {
    type: "integer",
    default: 1000,
    range: EPISODES_RANGE,
    help: "random-policy episodes to collect",
  },
  "num-epochs": {
    type: "integer",
    default: d.numEpochs,
    range: ITERATIONS_RANGE,
    help: "passes over the training steps",
  },
  "quick-test": {
    type: "boolean",
    help:
      `at most ${QUICK_TEST.numEpisodes} episodes, ${QUICK_TEST.numEpochs} epochs and batches of ${QUICK_TEST.batchSize}, no dropout, no validation split`,
  },
  dataset: { type: "string", help: "train on this dataset.safetensors instead of collecting" },
  out: { type: "string", default: "checkpoints", help: "parent directory of the run directory" },
  seed: {
    type: "integer",
    default: d.seed,
    range: SEED_RANGE,
    help: "seed of collection, split, init and batches",
  },
  device: DEVICE_FLAG,
  "batch-size": {
    type: "integer",
    default: d.batchSize,
    range: { min: 1, max: 65536 },
    help: "segments per batch",
  },
  lr: {
    type: "number",
    default: d.learningRate,
    range: LR_RANGE,
    help: "peak Adam learning rate",
  },
  "embed-dim": {
    type: "integer",
    default: d.embedDim,
    range: MODEL_LIMITS.embedDim,
    help: "transformer width",
  },
  "n-layer": {
    type: "integer",
    default: d.nLayer,
    range: MODEL_LIMITS.nLayer,
    help: "transformer blocks",
  },
  "n-head": {
    type: "integer",
    default: d.nHead,
    range: MODEL_LIMITS.nHead,
    help: "attention heads",
  },
  "context-length": {
    type: "integer",
    default: d.contextLength,
    range: MODEL_LIMITS.contextLength,
    help: "K, timesteps of context",
  },
  dropout: {
    type: "number",
    default: d.dropout,
    range: MODEL_LIMITS.dropout,
    help: "dropout rate while training",
  },
  "eval-episodes": {
    type: "integer",
    range: EVAL_EPISODES,
    help:
      "after each epoch play this many deterministic episodes at --eval-target-return, and keep as best_model the epoch that scores highest, the later on a tie (0: the epoch of lowest validation loss; default: the env preset's, LunarLander 20, else 0)",
  },
  "eval-target-return": {
    type: "number",
    range: RETURN_RANGE,
    help:
      "return-to-go those episodes are conditioned on (default: the env preset's stage-2 target, else the data's best return)",
  },
  "val-fraction": {
    type: "number",
    default: d.valFraction,
    range: { min: 0, max: 1, maxOpen: true },
    help: "episodes held out for validation",
  },
} satisfies Record<string, FlagSpec>;

/** `grpo pretrain`'s parsed flag values. */
export type PretrainValues = FlagValues<typeof flags>;

/** `grpo pretrain`. */
export const pretrainCommand: Command = defineCommand({
  name: "pretrain",
  summary: "stage 1: collect random episodes and train a Decision Transformer by behaviour cloning",
  usage:
    "grpo pretrain --env cartpole [--num-episodes 1000] [--num-epochs 50] [--quick-test] [--dataset FILE] [--out DIR] [--seed N] [--device auto|gpu|cpu]",
  flags,
  async run({ values }) {
    return (await pretrain(values)).exitCode;
  },
});

/**
 * Runs stage 1 with `pretrain`'s flag values; returns the path of the best
 * model and the exit code (130 or 143 when Ctrl-C or SIGTERM stopped it: then
 * last.safetensors holds the weights after the last whole batch).
 */
export async function pretrain(
  v: PretrainValues,
): Promise<{ bestPath: string; exitCode: number }> {
  const started = performance.now();
  const env = await resolveEnvFlag(v, v.env);
  const quick = v["quick-test"] === true;
  const numEpisodes = quick
    ? Math.min(v["num-episodes"], QUICK_TEST.numEpisodes)
    : v["num-episodes"];
  const config: BehaviourCloningConfig = {
    ...DEFAULT_BC_CONFIG,
    numEpochs: quick ? Math.min(v["num-epochs"], QUICK_TEST.numEpochs) : v["num-epochs"],
    batchSize: quick ? Math.min(v["batch-size"], QUICK_TEST.batchSize) : v["batch-size"],
    learningRate: v.lr,
    seed: v.seed,
    embedDim: v["embed-dim"],
    nLayer: v["n-layer"],
    nHead: v["n-head"],
    contextLength: v["context-length"],
    dropout: quick ? QUICK_TEST.dropout : v.dropout,
    valFraction: quick ? QUICK_TEST.valFraction : v["val-fraction"],
  };
  checkConfig(config, numEpisodes);
  const mode = await resolveMode(deviceChoice(v), "networks");
  refuseIfTooBig(
    "grpo pretrain: this model and batch",
    pretrainBytes(config, env.maxEpisodeSteps),
    memoryBudget(mode === "cpu"),
    "lower --batch-size, --context-length, --embed-dim or --n-layer",
  );
  await initBackend(mode);

  const runDir = join(v.out, `gym_${env.alias}_${runTimestamp()}`);
  const trainingArgs = { ...v, num_episodes: numEpisodes, num_epochs: config.numEpochs, mode };

  // ---- data
  // Bad input fails here, before anything is written.
  let ds;
  if (v.dataset) {
    ds = await loadDataset(v.dataset, env);
    await Deno.mkdir(runDir, { recursive: true });
    console.log(`dataset ${v.dataset}: ${ds.rewards.length} steps`);
  } else {
    const t0 = performance.now();
    ds = await collectRandomEpisodes(env, numEpisodes, config.seed, mode);
    const path = join(runDir, "dataset.safetensors");
    await saveDataset(path, ds, { policy: "random", seed: String(config.seed) });
    const returns = episodeReturns(ds);
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    console.log(
      `collected ${numEpisodes} random episodes (${ds.rewards.length} steps, mean return ${
        mean.toFixed(1)
      }, max ${maxOf(returns).toFixed(1)}) in ${
        formatDuration((performance.now() - t0) / 1000)
      } -> ${path}`,
    );
  }

  // ---- train, saving best_model on each new best epoch
  // The best epoch has the lowest validation loss, or with `--eval-episodes` (LunarLander's preset
  // sets it) plays best at the return stage 2 will ask for (as SB3's EvalCallback picks its
  // best_model), on starts of its own. On random-policy data that model plays far better at such a
  // return and stage 2 learns sooner from it: LunarLander ended >= 250 on three seeds of three
  // (two by loss). Not CartPole's default: its spec example then ended below 500 on four seeds of
  // five (476.3-499.3), by loss on one (499.9; docs/results.md, "Stage 1"). The quick test plays
  // none unless asked. metrics.jsonl and a TensorBoard event file get one row per epoch.
  const evalEpisodes = v["eval-episodes"] ?? (quick ? 0 : env.preset?.pretrainEvalEpisodes ?? 0);
  const log = await MetricsLog.open(runDir);
  const stopper = StopSignal.listen((signal) =>
    console.log(
      `\n${signal}: stopping after this batch and saving last.safetensors (a second signal quits at once)`,
    )
  );
  const progress = new ProgressLine();
  const bestPath = join(runDir, "best_model.safetensors");
  let targetReturn = 0, selectionTarget = 0;
  let best = { epoch: 0, evalReturn: -Infinity };
  const trainStart = performance.now();
  const save = (path: string, policy: Parameters<typeof saveCheckpoint>[1]["policy"]) =>
    saveCheckpoint(path, {
      envId: env.id,
      userEnv: !isBuiltinEnv(env) && !isExternalEnv(env),
      policy,
      targetReturn,
      trainingArgs,
      stage: "pretrain",
    });
  /** `evalEpisodes` deterministic episodes of `policy` at the selection's target, as metrics named as stage 2's. */
  const playEpoch = async (policy: Parameters<typeof evaluatePolicy>[1]) => {
    const t0 = performance.now();
    const { returns } = await evaluatePolicy(env, policy, {
      numEpisodes: evalEpisodes,
      deterministic: true,
      targetReturn: selectionTarget,
      seed: (SELECTION_SEED + config.seed) % 2 ** 32,
      // On the TypeScript envs, as stage 2's evaluations: GPU-mode envs would read back every step.
      mode: "cpu",
    });
    const { mean, std } = meanStd(returns);
    return {
      eval_return: mean,
      eval_return_std: std,
      eval_seconds: (performance.now() - t0) / 1000,
    };
  };
  try {
    const result = await trainBehaviourCloning(env, ds, config, {
      shouldStop: () => stopper.poll(),
      onStart(info) {
        targetReturn = info.targetReturn;
        selectionTarget = v["eval-target-return"] ?? env.preset?.targetReturn ?? targetReturn;
        const choice = evalEpisodes > 0
          ? `${evalEpisodes} episodes at return ${+selectionTarget.toFixed(2)} an epoch`
          : "the lowest validation loss";
        console.log(
          `training on ${info.trainEpisodes} episodes, validating on ${info.valEpisodes}; ${info.parameters} parameters; target return ${+targetReturn
            .toFixed(2)}; best_model by ${choice}`,
        );
      },
      onStep(epoch, batch, batches) {
        progress.update(`epoch ${epoch}/${config.numEpochs}  batch ${batch}/${batches}`);
      },
      async onEpoch(m, policy, lowestValLoss) {
        const played = evalEpisodes > 0 ? await playEpoch(policy) : undefined;
        // Ties go to the later epoch, as `grpo train`'s best.safetensors.
        const improved = played ? played.eval_return >= best.evalReturn : lowestValLoss;
        if (improved) best = { epoch: m.epoch, evalReturn: played?.eval_return ?? NaN };
        await log.write(m.epoch, m.step, { ...m, ...played });
        if (improved) await save(bestPath, policy);
        const elapsed = (performance.now() - trainStart) / 1000;
        const eta = (elapsed / m.epoch) * (config.numEpochs - m.epoch);
        const score = played
          ? `val ${m.val_loss.toFixed(4)}  eval ${played.eval_return.toFixed(1)}`
          : `val ${m.val_loss.toFixed(4)}`;
        progress.update(
          `epoch ${m.epoch}/${config.numEpochs}  train ${m.train_loss.toFixed(4)}  ${score}${
            improved ? "*" : " "
          }  acc ${(100 * m.val_accuracy).toFixed(1)}%  ${m.epoch_seconds.toFixed(1)}s/epoch  ETA ${
            formatDuration(eta)
          }`,
          true,
        );
      },
    });
    const lastPath = join(runDir, "last.safetensors");
    await save(lastPath, result.policy);
    progress.done();
    if (result.stopped) {
      const epochs = result.history.length;
      console.log(
        `stopped after ${epochs} whole epoch(s); ${lastPath} holds the weights after the last batch${
          epochs > 0 ? `, ${bestPath} the best epoch (${best.epoch})` : ""
        }`,
      );
      result.policy.dispose();
      return { bestPath, exitCode: stopper.exitCode };
    }
    const at = +selectionTarget.toFixed(2);
    const chosenBy = evalEpisodes > 0
      ? `its ${evalEpisodes} deterministic episodes at return ${at} scored ${
        best.evalReturn.toFixed(1)
      }`
      : `the lowest validation loss, ${result.bestValLoss.toFixed(4)}`;
    console.log(
      `best epoch ${best.epoch} (${chosenBy}); target return ${+targetReturn.toFixed(2)}; ${
        formatDuration((performance.now() - started) / 1000)
      } in all`,
    );
    console.log(`best model: ${bestPath}`);
    result.policy.dispose();
  } finally {
    stopper.close();
    await log.close();
  }
  return { bestPath, exitCode: 0 };
}

function checkConfig(c: BehaviourCloningConfig, numEpisodes: number): void {
  const positive: [string, number][] = [
    ["num-episodes", numEpisodes],
    ["num-epochs", c.numEpochs],
    ["batch-size", c.batchSize],
    ["embed-dim", c.embedDim],
    ["n-layer", c.nLayer],
    ["n-head", c.nHead],
    ["context-length", c.contextLength],
  ];
  for (const [name, x] of positive) {
    if (!(x > 0)) throw new InputError(`grpo pretrain: --${name} must be positive, got ${x}`);
  }
  if (c.embedDim % c.nHead !== 0) {
    throw new InputError(
      `grpo pretrain: --n-head (${c.nHead}) must divide --embed-dim (${c.embedDim})`,
    );
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new InputError(`grpo pretrain: --dropout must be in [0, 1), got ${c.dropout}`);
  }
  if (!(c.valFraction >= 0 && c.valFraction < 1)) {
    throw new InputError(`grpo pretrain: --val-fraction must be in [0, 1), got ${c.valFraction}`);
  }
  if (!(c.learningRate > 0)) throw new InputError(`grpo pretrain: --lr must be positive`);
}

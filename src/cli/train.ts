/**
 * `grpo train`: stage 2 (docs/spec.md's `run_grpo.py`). Without `--checkpoint`
 * it runs stage 1 first, so `grpo train --env cartpole` alone gives a
 * trained agent.
 *
 * Writes `logs/grpo_<env>_<timestamp>/` (TensorBoard event file and
 * `metrics.jsonl`) and `checkpoints/grpo_<env>_<timestamp>/`
 * (`iteration_N.safetensors` every `--save-every` iterations, `best.safetensors`
 * by the periodic evaluation's return, or by mean training reward without
 * evaluations, and `last.safetensors`), each with the optimizer state.
 *
 * `--resume CKPT` continues a run exactly: it takes the flags of CKPT's run
 * (a flag given now wins, and the run says which differ), writes checkpoints
 * beside CKPT (or in `--out`/<its directory's name>) and logs to
 * `--log-dir`/<its directory's name>, after cutting metrics.jsonl and the
 * TensorBoard events back to CKPT's iteration and removing the temporary
 * files a killed run left. Nothing read from a checkpoint picks a path to
 * write or a module to import.
 *
 * Ctrl-C or SIGTERM stops before the next update minibatch: the iteration in
 * progress is undone, `last.safetensors` holds the last completed iteration
 * (resuming from it gives the same run as no interruption) and the exit code
 * is 130 (SIGTERM: 143). A second signal quits at once.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import type { Env } from "../../envs/env.ts";
import { envFlagOf, GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";
import { isBuiltinEnv, quoteName } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { resolveMode } from "../device.ts";
import { initBackend } from "../model/backend.ts";
import { checkpointInfo, loadCheckpoint } from "../model/checkpoint.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { removeStaleTempFiles } from "../io/atomic.ts";
import { createCollector } from "../gpu/rollout_collector.ts";
import { ValueNetwork } from "../model/value_network.ts";
import { evaluatePolicy } from "../play/evaluate.ts";
import { MetricsLog, truncateLog } from "../io/metrics.ts";
import { type IterationMetrics, newGrpoState, NonFiniteError, trainGrpo } from "../rl/grpo.ts";
import { type GrpoConfig, presetFor, SPEC_DEFAULTS } from "../rl/grpo_config.ts";
import {
  IterationSnapshot,
  restoreTrainingState,
  saveTrainingCheckpoint,
} from "../rl/grpo_checkpoint.ts";
import {
  choiceOf,
  DEVICE_FLAG,
  deviceChoice,
  type FlagSpec,
  type FlagValues,
  type ParsedArgs,
} from "./args.ts";
import type { Range } from "../range.ts";
import {
  ITERATIONS_RANGE,
  LR_RANGE,
  memoryBudget,
  NUM_ENVS_RANGE,
  refuseIfTooBig,
  RETURN_RANGE,
  SEED_RANGE,
  trainBytes,
} from "./limits.ts";
import type { DecisionTransformerConfig } from "../model/decision_transformer.ts";
import { type Command, defineCommand } from "./command.ts";
import { pretrain, pretrainCommand } from "./pretrain.ts";
import { formatDuration, ProgressLine, runTimestamp } from "./progress.ts";
import { StopSignal } from "./interrupt.ts";

/** `--quick-test`: a smoke test of both stages in about a minute. */
export const TRAIN_QUICK_TEST = { numIterations: 10 } as const;

/** Flag name -> config key, for every numeric hyperparameter of the spec, with its range. */
const NUMERIC: [
  flag: string,
  key: keyof GrpoConfig,
  help: string,
  range: Range,
  integer?: boolean,
][] = [
  ["num-iterations", "numIterations", "training iterations", ITERATIONS_RANGE, true],
  ["gamma", "gamma", "discount factor", { min: 0, max: 1, minOpen: true }],
  ["gae-lambda", "gaeLambda", "GAE lambda", { min: 0, max: 1 }],
  ["clip-epsilon", "clipEpsilon", "PPO clipping of the probability ratio", {
    min: 0,
    max: 1,
    minOpen: true,
    maxOpen: true,
  }],
  ["entropy-coef", "entropyCoef", "entropy bonus coefficient", { min: 0, max: 10 }],
  ["value-coef", "valueCoef", "value loss coefficient", { min: 0, max: 1000 }],
  ["value-clip", "valueClip", "clip the value loss around the rollout's values (0: off)", {
    min: 0,
    max: 1e9,
  }],
  ["group-size", "groupSize", "group size for advantage normalization", NUM_ENVS_RANGE, true],
  ["num-envs", "numEnvs", "parallel environments", NUM_ENVS_RANGE, true],
  ["rollout-steps", "rolloutSteps", "steps per rollout, per environment", {
    min: 1,
    max: 1_000_000,
  }, true],
  ["num-epochs", "numEpochs", "epochs per iteration", { min: 1, max: 1000 }, true],
  ["batch-size", "batchSize", "minibatch size (samples)", { min: 1, max: 1 << 24 }, true],
  ["policy-lr", "policyLr", "policy learning rate", LR_RANGE],
  ["value-lr", "valueLr", "value network learning rate", LR_RANGE],
  ["value-embed-dim", "valueEmbedDim", "width of a new value network's first layer", {
    min: 1,
    max: 1 << 16,
  }, true],
  ["value-hidden-dim", "valueHiddenDim", "width of a new value network's second layer", {
    min: 1,
    max: 1 << 16,
  }, true],
  [
    "max-grad-norm",
    "maxGradNorm",
    "global gradient-norm clipping (0.3 if gradients explode)",
    { min: 0, max: 1e9, minOpen: true },
  ],
  ["target-return", "targetReturn", "return-to-go the policy is conditioned on", RETURN_RANGE],
  ["kl-coef", "klCoef", "outcome mode: k3 KL penalty to the stage-1 policy", { min: 0, max: 100 }],
  [
    "save-every",
    "saveEvery",
    "save iteration_N.safetensors every N iterations",
    ITERATIONS_RANGE,
    true,
  ],
  ["seed", "seed", "seed of envs, sampling and minibatches", SEED_RANGE, true],
];

/**
 * Defaults of the flags that have one. They are applied after parsing, not by
 * the parser, so that `--resume` can tell a flag given now from one left out
 * (which the checkpoint's run then decides).
 */
const DEFAULTS = {
  env: "cartpole",
  "eval-every": 10,
  "eval-episodes": 10,
  out: "checkpoints",
  "log-dir": "logs",
  device: "auto",
} as const;

/**
 * Flags naming files to read, directories to write or a program to run (and
 * that program's env arguments): never stored in a checkpoint, never restored.
 */
const LOCATIONS: ReadonlySet<string> = new Set([
  "resume",
  "checkpoint",
  "out",
  "log-dir",
  "python",
  "gym-kwargs",
]);

const flags = {
  checkpoint: { type: "string", help: "stage-1 checkpoint (default: run stage 1 first)" },
  env: {
    type: "string",
    help:
      `environment: alias, Gymnasium id or module path (default ${DEFAULTS.env}; on --resume the checkpoint's)`,
  },
  resume: {
    type: "string",
    help:
      "continue a stage-2 checkpoint at its iteration, with its run's flags (flags given now win)",
  },
  ...GYM_FLAGS,
  ...Object.fromEntries(NUMERIC.map(([flag, key, help, range, integer]) => [flag, {
    type: integer ? "integer" : "number",
    range,
    help: `${help} (spec default ${SPEC_DEFAULTS[key]}; an env preset may change it)`,
  } as FlagSpec])),
  advantage: {
    type: "string",
    choices: ["gae-group", "gae-global", "outcome"] as const,
    aliases: { grpo: "outcome" },
    help:
      "gae-group: the spec's GRPO; gae-global: plain PPO; outcome: DeepSeekMath's outcome advantages, whole episodes with a KL penalty to stage 1 (`grpo` is its old name) (default gae-group)",
  },
  "clip-schedule": {
    type: "string",
    choices: ["constant", "linear"] as const,
    help: "linear: clip epsilon decays 0.2 -> 0.05 over the run (default constant)",
  },
  prioritized: { type: "boolean", help: "draw minibatches by |advantage|, importance-weighted" },
  "eval-every": {
    type: "integer",
    range: { min: 0, max: ITERATIONS_RANGE.max },
    help:
      `deterministic evaluation every N iterations (0: never); best.safetensors is the best one (default ${
        DEFAULTS["eval-every"]
      })`,
  },
  "eval-episodes": {
    type: "integer",
    range: { min: 1, max: 10_000 },
    help: `episodes per evaluation (default ${DEFAULTS["eval-episodes"]})`,
  },
  "stop-at-eval": {
    type: "number",
    range: RETURN_RANGE,
    help:
      "stop once a deterministic evaluation's mean return reaches R, as Stable-Baselines3's StopTrainingOnRewardThreshold (needs --eval-every > 0; default: run every iteration)",
  },
  "anneal-lr": {
    type: "string",
    choices: ["on", "off"],
    help:
      "decay both learning rates linearly to 0 over the run (default off; on in the CartPole, LunarLander and Pendulum presets)",
  },
  curriculum: {
    type: "boolean",
    help:
      "ramp the env's difficulty parameters from easy to hard (default off; on in the MountainCar preset; --no-curriculum turns it off)",
  },
  "quick-test": {
    type: "boolean",
    help:
      `stage 1 quick test, then ${TRAIN_QUICK_TEST.numIterations} iterations (unless --num-iterations is given)`,
  },
  out: {
    type: "string",
    help:
      `parent directory of the checkpoint directory (default ${DEFAULTS.out}; on --resume the resumed checkpoint's directory itself, or DIR/<its name> when given)`,
  },
  "log-dir": {
    type: "string",
    help: `parent directory of the log directory (default ${
      DEFAULTS["log-dir"]
    }); a resumed run logs to LOG_DIR/<name of the checkpoint's directory>`,
  },
  device: { ...DEVICE_FLAG, default: undefined, help: `${DEVICE_FLAG.help} (default auto)` },
} satisfies Record<string, FlagSpec>;

/** The specs by name, for lookups by a name read from a checkpoint. */
const FLAG_SPECS: Readonly<Record<string, FlagSpec>> = flags;

/** `grpo train`'s parsed flag values (the hyperparameters of NUMERIC by name). */
export type TrainValues = FlagValues<typeof flags> & ParsedArgs["values"];

/** {@linkcode TrainValues} once {@linkcode DEFAULTS} filled the missing ones. */
type CompleteTrainValues = TrainValues & {
  env: string;
  "eval-every": number;
  "eval-episodes": number;
  out: string;
  "log-dir": string;
};

/** `values` with the defaults of {@linkcode DEFAULTS} where a flag is missing. */
function withDefaults(values: TrainValues): CompleteTrainValues {
  return {
    ...values,
    ...Object.fromEntries(
      Object.entries(DEFAULTS).map(([name, value]) => [name, values[name] ?? value]),
    ),
  } as CompleteTrainValues;
}

/** A flag value read from a checkpoint, checked against its flag as a typed one would be. */
function storedFlag(name: string, value: unknown, source: string): string | number | boolean {
  const spec = FLAG_SPECS[name];
  if (typeof value === "string") value = choiceOf(spec, value);
  const ok = spec.type === "boolean"
    ? typeof value === "boolean"
    : spec.type === "string"
    ? typeof value === "string" && (!spec.choices || spec.choices.includes(value))
    : typeof value === "number" && Number.isFinite(value) &&
      (spec.type === "number" || Number.isInteger(value));
  if (!ok) {
    throw new InputError(
      `${source}: its training_args give --${name} the invalid value ${
        quoteName(JSON.stringify(value) ?? String(value))
      }; pass --${name} explicitly`,
    );
  }
  return value as string | number | boolean;
}

/**
 * The flags of a resumed run: the checkpoint's run's flags (but locations),
 * then those given now. Returns them with a line per flag given now that
 * differs from the checkpoint's.
 */
export function resumeFlags(
  given: TrainValues,
  stored: unknown,
  source: string,
): { values: TrainValues; differing: string[] } {
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) {
    throw new InputError(
      `${source}: its training_args are not an object; give a checkpoint written by grpo train`,
    );
  }
  const values = { ...given };
  const differing: string[] = [];
  for (const name of Object.keys(flags)) {
    const saved = (stored as Record<string, unknown>)[name];
    if (LOCATIONS.has(name) || saved === undefined || saved === null) continue;
    const value = storedFlag(name, saved, source);
    if (given[name] === undefined) values[name] = value;
    else if (given[name] !== value) {
      differing.push(`--${name} ${given[name]} (checkpoint: ${value})`);
    }
  }
  return { values, differing };
}

/** What a checkpoint records of its run: every flag but the locations, the stage-1 model and the config. */
function recordedArgs(
  v: TrainValues,
  stage1: string | undefined,
  config: GrpoConfig,
): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const name of Object.keys(flags)) {
    if (!LOCATIONS.has(name) && v[name] !== undefined) args[name] = v[name];
  }
  // Informational: nothing reads these back.
  return { ...args, stage1, config };
}

/** The effective config: spec defaults, then the env's preset, then the user's flags. */
export function trainConfig(
  env: Env,
  v: TrainValues,
): { config: GrpoConfig; fromPreset: string[] } {
  const preset = presetFor(env);
  const config: GrpoConfig = { ...SPEC_DEFAULTS, ...preset };
  const fromPreset = new Set(Object.keys(preset));
  for (const [flag, key] of NUMERIC) {
    if (v[flag] !== undefined) {
      (config as unknown as Record<string, unknown>)[key] = v[flag];
      fromPreset.delete(key);
    }
  }
  if (v.advantage) config.advantage = v.advantage;
  if (v["clip-schedule"]) config.clipSchedule = v["clip-schedule"];
  if (v.prioritized) config.prioritized = true;
  if (v["anneal-lr"]) {
    config.annealLr = v["anneal-lr"] === "on";
    fromPreset.delete("annealLr");
  }
  if (v.curriculum !== undefined) {
    config.curriculum = v.curriculum;
    fromPreset.delete("curriculum");
  }
  if (v["quick-test"] && v["num-iterations"] === undefined) {
    config.numIterations = TRAIN_QUICK_TEST.numIterations;
    fromPreset.delete("numIterations");
  }
  checkConfig(config, env);
  return { config, fromPreset: [...fromPreset] };
}

function checkConfig(c: GrpoConfig, env: Env): void {
  const fail = (flag: string, what: string, got: unknown) => {
    throw new InputError(`grpo train: --${flag} must be ${what}, got ${got}`);
  };
  for (const [flag, key, , , integer] of NUMERIC) {
    const x = c[key] as number;
    if (!Number.isFinite(x)) fail(flag, "a finite number", x);
    if (integer && key !== "seed" && !(x >= 1)) fail(flag, "a positive integer", x);
  }
  if (!(c.gamma > 0 && c.gamma <= 1)) fail("gamma", "in (0, 1]", c.gamma);
  if (!(c.gaeLambda >= 0 && c.gaeLambda <= 1)) fail("gae-lambda", "in [0, 1]", c.gaeLambda);
  if (!(c.clipEpsilon > 0 && c.clipEpsilon < 1)) fail("clip-epsilon", "in (0, 1)", c.clipEpsilon);
  if (!(c.policyLr > 0)) fail("policy-lr", "positive", c.policyLr);
  if (!(c.valueLr > 0)) fail("value-lr", "positive", c.valueLr);
  if (!(c.maxGradNorm > 0)) fail("max-grad-norm", "positive", c.maxGradNorm);
  if (c.entropyCoef < 0) fail("entropy-coef", "non-negative", c.entropyCoef);
  if (c.valueClip < 0) fail("value-clip", "non-negative", c.valueClip);
  if (c.curriculum && Object.keys(env.difficulty ?? {}).length === 0) {
    throw new InputError(
      `grpo train: --curriculum needs an env with difficulty parameters; ${env.id} has none`,
    );
  }
}

const ADVICE = `Troubleshooting (from the spec):
  policy loss huge / NaN: --policy-lr 1e-5, --max-grad-norm 0.3, --group-size 16
  unstable training: lower --policy-lr, raise --clip-epsilon to 0.3, lower --entropy-coef to 0.001`;

/** `grpo train`. */
export const trainCommand: Command = defineCommand({
  name: "train",
  summary:
    "stage 2: GRPO on a stage-1 Decision Transformer (runs stage 1 first without --checkpoint)",
  usage:
    "grpo train [--checkpoint CKPT | --resume CKPT] --env cartpole [--num-iterations 100] [hyperparameters] [--quick-test] [--device auto|gpu|cpu]",
  flags,
  async run({ values: given }) {
    const started = performance.now();
    if (given.checkpoint && given.resume) {
      throw new InputError(
        "grpo train: give --checkpoint (start stage 2) or --resume (continue it), not both",
      );
    }
    const resumePath = given.resume;
    // ---- the flags and the env: on --resume the checkpoint's run's, the env only from the registry
    let resumed: TrainValues = given, differing: string[] = [], env: Env;
    let stored: Record<string, unknown> = {};
    if (resumePath) {
      const info = checkpointInfo(await readSafetensors(resumePath), resumePath);
      ({ values: resumed, differing } = resumeFlags(given, info.trainingArgs, resumePath));
      stored = info.trainingArgs;
      env = await resolveEnvFlag(given, given.env, {
        recorded: info,
        source: resumePath,
      });
    } else {
      env = await resolveEnvFlag(given, given.env ?? DEFAULTS.env);
    }
    const v = withDefaults(resumed);
    const { config, fromPreset } = trainConfig(env, v);
    if (!(v["eval-episodes"] >= 1)) {
      throw new InputError(
        `grpo train: --eval-episodes must be a positive integer, got ${v["eval-episodes"]}`,
      );
    }
    const stopAt = v["stop-at-eval"];
    if (stopAt !== undefined && v["eval-every"] === 0) {
      throw new InputError(
        "grpo train: --stop-at-eval needs evaluations; give --eval-every N (N > 0) as well",
      );
    }
    const mode = await resolveMode(deviceChoice(v), "networks");
    if (mode === "gpu") {
      console.log(
        "note: GPU mode: rollouts stay on the device (env kernel, policy, sampling); updates run through tfjs on WebGPU",
      );
    }
    await initBackend(mode);
    const refuseTooBig = (model?: DecisionTransformerConfig) =>
      refuseIfTooBig(
        "grpo train: this run",
        trainBytes(env, config, model),
        memoryBudget(mode === "cpu"),
        "lower --num-envs or --rollout-steps",
      );
    refuseTooBig();

    // ---- the models: stage 1's policy (run stage 1 first when none is given), a fresh value net
    let checkpointPath = resumePath ?? given.checkpoint;
    if (!checkpointPath) {
      console.log(
        `no --checkpoint: running stage 1 first (grpo pretrain ${envFlagOf(env, v.env)}${
          v["quick-test"] ? " --quick-test" : ""
        })`,
      );
      const stage1Defaults = Object.entries(pretrainCommand.flags).map(([k, f]) => [k, f.default]);
      const stage1Run = await pretrain({
        ...Object.fromEntries(stage1Defaults),
        env: v.env,
        "gym-kwargs": v["gym-kwargs"],
        python: v.python,
        "quick-test": v["quick-test"],
        out: v.out,
        seed: config.seed,
        device: v.device,
      });
      if (stage1Run.exitCode !== 0) return stage1Run.exitCode;
      checkpointPath = stage1Run.bestPath;
    }
    const loaded = await loadCheckpoint(checkpointPath, env);
    refuseTooBig(loaded.policy.config);
    const value = loaded.value ?? new ValueNetwork({
      obsDim: env.obsSize,
      embedDim: config.valueEmbedDim,
      hiddenDim: config.valueHiddenDim,
      obsMean: loaded.policy.config.obsMean,
      obsStd: loaded.policy.config.obsStd,
    }, config.seed);
    const state = newGrpoState(env, config, { policy: loaded.policy, value }, {
      makeCollector: createCollector,
    });
    // The stage-1 model the run started from: recorded for information only (a resumed
    // outcome-mode run takes its KL reference from the checkpoint's own tensors).
    const stage1 = resumePath
      ? (typeof stored.stage1 === "string" ? stored.stage1 : undefined)
      : checkpointPath;
    if (config.advantage === "outcome" && !resumePath) {
      // The KL penalty's reference: the stage-1 policy, frozen.
      state.reference = (await loadCheckpoint(checkpointPath, env)).policy;
    }
    const resumeFrom = resumePath
      ? await restoreTrainingState(state, loaded, resumePath)
      : undefined;

    // ---- where it writes: only from the command line (and the resumed checkpoint's place)
    let runDir: string, logDir: string;
    const logParent = given["log-dir"] ?? DEFAULTS["log-dir"];
    if (resumePath) {
      const holder = dirname(resumePath);
      const name = basename(resolve(holder));
      runDir = given.out !== undefined ? join(given.out, name) : holder;
      logDir = join(logParent, name);
    } else {
      const name = `grpo_${env.alias}_${runTimestamp()}`;
      runDir = join(v.out, name);
      logDir = join(logParent, name);
    }
    await Deno.mkdir(runDir, { recursive: true });
    if (resumePath) {
      console.log(
        `resuming ${resumePath} at iteration ${state.iteration} with its run's flags${
          differing.length ? `; given now: ${differing.join(", ")}` : ""
        }`,
      );
      // A killed run may have logged iterations after this checkpoint and left temporary files.
      const cut = await truncateLog(logDir, state.iteration);
      const temps = [
        ...await removeStaleTempFiles(runDir),
        ...await removeStaleTempFiles(logDir),
      ];
      if (cut.rows + cut.eventFiles + temps.length > 0) {
        console.log(
          `cleaned up after the interrupted run: ${cut.rows} metrics row(s) after iteration ${state.iteration}, ` +
            `${cut.eventFiles} TensorBoard file(s) cut back, ${temps.length} temporary file(s) removed`,
        );
      }
    }
    const log = await MetricsLog.open(logDir);
    console.log(
      `GRPO on ${env.id}: ${config.numIterations} iterations x ${config.numEnvs} envs x ${config.rolloutSteps} steps, ` +
        `${config.advantage}, policy lr ${config.policyLr}, value lr ${config.valueLr}, target return ${config.targetReturn}` +
        (fromPreset.length ? ` (env preset: ${fromPreset.join(", ")})` : ""),
    );
    console.log(`from ${checkpointPath}; logs ${logDir}; checkpoints ${runDir}`);

    const stopper = StopSignal.listen((signal) =>
      console.log(
        `\n${signal}: stopping before the next update minibatch; saving the last completed iteration (a second signal quits at once)`,
      )
    );
    const progress = new ProgressLine(5_000);
    const trainingArgs = recordedArgs(v, stage1, config);
    let best = resumeFrom?.bestMeanReward ?? -Infinity;
    let lastSaved: string | undefined;
    const save = async (name: string) => {
      const path = join(runDir, name);
      await saveTrainingCheckpoint(path, state, { trainingArgs, bestMeanReward: best });
      return path;
    };
    const loopStart = performance.now();
    const startIteration = state.iteration;
    // The state as of the last completed iteration: a stop mid-iteration saves this. Taken
    // every iteration on the device (no readback); read back only if a checkpoint is written.
    state.collector ??= createCollector(env, state.policy, value, config.numEnvs, config.seed);
    let snapshot = await IterationSnapshot.take(state);
    try {
      let reached = false;
      await trainGrpo(state, {
        // Polled before each iteration and each minibatch: `reached` is set after an iteration.
        shouldStop: () => reached || stopper.poll(),
        async onIteration(m: IterationMetrics) {
          const last = m.iteration === config.numIterations;
          // The spec's "evaluate regularly": deterministic episodes on envs of their own (the
          // training envs are untouched, so --resume stays exact); best.safetensors is the
          // best of these (without evaluations, of the training rewards: the stochastic
          // policy's training reward is on another scale than a deterministic evaluation).
          let evalReturn = NaN;
          const evalEvery = v["eval-every"];
          if (evalEvery > 0 && (m.iteration % evalEvery === 0 || last)) {
            const { returns } = await evaluatePolicy(env, state.policy, {
              numEpisodes: v["eval-episodes"],
              deterministic: true,
              targetReturn: config.targetReturn,
              seed: 1_000_003 + m.iteration,
              mode: "cpu",
            });
            evalReturn = returns.reduce((a, b) => a + b, 0) / returns.length;
          }
          await log.write(m.iteration, m.envSteps, { ...m, eval_return: evalReturn });
          // best first, so that every checkpoint of this iteration records it (exact resume).
          const score = checkpointScore(evalEvery, evalReturn, m.mean_reward);
          const improved = Number.isFinite(score) && score >= best;
          if (improved) best = score;
          if (m.iteration % config.saveEvery === 0 || last) {
            lastSaved = await save(`iteration_${m.iteration}.safetensors`);
          }
          if (improved) await save("best.safetensors");
          reached = stopAt !== undefined && evalReturn >= stopAt;
          snapshot.dispose();
          snapshot = await IterationSnapshot.take(state);
          const elapsed = (performance.now() - loopStart) / 1000;
          const done = m.iteration - startIteration;
          const eta = (elapsed / done) * (config.numIterations - m.iteration);
          progress.update(
            `iter ${m.iteration}/${config.numIterations}  ${
              Math.round(m.steps_per_second)
            } steps/s  ` +
              `mean reward ${Number.isFinite(m.mean_reward) ? m.mean_reward.toFixed(1) : "-"}  ` +
              `policy ${m.policy_loss.toFixed(3)}  value ${m.value_loss.toFixed(2)}  entropy ${
                m.entropy.toFixed(3)
              }  ` +
              `kl ${m.approx_kl.toFixed(4)}${
                Number.isFinite(evalReturn) ? `  eval ${evalReturn.toFixed(1)}` : ""
              }  ETA ${formatDuration(eta)}`,
            m.iteration % 10 === 0,
          );
        },
      });
      progress.done();
      // An iteration cut short by a signal is undone: last.safetensors is the last completed one.
      if (stopper.signal) await snapshot.restore(state);
      lastSaved = await save("last.safetensors");
      if (stopper.signal) {
        console.log(
          `stopped after iteration ${state.iteration}; resume with: grpo train --resume ${lastSaved} --log-dir ${logParent}${
            isBuiltinEnv(env) ? "" : ` ${envFlagOf(env, given.env)}`
          }`,
        );
      }
      if (reached) {
        console.log(
          `the evaluation reached --stop-at-eval ${stopAt} at iteration ${state.iteration}: stopped there`,
        );
      }
      console.log(
        `done: ${state.iteration} iterations, ${state.envSteps} env steps, ` +
          `best mean reward ${best.toFixed(1)}, ${
            formatDuration((performance.now() - started) / 1000)
          } in all`,
      );
      console.log(
        `checkpoints: ${runDir}  logs: ${logDir} (tensorboard --logdir ${logDir}; grpo report ${logDir})`,
      );
      console.log(
        `next: grpo eval --checkpoint ${join(runDir, "last.safetensors")} ${
          envFlagOf(env, given.env)
        } --num-episodes 10 --deterministic`,
      );
      return stopper.exitCode;
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      progress.done();
      console.error(`error: ${e.message}; training stopped.`);
      // trainGrpo put back the state of the failed iteration's start: nothing done is lost.
      lastSaved = await save("last.safetensors");
      console.error(`last good checkpoint (iteration ${state.iteration}): ${lastSaved}`);
      console.error(ADVICE);
      return 1;
    } finally {
      stopper.close();
      snapshot.dispose();
      await log.close();
    }
  },
});

/**
 * What picks best.safetensors at an iteration: with evaluations on, the
 * evaluation's return (NaN between evaluations, so no training reward of the
 * stochastic policy competes with deterministic returns); without, the mean
 * training reward.
 */
export function checkpointScore(evalEvery: number, evalReturn: number, meanReward: number): number {
  return evalEvery > 0 ? evalReturn : meanReward;
}

/**
 * `grpo eval`: play episodes with a checkpoint's policy (docs/spec.md's
 * `test_grpo_agent.py`) and report per-episode returns and lengths.
 *
 * @module
 */
import { GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";
import { InputError } from "../errors.ts";
import { resolveMode } from "../device.ts";
import { initBackend } from "../model/backend.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { checkpointInfo } from "../model/checkpoint.ts";
import { evaluatePolicy, meanStd } from "../play/evaluate.ts";
import { DEVICE_FLAG, deviceChoice, required } from "./args.ts";
import {
  kvCacheBytes,
  memoryBudget,
  NUM_ENVS_RANGE,
  refuseIfTooBig,
  RETURN_RANGE,
  SEED_RANGE,
} from "./limits.ts";
import { type Command, defineCommand } from "./command.ts";
import { renderEpisodes, renderFormat } from "../render/episode.ts";

/** `grpo eval`. */
export const evalCommand: Command = defineCommand({
  name: "eval",
  summary: "play episodes with a checkpoint's policy; per-episode returns and mean +- std",
  usage:
    "grpo eval --checkpoint CKPT [--env cartpole] [--num-episodes 10] [--deterministic] [--target-return R] [--seed N] [--device auto|gpu|cpu] [--json] [--render out.gif|out.html]",
  flags: {
    checkpoint: {
      type: "string",
      help: "a .safetensors checkpoint from grpo pretrain or grpo train",
    },
    env: { type: "string", help: "environment (default: the checkpoint's); must match it" },
    ...GYM_FLAGS,
    "num-episodes": {
      type: "integer",
      default: 10,
      range: NUM_ENVS_RANGE,
      help: "episodes, played as one batch",
    },
    deterministic: { type: "boolean", help: "take the most likely action instead of sampling" },
    "target-return": {
      type: "number",
      range: RETURN_RANGE,
      help: "return to condition on (default: the checkpoint's)",
    },
    seed: {
      type: "integer",
      default: 0,
      range: SEED_RANGE,
      help: "seed of env starts and action sampling",
    },
    device: DEVICE_FLAG,
    json: { type: "boolean", help: "print one JSON object" },
    render: {
      type: "string",
      help:
        "draw the first --render-episodes episodes to out.gif (animated) or out.html (replay page)",
    },
    "render-episodes": {
      type: "integer",
      default: 1,
      range: { min: 1, max: 100 },
      help: "episodes drawn by --render",
    },
  },
  async run({ values: v }) {
    const path = required(
      "eval",
      "checkpoint",
      v.checkpoint,
      "--checkpoint checkpoints/gym_cartpole_*/best_model.safetensors",
    );
    const numEpisodes = v["num-episodes"];
    if (numEpisodes < 1) {
      throw new InputError(`grpo eval: --num-episodes must be positive, got ${numEpisodes}`);
    }
    const renderPath = v.render;
    if (renderPath) renderFormat(renderPath);
    // Read the metadata first, so --env can default to the checkpoint's.
    const info = checkpointInfo(await readSafetensors(path), path);
    // A recorded env id is only looked up among the built-in envs, never imported.
    const env = await resolveEnvFlag(v, v.env, {
      recorded: info,
      source: path,
    });
    const mode = await resolveMode(deviceChoice(v), "networks");
    refuseIfTooBig(
      `grpo eval: ${numEpisodes} episodes at once`,
      kvCacheBytes(info.model, numEpisodes),
      memoryBudget(mode === "cpu"),
      "lower --num-episodes",
    );
    await initBackend(mode);
    const { policy } = await loadCheckpoint(path, env);
    const targetReturn = v["target-return"] ?? info.targetReturn;
    const started = performance.now();
    const { returns, lengths, recorded } = await evaluatePolicy(env, policy, {
      numEpisodes,
      deterministic: v.deterministic === true,
      targetReturn,
      seed: v.seed,
      mode,
      recordEpisodes: renderPath ? v["render-episodes"] : 0,
    });
    policy.dispose();
    // Scores first: a render that fails to write (no space, read-only) must not lose them.
    const r = meanStd(returns), l = meanStd(lengths);
    if (v.json) {
      console.log(JSON.stringify({
        checkpoint: path,
        env: env.id,
        num_episodes: numEpisodes,
        deterministic: v.deterministic === true,
        target_return: targetReturn,
        seed: v.seed,
        returns,
        lengths,
        mean_return: r.mean,
        std_return: r.std,
        mean_length: l.mean,
        std_length: l.std,
      }));
    } else {
      returns.forEach((ret, i) =>
        console.log(`episode ${i + 1}: return ${ret.toFixed(1)}, length ${lengths[i]}`)
      );
      console.log(
        `mean return ${r.mean.toFixed(2)} +- ${
          r.std.toFixed(2)
        } over ${numEpisodes} episodes (length ${l.mean.toFixed(1)} +- ${
          l.std.toFixed(1)
        }; target return ${targetReturn}; ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
    if (renderPath) {
      await renderEpisodes(
        renderPath,
        env,
        recorded.map((e, i) => ({
          ...e,
          title: `${env.id} episode ${i + 1}: return ${returns[i].toFixed(1)}`,
        })),
      );
      if (!v.json) console.log(`rendered ${recorded.length} episode(s) to ${renderPath}`);
    }
  },
});

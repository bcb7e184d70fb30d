/**
 * `grpo act`: a trained policy as a JSON-lines server on stdin/stdout (the
 * protocol is documented in `src/rl/act_server.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { actionSize, type Env, envActionsOf } from "../../envs/env.ts";
import { GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";
import { resolveMode } from "../device.ts";
import { initBackend } from "../model/backend.ts";
import { checkpointInfo, loadCheckpoint } from "../model/checkpoint.ts";
import type { DecisionTransformer, KVCache } from "../model/decision_transformer.ts";
import { disposeDist, modeAction, sampleWithUniforms } from "../model/distribution.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { ActServer, DEFAULT_MAX_EPISODES, type EpisodicPolicy } from "../rl/act_server.ts";
import { InputError } from "../errors.ts";
import { DEVICE_FLAG, deviceChoice, required } from "./args.ts";
import { kvCacheBytes, memoryBudget, refuseIfTooBig, RETURN_RANGE } from "./limits.ts";
import { type Command, defineCommand } from "./command.ts";

/** One episode's context: its KV cache, step, return-to-go and previous action. */
interface DtEpisode {
  cache: KVCache;
  t: number;
  returnToGo: number;
  prevAction: Float32Array;
}

/** The Decision Transformer as an {@linkcode EpisodicPolicy} answering in the env's action layout. */
export function dtEpisodicPolicy(
  env: Env,
  policy: DecisionTransformer,
  targetReturn: number,
  stochastic: boolean,
): EpisodicPolicy<DtEpisode> {
  const P = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
  let draws = 0;
  return {
    obsSize: env.obsSize,
    begin: () => ({
      cache: policy.createCache(1),
      t: 0,
      returnToGo: targetReturn,
      prevAction: new Float32Array(P),
    }),
    end: (ctx) => ctx.cache.dispose(),
    async act(ctx, obs, reward) {
      const returnToGo = reward === undefined ? ctx.returnToGo : ctx.returnToGo - reward;
      if (!Number.isFinite(Math.fround(returnToGo))) {
        throw new InputError(
          `"reward" ${reward} takes the return-to-go to ${returnToGo}, beyond float32; send the env's real rewards`,
        );
      }
      ctx.returnToGo = returnToGo;
      const input = {
        returnToGo: tf.tensor1d([ctx.returnToGo]),
        obs: tf.tensor2d(obs, [1, env.obsSize]),
        prevAction: tf.tensor2d(ctx.prevAction, [1, P]),
        timestep: tf.tensor1d([ctx.t], "int32"),
      };
      const dist = policy.act(ctx.cache, input);
      const width = policy.config.actionKind === "discrete" ? 1 : 2 * P;
      const action = stochastic
        ? tf.tidy(() =>
          sampleWithUniforms(dist, tf.randomUniform([1, width], 0, 1, "float32", draws++))
        )
        : modeAction(dist);
      const chosen = Float32Array.from(await action.data());
      tf.dispose([action, ...Object.values(input)]);
      disposeDist(dist);
      ctx.prevAction = chosen;
      ctx.t++;
      const envAction = Array.from(envActionsOf(env, chosen, 1).subarray(0, actionSize(env)));
      return env.actionSpace.kind === "discrete" ? envAction[0] : envAction;
    },
  };
}

/** `grpo act`. */
export const actCommand: Command = defineCommand({
  name: "act",
  summary: "serve a checkpoint's policy as JSON lines on stdin/stdout",
  usage:
    "grpo act --checkpoint CKPT [--target-return R] [--stochastic] [--max-episodes 1024] [--device auto|gpu|cpu]",
  flags: {
    checkpoint: {
      type: "string",
      help: "a .safetensors checkpoint from grpo pretrain or grpo train",
    },
    env: { type: "string", help: "environment (default: the checkpoint's)" },
    ...GYM_FLAGS,
    "target-return": {
      type: "number",
      range: RETURN_RANGE,
      help: "return to condition on (default: the checkpoint's)",
    },
    stochastic: { type: "boolean", help: "sample actions instead of taking the most likely one" },
    "max-episodes": {
      type: "integer",
      default: DEFAULT_MAX_EPISODES,
      range: { min: 1, max: 1_000_000 },
      help:
        'episodes open at once; a new one beyond closes the least recently used (or send {"episode":k,"close":true})',
    },
    device: { ...DEVICE_FLAG, default: "cpu" },
  },
  async run({ values: v }) {
    const path = required("act", "checkpoint", v.checkpoint, "--checkpoint best.safetensors");
    const info = checkpointInfo(await readSafetensors(path), path);
    // A recorded env id is only looked up among the built-in envs, never imported.
    const env = await resolveEnvFlag(v, v.env, {
      recorded: info,
      source: path,
    });
    const mode = await resolveMode(deviceChoice(v), "networks");
    await initBackend(mode);
    const maxEpisodes = v["max-episodes"];
    refuseIfTooBig(
      `grpo act: ${maxEpisodes} open episodes`,
      kvCacheBytes(info.model, maxEpisodes),
      memoryBudget(mode === "cpu"),
      "lower --max-episodes",
    );
    const { policy } = await loadCheckpoint(path, env);
    const target = v["target-return"] ?? info.targetReturn;
    const server = new ActServer(
      dtEpisodicPolicy(env, policy, target, v.stochastic === true),
      maxEpisodes,
    );
    // A client that stops reading ends the server quietly (exit 0), see ActServer.serve.
    await server.serve(Deno.stdin.readable, Deno.stdout.writable);
    policy.dispose();
  },
});

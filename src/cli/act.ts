/**
 * `grpo act`: a trained policy as a JSON-lines server on stdin/stdout (the
 * protocol is documented in `src/rl/act_server.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { actionSize, type Env } from "../../envs/env.ts";
import { envForCheckpoint } from "../../envs/registry.ts";
import { resolveMode } from "../gpu/device.ts";
import { initBackend } from "../model/backend.ts";
import { checkpointInfo, loadCheckpoint } from "../model/checkpoint.ts";
import type { DecisionTransformer, KVCache } from "../model/decision_transformer.ts";
import { disposeDist, modeAction, sampleWithUniforms } from "../model/distribution.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { ActServer, type EpisodicPolicy } from "../rl/act_server.ts";
import { envActionsOf } from "../rl/dataset.ts";
import { DEVICE_FLAG, deviceChoice, required } from "./args.ts";
import type { Command } from "./command.ts";

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
      if (reward !== undefined) ctx.returnToGo -= reward;
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
export const actCommand: Command = {
  name: "act",
  summary: "serve a checkpoint's policy as JSON lines on stdin/stdout",
  usage: "grpo act --checkpoint CKPT [--target-return R] [--stochastic] [--device auto|gpu|cpu]",
  flags: {
    checkpoint: {
      type: "string",
      help: "a .safetensors checkpoint from grpo pretrain or grpo train",
    },
    env: { type: "string", help: "environment (default: the checkpoint's)" },
    "target-return": { type: "number", help: "return to condition on (default: the checkpoint's)" },
    stochastic: { type: "boolean", help: "sample actions instead of taking the most likely one" },
    device: { ...DEVICE_FLAG, default: "cpu" },
  },
  async run({ values: v }) {
    const path = required(
      "act",
      "checkpoint",
      v.checkpoint as string | undefined,
      "--checkpoint best.safetensors",
    );
    const info = checkpointInfo(await readSafetensors(path), path);
    // The checkpoint's env id is only looked up among the built-in envs, never imported.
    const env = await envForCheckpoint(info, v.env as string | undefined, path);
    await initBackend(await resolveMode(deviceChoice(v)));
    const { policy } = await loadCheckpoint(path, env);
    const target = (v["target-return"] as number | undefined) ?? info.targetReturn;
    const server = new ActServer(dtEpisodicPolicy(env, policy, target, v.stochastic === true));
    await server.serve(Deno.stdin.readable, Deno.stdout.writable);
  },
};

/**
 * `grpo rollout`: play episodes with a scripted policy (uniformly random
 * actions, or LunarLander's heuristic pilot) and report per-episode returns
 * and lengths, a baseline to compare trained policies with.
 *
 * @module
 */
import { GYM_FLAGS, resolveEnvFlag } from "./env_flags.ts";
import { InputError } from "../errors.ts";
import { resolveMode } from "../device.ts";
import { meanStd } from "../play/evaluate.ts";
import {
  SCRIPTED_POLICIES,
  scriptedPolicyProblem,
  scriptedRollout,
} from "../play/scripted_rollout.ts";
import { DEVICE_FLAG, deviceChoice, required } from "./args.ts";
import { NUM_ENVS_RANGE, SEED_RANGE } from "./limits.ts";
import { type Command, defineCommand } from "./command.ts";

/** The return at which LunarLander counts as solved (Gymnasium's threshold). */
export const LANDER_SOLVED_RETURN = 200;

/** `grpo rollout`. */
export const rolloutCommand: Command = defineCommand({
  name: "rollout",
  summary: "play episodes with a scripted policy (heuristic or random); returns and mean +- std",
  usage:
    "grpo rollout --env ENV --policy heuristic|random [--episodes 100] [--seed 0] [--device auto|gpu|cpu] [--json]",
  flags: {
    env: { type: "string", help: "environment: a built-in name or ./path/to/your_env.ts" },
    ...GYM_FLAGS,
    policy: {
      type: "string",
      choices: SCRIPTED_POLICIES,
      help:
        "heuristic: Gymnasium's LunarLander pilot (lunar_lander envs only); random: uniform actions",
    },
    episodes: {
      type: "integer",
      default: 100,
      range: NUM_ENVS_RANGE,
      help: "episodes, played as one batch",
    },
    seed: {
      type: "integer",
      default: 0,
      range: SEED_RANGE,
      help: "seed of env starts and random actions",
    },
    device: DEVICE_FLAG,
    json: { type: "boolean", help: "print one JSON object" },
  },
  async run({ values: v }) {
    const envName = required("rollout", "env", v.env, "--env lunar_lander");
    const policy = required(
      "rollout",
      "policy",
      v.policy,
      "--policy heuristic",
    );
    const episodes = v.episodes;
    if (episodes < 1) {
      throw new InputError(`grpo rollout: --episodes must be a positive integer, got ${episodes}`);
    }
    const env = await resolveEnvFlag(v, envName);
    const problem = scriptedPolicyProblem(env, policy);
    if (problem) throw new InputError(`grpo rollout: ${problem}`);
    const mode = await resolveMode(deviceChoice(v), "envs");
    const seed = v.seed;
    const started = performance.now();
    const { returns, lengths } = await scriptedRollout(env, policy, { episodes, seed, mode });
    const seconds = (performance.now() - started) / 1000;
    const r = meanStd(returns), l = meanStd(lengths);
    const lander = env.id.startsWith("LunarLander");
    const solved = returns.filter((x) => x >= LANDER_SOLVED_RETURN).length / episodes;
    if (v.json) {
      console.log(JSON.stringify({
        env: env.id,
        policy,
        device: mode,
        seed,
        episodes: returns.map((ret, i) => ({ return: ret, length: lengths[i] })),
        mean: r.mean,
        std: r.std,
        meanLength: l.mean,
        stdLength: l.std,
        ...(lander ? { solvedFraction: solved } : {}),
        seconds,
      }));
      return;
    }
    returns.forEach((ret, i) =>
      console.log(`episode ${i + 1}: return ${ret.toFixed(1)}, length ${lengths[i]}`)
    );
    const solvedText = lander
      ? `; return >= ${LANDER_SOLVED_RETURN} in ${(100 * solved).toFixed(0)}%`
      : "";
    console.log(
      `mean return ${r.mean.toFixed(2)} +- ${
        r.std.toFixed(2)
      } over ${episodes} episodes (mean length ${
        l.mean.toFixed(1)
      }${solvedText}; ${policy} policy on ${env.id}, ${mode}, seed ${seed}; ${
        seconds.toFixed(1)
      } s)`,
    );
  },
});

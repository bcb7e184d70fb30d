/**
 * `grpo replay`: set envs to recorded states, apply recorded actions, write
 * what happened.
 *
 * @module
 */
import { resolveEnv } from "../../envs/registry.ts";
import { InputError } from "../errors.ts";
import { resolveMode } from "../device.ts";
import { writeTextAtomic } from "../io/atomic.ts";
import { checkFiniteOutputs, droppedActions, parseReplayInput, replay } from "../play/replay.ts";
import { DEVICE_FLAG, deviceChoice, required } from "./args.ts";
import { type Command, defineCommand } from "./command.ts";

/** `grpo replay`. */
export const replayCommand: Command = defineCommand({
  name: "replay",
  summary: "replay episodes from given states and actions (Gymnasium's unwrapped.state)",
  usage: "grpo replay --input FILE [--output FILE] [--env ./my_env.ts] [--device cpu|gpu]",
  flags: {
    input: {
      type: "string",
      help: 'JSON {"episodes":[{"env","init_state","actions"}]}; - for stdin',
    },
    output: { type: "string", help: "where to write the JSON result (default: stdout)" },
    env: {
      type: "string",
      help:
        'your own env module; episodes whose "env" is its id or alias use it (the input file names built-in envs only)',
    },
    device: DEVICE_FLAG,
  },
  async run({ values }) {
    const input = required(
      "replay",
      "input",
      values.input,
      "--input episodes.json",
    );
    let text: string;
    try {
      text = input === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(input);
    } catch (e) {
      throw new InputError(`cannot read --input ${input}: ${(e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InputError(`--input ${input} is not valid JSON: ${(e as Error).message}`);
    }
    const userEnvs = values.env ? [await resolveEnv(values.env)] : [];
    const jobs = parseReplayInput(json, userEnvs);
    const episodes = await replay(jobs, await resolveMode(deviceChoice(values), "envs"));
    checkFiniteOutputs(episodes);
    const dropped = droppedActions(jobs, episodes);
    if (dropped.length > 0) {
      // A warning, not an error: fixed-length action lists are common, and the episode's
      // end is in the output (terminated/truncated); but the user should know.
      const total = dropped.reduce((n, d) => n + d.dropped, 0);
      const first = dropped.slice(0, 3).map((d) => `episode ${d.episode} after step ${d.steps}`);
      console.error(
        `warning: ${dropped.length} episode(s) ended before their last action; ${total} later action(s) were not applied (${
          first.join(", ")
        }${dropped.length > 3 ? ", ..." : ""})`,
      );
    }
    const out = JSON.stringify({ episodes });
    if (values.output) await writeTextAtomic(values.output, out + "\n");
    else console.log(out);
  },
});

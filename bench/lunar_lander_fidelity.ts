/**
 * How closely our LunarLander follows Gymnasium's: replays every episode of
 * Gymnasium's reference files (terrain, initial force and every dispersion
 * draw given) and reports per episode the first step whose observation
 * differs by more than 1e-3, the largest difference through the first leg
 * contact and to the end, each leg's first ground contact, the end (step
 * and kind: crash, rest or truncated) and the return, ours beside
 * Gymnasium's; then how many episodes end alike and the median first
 * divergence.
 *
 *   deno run -A bench/lunar_lander_fidelity.ts [--device cpu|gpu] [--json] FILE...
 *
 * FILE defaults to `../shared/testdata/gymnasium/LunarLander-v3.json` and
 * `LunarLanderContinuous-v3.json` beside the checkout.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseReplayInput, replay, type ReplayOutput } from "../src/play/replay.ts";

/** A Gymnasium LunarLander episode, as the reference files hold it (fields used here). */
interface LanderEpisode {
  seed: number;
  policy: string;
  terrain_heights_raw: number[];
  initial_force: number[];
  reset_dispersion: number[];
  steps: {
    action: number | number[];
    dispersion: number[];
    obs: number[];
    reward: number;
    terminated: boolean;
    truncated: boolean;
    leg_contact: boolean[];
  }[];
}

/** One episode's comparison. */
export interface Fidelity {
  file: string;
  seed: number;
  policy: string;
  gymEnd: string;
  ourEnd: string;
  sameEnd: boolean;
  firstDivergence: number | null;
  gymContact: (number | null)[];
  ourContact: (number | null)[];
  firstFlagMismatch: number | null;
  /** Largest |obs| difference through Gymnasium's first leg contact, and over the whole episode. */
  maxDiffToContact: number;
  maxDiffToEnd: number;
  gymReturn: number;
  ourReturn: number;
}

function ending(
  steps: number,
  last: { reward: number; terminated: boolean; truncated: boolean },
): string {
  const kind = last.terminated
    ? (last.reward === 100 ? "rest" : "crash")
    : last.truncated
    ? "truncated"
    : "running";
  return `${kind}@${steps - 1}`;
}

/** Replays the episodes of `file` and compares them step by step. */
export async function compareFile(file: string, device: "cpu" | "gpu"): Promise<Fidelity[]> {
  const data = JSON.parse(await Deno.readTextFile(file));
  const episodes: LanderEpisode[] = data.episodes;
  const jobs = await parseReplayInput({
    episodes: episodes.map((e) => ({
      env: data.env_id === "LunarLander-v3" && data.make.includes("continuous=True")
        ? "LunarLanderContinuous-v3"
        : data.env_id,
      terrain: e.terrain_heights_raw,
      initial_force: e.initial_force,
      reset_dispersion: e.reset_dispersion,
      actions: e.steps.map((s) => s.action),
      dispersion: e.steps.map((s) => s.dispersion),
    })),
  });
  const outs: ReplayOutput[] = await replay(jobs, device);
  return episodes.map((e, i) => {
    const ours = outs[i], gym = e.steps;
    let firstDivergence: number | null = null, firstFlagMismatch: number | null = null;
    let firstGymContact = gym.findIndex((s) => s.leg_contact[0] || s.leg_contact[1]);
    if (firstGymContact < 0) firstGymContact = gym.length - 1;
    let maxDiffToContact = 0, maxDiffToEnd = 0;
    for (let t = 0; t < Math.min(gym.length, ours.obs.length); t++) {
      const d = Math.max(...gym[t].obs.map((x, k) => Math.abs(x - ours.obs[t][k])));
      if (t <= firstGymContact) maxDiffToContact = Math.max(maxDiffToContact, d);
      maxDiffToEnd = Math.max(maxDiffToEnd, d);
      if (firstDivergence === null && d > 1e-3) firstDivergence = t;
      const flags = [ours.obs[t][6] === 1, ours.obs[t][7] === 1];
      if (
        firstFlagMismatch === null &&
        (flags[0] !== gym[t].leg_contact[0] || flags[1] !== gym[t].leg_contact[1])
      ) firstFlagMismatch = t;
    }
    const n = ours.obs.length;
    if (firstDivergence === null && n !== gym.length) firstDivergence = Math.min(n, gym.length);
    const firstContact = (has: (t: number, leg: number) => boolean, len: number) =>
      [0, 1].map((leg) => {
        for (let t = 0; t < len; t++) if (has(t, leg)) return t;
        return null;
      });
    const ourEnd = ending(n, {
      reward: ours.reward[n - 1],
      terminated: ours.terminated[n - 1],
      truncated: ours.truncated[n - 1],
    });
    const gymEnd = ending(gym.length, gym[gym.length - 1]);
    return {
      file: file.split("/").pop()!,
      seed: e.seed,
      policy: e.policy,
      gymEnd,
      ourEnd,
      sameEnd: gymEnd === ourEnd,
      firstDivergence,
      gymContact: firstContact((t, leg) => gym[t].leg_contact[leg], gym.length),
      ourContact: firstContact((t, leg) => ours.obs[t][6 + leg] === 1, n),
      firstFlagMismatch,
      maxDiffToContact,
      maxDiffToEnd,
      gymReturn: gym.reduce((a, s) => a + s.reward, 0),
      ourReturn: ours.reward.reduce((a, r) => a + r, 0),
    };
  });
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { device: { type: "string", default: "cpu" }, json: { type: "boolean" } },
  });
  const dir = new URL("../../shared/testdata/gymnasium/", import.meta.url).pathname;
  const files = positionals.length > 0
    ? positionals
    : ["LunarLander-v3.json", "LunarLanderContinuous-v3.json"].map((f) => dir + f);
  const rows: Fidelity[] = [];
  for (const file of files) rows.push(...await compareFile(file, values.device as "cpu" | "gpu"));
  if (values.json) console.log(JSON.stringify(rows, null, 1));
  const pad = (x: unknown, n: number) => String(x).padEnd(n);
  console.log(
    "file                           seed policy     gym end    our end    diverge contact gym / ours       flags   max diff to contact / end  return gym / ours",
  );
  for (const r of rows) {
    console.log(
      [
        pad(r.file, 30),
        pad(r.seed, 4),
        pad(r.policy, 10),
        pad(r.gymEnd, 10),
        pad(r.ourEnd, 10),
        pad(r.firstDivergence ?? "-", 7),
        pad(`${r.gymContact.join(",")} / ${r.ourContact.join(",")}`, 24),
        pad(r.firstFlagMismatch ?? "-", 7),
        pad(`${r.maxDiffToContact.toExponential(1)} / ${r.maxDiffToEnd.toExponential(1)}`, 26),
        `${r.gymReturn.toFixed(2)} / ${r.ourReturn.toFixed(2)}`,
      ].join(" "),
    );
  }
  const divergences = rows.map((r) => r.firstDivergence ?? Infinity).sort((a, b) => a - b);
  const mid = divergences.length >> 1;
  const median = divergences.length % 2
    ? divergences[mid]
    : (divergences[mid - 1] + divergences[mid]) / 2;
  console.log(
    `same end: ${rows.filter((r) => r.sameEnd).length} of ${rows.length}; ` +
      `median first divergence: ${median}; returns within 1: ${
        rows.filter((r) => Math.abs(r.gymReturn - r.ourReturn) <= 1).length
      }`,
  );
}

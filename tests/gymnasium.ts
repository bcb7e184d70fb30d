/**
 * Loads Gymnasium's reference trajectories from `../shared/testdata/gymnasium/`
 * and replays them through either mode.
 *
 * @module
 */
/** One recorded step. */
export interface GymStep {
  action: number | number[];
  obs: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  state: number[];
}

/** One recorded episode, from Gymnasium's `reset(seed)`. */
export interface GymEpisode {
  seed: number;
  init_obs: number[];
  init_state: number[];
  steps: GymStep[];
}

/** The reference file of an env, or null when `shared/` is not beside the checkout. */
export async function loadGymnasium(envId: string): Promise<GymEpisode[] | null> {
  const url = new URL(`../../shared/testdata/gymnasium/${envId}.json`, import.meta.url);
  try {
    return JSON.parse(await Deno.readTextFile(url)).episodes;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Actions of an episode as the flat float array our step takes. */
export function episodeActions(episode: GymEpisode): number[][] {
  return episode.steps.map((s) => (Array.isArray(s.action) ? s.action : [s.action]));
}

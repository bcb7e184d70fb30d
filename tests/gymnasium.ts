/**
 * Loads Gymnasium's reference trajectories from `tests/fixtures/gymnasium/`
 * (see its README for where they came from). A missing file is an error: a
 * test that needs one fails rather than checking nothing.
 *
 * @module
 */
/** One recorded step (classic-control envs). */
export interface GymStep {
  action: number | number[];
  obs: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  state: number[];
}

/** One recorded episode from Gymnasium's `reset(seed)` (classic-control envs). */
export interface GymEpisode {
  seed: number;
  init_obs: number[];
  init_state: number[];
  steps: GymStep[];
}

/** The fixture directory. */
export const FIXTURES = new URL("./fixtures/gymnasium/", import.meta.url);

/** The episodes of an env's reference file; throws naming the file when it is missing. */
export async function loadGymnasium<E = GymEpisode>(envId: string): Promise<E[]> {
  const url = new URL(`${envId}.json`, FIXTURES);
  try {
    return JSON.parse(await Deno.readTextFile(url)).episodes;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`missing Gymnasium fixture ${url.pathname} (see tests/fixtures/gymnasium/)`);
    }
    throw e;
  }
}

/** Actions of an episode as the flat float array our step takes. */
export function episodeActions(episode: { steps: { action: number | number[] }[] }): number[][] {
  return episode.steps.map((s) => (Array.isArray(s.action) ? s.action : [s.action]));
}

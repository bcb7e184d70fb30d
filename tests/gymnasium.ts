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

/** One recorded LunarLander step: the action, the step's dispersion draws and what it gave. */
export interface LanderStep {
  action: number | number[];
  dispersion: [number, number];
  obs: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
  leg_contact: [boolean, boolean];
}

/** One recorded LunarLander episode with every random draw of its reset. */
export interface LanderEpisode {
  seed: number;
  policy: string;
  terrain_heights_raw: number[];
  initial_force: [number, number];
  steps: LanderStep[];
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

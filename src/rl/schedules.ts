/**
 * Hyperparameter schedules over a run: the PPO clip epsilon, constant or
 * decaying linearly (docs/spec.md's adaptive clip_epsilon, 0.2 -> 0.05).
 *
 * @module
 */

/** How the clip epsilon changes over the run. */
export type ClipSchedule = "constant" | "linear";

/** The schedules `--clip-schedule` accepts. */
export const CLIP_SCHEDULES: readonly ClipSchedule[] = ["constant", "linear"];

/** What a clip schedule reads (the same fields as `GrpoConfig`). */
export interface ClipScheduleConfig {
  clipSchedule: ClipSchedule;
  /** Epsilon at the first iteration (the spec's 0.2). */
  clipEpsilon: number;
  /** Epsilon at the last iteration with `linear` (the spec's 0.05). */
  clipEpsilonFinal: number;
  numIterations: number;
}

/**
 * The clip epsilon at `iteration` (0-based): `constant` gives `clipEpsilon`;
 * `linear` goes from `clipEpsilon` at iteration 0 to `clipEpsilonFinal` at the
 * last iteration, `numIterations - 1`, and stays there past it (a resumed run
 * extended beyond its plan).
 */
export function clipEpsilonAt(config: ClipScheduleConfig, iteration: number): number {
  if (config.clipSchedule === "constant" || config.numIterations <= 1) return config.clipEpsilon;
  const f = Math.min(1, Math.max(0, iteration / (config.numIterations - 1)));
  return config.clipEpsilon + (config.clipEpsilonFinal - config.clipEpsilon) * f;
}

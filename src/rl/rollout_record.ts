/**
 * GPU mode's rollout record: the layout of the one f32 array that
 * `shaders/rollout_record.wgsl` fills during a rollout, the TypeScript twin
 * of its two entry points, and {@linkcode readRecord}, which turns the record
 * (read back once per rollout) into a {@linkcode Rollout}.
 *
 * The record holds sections of M = T x N samples, step-major (sample `k = t *
 * N + i`, as `Rollout`): obs (M x O), final obs (M x O), actions (M x P),
 * returns-to-go, rewards, log-probs, timesteps, done bits (M each).
 * Timesteps and done bits are stored as f32 values. Obs and final obs are
 * adjacent so that the value network reads them as one [2M, O] tensor.
 *
 * @module
 */
import type { Rollout } from "./rollout.ts";
import { TERMINATED, TRUNCATED } from "./vec_env.ts";

/** Section offsets (in floats) of a record. */
export interface RecordLayout {
  steps: number;
  numEnvs: number;
  obsSize: number;
  actionSize: number;
  /** M = steps x numEnvs. */
  samples: number;
  obs: number;
  finalObs: number;
  actions: number;
  returnsToGo: number;
  rewards: number;
  logProbs: number;
  timesteps: number;
  done: number;
  /** Floats in the record. */
  length: number;
}

/** The layout of a record of `steps` x `numEnvs` samples. */
export function recordLayout(
  steps: number,
  numEnvs: number,
  obsSize: number,
  actionSize: number,
): RecordLayout {
  const M = steps * numEnvs;
  const actions = 2 * M * obsSize;
  const returnsToGo = actions + M * actionSize;
  return {
    steps,
    numEnvs,
    obsSize,
    actionSize,
    samples: M,
    obs: 0,
    finalObs: M * obsSize,
    actions,
    returnsToGo,
    rewards: returnsToGo + M,
    logProbs: returnsToGo + 2 * M,
    timesteps: returnsToGo + 3 * M,
    done: returnsToGo + 4 * M,
    length: returnsToGo + 5 * M,
  };
}

/** What `begin_step` reads and writes. */
export interface BeginStepArrays {
  /** GpuVecEnv's stats (per env: running return first). */
  stats: Float32Array;
  /** GpuVecEnv's counters (per env: [step in episode, episode]). */
  counters: Uint32Array;
  obs: Float32Array;
  /** Outputs: the policy's per-env inputs, and the record. */
  rtg: Float32Array;
  timestep: Int32Array;
  record: Float32Array;
}

/** Twin of `begin_step`: the policy's inputs at rollout step `step`, recorded with the obs. */
export function beginStep(
  layout: RecordLayout,
  step: number,
  target: number,
  a: BeginStepArrays,
): void {
  const { numEnvs: N, obsSize: O } = layout;
  for (let i = 0; i < N; i++) {
    const k = step * N + i;
    const r = Math.fround(Math.fround(target) - a.stats[4 * i]);
    const t = a.counters[2 * i];
    a.rtg[i] = r;
    a.timestep[i] = t;
    a.record.set(a.obs.subarray(i * O, i * O + O), layout.obs + k * O);
    a.record[layout.returnsToGo + k] = r;
    a.record[layout.timesteps + k] = t;
  }
}

/** What `end_step` reads and writes. */
export interface EndStepArrays {
  finalObs: Float32Array;
  reward: Float32Array;
  done: Uint32Array;
  /** The sampled actions (as stored in the rollout) and their log-probs. */
  actions: Float32Array;
  logProbs: Float32Array;
  /** Outputs. */
  prevAction: Float32Array;
  record: Float32Array;
}

/** Twin of `end_step`: records the step's outcome and keeps the action as the previous one. */
export function endStep(layout: RecordLayout, step: number, a: EndStepArrays): void {
  const { numEnvs: N, obsSize: O, actionSize: P } = layout;
  for (let i = 0; i < N; i++) {
    const k = step * N + i;
    a.record.set(a.finalObs.subarray(i * O, i * O + O), layout.finalObs + k * O);
    for (let d = 0; d < P; d++) {
      const x = a.actions[i * P + d];
      a.record[layout.actions + k * P + d] = x;
      a.prevAction[i * P + d] = x;
    }
    a.record[layout.rewards + k] = a.reward[i];
    a.record[layout.logProbs + k] = a.logProbs[i];
    a.record[layout.done + k] = a.done[i];
  }
}

/**
 * Twin of `map_actions`: the env actions (N x E) of choice indices (N), rows
 * of `table` (choices x E).
 */
export function mapActions(
  choices: Float32Array,
  table: Float32Array,
  envActionSize: number,
  envActions: Float32Array,
): void {
  const E = envActionSize;
  for (let i = 0; i < choices.length; i++) {
    envActions.set(table.subarray(choices[i] * E, choices[i] * E + E), i * E);
  }
}

/**
 * Fills `rollout` from a record and the value network's outputs `values`:
 * V(obs) of the M samples, then V(final obs) of the M samples, then V(obs
 * after the last step) of the N envs. As in CPU mode, a final value is kept
 * only at truncated steps (0 elsewhere).
 */
export function readRecord(
  layout: RecordLayout,
  record: Float32Array,
  values: Float32Array,
  rollout: Rollout,
): void {
  const { samples: M, obsSize: O, actionSize: P, numEnvs: N } = layout;
  rollout.obs.set(record.subarray(layout.obs, layout.obs + M * O));
  rollout.actions.set(record.subarray(layout.actions, layout.actions + M * P));
  rollout.returnsToGo.set(record.subarray(layout.returnsToGo, layout.returnsToGo + M));
  rollout.rewards.set(record.subarray(layout.rewards, layout.rewards + M));
  rollout.logProbs.set(record.subarray(layout.logProbs, layout.logProbs + M));
  rollout.values.set(values.subarray(0, M));
  for (let k = 0; k < M; k++) {
    rollout.timesteps[k] = record[layout.timesteps + k];
    const done = record[layout.done + k];
    rollout.terminated[k] = done & TERMINATED ? 1 : 0;
    rollout.truncated[k] = done & TRUNCATED ? 1 : 0;
    rollout.finalValues[k] = rollout.truncated[k] ? values[M + k] : 0;
  }
  rollout.lastValues.set(values.subarray(2 * M, 2 * M + N));
}

/**
 * Rollout storage for stage 2, and the aligned chunks a PPO update trains on.
 *
 * A rollout is T steps of N envs, stored step-major (index `t * N + i`). The
 * Decision Transformer's context at episode step `e` is the aligned chunk of
 * its episode, steps `K * floor(e / K) .. e` (see
 * `src/model/decision_transformer.ts`), so a chunk may begin before the
 * rollout: each env's steps of its current chunk at the start of the rollout
 * are kept as a *prefix*, context that is fed to the model but never trained
 * on. The update then runs the model once per chunk (all K positions in one
 * forward) instead of once per sample.
 *
 * @module
 */

/** The steps before the rollout that belong to each env's current chunk (context only). */
export interface ChunkPrefix {
  obs: number[][];
  actions: number[][];
  returnsToGo: number[];
  timesteps: number[];
}

/** T steps of N envs; per-step arrays are step-major (`t * N + i`). */
export class Rollout {
  readonly steps: number;
  readonly numEnvs: number;
  readonly obsSize: number;
  /** Floats per stored action (1 for a discrete choice). */
  readonly actionSize: number;
  /** Observation the policy acted on. */
  readonly obs: Float32Array;
  /** Action taken (a discrete choice as its index). */
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  /** Return-to-go the policy was conditioned on. */
  readonly returnsToGo: Float32Array;
  /** Episode step of `obs` (0 right after a reset). */
  readonly timesteps: Int32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  /** V(obs) from the value network at rollout time. */
  readonly values: Float32Array;
  /** log pi(action | context) at rollout time. */
  readonly logProbs: Float32Array;
  /** V(final observation) for truncated steps (bootstrapping), 0 elsewhere. */
  readonly finalValues: Float32Array;
  /** V(observation after the last step), per env. */
  readonly lastValues: Float32Array;
  /** Per env, the context steps before the rollout. */
  prefixes: ChunkPrefix[];

  constructor(steps: number, numEnvs: number, obsSize: number, actionSize: number) {
    this.steps = steps;
    this.numEnvs = numEnvs;
    this.obsSize = obsSize;
    this.actionSize = actionSize;
    const n = steps * numEnvs;
    this.obs = new Float32Array(n * obsSize);
    this.actions = new Float32Array(n * actionSize);
    this.rewards = new Float32Array(n);
    this.returnsToGo = new Float32Array(n);
    this.timesteps = new Int32Array(n);
    this.terminated = new Uint8Array(n);
    this.truncated = new Uint8Array(n);
    this.values = new Float32Array(n);
    this.logProbs = new Float32Array(n);
    this.finalValues = new Float32Array(n);
    this.lastValues = new Float32Array(numEnvs);
    this.prefixes = Array.from({ length: numEnvs }, emptyPrefix);
  }

  /** Number of samples (T x N). */
  get size(): number {
    return this.steps * this.numEnvs;
  }
}

/** A prefix with no steps. */
export function emptyPrefix(): ChunkPrefix {
  return { obs: [], actions: [], returnsToGo: [], timesteps: [] };
}

/**
 * One aligned chunk of one env: `prefix` context steps from before the
 * rollout, then `length` rollout steps `start .. start + length - 1` (rollout
 * step indices of that env).
 */
export interface Chunk {
  env: number;
  prefix: number;
  start: number;
  length: number;
}

/**
 * Splits every env's first `steps` rollout steps (all by default; fewer when
 * a collect stopped early and the rows after are stale) into aligned chunks
 * of at most `K` steps.
 */
export function chunks(rollout: Rollout, K: number, steps: number = rollout.steps): Chunk[] {
  const out: Chunk[] = [];
  const { numEnvs: N, timesteps } = rollout;
  const T = steps;
  for (let i = 0; i < N; i++) {
    let start = 0;
    for (let t = 1; t <= T; t++) {
      const boundary = t === T || timesteps[t * N + i] % K === 0;
      if (!boundary) continue;
      const prefix = start === 0 ? rollout.prefixes[i].timesteps.length : 0;
      out.push({ env: i, prefix, start, length: t - start });
      start = t;
    }
  }
  return out;
}

/**
 * The steps of each env's last chunk that the next rollout needs as its
 * prefix: the steps since the last chunk start (with the old prefix in front
 * when the chunk began before this rollout), from the first `steps` steps.
 */
export function nextPrefixes(
  rollout: Rollout,
  K: number,
  steps: number = rollout.steps,
): ChunkPrefix[] {
  const { numEnvs: N, obsSize: O, actionSize: A } = rollout;
  const T = steps;
  return Array.from({ length: N }, (_, i) => {
    let first = T;
    // Walk back to the start of the chunk that contains the step after the rollout.
    while (first > 0) {
      const idx = (first - 1) * N + i;
      const ended = rollout.terminated[idx] || rollout.truncated[idx];
      if (ended || (rollout.timesteps[idx] + 1) % K === 0) break;
      first--;
    }
    const carried = first === 0 ? rollout.prefixes[i] : emptyPrefix();
    const prefix: ChunkPrefix = {
      obs: [...carried.obs],
      actions: [...carried.actions],
      returnsToGo: [...carried.returnsToGo],
      timesteps: [...carried.timesteps],
    };
    for (let t = first; t < T; t++) {
      const idx = t * N + i;
      prefix.obs.push(Array.from(rollout.obs.subarray(idx * O, idx * O + O)));
      prefix.actions.push(Array.from(rollout.actions.subarray(idx * A, idx * A + A)));
      prefix.returnsToGo.push(rollout.returnsToGo[idx]);
      prefix.timesteps.push(rollout.timesteps[idx]);
    }
    return prefix;
  });
}

/** Flat arrays of a minibatch of chunks, [B, K] (padded at the end), ready to become tensors. */
export interface ChunkBatch {
  batch: number;
  K: number;
  obs: Float32Array;
  actions: Float32Array;
  returnsToGo: Float32Array;
  timesteps: Int32Array;
  /** 1 at positions that are rollout samples (trained on), 0 at prefix context and padding. */
  mask: Float32Array;
  /** Rollout sample index (`t * N + i`) at each position, -1 where `mask` is 0. */
  sample: Int32Array;
}

/** Lays out chunks as a [B, K] batch: prefix context first, then the rollout steps, then padding. */
export function chunkBatch(rollout: Rollout, selected: Chunk[], K: number): ChunkBatch {
  const { numEnvs: N, obsSize: O, actionSize: A } = rollout;
  const B = selected.length;
  const out: ChunkBatch = {
    batch: B,
    K,
    obs: new Float32Array(B * K * O),
    actions: new Float32Array(B * K * A),
    returnsToGo: new Float32Array(B * K),
    timesteps: new Int32Array(B * K),
    mask: new Float32Array(B * K),
    sample: new Int32Array(B * K).fill(-1),
  };
  selected.forEach((c, b) => {
    const prefix = rollout.prefixes[c.env];
    const skip = prefix.timesteps.length - c.prefix;
    let k = 0;
    for (let p = skip; p < prefix.timesteps.length; p++, k++) {
      const at = b * K + k;
      out.obs.set(prefix.obs[p], at * O);
      out.actions.set(prefix.actions[p], at * A);
      out.returnsToGo[at] = prefix.returnsToGo[p];
      out.timesteps[at] = prefix.timesteps[p];
    }
    for (let t = c.start; t < c.start + c.length; t++, k++) {
      const at = b * K + k;
      const idx = t * N + c.env;
      out.obs.set(rollout.obs.subarray(idx * O, idx * O + O), at * O);
      out.actions.set(rollout.actions.subarray(idx * A, idx * A + A), at * A);
      out.returnsToGo[at] = rollout.returnsToGo[idx];
      out.timesteps[at] = rollout.timesteps[idx];
      out.mask[at] = 1;
      out.sample[at] = idx;
    }
    // Padding repeats the last timestep so the timestep embedding stays in range.
    for (; k < K; k++) out.timesteps[b * K + k] = out.timesteps[b * K + k - 1];
  });
  return out;
}

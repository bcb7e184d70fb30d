/**
 * Rollout collection: N envs stepped by the Decision Transformer, conditioned
 * on a target return, for T steps per iteration. The collector keeps what
 * must survive between iterations: the envs, the policy's KV cache, the
 * previous actions and each env's chunk prefix (see `rollout.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Env, envActionsOf, hash5, uniform01 } from "../../envs/env.ts";
import type { DecisionTransformer, KVCache } from "../model/decision_transformer.ts";
import {
  type ActionDist,
  concatDists,
  disposeDist,
  logProb,
  sampleFromProbs,
  sampleWithUniforms,
} from "../model/distribution.ts";
import type { ValueNetwork } from "../model/value_network.ts";
import type { TensorEntry } from "../io/safetensors.ts";
import { emptyPrefix, nextPrefixes, type Rollout } from "./rollout.ts";
import { createVecEnv, type HostVecEnv, TERMINATED, TRUNCATED } from "./vec_env.ts";

/** Separates the training action-sampling stream from the env's own draws. */
export const TRAIN_SAMPLE_STREAM = 0x6a09e667;

/** The collector's state besides its envs, with its KV cache held as `C`. */
export interface CollectorState<C> {
  prevAction: Float32Array;
  cache: C;
  prefixes?: Rollout["prefixes"];
}

/** The collector's state with the KV cache read back: tensors by `k.<layer>` / `v.<layer>`. */
export type CollectorSnapshot = CollectorState<Map<string, TensorEntry>>;

/**
 * The collector's state kept on the device: {@linkcode CollectorSnapshot}
 * without the readback of the KV cache (see {@linkcode CollectorBase.keep}).
 */
export type KeptCollector = CollectorState<KVCache>;

/**
 * What both collectors keep between rollouts: the envs (in GPU mode, the
 * host twin whose arrays travel to the device and back), the policy's KV
 * cache, each env's previous action and its open context chunk.
 */
export abstract class CollectorBase {
  readonly vec: HostVecEnv;
  /** The envs' last reset, which a Python worker answers asynchronously; `collect` awaits it. */
  protected resetting: void | Promise<void>;
  protected cache: KVCache;
  protected prevAction: Float32Array;
  protected readonly policyActionSize: number;
  protected prefixes: Rollout["prefixes"] | undefined;

  constructor(
    readonly env: Env,
    readonly policy: DecisionTransformer,
    readonly value: ValueNetwork,
    numEnvs: number,
    readonly seed: number,
  ) {
    this.vec = createVecEnv(env, numEnvs, { seed });
    this.resetting = this.vec.reset();
    // Reported by the collect that awaits it, not as an unhandled rejection before.
    (this.resetting as Promise<void> | undefined)?.catch?.(() => {});
    this.cache = policy.createCache(numEnvs);
    this.policyActionSize = policy.config.actionKind === "discrete" ? 1 : policy.config.actDim;
    this.prevAction = new Float32Array(numEnvs * this.policyActionSize);
  }

  /**
   * Fills `rollout` with the next T steps of every env, conditioned on
   * `targetReturn`; with `untilAllEnded`, stops early once every env has
   * ended an episode. Returns the number of steps collected.
   */
  abstract collect(
    rollout: Rollout,
    targetReturn: number,
    untilAllEnded?: boolean,
  ): Promise<number>;

  /**
   * Starts every env on a fresh episode numbered `episode`, each consecutive
   * group of `groupSize` envs from one start state (the `grpo` advantage
   * mode's groups).
   */
  restartInGroups(episode: number, groupSize: number): void {
    this.resetting = this.vec.restartInGroups(episode, groupSize);
    (this.resetting as Promise<void> | undefined)?.catch?.(() => {});
    this.prevAction.fill(0);
    this.prefixes = Array.from({ length: this.vec.n }, emptyPrefix);
  }

  /**
   * Continues from a checkpoint's copy of the state, the KV cache read back
   * from {@linkcode keep}'s (the env arrays are restored by the caller).
   */
  restore(s: CollectorSnapshot): void {
    this.restoreHostState(s);
    this.cache.load(s.cache);
  }

  /**
   * What continues this collector exactly, without a readback: the KV cache
   * is copied on the device (the rest lives on the host between collects, in
   * both modes), so that keeping the state of every iteration costs GPU mode
   * no round trip; a checkpoint reads the copy back when it is written.
   * Dispose the result's `cache`.
   */
  keep(): KeptCollector {
    return this.stateWith(this.cache.clone());
  }

  /** Continues from {@linkcode keep}'s copy, which stays valid (the env arrays are the caller's). */
  restoreKept(k: KeptCollector): void {
    this.restoreHostState(k);
    this.cache.assign(k.cache);
  }

  /** The host part of the state (copied, as the collector goes on writing it) with `cache`. */
  private stateWith<C>(cache: C): CollectorState<C> {
    return { prevAction: this.prevAction.slice(), cache, prefixes: this.prefixes };
  }

  private restoreHostState(s: CollectorState<unknown>): void {
    this.prevAction = s.prevAction.slice();
    this.prefixes = s.prefixes;
  }

  /** Frees the KV cache (and ends an external env's worker). */
  dispose(): void {
    this.cache.dispose();
    void this.vec.close();
  }
}

/** Collects rollouts in CPU mode (TypeScript envs, tfjs wasm). */
export class RolloutCollector extends CollectorBase {
  async collect(rollout: Rollout, targetReturn: number, untilAllEnded = false): Promise<number> {
    const { vec, policy, env } = this;
    await this.resetting;
    const N = vec.n, O = env.obsSize, P = this.policyActionSize;
    const discrete = policy.config.actionKind === "discrete";
    const uWidth = discrete ? 1 : 2 * P;
    const uniforms = new Float32Array(N * uWidth);
    if (this.prefixes) rollout.prefixes = this.prefixes;
    const ended = new Uint8Array(N);
    // Each step's distribution and action: their log-probabilities are computed in one pass after
    // the rollout (the ops work row by row, so the same bits, for ~11 kernels in all, not a step).
    const taken: { dist: ActionDist; actions: tf.Tensor }[] = [];
    try {
      let t = 0;
      for (; t < rollout.steps; t++) {
        if (untilAllEnded && ended.every(Boolean)) break;
        const base = t * N;
        const rtg = new Float32Array(N);
        for (let i = 0; i < N; i++) {
          rtg[i] = targetReturn - vec.stats.running[i];
          for (let k = 0; k < uWidth; k++) {
            uniforms[i * uWidth + k] = uniform01(
              hash5((this.seed ^ TRAIN_SAMPLE_STREAM) >>> 0, i, vec.episode[i], vec.t[i], k),
            );
          }
        }
        rollout.obs.set(vec.obs, base * O);
        rollout.returnsToGo.set(rtg, base);
        for (let i = 0; i < N; i++) rollout.timesteps[base + i] = vec.t[i];
        const obs = tf.tensor2d(vec.obs, [N, O]);
        const input = {
          returnToGo: tf.tensor1d(rtg),
          obs,
          prevAction: tf.tensor2d(this.prevAction, [N, P]),
          timestep: tf.tensor1d(Int32Array.from(vec.t), "int32"),
        };
        // Outside any tidy: act replaces the cache's tensors, which must outlive this step.
        const dist = policy.act(this.cache, input);
        const actions = dist.kind === "discrete"
          ? await sampleOnHost(dist.logits, uniforms)
          : tf.tidy(() => sampleWithUniforms(dist, tf.tensor2d(uniforms, [N, uWidth])));
        taken.push({ dist, actions });
        tf.dispose(Object.values(input));
        const a = (await actions.data()) as Float32Array<ArrayBuffer>;
        rollout.actions.set(a, base * P);
        this.prevAction = a;

        await vec.step(envActionsOf(env, a, N));
        rollout.rewards.set(vec.reward, base);
        let anyTruncated = false;
        for (let i = 0; i < N; i++) {
          rollout.terminated[base + i] = vec.done[i] & TERMINATED ? 1 : 0;
          rollout.truncated[base + i] = vec.done[i] & TRUNCATED ? 1 : 0;
          anyTruncated ||= rollout.truncated[base + i] === 1 && rollout.terminated[base + i] === 0;
          if (vec.done[i] !== 0) ended[i] = 1;
        }
        if (anyTruncated) {
          const v = await this.predictValues(vec.finalObs);
          for (let i = 0; i < N; i++) {
            rollout.finalValues[base + i] = rollout.truncated[base + i] ? v[i] : 0;
          }
        } else {
          rollout.finalValues.fill(0, base, base + N);
        }
      }
      if (taken.length > 0) {
        const logProbs = tf.tidy(() =>
          logProb(concatDists(taken.map((x) => x.dist)), tf.concat(taken.map((x) => x.actions)))
        );
        rollout.logProbs.set((await logProbs.data()) as Float32Array);
        logProbs.dispose();
      }
      // The values of every step's observations in one forward (one call instead of one per step).
      rollout.values.set(await this.predictValues(rollout.obs.subarray(0, t * N * O)));
      rollout.lastValues.set(await this.predictValues(vec.obs));
      this.prefixes = nextPrefixes(rollout, policy.config.contextLength, t);
      return t;
    } finally {
      for (const { dist, actions } of taken) {
        disposeDist(dist);
        actions.dispose();
      }
    }
  }

  private async predictValues(obs: Float32Array): Promise<Float32Array> {
    const O = this.env.obsSize;
    const v = tf.tidy(() => this.value.predict(tf.tensor2d(obs, [obs.length / O, O])));
    const out = (await v.data()) as Float32Array;
    v.dispose();
    return out;
  }
}

/** Actions [N, 1] drawn from `logits` [N, n] with one uniform per row, on the host (CPU mode). */
async function sampleOnHost(logits: tf.Tensor, uniforms: Float32Array): Promise<tf.Tensor> {
  const [rows, n] = logits.shape as [number, number];
  const probs = tf.softmax(logits);
  const p = await probs.data();
  probs.dispose();
  return tf.tensor2d(sampleFromProbs(p, uniforms, n), [rows, 1]);
}

/** A stage-2 collector: CPU mode's {@linkcode RolloutCollector}, or src/gpu's GPU one. */
export type Collector = CollectorBase;

/**
 * Makes a run's collector. The training loop is mode-free: the caller picks
 * the mode by passing src/gpu's `createCollector` (GPU where the tfjs
 * backend is WebGPU) or leaving the default, {@linkcode cpuCollector}.
 */
export type CollectorFactory = (
  env: Env,
  policy: DecisionTransformer,
  value: ValueNetwork,
  numEnvs: number,
  seed: number,
) => Collector;

/** CPU mode's collector as a {@linkcode CollectorFactory}. */
export const cpuCollector: CollectorFactory = (env, policy, value, numEnvs, seed) =>
  new RolloutCollector(env, policy, value, numEnvs, seed);

/**
 * GPU mode's rollout collector: the same rollouts as CPU mode's
 * `RolloutCollector` (`src/rl/collect.ts`), with everything of a rollout on
 * one device and nothing read back per step. Per step:
 *
 * 1. `begin_step` (`shaders/rollout_record.wgsl`) makes the policy's inputs
 *    (return-to-go, timestep) from GpuVecEnv's counters and stats and records
 *    them with the observation;
 * 2. the Decision Transformer's cached `act` runs on tfjs WebGPU, reading
 *    those buffers in place (`tensorFromBuffer`);
 * 3. `GpuActionSampler` draws the actions from the head's outputs with the
 *    counter-based RNG (the same draws as CPU mode) into GpuVecEnv's action
 *    buffer, with their log-probs;
 * 4. the env kernel steps; 5. `end_step` records the outcome.
 *
 * After the last step the value network runs once over all recorded
 * observations and final observations and the observation after the
 * rollout, and one readback brings the record, the values and the envs'
 * arrays to the host. Between collects the host copy (`vec`, a CpuVecEnv
 * used as storage) is the truth: each collect uploads it first, so episode
 * statistics, curriculum parameters and checkpoint restores work as in CPU
 * mode through the same fields.
 *
 * tfjs records its work into its own command encoder, so `flushTf()` runs
 * before each of our submits to keep the queue in program order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { actionSize, type Env } from "../../envs/env.ts";
import { copyTensorToBuffer, flushTf, tensorFromBuffer } from "../model/backend.ts";
import type { DecisionTransformer } from "../model/decision_transformer.ts";
import { disposeDist } from "../model/distribution.ts";
import type { ValueNetwork } from "../model/value_network.ts";
import {
  CollectorBase,
  type CollectorFactory,
  RolloutCollector,
  TRAIN_SAMPLE_STREAM,
} from "../rl/collect.ts";
import { nextPrefixes, type Rollout } from "../rl/rollout.ts";
import { readRecord, type RecordLayout, recordLayout } from "../rl/rollout_record.ts";
import type { EpisodeStats } from "../rl/vec_env.ts";
import { requireGpu } from "../device.ts";
import { readBuffers } from "./staging.ts";
import { GpuRolloutRecorder } from "./rollout_record.ts";
import { GpuActionSampler } from "./sample_actions.ts";
import { GpuVecEnv, packCounters, unpackCounters } from "./vec_env.ts";

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Device objects, made on the first collect (the constructor is synchronous, as CPU mode's). */
interface DeviceParts {
  device: GPUDevice;
  envs: GpuVecEnv;
  sampler: GpuActionSampler;
  rtg: GPUBuffer;
  timestep: GPUBuffer;
  prevAction: GPUBuffer;
  logProbs: GPUBuffer;
  /**
   * What the sampler draws when it is not what the env takes: Gaussian
   * policies' unclipped samples (GpuVecEnv's buffer gets the clipped ones), or
   * the choice indices of an env with a discrete action table.
   */
  sampled?: GPUBuffer;
  /** The discrete action table (choices x env action size). */
  actionTable?: GPUBuffer;
  /** Per rollout length: the record, the values and the recorder bound to them. */
  steps: number;
  layout?: RecordLayout;
  record?: GPUBuffer;
  values?: GPUBuffer;
  recorder?: GpuRolloutRecorder;
}

/** Whether {@linkcode GpuRolloutCollector} can run `env` (it needs the env's WGSL kernel). */
export function gpuCollectorSupports(env: Env): boolean {
  return env.wgsl !== undefined;
}

/**
 * Collects rollouts in GPU mode: env kernel, tfjs WebGPU policy and sampling
 * kernel on one device. After `restartInGroups` the start states are the host
 * twin's; later episodes within a rollout start from the device kernel's own
 * reset draws (keyed by env, not by group).
 */
export class GpuRolloutCollector extends CollectorBase {
  /** Rows per value-network forward at the end of a rollout (bounds the hidden layers' memory). */
  static valueRows = 16384;
  private parts?: DeviceParts;

  constructor(
    env: Env,
    policy: DecisionTransformer,
    value: ValueNetwork,
    numEnvs: number,
    seed: number,
  ) {
    if (!gpuCollectorSupports(env)) {
      throw new Error(`${env.id}: the GPU collector needs the env's WGSL kernel`);
    }
    // The host twin's reset (in the base), so that both modes start from the same states.
    super(env, policy, value, numEnvs, seed);
  }

  private async deviceParts(steps: number): Promise<DeviceParts> {
    const N = this.vec.n, P = this.policyActionSize, O = this.env.obsSize;
    if (!this.parts) {
      const { device } = await requireGpu();
      const buffer = (label: string, floats: number) =>
        device.createBuffer({ label, size: Math.max(16, 4 * floats), usage: STORAGE });
      this.parts = {
        device,
        envs: await GpuVecEnv.create(this.env, N, { seed: this.seed }),
        sampler: await GpuActionSampler.create(device),
        rtg: buffer("rollout rtg", N),
        timestep: buffer("rollout timestep", N),
        prevAction: buffer("rollout prev action", N * P),
        logProbs: buffer("rollout log-probs", N),
        sampled: this.policy.config.actionKind === "continuous" || this.env.discreteActions
          ? buffer("rollout samples", N * P)
          : undefined,
        steps: 0,
      };
      const table = this.env.discreteActions;
      if (table) {
        const data = Float32Array.from(table.flat());
        this.parts.actionTable = buffer("discrete action table", data.length);
        device.queue.writeBuffer(this.parts.actionTable, 0, data);
      }
    }
    const p = this.parts;
    if (p.steps !== steps) {
      p.record?.destroy();
      p.values?.destroy();
      p.recorder?.destroy();
      const layout = recordLayout(steps, N, O, P);
      p.layout = layout;
      p.record = p.device.createBuffer({
        label: "rollout record",
        size: 4 * layout.length,
        usage: STORAGE,
      });
      p.values = p.device.createBuffer({
        label: "rollout values",
        size: 4 * (2 * layout.samples + N),
        usage: STORAGE,
      });
      const b = p.envs.buffers;
      p.recorder = await GpuRolloutRecorder.create(p.device, layout, {
        stats: b.stats,
        counters: b.counters,
        obs: b.obs,
        finalObs: b.finalObs,
        reward: b.reward,
        done: b.done,
        actions: p.sampled ?? b.actions,
        logProbs: p.logProbs,
        rtg: p.rtg,
        timestep: p.timestep,
        prevAction: p.prevAction,
        record: p.record,
        actionTable: p.actionTable && {
          table: p.actionTable,
          envActions: b.actions,
          envActionSize: actionSize(this.env),
        },
      });
      p.steps = steps;
    }
    return p;
  }

  /** Writes the host copy of the envs and the previous actions to the device. */
  private upload(p: DeviceParts): void {
    const { vec } = this;
    const q = p.device.queue, b = p.envs.buffers;
    p.envs.setParams(vec.params);
    q.writeBuffer(b.state, 0, Float32Array.from(vec.state));
    q.writeBuffer(b.obs, 0, vec.obs);
    const { counters, stats } = packCounters(vec);
    q.writeBuffer(b.counters, 0, counters);
    q.writeBuffer(b.stats, 0, stats);
    q.writeBuffer(p.prevAction, 0, this.prevAction as Float32Array<ArrayBuffer>);
  }

  /**
   * Fills `rollout` with the next T steps of every env, conditioned on
   * `targetReturn`. With `untilAllEnded` (the `grpo` advantage mode), returns
   * the number of steps until every env had ended an episode, as CPU mode
   * does; the device runs all T steps regardless (stopping would need a
   * readback per step), so the steps after that point are extra data, the
   * episode statistics are recomputed up to it on the host, and the envs are
   * left T steps in (that mode restarts them every iteration). Returns T
   * otherwise.
   */
  async collect(rollout: Rollout, targetReturn: number, untilAllEnded = false): Promise<number> {
    const { vec, policy, env } = this;
    const N = vec.n, O = env.obsSize, P = this.policyActionSize, T = rollout.steps;
    const p = await this.deviceParts(T);
    const recorder = p.recorder!, envs = p.envs, b = envs.buffers;
    const seed = (this.seed ^ TRAIN_SAMPLE_STREAM) >>> 0;
    const box = env.actionSpace.kind === "box" ? env.actionSpace : undefined;
    if (this.prefixes) rollout.prefixes = this.prefixes;
    const statsBefore = structuredClone(vec.stats);
    flushTf();
    this.upload(p);
    for (let t = 0; t < T; t++) {
      recorder.beginStep(t, targetReturn);
      const input = {
        returnToGo: tensorFromBuffer<tf.Rank.R1>(p.rtg, [N]),
        obs: tensorFromBuffer<tf.Rank.R2>(b.obs, [N, O]),
        prevAction: tensorFromBuffer<tf.Rank.R2>(p.prevAction, [N, P]),
        timestep: tensorFromBuffer<tf.Rank.R1>(p.timestep, [N], "int32"),
      };
      // Outside any tidy: act replaces the cache's tensors, which must outlive this step.
      const dist = policy.act(this.cache, input);
      // dataToGPU copies the head's outputs and submits tfjs's work; flushTf keeps the
      // queue in program order should anything be left recorded.
      if (dist.kind === "discrete") {
        const logits = dist.logits.dataToGPU();
        flushTf();
        p.sampler.sampleCategorical(
          {
            logits: logits.buffer!,
            counters: b.counters,
            actions: p.sampled ?? b.actions,
            logProbs: p.logProbs,
          },
          N,
          dist.logits.shape[1]!,
          seed,
        );
        logits.tensorRef.dispose();
        if (p.actionTable) recorder.mapActions();
      } else {
        const mean = dist.mean.dataToGPU(), logStd = dist.logStd.dataToGPU();
        flushTf();
        p.sampler.sampleGaussian(
          {
            mean: mean.buffer!,
            logStd: logStd.buffer!,
            counters: b.counters,
            actions: p.sampled!,
            envActions: b.actions,
            logProbs: p.logProbs,
          },
          N,
          box!.low,
          box!.high,
          seed,
        );
        mean.tensorRef.dispose();
        logStd.tensorRef.dispose();
      }
      disposeDist(dist);
      tf.dispose(Object.values(input));
      await envs.stepDeviceActions();
      recorder.endStep(t);
    }

    // One value forward: V(obs) and V(final obs) of every sample, then V(obs after the rollout).
    // In row chunks, so that the hidden layers stay small for large batches.
    const layout = p.layout!, M = layout.samples, rows = 2 * M + N;
    const observations = tf.tidy(() =>
      tf.concat([
        tensorFromBuffer<tf.Rank.R2>(p.record!, [2 * M, O]),
        tensorFromBuffer<tf.Rank.R2>(b.obs, [N, O]),
      ], 0)
    );
    for (let start = 0; start < rows; start += GpuRolloutCollector.valueRows) {
      const count = Math.min(GpuRolloutCollector.valueRows, rows - start);
      const values = tf.tidy(() => this.value.predict(observations.slice([start, 0], [count, O])));
      copyTensorToBuffer(values, p.values!, 4 * start);
      values.dispose();
    }
    observations.dispose();
    flushTf();

    // The one readback: record, values and the envs' arrays, copied into one staging buffer.
    const sources = [p.record!, p.values!, b.state, b.obs, b.counters, b.stats];
    const { bytes, offsets } = await readBuffers(p.device, sources, "rollout readback");

    const f32 = (k: number, len: number) => new Float32Array(bytes, offsets[k], len);
    readRecord(layout, f32(0, layout.length), f32(1, 2 * M + N), rollout);
    vec.state.set(f32(2, N * env.stateSize));
    vec.obs.set(f32(3, N * O));
    unpackCounters(vec, new Uint32Array(bytes, offsets[4], 2 * N), f32(5, 4 * N));
    this.prevAction = rollout.actions.slice((T - 1) * N * P, T * N * P);
    this.prefixes = nextPrefixes(rollout, policy.config.contextLength);
    if (!untilAllEnded) return T;
    const collected = stepsUntilAllEnded(rollout);
    if (collected < T) {
      const after = statsAfter(rollout, collected, statsBefore);
      for (const key of ["running", "returnSum", "count", "lengthSum"] as const) {
        vec.stats[key].set(after[key]);
      }
    }
    return collected;
  }

  /** Frees the KV cache and the device buffers. */
  override dispose(): void {
    super.dispose();
    const p = this.parts;
    if (!p) return;
    flushTf();
    p.envs.close();
    p.sampler.destroy();
    p.recorder?.destroy();
    const buffers = [p.rtg, p.timestep, p.prevAction, p.logProbs, p.sampled, p.actionTable];
    for (const b of [...buffers, p.record, p.values]) {
      b?.destroy();
    }
    this.parts = undefined;
  }
}

/** The first step at which every env has ended an episode in an earlier step (T if never), as CPU mode's early stop. */
export function stepsUntilAllEnded(rollout: Rollout): number {
  const { steps: T, numEnvs: N } = rollout;
  const ended = new Uint8Array(N);
  let open = N;
  for (let t = 0; t < T; t++) {
    if (open === 0) return t;
    for (let i = 0; i < N; i++) {
      const k = t * N + i;
      if (!ended[i] && (rollout.terminated[k] || rollout.truncated[k])) {
        ended[i] = 1;
        open--;
      }
    }
  }
  return T;
}

/** Episode statistics after the first `steps` steps of `rollout`, from those before it (f32, as the kernel). */
export function statsAfter(rollout: Rollout, steps: number, before: EpisodeStats): EpisodeStats {
  const N = rollout.numEnvs;
  const out = structuredClone(before);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < N; i++) {
      const k = t * N + i;
      out.running[i] += rollout.rewards[k];
      if (rollout.terminated[k] || rollout.truncated[k]) {
        out.returnSum[i] += out.running[i];
        out.count[i] += 1;
        out.lengthSum[i] += rollout.timesteps[k] + 1;
        out.running[i] = 0;
      }
    }
  }
  return out;
}

/**
 * The collector for the active tfjs backend: GPU mode's where the backend is
 * WebGPU and the env can run on the device ({@linkcode gpuCollectorSupports}),
 * CPU mode's otherwise.
 */
export const createCollector: CollectorFactory = (env, policy, value, numEnvs, seed) =>
  tf.getBackend() === "webgpu" && gpuCollectorSupports(env)
    ? new GpuRolloutCollector(env, policy, value, numEnvs, seed)
    : new RolloutCollector(env, policy, value, numEnvs, seed);

/**
 * GPU runner for `shaders/sample_actions.wgsl`: one categorical or Gaussian
 * action per env from a policy head's outputs (e.g. logits that tfjs's
 * `dataToGPU` left on the device), written where GpuVecEnv reads its
 * actions, with their log-probabilities. The draws and their definitions are
 * those of the TypeScript twin, `src/rl/sample_actions.ts`.
 *
 * Every call writes its config with `queue.writeBuffer` and submits its own
 * dispatch, and reads nothing back, so a rollout can chain policy forward,
 * sampling and env step without waiting.
 *
 * @module
 */
import {
  bindBuffers,
  compilePipelines,
  dispatchSize,
  loadShader,
  SHADERS,
  submitDispatch,
} from "./shader.ts";

/** Buffers of a categorical draw. */
export interface CategoricalBuffers {
  /** N x choices f32 logits, row-major. */
  logits: GPUBuffer;
  /** N x [step in episode, episode number] u32 (GpuVecEnv's `counters`). */
  counters: GPUBuffer;
  /** N x 1 f32 output: the choice index (GpuVecEnv's `actions` for a discrete env). */
  actions: GPUBuffer;
  /** N f32 output. */
  logProbs: GPUBuffer;
}

/** Buffers of a Gaussian draw. */
export interface GaussianBuffers {
  /** N x A f32 means. */
  mean: GPUBuffer;
  /** A f32 log standard deviations. */
  logStd: GPUBuffer;
  /** N x 2 u32 counters, as for {@linkcode CategoricalBuffers}. */
  counters: GPUBuffer;
  /** N x A f32 output: the unclipped samples (store these in the rollout). */
  actions: GPUBuffer;
  /** N x A f32 output: the samples clipped into the box (GpuVecEnv's `actions`). */
  envActions: GPUBuffer;
  /** N f32 output. */
  logProbs: GPUBuffer;
}

const WORKGROUP = 64;
const F32_MAX = 3.4028234663852886e38;

/** Samples actions on the GPU; create once per device. */
export class GpuActionSampler {
  private readonly config: GPUBuffer;
  private bounds: GPUBuffer;

  private constructor(
    readonly device: GPUDevice,
    private readonly categorical: GPUComputePipeline,
    private readonly gaussian: GPUComputePipeline,
  ) {
    this.config = device.createBuffer({
      label: "sample config",
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.bounds = this.boundsBuffer(16);
  }

  /** Compiles both entry points. */
  static async create(device: GPUDevice): Promise<GpuActionSampler> {
    const parts = [
      await loadShader(new URL("random.wgsl", SHADERS)),
      await loadShader(new URL("sample_actions.wgsl", SHADERS)),
    ];
    const p = await compilePipelines(device, parts, "sample_actions.wgsl", [
      "sample_categorical",
      "sample_gaussian",
    ]);
    return new GpuActionSampler(device, p.sample_categorical, p.sample_gaussian);
  }

  private boundsBuffer(size: number): GPUBuffer {
    return this.device.createBuffer({
      label: "action box",
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  private run(
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    n: number,
    width: number,
    seed: number,
    deterministic: boolean,
  ): void {
    this.device.queue.writeBuffer(
      this.config,
      0,
      new Uint32Array([n, width, seed >>> 0, deterministic ? 1 : 0]),
    );
    const group = bindBuffers(this.device, pipeline.getBindGroupLayout(0), buffers);
    submitDispatch(this.device, pipeline, group, dispatchSize(n, WORKGROUP));
  }

  /** One categorical action per env (the argmax when `deterministic`). */
  sampleCategorical(
    b: CategoricalBuffers,
    numEnvs: number,
    numChoices: number,
    seed: number,
    deterministic = false,
  ): void {
    this.run(
      this.categorical,
      [this.config, b.logits, b.counters, b.actions, b.logProbs],
      numEnvs,
      numChoices,
      seed,
      deterministic,
    );
  }

  /**
   * One Gaussian action per env (the mean when `deterministic`), clipped into
   * the box `[low, high]` for the env (infinite bounds become f32's largest).
   */
  sampleGaussian(
    b: GaussianBuffers,
    numEnvs: number,
    low: ArrayLike<number>,
    high: ArrayLike<number>,
    seed: number,
    deterministic = false,
  ): void {
    const A = low.length;
    const box = new Float32Array(2 * A);
    for (let d = 0; d < A; d++) {
      box[d] = Math.max(low[d], -F32_MAX);
      box[A + d] = Math.min(high[d], F32_MAX);
    }
    if (this.bounds.size < box.byteLength) {
      this.bounds.destroy();
      this.bounds = this.boundsBuffer(box.byteLength);
    }
    this.device.queue.writeBuffer(this.bounds, 0, box);
    this.run(
      this.gaussian,
      [this.config, b.mean, b.counters, b.actions, b.logProbs, b.logStd, this.bounds, b.envActions],
      numEnvs,
      A,
      seed,
      deterministic,
    );
  }

  /** Frees the sampler's own buffers. */
  destroy(): void {
    this.config.destroy();
    this.bounds.destroy();
  }
}

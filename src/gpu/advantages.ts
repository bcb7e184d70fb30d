/**
 * GPU runners for the advantage kernels: GAE (`shaders/gae.wgsl`), group and
 * global normalization (`shaders/group_norm.wgsl`) and GRPO's outcome
 * advantages (`shaders/grpo.wgsl`). The TypeScript twins, and the
 * definitions (layout, partial groups, epsilon), are in
 * `src/rl/advantages.ts`.
 *
 * Every method writes its small config with `queue.writeBuffer` and submits
 * its own command buffer, and reads nothing back: calls reach the queue in
 * call order, so a caller can chain GAE, normalization and the update's
 * kernels without waiting, and pays for a readback only when it wants
 * numbers. All arrays are step-major T x N f32 (flags u32), as
 * `src/rl/advantages.ts` documents.
 *
 * @module
 */
import { NORM_EPS } from "../rl/advantages.ts";
import {
  bindBuffers,
  compileKernel,
  dispatchSize,
  type Kernel,
  loadShader,
  SHADERS,
  submitDispatch,
} from "./shader.ts";

/** Buffers GAE reads and writes (f32 except `done`). */
export interface GaeBuffers {
  /** T x N. */
  rewards: GPUBuffer;
  /** T x N, V(obs). */
  values: GPUBuffer;
  /** T x N u32, `TERMINATED | TRUNCATED` bits (as GpuVecEnv's `done`). */
  done: GPUBuffer;
  /** T x N, V(final observation), read at truncated steps. */
  finalValues: GPUBuffer;
  /** N, V(observation after the last step). */
  lastValues: GPUBuffer;
  /** T x N output. */
  advantages: GPUBuffer;
  /** T x N output, advantages + values. */
  returns: GPUBuffer;
}

/** Buffers of GRPO's outcome advantages. */
export interface GrpoBuffers {
  /** T x N. */
  rewards: GPUBuffer;
  /** T x N u32 done bits. */
  done: GPUBuffer;
  /** N output: the scored episode's return. */
  episodeReturns: GPUBuffer;
  /** N output (scratch): the normalized scores. */
  scores: GPUBuffer;
  /** N u32 output: the scored episode's length. */
  lengths: GPUBuffer;
  /** T x N output. */
  advantages: GPUBuffer;
}

/** Groups up to this size are normalized by one invocation each; larger ones by workgroup reductions. */
export const SMALL_GROUP_MAX = 64;
/** Floats one reduction workgroup summarizes (256 invocations x 16). */
const CHUNK_LEN = 4096;
const SMALL_WORKGROUP = 64;

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const UNIFORM = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

/** Runs the advantage kernels on one device; create once, call every iteration. */
export class GpuAdvantages {
  private readonly gaeConfig: GPUBuffer;
  private readonly normConfig: GPUBuffer;
  private readonly grpoConfig: GPUBuffer;
  private partials: GPUBuffer;
  private stats: GPUBuffer;

  private constructor(
    readonly device: GPUDevice,
    private readonly gaeKernel: Kernel<"gae">,
    private readonly normKernel: Kernel<
      "normalize_small" | "partial_stats" | "finalize_stats" | "apply_stats"
    >,
    private readonly grpoKernel: Kernel<"episode_scores" | "broadcast_scores">,
  ) {
    const uniform = (label: string) => device.createBuffer({ label, size: 32, usage: UNIFORM });
    this.gaeConfig = uniform("gae config");
    this.normConfig = uniform("norm config");
    this.grpoConfig = uniform("grpo config");
    this.partials = device.createBuffer({ label: "norm partials", size: 16, usage: STORAGE });
    this.stats = device.createBuffer({ label: "norm stats", size: 16, usage: STORAGE });
  }

  /** Compiles the three kernels. */
  static async create(device: GPUDevice): Promise<GpuAdvantages> {
    const ro: GPUBufferBindingType = "read-only-storage";
    const rw: GPUBufferBindingType = "storage";
    const kernel = async <E extends string>(
      file: string,
      bindings: GPUBufferBindingType[],
      entries: E[],
    ) => compileKernel(device, [await loadShader(new URL(file, SHADERS))], file, bindings, entries);
    return new GpuAdvantages(
      device,
      await kernel("gae.wgsl", ["uniform", ro, ro, ro, ro, ro, rw, rw], ["gae"]),
      await kernel("group_norm.wgsl", ["uniform", rw, rw, rw], [
        "normalize_small",
        "partial_stats",
        "finalize_stats",
        "apply_stats",
      ]),
      await kernel("grpo.wgsl", ["uniform", ro, ro, rw, rw, rw, rw], [
        "episode_scores",
        "broadcast_scores",
      ]),
    );
  }

  /** GAE over T x N steps (see `gae` in `src/rl/advantages.ts`). */
  gae(b: GaeBuffers, steps: number, numEnvs: number, gamma: number, lambda: number): void {
    const cfg = new ArrayBuffer(16);
    new Uint32Array(cfg, 0, 2).set([steps, numEnvs]);
    new Float32Array(cfg, 8, 2).set([gamma, lambda]);
    this.device.queue.writeBuffer(this.gaeConfig, 0, cfg);
    const group = bindBuffers(this.device, this.gaeKernel.layout, [
      this.gaeConfig,
      b.rewards,
      b.values,
      b.done,
      b.finalValues,
      b.lastValues,
      b.advantages,
      b.returns,
    ]);
    submitDispatch(this.device, this.gaeKernel.entries.gae, group, dispatchSize(numEnvs, 64));
  }

  /** Normalizes consecutive groups of `groupSize` of the first `length` floats of `x` in place. */
  normalizeGroups(x: GPUBuffer, length: number, groupSize: number, eps = NORM_EPS): void {
    if (!(Number.isInteger(groupSize) && groupSize >= 1)) {
      throw new RangeError(`group size must be a positive integer, got ${groupSize}`);
    }
    if (length === 0) return;
    const groups = Math.ceil(length / groupSize);
    const small = groupSize <= SMALL_GROUP_MAX;
    const chunks = small ? 0 : Math.ceil(Math.min(groupSize, length) / CHUNK_LEN);
    const cfg = new ArrayBuffer(32);
    new Uint32Array(cfg, 0, 5).set([length, groupSize, groups, chunks, CHUNK_LEN]);
    new Float32Array(cfg, 20, 1)[0] = eps;
    this.device.queue.writeBuffer(this.normConfig, 0, cfg);
    if (!small) this.reserveScratch(groups * chunks, groups);
    const group = bindBuffers(this.device, this.normKernel.layout, [
      this.normConfig,
      x,
      this.partials,
      this.stats,
    ]);
    const e = this.normKernel.entries;
    if (small) {
      submitDispatch(this.device, e.normalize_small, group, dispatchSize(groups, SMALL_WORKGROUP));
      return;
    }
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setBindGroup(0, group);
    pass.setPipeline(e.partial_stats);
    pass.dispatchWorkgroups(...dispatchSize(groups * chunks, 1));
    pass.setPipeline(e.finalize_stats);
    pass.dispatchWorkgroups(...dispatchSize(groups, SMALL_WORKGROUP));
    pass.setPipeline(e.apply_stats);
    pass.dispatchWorkgroups(...dispatchSize(length, SMALL_WORKGROUP));
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** Normalizes the first `length` floats of `x` as one group (plain PPO). */
  normalizeGlobal(x: GPUBuffer, length: number, eps = NORM_EPS): void {
    if (length > 0) this.normalizeGroups(x, length, length, eps);
  }

  /** GRPO's outcome advantages (see `grpoAdvantages` in `src/rl/advantages.ts`). */
  grpo(b: GrpoBuffers, steps: number, numEnvs: number, groupSize: number, eps = NORM_EPS): void {
    this.device.queue.writeBuffer(this.grpoConfig, 0, new Uint32Array([steps, numEnvs, 0, 0]));
    const group = bindBuffers(this.device, this.grpoKernel.layout, [
      this.grpoConfig,
      b.rewards,
      b.done,
      b.episodeReturns,
      b.scores,
      b.lengths,
      b.advantages,
    ]);
    const e = this.grpoKernel.entries;
    submitDispatch(this.device, e.episode_scores, group, dispatchSize(numEnvs, 64));
    this.normalizeGroups(b.scores, numEnvs, groupSize, eps);
    submitDispatch(this.device, e.broadcast_scores, group, dispatchSize(steps * numEnvs, 64));
  }

  private reserveScratch(partials: number, groups: number): void {
    // Replaced buffers are destroyed after the queue is done with them.
    if (this.partials.size < 16 * partials) {
      const old = this.partials;
      this.partials = this.device.createBuffer({
        label: "norm partials",
        size: 16 * partials,
        usage: STORAGE,
      });
      old.destroy();
    }
    if (this.stats.size < 8 * groups) {
      const old = this.stats;
      this.stats = this.device.createBuffer({
        label: "norm stats",
        size: Math.max(16, 8 * groups),
        usage: STORAGE,
      });
      old.destroy();
    }
  }

  /** Frees the runner's own buffers (not the caller's). */
  destroy(): void {
    for (const b of [this.gaeConfig, this.normConfig, this.grpoConfig, this.partials, this.stats]) {
      b.destroy();
    }
  }
}

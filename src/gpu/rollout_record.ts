/**
 * GPU runner for `shaders/rollout_record.wgsl` (layout and TypeScript twin:
 * `src/rl/rollout_record.ts`). Each call writes the step's config with
 * `queue.writeBuffer` and submits one dispatch, reading nothing back.
 *
 * @module
 */
import type { RecordLayout } from "../rl/rollout_record.ts";
import { compilePipelines, dispatchSize, loadShader, SHADERS, submitDispatch } from "./shader.ts";

/** The buffers both entry points bind (see the WGSL for their layouts). */
export interface RecordBuffers {
  /** GpuVecEnv's `stats`, `counters`, `obs`, `finalObs`, `reward`, `done`. */
  stats: GPUBuffer;
  counters: GPUBuffer;
  obs: GPUBuffer;
  finalObs: GPUBuffer;
  reward: GPUBuffer;
  done: GPUBuffer;
  /** The sampler's outputs: N x P actions as the rollout stores them, N log-probs. */
  actions: GPUBuffer;
  logProbs: GPUBuffer;
  /** The policy's inputs: N returns-to-go, N i32 timesteps, N x P previous actions. */
  rtg: GPUBuffer;
  timestep: GPUBuffer;
  prevAction: GPUBuffer;
  /** `layout.length` floats. */
  record: GPUBuffer;
  /** For envs with a discrete action table: the table (choices x E floats) and the env's N x E actions. */
  actionTable?: { table: GPUBuffer; envActions: GPUBuffer; envActionSize: number };
}

const WORKGROUP = 64;

/** Records a rollout on the device, step by step, for one set of buffers. */
export class GpuRolloutRecorder {
  private readonly config: GPUBuffer;
  private readonly begin: { pipeline: GPUComputePipeline; group: GPUBindGroup };
  private readonly end: { pipeline: GPUComputePipeline; group: GPUBindGroup };
  private readonly map?: { pipeline: GPUComputePipeline; group: GPUBindGroup };
  private readonly envActionSize: number;

  private constructor(
    readonly device: GPUDevice,
    readonly layout: RecordLayout,
    pipelines: { begin: GPUComputePipeline; end: GPUComputePipeline; map: GPUComputePipeline },
    b: RecordBuffers,
  ) {
    this.config = device.createBuffer({
      label: "record config",
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    // Each entry point's auto layout holds only the bindings it uses.
    const group = (pipeline: GPUComputePipeline, buffers: [number, GPUBuffer][]) => ({
      pipeline,
      group: device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map(([binding, buffer]) => ({ binding, resource: { buffer } })),
      }),
    });
    this.begin = group(pipelines.begin, [
      [0, this.config],
      [1, b.stats],
      [2, b.counters],
      [3, b.obs],
      [9, b.rtg],
      [10, b.timestep],
      [12, b.record],
    ]);
    this.end = group(pipelines.end, [
      [0, this.config],
      [4, b.finalObs],
      [5, b.reward],
      [6, b.done],
      [7, b.actions],
      [8, b.logProbs],
      [11, b.prevAction],
      [12, b.record],
    ]);
    this.envActionSize = b.actionTable?.envActionSize ?? 0;
    if (b.actionTable) {
      this.map = group(pipelines.map, [
        [0, this.config],
        [7, b.actions],
        [13, b.actionTable.table],
        [14, b.actionTable.envActions],
      ]);
    }
  }

  /** Compiles the kernel and binds `buffers`. */
  static async create(
    device: GPUDevice,
    layout: RecordLayout,
    buffers: RecordBuffers,
  ): Promise<GpuRolloutRecorder> {
    const file = "rollout_record.wgsl";
    const p = await compilePipelines(device, [await loadShader(new URL(file, SHADERS))], file, [
      "begin_step",
      "end_step",
      "map_actions",
    ]);
    return new GpuRolloutRecorder(device, layout, {
      begin: p.begin_step,
      end: p.end_step,
      map: p.map_actions,
    }, buffers);
  }

  private run(which: "begin" | "end" | "map", step: number, target: number): void {
    const { numEnvs, obsSize, actionSize, samples } = this.layout;
    const cfg = new ArrayBuffer(32);
    new Uint32Array(cfg).set([numEnvs, step, obsSize, actionSize, 0, samples, this.envActionSize]);
    new Float32Array(cfg, 16, 1)[0] = target;
    this.device.queue.writeBuffer(this.config, 0, cfg);
    const { pipeline, group } = this[which]!;
    submitDispatch(this.device, pipeline, group, dispatchSize(numEnvs, WORKGROUP));
  }

  /** `begin_step` at rollout step `step` (before the policy acts). */
  beginStep(step: number, target: number): void {
    this.run("begin", step, target);
  }

  /** `end_step` at rollout step `step` (after the env stepped). */
  endStep(step: number): void {
    this.run("end", step, 0);
  }

  /** `map_actions`: the env's table actions of the sampled choices (needs `actionTable`). */
  mapActions(): void {
    if (!this.map) throw new Error("mapActions needs the buffers' actionTable");
    this.run("map", 0, 0);
  }

  /** Frees the config buffer (the bound buffers belong to the caller). */
  destroy(): void {
    this.config.destroy();
  }
}

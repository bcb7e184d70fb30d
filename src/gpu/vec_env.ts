/**
 * GPU mode's batch of environments: the env's WGSL kernel, one invocation per
 * env, over device-resident buffers that tfjs can share (all have STORAGE and
 * COPY_SRC usage). An env without a kernel is stepped by its TypeScript twin
 * and its arrays are uploaded after each step.
 *
 * @module
 */
import { actionSize } from "../../envs/env.ts";
import type { Env, EnvParams } from "../../envs/env.ts";
import {
  createVecEnv,
  type HostVecEnv,
  newEpisodeStats,
  type VecEnv,
  type VecEnvOptions,
  type VecEnvView,
} from "../rl/vec_env.ts";
import { requireGpu } from "../device.ts";
import { f32 } from "../physics/wgsl.ts";
import { readBuffers } from "./staging.ts";
import {
  bindBuffers,
  compileKernel,
  dispatchSize,
  type Kernel,
  loadShader,
  type ShaderPart,
  SHADERS,
  submitDispatch,
} from "./shader.ts";

/**
 * A host batch's per-env counters in the device layout: `counters` holds
 * [t, episode] and `stats` [running return, return sum, episodes, length sum]
 * per env.
 */
export function packCounters(
  h: VecEnvView & { readonly n: number },
): { counters: Uint32Array<ArrayBuffer>; stats: Float32Array<ArrayBuffer> } {
  const counters = new Uint32Array(2 * h.n), stats = new Float32Array(4 * h.n);
  for (let i = 0; i < h.n; i++) {
    counters[2 * i] = h.t[i];
    counters[2 * i + 1] = h.episode[i];
    stats[4 * i] = h.stats.running[i];
    stats[4 * i + 1] = h.stats.returnSum[i];
    stats[4 * i + 2] = h.stats.count[i];
    stats[4 * i + 3] = h.stats.lengthSum[i];
  }
  return { counters, stats };
}

/** Writes counters in the device layout (see {@linkcode packCounters}) into host arrays. */
export function unpackCounters(
  h: Pick<HostVecEnv, "t" | "episode" | "stats">,
  counters: Uint32Array,
  stats: Float32Array,
): void {
  for (let i = 0; i < h.t.length; i++) {
    h.t[i] = counters[2 * i];
    h.episode[i] = counters[2 * i + 1];
    h.stats.running[i] = stats[4 * i];
    h.stats.returnSum[i] = stats[4 * i + 1];
    h.stats.count[i] = stats[4 * i + 2];
    h.stats.lengthSum[i] = stats[4 * i + 3];
  }
}

/** The arrays of a batch, read back from the device. */
export interface VecEnvSnapshot {
  /** N x stateSize, f32. */
  state: Float32Array;
  /** N x obsSize: the observation to act on. */
  obs: Float32Array;
  /** N x obsSize: the last observation of the episode that ended in the last step. */
  finalObs: Float32Array;
  /** Reward of the last step. */
  reward: Float32Array;
  /** `TERMINATED` | `TRUNCATED` bits of the last step. */
  done: Uint32Array;
  /** Per env: [step in episode, episode number]. */
  counters: Uint32Array;
  /** Per env: [running return, sum of finished returns, finished episodes, sum of finished lengths]. */
  stats: Float32Array;
}

/** The device buffers of a batch. */
export interface VecEnvBuffers {
  /** N x stateSize f32. */
  state: GPUBuffer;
  /** N x obsSize f32: the observation to act on. */
  obs: GPUBuffer;
  /** N x obsSize f32: the last observation of an episode that ended in the last step. */
  finalObs: GPUBuffer;
  /** N f32: the reward of the last step. */
  reward: GPUBuffer;
  /** N u32: `TERMINATED` | `TRUNCATED` bits of the last step. */
  done: GPUBuffer;
  /** N x 2 u32: [step in episode, episode number] (see {@linkcode packCounters}). */
  counters: GPUBuffer;
  /** N x 4 f32: [running return, return sum, episodes, length sum]. */
  stats: GPUBuffer;
  /** N x actionSize f32, read by `stepDeviceActions`. */
  actions: GPUBuffer;
}

const WORKGROUP = 64;
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** The WGSL `random_action()` of an action space, the twin of `randomAction` in `src/rl/vec_env.ts`. */
function randomActionWgsl(env: Env): string {
  const space = env.actionSpace;
  if (space.kind === "discrete") {
    if (space.n > 256) throw new Error(`${env.id}: random actions support at most 256 choices`);
    return `fn random_action() {\n  a[0] = f32(((action_hash(0u) >> 8u) * ${space.n}u) >> 24u);\n}`;
  }
  const lines = space.low.map((low, k) =>
    `  a[${k}] = ${f32(low)} + (${f32(space.high[k])} - ${f32(low)}) * action_rand(${k}u);`
  );
  return `fn random_action() {\n${lines.join("\n")}\n}`;
}

/** Assembles the WGSL of an env's batch driver (with or without auto-reset). */
export async function vecEnvShader(env: Env, autoreset = true): Promise<ShaderPart[]> {
  if (!env.wgsl) throw new Error(`${env.id} has no WGSL kernel`);
  const constants = [
    `const MAX_EPISODE_STEPS: u32 = ${env.maxEpisodeSteps}u;`,
    `const WORKGROUP_SIZE: u32 = ${WORKGROUP}u;`,
    `const AUTORESET: bool = ${autoreset};`,
  ];
  return [
    await loadShader(new URL("random.wgsl", SHADERS)),
    ...(await Promise.all(env.wgsl.map((part) => part instanceof URL ? loadShader(part) : part))),
    {
      name: `<generated for ${env.id}>`,
      source: `${constants.join("\n")}\n${randomActionWgsl(env)}`,
    },
    await loadShader(new URL("vec_env.wgsl", SHADERS)),
  ];
}

/** The entry points of `shaders/vec_env.wgsl`. */
type Entry = "reset" | "observe" | "step" | "step_random";

/** An env's compiled driver: the bind group layout and a pipeline per entry point. */
type VecEnvPipelines = Kernel<Entry>;

const BINDING_TYPES: GPUBufferBindingType[] = [
  "uniform",
  "uniform",
  "storage",
  "storage",
  "storage",
  "storage",
  "storage",
  "storage",
  "storage",
  "read-only-storage",
];

/** Compiled drivers per device, env and auto-reset, so that batches of the same env share them. */
const compiled = new WeakMap<GPUDevice, Map<Env, Map<boolean, Promise<VecEnvPipelines>>>>();

function vecEnvPipelines(
  device: GPUDevice,
  env: Env,
  autoreset: boolean,
): Promise<VecEnvPipelines> {
  let byEnv = compiled.get(device);
  if (!byEnv) compiled.set(device, byEnv = new Map());
  let byReset = byEnv.get(env);
  if (!byReset) byEnv.set(env, byReset = new Map());
  let result = byReset.get(autoreset);
  if (!result) {
    result = compileVecEnv(device, env, autoreset);
    byReset.set(autoreset, result);
    // A failed compile is not cached: the next attempt reports the error again.
    result.catch(() => byReset.delete(autoreset));
  }
  return result;
}

/** One explicit layout for all entry points, so one bind group serves them all. */
async function compileVecEnv(
  device: GPUDevice,
  env: Env,
  autoreset: boolean,
): Promise<VecEnvPipelines> {
  // All pipelines are made here, so that a dispatch is submitted when its
  // method is called: calls reach the queue in call order, awaited or not.
  return compileKernel(
    device,
    await vecEnvShader(env, autoreset),
    `${env.id} kernel`,
    BINDING_TYPES,
    ["reset", "observe", "step", "step_random"],
  );
}

/**
 * N environments of one kind on the GPU.
 *
 * @example Usage
 * ```ts
 * import { findEnv, getGpu, GpuVecEnv, releaseGpu } from "@grpo/grpo";
 *
 * if (await getGpu()) { // null where WebGPU has no adapter
 *   const envs = await GpuVecEnv.create(findEnv("cartpole"), 4096, { seed: 0 });
 *   await envs.reset();
 *   await envs.stepRandom(100); // 100 steps of every env in one dispatch
 *   const { stats } = await envs.view(); // one readback
 *   console.log(stats.count.length);
 *   envs.close();
 * }
 * await releaseGpu();
 * ```
 */
export class GpuVecEnv<P extends EnvParams = EnvParams> implements VecEnv {
  /** The env every slot of the batch runs. */
  readonly env: Env<P>;
  /** Number of envs. */
  readonly n: number;
  /** Seed of all random draws. */
  readonly seed: number;
  /** Whether finished envs reset within the step. */
  readonly autoreset: boolean;
  /** The device the buffers live on. */
  readonly device: GPUDevice;
  /** The batch's arrays on the device, for kernels that read or write them in place. */
  readonly buffers: VecEnvBuffers;
  private params: P;
  private readonly config: GPUBuffer;
  private readonly paramsBuffer: GPUBuffer;
  private readonly pipelines?: VecEnvPipelines;
  private readonly bindGroup?: GPUBindGroup;
  /** The host batch (the TypeScript twin, or a Python worker's), for envs without a kernel. */
  private readonly host?: HostVecEnv;
  /**
   * The most env steps one dispatch runs: the env's `stepsPerDispatch` on a
   * software adapter (its loop cap), unbounded on a GPU.
   */
  readonly stepsPerDispatch: number;

  private constructor(
    device: GPUDevice,
    software: boolean,
    env: Env<P>,
    n: number,
    options: VecEnvOptions<P>,
    pipelines?: VecEnvPipelines,
  ) {
    this.device = device;
    this.stepsPerDispatch = (software ? env.stepsPerDispatch : undefined) ?? Infinity;
    this.env = env;
    this.n = n;
    this.seed = (options.seed ?? 0) >>> 0;
    this.autoreset = options.autoreset ?? true;
    this.params = options.params ?? { ...env.params };
    const buffer = (label: string, floats: number) =>
      device.createBuffer({
        label: `${env.alias}.${label}`,
        size: Math.max(4 * floats, 16),
        usage: USAGE,
      });
    this.buffers = {
      state: buffer("state", n * env.stateSize),
      obs: buffer("obs", n * env.obsSize),
      finalObs: buffer("finalObs", n * env.obsSize),
      reward: buffer("reward", n),
      done: buffer("done", n),
      counters: buffer("counters", 2 * n),
      stats: buffer("stats", 4 * n),
      actions: buffer("actions", n * actionSize(env)),
    };
    this.config = device.createBuffer({
      label: `${env.alias}.config`,
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const paramCount = Object.keys(env.params).length;
    this.paramsBuffer = device.createBuffer({
      label: `${env.alias}.params`,
      size: Math.max(16, Math.ceil(paramCount / 4) * 16),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.writeParams();
    if (pipelines) {
      const entries = [
        this.config,
        this.paramsBuffer,
        this.buffers.state,
        this.buffers.obs,
        this.buffers.finalObs,
        this.buffers.reward,
        this.buffers.done,
        this.buffers.counters,
        this.buffers.stats,
        this.buffers.actions,
      ];
      this.bindGroup = bindBuffers(device, pipelines.layout, entries);
      this.pipelines = pipelines;
    } else {
      this.host = createVecEnv(env, n, { ...options, params: this.params });
    }
  }

  /** Creates the batch on the process's GPU device, compiling the env's kernel (if any). */
  static async create<P extends EnvParams>(
    env: Env<P>,
    n: number,
    options: VecEnvOptions<P> = {},
  ): Promise<GpuVecEnv<P>> {
    const { device, adapter } = await requireGpu();
    const pipelines = env.wgsl
      ? await vecEnvPipelines(device, env, options.autoreset ?? true)
      : undefined;
    return new GpuVecEnv(device, adapter.isFallback, env, n, options, pipelines);
  }

  /** Whether the env runs as a WGSL kernel (otherwise its TypeScript twin steps it on the host). */
  get onDevice(): boolean {
    return this.pipelines !== undefined;
  }

  /** Current physical parameters. */
  get currentParams(): P {
    return this.params;
  }

  /** Changes the physical parameters (curriculum). */
  setParams(params: P): void {
    this.params = params;
    if (this.host) this.host.params = params;
    this.writeParams();
  }

  /** Uploads the physical parameters in the env's declaration order (the kernel's `Params`). */
  private writeParams(): void {
    const values = new Float32Array(this.paramsBuffer.size / 4);
    values.set(Object.keys(this.env.params).map((k) => this.params[k]));
    this.device.queue.writeBuffer(this.paramsBuffer, 0, values);
  }

  /** Runs `steps` steps of `entry`, in dispatches of at most `stepsPerDispatch`. */
  private run(entry: Entry, steps: number): void {
    const pipeline = this.pipelines!.entries[entry];
    const chunk = Math.min(this.stepsPerDispatch, steps);
    for (let done = 0; done < steps; done += chunk) {
      const k = Math.min(chunk, steps - done);
      this.device.queue.writeBuffer(this.config, 0, new Uint32Array([this.n, this.seed, k, 0]));
      submitDispatch(this.device, pipeline, this.bindGroup!, dispatchSize(this.n, WORKGROUP));
    }
  }

  /** Starts a fresh episode in every env; episode numbers start at 0 on the first call. */
  reset(): Promise<void> {
    if (this.host) return Promise.resolve(this.host.reset()).then(() => this.upload());
    this.run("reset", 1);
    return Promise.resolve();
  }

  /** One step of every env with the actions already in `buffers.actions` (sampled on the device). */
  async stepDeviceActions(): Promise<void> {
    if (this.host) {
      const actions = await this.readBuffer(this.buffers.actions, Float32Array);
      await this.host.step(actions);
      return this.upload();
    }
    this.run("step", 1);
  }

  /** Writes `actions` (N x actionSize) to the device and steps. */
  step(actions: Float32Array<ArrayBuffer>): Promise<void> {
    this.device.queue.writeBuffer(this.buffers.actions, 0, actions);
    return this.stepDeviceActions();
  }

  /** `steps` steps with uniformly random actions, inside one dispatch (the benchmark workload). */
  stepRandom(steps = 1): Promise<void> {
    if (this.host) return Promise.resolve(this.host.stepRandom(steps)).then(() => this.upload());
    this.run("step_random", steps);
    return Promise.resolve();
  }

  /** Sets the state of every env (N x stateSize; e.g. Gymnasium's `unwrapped.state`) and observes it. */
  setStates(states: ArrayLike<number>): Promise<void> {
    if (this.host) {
      for (let i = 0; i < this.n; i++) {
        const S = this.env.stateSize;
        this.host.setState(i, Array.prototype.slice.call(states, i * S, i * S + S));
      }
      return this.upload();
    }
    this.device.queue.writeBuffer(this.buffers.state, 0, Float32Array.from(states));
    this.device.queue.writeBuffer(this.buffers.counters, 0, new Uint32Array(2 * this.n));
    this.run("observe", 1);
    return Promise.resolve();
  }

  /** Overwrites the state of every env, nothing else (a replay's per-step inputs). */
  writeStates(states: ArrayLike<number>): void {
    if (this.host) this.host.state.set(states);
    this.device.queue.writeBuffer(this.buffers.state, 0, Float32Array.from(states));
  }

  /** Zeroes the finished-episode sums of the stats. */
  async clearStats(): Promise<void> {
    const stats = await this.readBuffer(this.buffers.stats, Float32Array);
    for (let i = 0; i < this.n; i++) stats.fill(0, 4 * i + 1, 4 * i + 4);
    if (this.host) this.host.clearStats();
    this.device.queue.writeBuffer(this.buffers.stats, 0, stats);
  }

  /** Copies the host batch's arrays to the device buffers (envs without a kernel). */
  private upload(): Promise<void> {
    const h = this.host!;
    const q = this.device.queue;
    q.writeBuffer(this.buffers.state, 0, Float32Array.from(h.state));
    q.writeBuffer(this.buffers.obs, 0, h.obs);
    q.writeBuffer(this.buffers.finalObs, 0, h.finalObs);
    q.writeBuffer(this.buffers.reward, 0, h.reward);
    q.writeBuffer(this.buffers.done, 0, Uint32Array.from(h.done));
    const { counters, stats } = packCounters(h);
    q.writeBuffer(this.buffers.counters, 0, counters);
    q.writeBuffer(this.buffers.stats, 0, stats);
    return Promise.resolve();
  }

  /** Copies one buffer to the host (costs one GPU->CPU round trip). */
  async readBuffer<T extends Float32Array | Uint32Array>(
    buffer: GPUBuffer,
    kind: { new (b: ArrayBuffer): T },
  ): Promise<T> {
    return new kind((await readBuffers(this.device, [buffer])).bytes);
  }

  /** Reads every array back (one round trip; for tests, replay and reporting). */
  async read(): Promise<VecEnvSnapshot> {
    const b = this.buffers;
    const names = ["state", "obs", "finalObs", "reward", "done", "counters", "stats"] as const;
    const { bytes } = await readBuffers(this.device, names.map((k) => b[k]));
    const O = this.env.obsSize, n = this.n;
    let at = 0;
    const take = <T>(
      k: (typeof names)[number],
      make: (b: ArrayBuffer, o: number, len: number) => T,
      len: number,
    ) => {
      const out = make(bytes, at, len);
      at += b[k].size;
      return out;
    };
    const f = (buf: ArrayBuffer, o: number, len: number) => new Float32Array(buf, o, len);
    const u = (buf: ArrayBuffer, o: number, len: number) => new Uint32Array(buf, o, len);
    return {
      state: take("state", f, n * this.env.stateSize),
      obs: take("obs", f, n * O),
      finalObs: take("finalObs", f, n * O),
      reward: take("reward", f, n),
      done: take("done", u, n),
      counters: take("counters", u, 2 * n),
      stats: take("stats", f, 4 * n),
    };
  }

  /**
   * The arrays of {@linkcode VecEnv}, from one readback: `read`'s snapshot
   * with the counters laid out as a host batch's.
   */
  async view(): Promise<VecEnvView> {
    const s = await this.read();
    const view = {
      state: s.state,
      obs: s.obs,
      reward: s.reward,
      done: s.done,
      t: new Uint32Array(this.n),
      episode: new Uint32Array(this.n),
      stats: newEpisodeStats(this.n),
    };
    unpackCounters(view, s.counters, s.stats);
    return view;
  }

  /** Frees the device buffers (and ends a host batch's worker). */
  close(): void {
    void this.host?.close?.();
    for (const b of Object.values(this.buffers)) b.destroy();
    this.config.destroy();
    this.paramsBuffer.destroy();
  }
}

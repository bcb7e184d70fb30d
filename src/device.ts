/**
 * The one WebGPU device of the process, and the `--device` choice.
 *
 * `auto` picks CPU mode for work that runs the networks (see
 * {@linkcode resolveMode}), and for env-only work GPU mode on a real adapter,
 * CPU mode on a software (fallback) adapter or none, where the TypeScript
 * envs are faster than WebGPU emulated by Mesa. `gpu` forces WebGPU, also on
 * a software adapter (this is how the tests exercise the WGSL on CI). `cpu`
 * never touches WebGPU.
 *
 * @module
 */

/** The `--device` flag's values. */
export type DeviceChoice = "auto" | "gpu" | "cpu";

/** Which implementation a run uses. */
export type Mode = "gpu" | "cpu";

/** What we know of the adapter behind the device. */
export interface AdapterReport {
  description: string;
  vendor: string;
  /** True for software adapters (llvmpipe, lavapipe, WARP, SwiftShader). */
  isFallback: boolean;
}

/** The process-wide GPU device with its adapter report. */
export interface Gpu {
  device: GPUDevice;
  adapter: AdapterReport;
}

let gpuPromise: Promise<Gpu | null> | undefined;
let deviceErrors: string[] = [];

/**
 * The backends WebGPU may use unless `DENO_WEBGPU_BACKEND` says otherwise:
 * wgpu's primary ones. Its OpenGL backend (`DENO_WEBGPU_BACKEND=gl`) is left
 * out: it starts EGL and a second Mesa driver beside Vulkan in the process,
 * and EGL's teardown at exit is a known source of wgpu crashes after all work
 * is done (gfx-rs/wgpu#1376, #1439, #4650); our CI once aborted with heap
 * corruption at exit after every test had passed.
 */
export const DEFAULT_WEBGPU_BACKENDS = "vulkan,metal,dx12";

/** Sets the process environment wgpu and Mesa read when WebGPU starts. */
function prepareWebGpu(): void {
  if (!Deno.env.get("DENO_WEBGPU_BACKEND")) {
    Deno.env.set("DENO_WEBGPU_BACKEND", DEFAULT_WEBGPU_BACKENDS);
  }
  // Mesa warns on every start without a private runtime dir; give it one.
  if (Deno.env.get("XDG_RUNTIME_DIR")) return;
  try {
    const dir = Deno.makeTempDirSync({ prefix: "grpo-xdg-" });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Only a warning is at stake.
  }
}

function describe(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info;
  const isFallback = Boolean(
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
      (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
  ) || /llvmpipe|lavapipe|swiftshader|warp|software/i.test(info.description);
  return { description: info.description || "unknown adapter", vendor: info.vendor, isFallback };
}

/**
 * The process's GPU device, created on first use with the adapter's highest
 * buffer limits; `null` when WebGPU has no adapter here.
 *
 * @example Usage
 * ```ts
 * import { getGpu, releaseGpu } from "@grpo/grpo";
 *
 * const gpu = await getGpu();
 * console.log(gpu ? gpu.adapter : "no WebGPU adapter: CPU mode");
 * await releaseGpu();
 * ```
 */
export function getGpu(): Promise<Gpu | null> {
  gpuPromise ??= (async () => {
    if (typeof navigator === "undefined" || !navigator.gpu) return null;
    prepareWebGpu();
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return null;
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      },
    });
    device.addEventListener("uncapturederror", (e) => {
      deviceErrors.push((e as GPUUncapturedErrorEvent).error.message.trim());
    });
    return { device, adapter: describe(adapter) };
  })();
  return gpuPromise;
}

/** The GPU device or a readable error saying why there is none. */
export async function requireGpu(): Promise<Gpu> {
  const gpu = await getGpu();
  if (!gpu) {
    throw new GpuUnavailableError(
      `no WebGPU adapter is available (backends: ${
        Deno.env.get("DENO_WEBGPU_BACKEND")
      }); run with --device cpu, or install a Vulkan driver (e.g. Debian's mesa-vulkan-drivers), or try OpenGL with DENO_WEBGPU_BACKEND=gl`,
    );
  }
  return gpu;
}

/** Raised when GPU mode is asked for and WebGPU has no adapter. */
export class GpuUnavailableError extends Error {
  override name = "GpuUnavailableError";
}

/** Raised for errors the GPU reported after the fact (uncaptured validation or out-of-memory). */
export class GpuDeviceError extends Error {
  override name = "GpuDeviceError";
}

/** Throws the device errors reported since the last call, if any. */
export function throwDeviceErrors(): void {
  if (deviceErrors.length === 0) return;
  const message = deviceErrors.join("\n");
  deviceErrors = [];
  throw new GpuDeviceError(`GPU error: ${message}`);
}

/**
 * What a command spends its time on, for `--device auto`: the networks
 * (tfjs: stage 1, stage 2, eval, act) or the env kernels alone (scripted
 * rollouts, replay).
 */
export type Workload = "networks" | "envs";

/**
 * Resolves a `--device` choice to the mode a run uses. `auto` runs networks
 * on the CPU: tfjs on WebGPU is bound by its host-side cost per kernel
 * (~80k kernels in a CartPole iteration), so at the default model sizes a
 * GPU-mode iteration on an H200 took as long as CPU mode's (LunarLander) or
 * 3x longer (CartPole) (docs/results.md, "On a real GPU"). Env kernels alone
 * run on a real GPU's adapter, never on a software one (slower there).
 */
export async function resolveMode(choice: DeviceChoice, workload: Workload): Promise<Mode> {
  if (choice === "cpu") return "cpu";
  if (choice === "gpu") {
    await requireGpu();
    return "gpu";
  }
  if (workload === "networks") return "cpu";
  const gpu = await getGpu();
  return gpu && !gpu.adapter.isFallback ? "gpu" : "cpu";
}

/**
 * Destroys the process's device (a later `getGpu` makes a new one). Call it
 * before exiting: tearing down a live device at exit races with Mesa's
 * threads, seen as a rare "double free" abort after all work is done.
 *
 * @example Usage
 * ```ts
 * import { getGpu, releaseGpu } from "@grpo/grpo";
 *
 * await getGpu();
 * await releaseGpu(); // before exit, so the device is not torn down with the process
 * ```
 */
export async function releaseGpu(): Promise<void> {
  const pending = gpuPromise;
  gpuPromise = undefined;
  const gpu = await pending;
  gpu?.device.destroy();
}

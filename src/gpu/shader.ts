/**
 * WGSL modules assembled from several files, compiled with errors that name
 * the file and line they came from.
 *
 * @module
 */

/** A piece of WGSL source and the name errors should show for it. */
export interface ShaderPart {
  /** A file path relative to the repository, or a description of generated code. */
  name: string;
  source: string;
}

/** Raised when WGSL fails to compile; the message names the file and line. */
export class ShaderCompileError extends Error {
  override name = "ShaderCompileError";
}

const cache = new Map<string, string>();
let embedded: Map<string, string> | undefined;

/**
 * Gives the shaders built into a single-file bundle (`scripts/bundle.ts`),
 * keyed by their path in the repository (`shaders/envs/cartpole.wgsl`). In a
 * bundle every module's `import.meta.url` is the bundle's, so a shader's URL
 * no longer points at its file; {@linkcode loadShader} then takes the
 * embedded source whose path the URL ends with, and reads the disk only for
 * shaders not built in (a user env's own WGSL).
 */
export function embedShaders(sources: Record<string, string>): void {
  embedded = new Map(Object.entries(sources));
}

function embeddedSource(url: URL): { name: string; source: string } | undefined {
  if (!embedded) return undefined;
  for (const [name, source] of embedded) {
    if (url.pathname.endsWith(`/${name}`)) return { name, source };
  }
  return undefined;
}

/** Reads a WGSL file (once per process), named relative to the repository for errors. */
export async function loadShader(url: URL): Promise<ShaderPart> {
  const built = embeddedSource(url);
  if (built) return built;
  let source = cache.get(url.href);
  if (source === undefined) {
    source = await Deno.readTextFile(url);
    cache.set(url.href, source);
  }
  return { name: shaderName(url), source };
}

/** The shaders directory of this repository. */
export const SHADERS = new URL("../../shaders/", import.meta.url);

function shaderName(url: URL): string {
  const root = new URL("../../", import.meta.url).href;
  return url.href.startsWith(root) ? url.href.slice(root.length) : url.pathname;
}

/** Maps a line of the concatenated source back to its part and line in it. */
export function locate(parts: ShaderPart[], line: number): { name: string; line: number } {
  let start = 1;
  for (const part of parts) {
    const lines = part.source.split("\n").length;
    if (line < start + lines) return { name: part.name, line: line - start + 1 };
    start += lines;
  }
  return { name: parts.at(-1)?.name ?? "<wgsl>", line };
}

/**
 * Compiles the concatenation of `parts` (joined by newlines). A compile error
 * throws {@linkcode ShaderCompileError} naming `file:line:column` and the
 * offending source line.
 */
export async function compileShader(
  device: GPUDevice,
  parts: ShaderPart[],
  label: string,
): Promise<GPUShaderModule> {
  const code = parts.map((p) => p.source).join("\n");
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const scopeError = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    const lines = code.split("\n");
    const text = errors.map((m) => {
      const where = locate(parts, m.lineNum);
      const summary = m.message.trim().split("\n")[0].replace(
        /^Shader '[^']*' parsing error: /,
        "",
      );
      const src = (lines[m.lineNum - 1] ?? "").trim();
      return `${where.name}:${where.line}:${m.linePos}: ${summary}${src ? `\n    ${src}` : ""}`;
    });
    throw new ShaderCompileError(`WGSL error in ${label}: ${text.join("\n")}`);
  }
  if (scopeError) throw new ShaderCompileError(`WGSL error in ${label}: ${scopeError.message}`);
  return module;
}

/** Creates a compute pipeline and surfaces validation errors (bad bindings, limits) as exceptions. */
export async function computePipeline(
  device: GPUDevice,
  module: GPUShaderModule,
  entryPoint: string,
  label: string,
  layout: GPUPipelineLayout | "auto" = "auto",
): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const pipeline = device.createComputePipeline({
    layout,
    compute: { module, entryPoint },
    label: `${label}:${entryPoint}`,
  });
  const error = await device.popErrorScope();
  if (error) {
    throw new ShaderCompileError(`pipeline ${label}:${entryPoint}: ${error.message.trim()}`);
  }
  return pipeline;
}

/** Workgroup counts covering `invocations` threads in groups of `size`, spilling into y past the per-dimension limit. */
export function dispatchSize(
  invocations: number,
  size: number,
  maxPerDim = 65535,
): [number, number] {
  const groups = Math.ceil(invocations / size);
  if (groups <= maxPerDim) return [Math.max(groups, 1), 1];
  return [maxPerDim, Math.ceil(groups / maxPerDim)];
}

/** A module's pipelines sharing one explicit bind group layout, so that one bind group serves them all. */
export interface Kernel<E extends string> {
  layout: GPUBindGroupLayout;
  entries: Record<E, GPUComputePipeline>;
}

/**
 * Compiles `parts` and makes a pipeline per entry point over one bind group
 * layout of `bindings` (binding `i` has type `bindings[i]`). The pipelines are
 * all made before it returns, so a dispatch is submitted when its caller asks.
 */
export async function compileKernel<E extends string>(
  device: GPUDevice,
  parts: ShaderPart[],
  label: string,
  bindings: GPUBufferBindingType[],
  entries: E[],
): Promise<Kernel<E>> {
  const layout = device.createBindGroupLayout({
    label,
    entries: bindings.map((type, binding) => ({
      binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type },
    })),
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  return { layout, entries: await compilePipelines(device, parts, label, entries, pipelineLayout) };
}

/**
 * Compiles `parts` and makes a pipeline per entry point (each with its own
 * layout unless `layout` is given), all before it returns.
 */
export async function compilePipelines<E extends string>(
  device: GPUDevice,
  parts: ShaderPart[],
  label: string,
  entries: E[],
  layout: GPUPipelineLayout | "auto" = "auto",
): Promise<Record<E, GPUComputePipeline>> {
  const module = await compileShader(device, parts, label);
  const out = {} as Record<E, GPUComputePipeline>;
  for (const e of entries) out[e] = await computePipeline(device, module, e, label, layout);
  return out;
}

/** A bind group of `buffers` in binding order over `layout`. */
export function bindBuffers(
  device: GPUDevice,
  layout: GPUBindGroupLayout,
  buffers: GPUBuffer[],
): GPUBindGroup {
  return device.createBindGroup({
    layout,
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Submits one compute pass: `pipeline` over `group` (bind group 0) on `workgroups`. */
export function submitDispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  workgroups: [number, number],
): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(...workgroups);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

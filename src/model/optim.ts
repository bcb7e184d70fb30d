/**
 * Optimizer helpers shared by both stages: global gradient-norm clipping, one
 * clipped Adam step over a variable list, and {@linkcode createAdam}, tfjs's
 * Adam with its update fused: three WebGPU dispatches per variable, or one
 * TypeScript loop per small variable on wasm.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { webgpu_util, WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { heapOutput, heapViews } from "./wasm_heap.ts";
import { adamOnHeap } from "./wasm_adam.ts";
import { clipOnHeap } from "./wasm_clip.ts";
import { combineInGroups } from "./grouped.ts";

/**
 * Scales `grads` so their global L2 norm is at most `maxNorm` (as PyTorch's
 * `clip_grad_norm_`); returns the clipped gradients and the norm before
 * clipping (a scalar tensor, so checking it for NaN needs no extra pass).
 */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  const backend = tf.backend();
  if (backend instanceof BackendWasm) return clipOnWasm(backend, grads, maxNorm);
  return clipWithOps(grads, maxNorm);
}

/**
 * {@linkcode clipByGlobalNorm} as tfjs ops (WebGPU's path; the twin that
 * `tests/optim_test.ts` compares the wasm loops with).
 */
export function clipWithOps(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = tf.sqrt(
      combineInGroups(names.map((k) => tf.sum(tf.square(grads[k]))), (g) => tf.addN(g)),
    ) as tf.Scalar;
    const scale = tf.minimum(tf.scalar(1), tf.scalar(maxNorm).div(norm.add(1e-6)));
    const out: tf.NamedTensorMap = {};
    for (const k of names) out[k] = grads[k].mul(scale);
    return { grads: out, norm };
  });
}

/**
 * {@linkcode clipByGlobalNorm} on wasm as two loops over the heap
 * (`wasm_clip.ts`) instead of ~4 tfjs ops per gradient (122 kernels for the
 * policy's 37). The same f32 operations in the same order as tfjs's wasm
 * kernels, so the same bits: each Sum accumulates in f32 from 0 in index
 * order, each AddN adds its inputs in order (`tests/optim_test.ts` compares
 * the two).
 */
function clipOnWasm(
  backend: BackendWasm,
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  const { norm, scale } = globalNormOnWasm(backend, grads, maxNorm);
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) {
    const scaled = heapOutput(backend, g.shape);
    const [from, to] = heapViews(backend, [g, scaled]);
    clipOnHeap(backend).scale(from, to, scale);
    out[k] = tf.engine().makeTensorFromTensorInfo(scaled);
  }
  return { grads: out, norm: tf.scalar(norm) };
}

/** The global norm of `grads` and the factor that clips it to `maxNorm`, as f32 numbers. */
function globalNormOnWasm(
  backend: BackendWasm,
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { norm: number; scale: number } {
  const f = Math.fround;
  const gradients = Object.values(grads);
  const out = heapOutput(backend, [gradients.length]);
  const [squares, ...gs] = heapViews(backend, [out, ...gradients]);
  // Four gradients' sums at once (each still its own chain in index order, so the same bits),
  // four of like length, so that most of each runs beside the others: squares[at] is the sum of
  // gradient bySize[at].
  const bySize = [...gs.keys()].sort((a, b) => gs[a].length - gs[b].length);
  const fours = Math.floor(bySize.length / 4) * 4;
  for (let at = 0; at < fours; at += 4) {
    clipOnHeap(backend).sumsOfSquares4(bySize.slice(at, at + 4).map((k) => gs[k]), squares, at);
  }
  for (let at = fours; at < bySize.length; at++) {
    clipOnHeap(backend).sumOfSquares(gs[bySize[at]], squares, at);
  }
  const sums = new Float32Array(gradients.length);
  bySize.forEach((k, at) => sums[k] = squares[at]);
  backend.disposeData(out.dataId);
  const norm = f(
    Math.sqrt(combineInGroups([...sums], (group) => group.reduce((a, b) => f(a + b)))),
  );
  // As wasm's tf.minimum(1, ratio): a NaN ratio (a NaN gradient) gives 1, not NaN.
  const ratio = f(f(maxNorm) / f(norm + f(1e-6)));
  return { norm, scale: ratio < 1 ? ratio : 1 };
}

/**
 * Clips `grads` to a global norm of at most `maxNorm` as
 * {@linkcode clipByGlobalNorm} does and takes `optimizer`'s step with them;
 * returns the norm before clipping (the caller disposes it, and still owns
 * `grads`). On wasm, {@linkcode createAdam}'s optimizer applies the clip's
 * factor inside its loop, so no scaled copy of the gradients is made: the
 * same bits, one pass over them fewer.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "../../mod.ts";
 * import { clipAndStep, createAdam } from "./optim.ts";
 *
 * await initBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 1]));
 * const grads = { [w.name]: tf.tensor1d([3, 4]) };
 * const norm = clipAndStep(createAdam(0.1), grads, 1);
 * assert.strictEqual(norm.dataSync()[0], 5);
 * assert.ok(w.dataSync()[0] < 1);
 * ```
 */
export function clipAndStep(
  optimizer: tf.Optimizer,
  grads: tf.NamedTensorMap,
  maxNorm: number,
): tf.Scalar {
  const backend = tf.backend();
  if (backend instanceof BackendWasm && optimizer instanceof FusedAdam) {
    const { norm, scale } = globalNormOnWasm(backend, grads, maxNorm);
    optimizer.applyScaledGradients(grads, scale);
    return tf.scalar(norm);
  }
  const clipped = clipByGlobalNorm(grads, maxNorm);
  optimizer.applyGradients(clipped.grads);
  tf.dispose(Object.values(clipped.grads));
  return clipped.norm;
}

/**
 * One optimizer step on `loss` over `vars`, gradients clipped to `maxNorm`
 * (Infinity: no clipping). Returns the loss and the pre-clip gradient norm;
 * the caller disposes them.
 */
export function optimizerStep(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  loss: () => tf.Scalar,
  maxNorm: number,
): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  const { value, grads } = tf.variableGrads(loss, vars);
  const gradNorm = clipAndStep(optimizer, grads, maxNorm);
  tf.dispose(grads);
  return { loss: value, gradNorm };
}

/** Sets an optimizer's learning rate (tfjs's optimizers read it on every step but keep it protected). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Which of Adam's three elementwise updates an {@linkcode AdamProgram} computes. */
type AdamPart = "m" | "v" | "w";

/**
 * One of Adam's updates as a tfjs WebGPU program, in the f32 operations and
 * order of tfjs's `AdamOptimizer.applyGradients` (its TypeScript twin, which
 * wasm runs; compared in `tests/gpu_sync_test.ts`):
 *
 * ```text
 * m: m' = m * beta1 + g * (1 - beta1)                       inputs m, g
 * v: v' = v * beta2 + (g * g) * (1 - beta2)                  inputs v, g
 * w: w' = (m' / c[0]) / (sqrt(v' / c[1]) + eps) * -lr + w    inputs m', v', w, c
 * ```
 *
 * where `c` = [1 - beta1^t, 1 - beta2^t] (tfjs's accumulated betas).
 */
class AdamProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms = "a : f32, b : f32,";

  constructor(shape: number[], private readonly part: AdamPart) {
    this.outputShape = shape;
    this.variableNames = part === "w" ? ["m", "v", "w", "c"] : [part, "g"];
    this.dispatchLayout = webgpu_util.flatDispatchLayout(shape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
    this.shaderKey = `grpo_adam_${part}`;
  }

  getUserCode(): string {
    const value = {
      // a = beta, b = 1 - beta
      m: "m[index] * uniforms.a + g[index] * uniforms.b",
      v: "v[index] * uniforms.a + (g[index] * g[index]) * uniforms.b",
      // a = eps, b = -lr
      w: "(m[index] / c[0]) / (sqrt(v[index] / c[1]) + uniforms.a) * uniforms.b + w[index]",
    }[this.part];
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, ${value});
        }
      }`;
  }
}

/** The fields of tfjs's AdamOptimizer that a fused step reads and writes (private in its types). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/** What tfjs's Adam steps with: gradients by variable name. */
type Gradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

/**
 * tfjs's Adam; on WebGPU each variable's step is 3 dispatches (about 14 in
 * tfjs's op-by-op version, a third of a stage-2 update's dispatches), on wasm
 * one WebAssembly loop, in place. Same state, names, checkpoints and bits; other
 * backends run tfjs's step unchanged.
 */
class FusedAdam extends tf.AdamOptimizer {
  override applyGradients(grads: Gradients): void {
    this.applyScaledGradients(grads, 1);
  }

  /**
   * The step with every gradient times `scale` (wasm only; see
   * {@linkcode clipAndStep}). Every step of this optimizer comes here.
   */
  applyScaledGradients(grads: Gradients | tf.NamedTensorMap, scale: number): void {
    const backend = tf.backend();
    const onGpu = backend instanceof WebGPUBackend;
    if (!onGpu && !(backend instanceof BackendWasm)) {
      return super.applyGradients(grads as Gradients);
    }
    if (onGpu && scale !== 1) throw new Error("a scaled Adam step is wasm's alone");
    const self = this as unknown as AdamFields;
    const named: { name: string; tensor: tf.Tensor }[] = Array.isArray(grads)
      ? grads
      : Object.keys(grads).map((name) => ({ name, tensor: grads[name] }));
    tf.tidy(() => {
      const c = tf.stack([tf.sub(1, self.accBeta1), tf.sub(1, self.accBeta2)]);
      const step = onGpu
        ? webgpuStep(backend, self, c)
        : wasmStep(backend as BackendWasm, self, c.dataSync() as Float32Array, scale);
      named.forEach(({ name, tensor: g }, i) => {
        const w = tf.engine().registeredVariables[name];
        const moment = (suffix: string) => ({
          originalName: `${name}/${suffix}`,
          variable: tf.tidy(() => tf.zerosLike(w).variable(false)),
        });
        self.accumulatedFirstMoment[i] ??= moment("m");
        self.accumulatedSecondMoment[i] ??= moment("v");
        if (g == null) return;
        step(
          self.accumulatedFirstMoment[i].variable,
          self.accumulatedSecondMoment[i].variable,
          w,
          g,
        );
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }
}

/** One variable's Adam step: updates `m`, `v` and `w` from the gradient `g`. */
type AdamStep = (m: tf.Variable, v: tf.Variable, w: tf.Variable, g: tf.Tensor) => void;

/** The step as three WebGPU programs (`c`: [1 - beta1^t, 1 - beta2^t] on the device). */
function webgpuStep(backend: WebGPUBackend, self: AdamFields, c: tf.Tensor): AdamStep {
  const run = (part: AdamPart, inputs: tf.Tensor[], a: number, b: number) =>
    tf.engine().makeTensorFromTensorInfo(
      backend.runWebGPUProgram(
        new AdamProgram(inputs[0].shape, part),
        inputs,
        "float32",
        [{ type: "float32", data: [a] }, { type: "float32", data: [b] }],
      ),
    );
  return (m, v, w, g) => {
    const m2 = run("m", [m, g], self.beta1, 1 - self.beta1);
    const v2 = run("v", [v, g], self.beta2, 1 - self.beta2);
    m.assign(m2);
    v.assign(v2);
    w.assign(run("w", [m2, v2, w, c], self.epsilon, -self.learningRate));
  };
}

/**
 * The step on wasm as one SIMD loop over the heap per variable instead of ~14
 * tfjs ops (Adam's per-op cost was a tenth of a CPU-mode minibatch), with
 * tfjs's f32 operations in tfjs's order: the same bits (`wasm_adam.ts`).
 */
function wasmStep(
  backend: BackendWasm,
  self: AdamFields,
  c: Float32Array,
  scale: number,
): AdamStep {
  const f = Math.fround;
  const constants = {
    beta1: f(self.beta1),
    oneMinusBeta1: f(1 - self.beta1),
    beta2: f(self.beta2),
    oneMinusBeta2: f(1 - self.beta2),
    c1: c[0],
    c2: c[1],
    epsilon: f(self.epsilon),
    negLr: f(-self.learningRate),
    scale,
  };
  return (m, v, w, g) => {
    // In place when no other tensor shares the data (a snapshot's clone does): no allocations,
    // and the variables keep their tensors. No weight is an operand XNNPACK has packed a copy
    // of (layers.ts's products are our own kernels), so nothing goes stale.
    if ([m, v, w].every((t) => backend.refCount(t.dataId) === 1)) {
      const [M, V, W, G] = heapViews(backend, [m, v, w, g]);
      adamOnHeap(backend)(M, V, W, G, M, V, W, constants);
      return;
    }
    // Outputs first: allocating may grow the wasm heap, which detaches earlier views of it.
    const outs = [m, v, w].map(() => heapOutput(backend, w.shape));
    const [M, V, W, G, M2, V2, W2] = heapViews(backend, [m, v, w, g, ...outs]);
    adamOnHeap(backend)(M, V, W, G, M2, V2, W2, constants);
    const [m2, v2, w2] = outs.map((t) => tf.engine().makeTensorFromTensorInfo(t));
    m.assign(m2);
    v.assign(v2);
    w.assign(w2);
  };
}

/** Adam as `tf.train.adam(lr, beta1, beta2, epsilon)`, its step fused on WebGPU (see {@linkcode FusedAdam}). */
export function createAdam(lr: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.Optimizer {
  return new FusedAdam(lr, beta1, beta2, epsilon);
}

/**
 * An Adam optimizer's whole state on the host, exactly: hyperparameters, step
 * count, the running powers of beta, and each variable's first and second
 * moments (in the order of the variables it steps; empty before the first
 * step). What a worker needs to take the same steps elsewhere.
 */
export interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  iterations: number;
  accBeta: [number, number];
  firstMoments: Float32Array[];
  secondMoments: Float32Array[];
}

/**
 * tfjs's AdamOptimizer's private state: what a fused step reads and writes,
 * and the step count. Checkpoints and {@linkcode AdamState} copy it because
 * its setWeights recomputes the running powers of beta as `pow(beta, t + 1)`,
 * which differs in the last bits from the product the optimizer accumulates.
 */
export interface AdamInternals extends AdamFields {
  iterations_: number;
}

/** The optimizer's {@linkcode AdamInternals}; throws for anything but tfjs's Adam (`what` needs it). */
export function adamInternals(optimizer: tf.Optimizer, what: string): AdamInternals {
  const a = optimizer as unknown as AdamInternals;
  if (!(a.accBeta1 instanceof tf.Variable) || !Array.isArray(a.accumulatedFirstMoment)) {
    throw new Error(`${what} need tfjs's Adam optimizer`);
  }
  return a;
}

/**
 * Reads an Adam optimizer's state to the host (synchronous: for the wasm
 * backend, where a read is a copy).
 */
export function adamState(optimizer: tf.Optimizer): AdamState {
  const a = adamInternals(optimizer, "critic updates on the helper thread");
  const read = (v: tf.Variable) => v.dataSync() as Float32Array;
  return {
    learningRate: a.learningRate,
    beta1: a.beta1,
    beta2: a.beta2,
    epsilon: a.epsilon,
    iterations: a.iterations_,
    accBeta: [read(a.accBeta1)[0], read(a.accBeta2)[0]],
    firstMoments: a.accumulatedFirstMoment.map((m) => read(m.variable).slice()),
    secondMoments: a.accumulatedSecondMoment.map((m) => read(m.variable).slice()),
  };
}

/**
 * Puts {@linkcode adamState}'s copy into an Adam optimizer of the same
 * hyperparameters that steps `variables` (in the order the state's moments
 * follow), creating its moment variables if it has not stepped yet.
 */
export function setAdamState(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  state: AdamState,
): void {
  const a = adamInternals(optimizer, "critic updates on the helper thread");
  a.learningRate = state.learningRate;
  a.iterations_ = state.iterations;
  const put = (
    moments: { originalName: string; variable: tf.Variable }[],
    values: Float32Array[],
    suffix: string,
  ) => {
    values.forEach((data, i) => {
      const w = variables[i], t = tf.tensor(data, w.shape);
      if (moments[i]) moments[i].variable.assign(t);
      else moments[i] = { originalName: `${w.name}/${suffix}`, variable: t.variable(false) };
    });
  };
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(state.accBeta[0]));
    a.accBeta2.assign(tf.scalar(state.accBeta[1]));
    put(a.accumulatedFirstMoment, state.firstMoments, "m");
    put(a.accumulatedSecondMoment, state.secondMoments, "v");
  });
}

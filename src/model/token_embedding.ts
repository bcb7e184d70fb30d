/**
 * The Decision Transformer's input tokens on tfjs's wasm backend as one
 * gradient node: for each step of a batch of segments the return-to-go, the
 * observation and the action, each embedded linearly, plus the learned
 * embedding of the step's timestep, interleaved as R_t, s_t, a_t; and, off
 * the tape, a rollout step's three (a_{t-1}, R_t, s_t: `embedStepOnWasm`).
 *
 * As tfjs ops (what `decision_transformer.ts` runs on other backends) these
 * are ~25 kernels forward and ~25 back on tensors of a few thousand floats,
 * where tfjs's bookkeeping costs more than the arithmetic (~0.5 ms of a
 * ~6 ms CartPole minibatch). Here the elementwise parts are loops over the
 * heap in f32 (a Float32Array store rounds as an f32 operation does), the
 * products are {@linkcode gemm}, and the gradients are computed in the order
 * tfjs's ops add them, so every bit is the ops' (`tests/token_embedding_test.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { gemm } from "./layers.ts";
import { columnSumOnHeap } from "./wasm_column_sum.ts";
import { copyFloatRows } from "./wasm_copy_kernels.ts";
import { heapOutput, heapViews } from "./wasm_heap.ts";

/** The embedding weights: a `[maxTimestep, D]` table and a `[weight, bias]` pair per input. */
export interface TokenWeights {
  timestep: tf.Tensor;
  /** `[1, D]` and `[D]`. */
  returns: [tf.Tensor, tf.Tensor];
  /** `[obsDim, D]` and `[D]`. */
  states: [tf.Tensor, tf.Tensor];
  /** `[actDim, D]` and `[D]`. */
  actions: [tf.Tensor, tf.Tensor];
}

/** A batch of segments, [B, K, ...] each (a `SegmentBatch`). */
export interface TokenInputs {
  returnsToGo: tf.Tensor;
  obs: tf.Tensor;
  /** `[B, K, 1]` action indices (discrete) or `[B, K, actDim]` actions (continuous). */
  actions: tf.Tensor;
  timesteps: tf.Tensor;
}

/** The fixed input transforms: returns are divided by `returnScale`, observations standardized. */
export interface TokenScaling {
  returnScale: number;
  obsMean: tf.Tensor;
  obsInvStd: tf.Tensor;
  /** Discrete actions are one-hot rows of `actDim` (out of range: a zero row, as tf.oneHot). */
  discrete: boolean;
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * The tokens `[B, 3K, D]` of a batch of segments: the return-to-go embedding,
 * the state embedding and the action embedding of each step, each plus the
 * timestep table's row of its step (timesteps truncated to integers and
 * clamped to the table). On the gradient tape one node whose gradient is the
 * one tfjs's ops give the weights.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { embedTokensOnWasm } from "./token_embedding.ts";
 *
 * await initBackend("cpu");
 * const d = 4, pair = (rows: number) => [tf.ones([rows, d]), tf.zeros([d])] as [tf.Tensor, tf.Tensor];
 * const tokens = embedTokensOnWasm(tf.backend() as BackendWasm, {
 *   returnsToGo: tf.tensor2d([[10]]),
 *   obs: tf.tensor3d([[[1, 2]]]),
 *   actions: tf.tensor3d([[[1]]]),
 *   timesteps: tf.tensor2d([[0]], undefined, "int32"),
 * }, { timestep: tf.zeros([5, d]), returns: pair(1), states: pair(2), actions: pair(2) }, {
 *   returnScale: 10,
 *   obsMean: tf.zeros([2]),
 *   obsInvStd: tf.ones([2]),
 *   discrete: true,
 * });
 * assert.deepStrictEqual(tokens.shape, [1, 3, d]);
 * assert.deepStrictEqual([...tokens.dataSync()].filter((_, i) => i % d === 0), [1, 3, 1]);
 * ```
 */
export function embedTokensOnWasm(
  backend: BackendWasm,
  inputs: TokenInputs,
  w: TokenWeights,
  scaling: TokenScaling,
): tf.Tensor {
  return embed(backend, inputs, w, scaling, false);
}

/**
 * A rollout step's tokens `[N, 3, D]` for N envs: a_{t-1}, R_t and s_t (in
 * that order, as `DecisionTransformer.act` appends them), the action's plus
 * the timestep table's row at t - 1, the others' at t. `inputs` are then
 * `[N]` returns, `[N, obsDim]` observations, `[N, 1 or actDim]` previous
 * actions and `[N]` timesteps. Off the gradient tape only (a rollout).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { initBackend } from "../../mod.ts";
 * import { embedStepOnWasm } from "./token_embedding.ts";
 *
 * await initBackend("cpu");
 * const d = 1, pair = (rows: number) => [tf.ones([rows, d]), tf.zeros([d])] as [tf.Tensor, tf.Tensor];
 * const tokens = embedStepOnWasm(tf.backend() as BackendWasm, {
 *   returnsToGo: tf.tensor1d([10]),
 *   obs: tf.tensor2d([[1, 2]]),
 *   actions: tf.tensor2d([[1]]),
 *   timesteps: tf.tensor1d([2], "int32"),
 * }, { timestep: tf.tensor2d([[0], [10], [20]]), returns: pair(1), states: pair(2), actions: pair(2) }, {
 *   returnScale: 10,
 *   obsMean: tf.zeros([2]),
 *   obsInvStd: tf.ones([2]),
 *   discrete: true,
 * });
 * assert.deepStrictEqual([...tokens.dataSync()], [1 + 10, 1 + 20, 3 + 20]);
 * ```
 */
export function embedStepOnWasm(
  backend: BackendWasm,
  inputs: TokenInputs,
  w: TokenWeights,
  scaling: TokenScaling,
): tf.Tensor {
  if (tf.engine().isTapeOn()) throw new Error("embedStepOnWasm has no gradient");
  return embed(backend, inputs, w, scaling, true);
}

/** Segments' tokens (R, s, a at one timestep each) or, with `step`, a step's (a at t - 1, R, s). */
function embed(
  backend: BackendWasm,
  inputs: TokenInputs,
  w: TokenWeights,
  scaling: TokenScaling,
  step: boolean,
): tf.Tensor {
  const n = inputs.returnsToGo.size;
  const [maxTimestep, d] = w.timestep.shape as [number, number];
  const obsDim = w.states[0].shape[0]!, actDim = w.actions[0].shape[0]!;
  const [b, k] = step ? [n, 1] : inputs.returnsToGo.shape as [number, number];
  const outShape = [b, 3 * k, d];
  // Each token's slot among its step's three.
  const [returnSlot, stateSlot, actionSlot] = step ? [1, 2, 0] : [0, 1, 2];

  // The host's share, read once: timestep rows and scaled returns.
  const row = (t: number) => Math.min(Math.max(t, 0), maxTimestep - 1);
  const steps = Array.from(backend.typedArrayFromHeap(inputs.timesteps), Math.trunc);
  const rows = Int32Array.from(steps, row);
  const actionRows = step ? Int32Array.from(steps, (t) => row(t - 1)) : rows;
  const scale = Math.fround(scaling.returnScale);
  const scaled = Float32Array.from(
    backend.typedArrayFromHeap(inputs.returnsToGo),
    (r) => r / scale,
  );

  /** The two product inputs: standardized observations [n, obsDim] and action rows [n, actDim]. */
  const productInputs = (): tf.Tensor[] => {
    const z = heapOutput(backend, [n, obsDim]);
    const hot = heapOutput(backend, [n, actDim]);
    const [zv, obs, mean, invStd, hotv] = heapViews(backend, [
      z,
      inputs.obs,
      scaling.obsMean,
      scaling.obsInvStd,
      hot,
    ]);
    for (let i = 0; i < n * obsDim; i++) {
      const c = i % obsDim;
      zv[i] = Math.fround(obs[i] - mean[c]) * invStd[c];
    }
    if (scaling.discrete) {
      hotv.fill(0);
      const a = backend.typedArrayFromHeap(inputs.actions);
      for (let i = 0; i < n; i++) {
        const index = Math.trunc(a[i]);
        if (index >= 0 && index < actDim) hotv[i * actDim + index] = 1;
      }
    } else hotv.set(heapViews(backend, [inputs.actions])[0]);
    return [z, hot].map((t) => tf.engine().makeTensorFromTensorInfo(t));
  };

  const forward = (z: tf.Tensor, hot: tf.Tensor): tf.Tensor => {
    const out = heapOutput(backend, outShape);
    const states = heapOutput(backend, [n, d]), actions = heapOutput(backend, [n, d]);
    gemm(backend, "nn", states, z, w.states[0], n, obsDim, w.states[1]);
    gemm(backend, "nn", actions, hot, w.actions[0], n, actDim, w.actions[1]);
    const [o, s, a, table, wr, br] = heapViews(backend, [
      out,
      states,
      actions,
      w.timestep,
      ...w.returns,
    ]);
    for (let i = 0; i < n; i++) {
      const t = rows[i] * d, ta = actionRows[i] * d, r = scaled[i], at = i * d;
      const [ro, so, ao] = [returnSlot, stateSlot, actionSlot].map((slot) => (3 * i + slot) * d);
      for (let j = 0; j < d; j++) {
        const time = table[t + j];
        o[ro + j] = Math.fround(Math.fround(r * wr[j]) + br[j]) + time;
        o[so + j] = s[at + j] + time;
        o[ao + j] = a[at + j] + table[ta + j];
      }
    }
    [states, actions].forEach((t) => backend.disposeData(t.dataId));
    return tf.engine().makeTensorFromTensorInfo(out);
  };

  if (!tf.engine().isTapeOn()) {
    const temps = productInputs();
    const out = forward(temps[0], temps[1]);
    tf.dispose(temps);
    return out;
  }
  const weights = [w.timestep, ...w.returns, ...w.states, ...w.actions];
  return (tf.customGrad(
    // deno-lint-ignore no-explicit-any
    ((...args: any[]): any => {
      const save = args[weights.length] as (ts: tf.Tensor[]) => void;
      const temps = productInputs();
      save(temps);
      return {
        value: forward(temps[0], temps[1]),
        gradFunc: (dy: tf.Tensor, [z, hot]: tf.Tensor[]) => tokenGradients(dy, z, hot),
      };
    }) as unknown as CustomGradFn,
  ) as unknown as (...ws: tf.Tensor[]) => tf.Tensor)(...weights);

  /**
   * The weights' gradients from the tokens' `dy`, as tfjs's ops compute them:
   * the timestep rows get the three tokens' gradients added in the order the
   * tape meets them (action, state, then return: the reverse of the forward's
   * adds) and scattered into the table; each product's weight gets `x^T dy`
   * and its bias dy's column sums; the return weight the column sums of dy
   * times the scaled return.
   */
  function tokenGradients(dy: tf.Tensor, z: tf.Tensor, hot: tf.Tensor): tf.Tensor[] {
    const shapes = [[maxTimestep, d], [1, d], [d], [obsDim, d], [d], [actDim, d], [d]];
    const grads = shapes.map((shape) => heapOutput(backend, shape));
    const [dTable, dwr, dbr, dws, dbs, dwa, dba] = grads;
    // The state and action tokens' gradients as matrices [n, d], for the products.
    const dStates = heapOutput(backend, [n, d]), dActions = heapOutput(backend, [n, d]);
    {
      const [g, ds, da] = heapViews(backend, [dy, dStates, dActions]);
      copyFloatRows(backend, ds, d, g.subarray(d), 3 * d, n, d);
      copyFloatRows(backend, da, d, g.subarray(2 * d), 3 * d, n, d);
    }
    gemm(backend, "tn", dws, z, dStates, obsDim, n);
    gemm(backend, "tn", dwa, hot, dActions, actDim, n);
    const [g, table, wr, br, bs, ba, ds, da] = heapViews(backend, [
      dy,
      dTable,
      dwr,
      dbr,
      dbs,
      dba,
      dStates,
      dActions,
    ]);
    columnSumOnHeap(backend)(ds, bs);
    columnSumOnHeap(backend)(da, ba);
    table.fill(0);
    wr.fill(0);
    br.fill(0);
    for (let i = 0; i < n; i++) {
      const t = rows[i] * d, r = scaled[i], at = i * d, from = 3 * i * d;
      for (let j = 0; j < d; j++) {
        const dr = g[from + j];
        table[t + j] += Math.fround(Math.fround(da[at + j] + ds[at + j]) + dr);
        br[j] += dr;
        wr[j] += Math.fround(dr * r);
      }
    }
    [dStates, dActions].forEach((t) => backend.disposeData(t.dataId));
    return grads.map((t) => tf.engine().makeTensorFromTensorInfo(t));
  }
}

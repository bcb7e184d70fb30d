/**
 * `createAdam`'s wasm step (one TypeScript loop over the heap) against its
 * twin, tfjs's op-by-op `AdamOptimizer`: the same bits, step by step; and
 * `clipByGlobalNorm`'s wasm loops against tfjs's ops. The WebGPU step's
 * comparison is in `gpu_sync_test.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import { initBackend } from "../src/model/backend.ts";
import { clipAndStep, clipByGlobalNorm, clipWithOps, createAdam } from "../src/model/optim.ts";
import { matMul } from "../src/model/layers.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { clipOnHeap } from "../src/model/wasm_clip.ts";
import { heapOutput, heapViews } from "../src/model/wasm_heap.ts";
Deno.test("the global-norm clip's wasm loops equal tfjs's ops bit for bit", async () => {
  await initBackend("cpu");
  // 37 gradients (three rounds of grouped adds), sizes from 1 to a 500 x 64 table, all scales.
  let seed = 1;
  const grads: tf.NamedTensorMap = {};
  for (let k = 0; k < 37; k++) {
    const size = [1, 7, 64, 4096, 32000][k % 5];
    grads[`w${k}`] = tf.randomNormal([size], 0, 10 ** ((k % 7) - 4), "float32", seed++);
  }
  for (const maxNorm of [0.5, 1e-3, 1e6]) {
    const got = clipByGlobalNorm(grads, maxNorm), want = clipWithOps(grads, maxNorm);
    assertEquals(await got.norm.data(), await want.norm.data(), `norm, max ${maxNorm}`);
    for (const name of Object.keys(grads)) {
      assertEquals(
        await got.grads[name].data(),
        await want.grads[name].data(),
        `${name}, max ${maxNorm}`,
      );
    }
    tf.dispose([got.norm, want.norm, ...Object.values(got.grads), ...Object.values(want.grads)]);
  }
  // A NaN anywhere makes the norm NaN; tfjs's wasm minimum then leaves the scale at 1.
  grads.w3 = tf.tensor1d([1, NaN]);
  const got = clipByGlobalNorm(grads, 0.5), want = clipWithOps(grads, 0.5);
  assertEquals(await got.norm.data(), await want.norm.data());
  assertEquals(await got.grads.w0.data(), await want.grads.w0.data());
  tf.dispose([got.norm, want.norm, ...Object.values(got.grads), ...Object.values(want.grads)]);
  tf.dispose(Object.values(grads));
});

Deno.test("Adam's wasm step equals tfjs's Adam bit for bit, with a variable left without gradient", async () => {
  await initBackend("cpu");
  // 70 values take the kernel's scalar tail; [130, 130] is a large weight.
  const vars = [[70], [130, 130], [4]].map((shape, k) =>
    tf.variable(tf.randomNormal(shape, 0, 1, "float32", k), true, `wasm adam twin ${k}`)
  );
  const start = vars.map((v) => v.dataSync().slice());
  const run = async (optimizer: tf.Optimizer, lr: number) => {
    vars.forEach((v, k) => v.assign(tf.tensor(start[k], v.shape)));
    for (let step = 0; step < 4; step++) {
      // Learning rates change between steps as stage 2's annealing changes them.
      (optimizer as unknown as { learningRate: number }).learningRate = lr / (step + 1);
      const grads: tf.NamedTensorMap = {};
      for (const [k, v] of vars.slice(0, 2).entries()) {
        // Some gradients tiny, some large: the moments' rounding is exercised at both ends.
        const scale = step === 2 ? 1e-20 : 10 ** step;
        grads[v.name] = tf.randomNormal(v.shape, 0, scale, "float32", 10 * step + k + 1);
      }
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
    }
    const state = await optimizer.getWeights();
    const out = [...vars, ...state.slice(1).map((w) => w.tensor)].map((t) =>
      Array.from(t.dataSync())
    );
    state[0].tensor.dispose();
    optimizer.dispose();
    return out;
  };
  for (const lr of [0.05, 3e-4]) {
    const fused = await run(createAdam(lr, 0.9, 0.999, 1e-5), lr);
    const twin = await run(tf.train.adam(lr, 0.9, 0.999, 1e-5), lr);
    assertEquals(fused, twin, `lr ${lr}`);
    assertEquals(fused[2], Array.from(start[2]), "no gradient: unchanged");
  }
  tf.dispose(vars);
});

Deno.test("clipAndStep equals clipping then Adam's step, bit for bit, clipped or not", async () => {
  await initBackend("cpu");
  const shapes = [[70], [130, 130], [64, 2]];
  const start = shapes.map((shape, k) => tf.randomNormal(shape, 0, 1, "float32", 50 + k));
  const run = (fused: boolean, maxNorm: number) => {
    // Sharing start's data, the first step cannot be in place; the later ones are.
    const vars = start.map((t, k) => tf.variable(t, true, `clip step ${fused} ${k}`));
    const optimizer = createAdam(1e-2, 0.9, 0.999, 1e-5);
    const norms: number[] = [];
    for (let step = 0; step < 3; step++) {
      const grads: tf.NamedTensorMap = Object.fromEntries(
        vars.map((v, k) => [v.name, tf.randomNormal(v.shape, 0, 10, "float32", 10 * step + k + 1)]),
      );
      if (fused) {
        const norm = clipAndStep(optimizer, grads, maxNorm);
        norms.push(norm.dataSync()[0]);
        norm.dispose();
      } else {
        const clipped = clipByGlobalNorm(grads, maxNorm);
        optimizer.applyGradients(clipped.grads);
        norms.push(clipped.norm.dataSync()[0]);
        tf.dispose([clipped.norm, ...Object.values(clipped.grads)]);
      }
      tf.dispose(Object.values(grads));
    }
    const out = [norms, ...vars.map((v) => Array.from(v.dataSync()))];
    optimizer.dispose();
    tf.dispose(vars);
    return out;
  };
  const before = tf.memory().numTensors;
  for (const maxNorm of [0.5, 1e9]) assertEquals(run(true, maxNorm), run(false, maxNorm));
  assertEquals(tf.memory().numTensors, before);
  tf.dispose(start);
});

Deno.test("a weight Adam steps in place is read afresh by the next product", async () => {
  await initBackend("cpu");
  // [64, 2] is an action head: tfjs's own matMul would keep a packed copy of it (XNNPACK).
  const w = tf.variable(tf.randomNormal([64, 2], 0, 1, "float32", 7));
  const x = tf.randomNormal([5, 64], 0, 1, "float32", 8);
  const optimizer = createAdam(0.1);
  for (let step = 0; step < 3; step++) {
    const before = matMul(x, w);
    const g = tf.onesLike(w);
    optimizer.applyGradients({ [w.name]: g });
    const after = matMul(x, w), fresh = matMul(x, w.clone());
    assertEquals(Array.from(after.dataSync()), Array.from(fresh.dataSync()), `step ${step}`);
    assert(Array.from(after.dataSync()).some((y, k) => y !== before.dataSync()[k]));
    tf.dispose([before, g, after, fresh]);
  }
  optimizer.dispose();
  tf.dispose([w, x]);
});

Deno.test("four sums of squares at once equal four alone, bit for bit, whichever is shortest", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const xs = [9, 3, 17, 1].map((n, k) => tf.randomNormal([n], 0, 3, "float32", 60 + k));
  const outs = [heapOutput(backend, [4]), heapOutput(backend, [4])];
  const [together, alone, ...views] = heapViews(backend, [...outs, ...xs]);
  clipOnHeap(backend).sumsOfSquares4(views, together, 0);
  views.forEach((x, k) => clipOnHeap(backend).sumOfSquares(x, alone, k));
  assertEquals(Array.from(together), Array.from(alone));
  outs.forEach((t) => backend.disposeData(t.dataId));
  tf.dispose(xs);
});

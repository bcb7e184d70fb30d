/**
 * The CPU backend's own kernels (`src/model/backend.ts`): Identity shares data
 * instead of copying it, so clones must still behave as copies wherever tfjs
 * or grpo could tell the difference; the tensors a gradient saves are such
 * shared handles, made without kernels; Slice, Split and Unstack read their
 * input in place and must give tfjs's results.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals } from "./assert.ts";
import { initBackend } from "../src/model/backend.ts";

Deno.test("a clone on wasm shares data, outlives its source and keeps a variable's old value after assign", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const x = tf.tensor([1, 2, 3]);
  const buffers = tf.memory().numDataBuffers;
  const y = x.clone();
  assertEquals(tf.memory().numDataBuffers, buffers, "the clone shares its source's data");
  x.dispose();
  assertEquals(Array.from(y.dataSync()), [1, 2, 3]);
  const v = tf.tidy(() => tf.variable(tf.tensor([4, 5])));
  const saved = v.clone();
  tf.tidy(() => v.assign(tf.tensor([6, 7])));
  assertEquals(Array.from(saved.dataSync()), [4, 5]);
  assertEquals(Array.from(v.dataSync()), [6, 7]);
  tf.dispose([y, v, saved]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("gradients save their tensors on wasm without Identity kernels, with tfjs's results and no leak", async () => {
  await initBackend("cpu");
  const engine = tf.engine() as unknown as {
    saveTensorsForBackwardMode: (ts: tf.Tensor[]) => tf.Tensor[];
  };
  const x = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]])), w = tf.tensor2d([[1, 2], [3, -4]]);
  const grads = () => {
    const g = tf.variableGrads(() => tf.tanh(tf.matMul(x, w)).square().sum(), [x]);
    const out = Array.from(g.grads[x.name].dataSync());
    tf.dispose([g.value, g.grads[x.name]]);
    return out;
  };
  const before = tf.memory().numTensors;
  const profile = await tf.profile(grads);
  assertEquals(profile.kernels.filter((k) => k.name === "Identity").length, 0);
  const got = grads();
  assertEquals(tf.memory().numTensors, before, "the saved handles are freed with the tape");
  const own = engine.saveTensorsForBackwardMode;
  delete (engine as Partial<typeof engine>).saveTensorsForBackwardMode; // tfjs's own: clones
  try {
    assertEquals(got, grads());
  } finally {
    engine.saveTensorsForBackwardMode = own;
  }
  tf.dispose([x, w]);
});

Deno.test("slice, split and unstack on wasm give the values of index arithmetic, any rank and dtype", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  // The element at a flat index of `shape`, row-major, is the index itself: expected values follow.
  const strides = (shape: number[]) =>
    shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const expected = (shape: number[], begin: number[], size: number[]) => {
    const st = strides(shape), out: number[] = [];
    const walk = (d: number, offset: number) => {
      if (d === shape.length) return void out.push(offset);
      for (let i = 0; i < size[d]; i++) walk(d + 1, offset + (begin[d] + i) * st[d]);
    };
    walk(0, 0);
    return out;
  };
  const cases: [number[], number[], number[]][] = [
    [[7], [2], [4]],
    [[3, 5], [1, 2], [2, 3]],
    [[3, 5], [1, 0], [2, 5]],
    [[2, 3, 4], [0, 1, 1], [2, 2, 3]],
    [[2, 3, 4, 5], [1, 0, 2, 1], [1, 3, 2, 4]],
    [[2, 2, 3, 2, 3], [0, 1, 0, 1, 1], [2, 1, 3, 1, 2]],
    [[4, 3], [1, 1], [0, 2]],
  ];
  for (const [shape, begin, size] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const dtype of ["float32", "int32"] as const) {
      const x = tf.tensor(Array.from({ length: n }, (_, i) => i), shape, dtype);
      const y = tf.slice(x, begin, size);
      assertEquals(y.dtype, dtype);
      assertEquals(y.shape, size);
      assertEquals(
        Array.from(y.dataSync()),
        expected(shape, begin, size),
        `${shape} ${begin} ${size}`,
      );
      tf.dispose([x, y]);
    }
  }
  const x = tf.tensor(Array.from({ length: 2 * 3 * 6 }, (_, i) => i), [2, 3, 6]);
  const parts = tf.split(x, [1, 2, 3], -1);
  assertEquals(parts.map((p) => p.shape), [[2, 3, 1], [2, 3, 2], [2, 3, 3]]);
  assertEquals(Array.from(parts[1].dataSync()), expected([2, 3, 6], [0, 0, 1], [2, 3, 2]));
  const rows = tf.unstack(x, 1);
  assertEquals(rows.map((r) => r.shape), [[2, 6], [2, 6], [2, 6]]);
  assertEquals(Array.from(rows[2].dataSync()), expected([2, 3, 6], [0, 2, 0], [2, 1, 6]));
  const bools = tf.tensor([[true, false], [false, true]], undefined, "bool");
  const flags = tf.unstack(bools, 0);
  assertEquals(flags.map((f) => Array.from(f.dataSync())), [[1, 0], [0, 1]]);
  // Gradients flow through the replaced kernels as through tfjs's (Split's is Concat).
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.split(t, 3, -1)[1], 2)))(x);
  assertEquals(
    Array.from(grad.dataSync()),
    Array.from({ length: 36 }, (_, i) => (i % 6 >= 2 && i % 6 < 4 ? 2 : 0)),
  );
  tf.dispose([x, ...parts, ...rows, bools, ...flags, grad]);
  assertEquals(tf.memory().numTensors, before);
});

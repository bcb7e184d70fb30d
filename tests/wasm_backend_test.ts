/**
 * The CPU backend's own kernels (`src/model/wasm_copy_kernels.ts`,
 * `src/model/backend.ts`): Identity shares data instead of copying it, so
 * clones must still behave as copies wherever tfjs or grpo could tell the
 * difference; the tensors a gradient saves are such shared handles, made
 * without kernels; Slice, Split and Unstack read their input in place and
 * must give tfjs's results; so must Concat, GatherV2, Cast and Sum over
 * leading axes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertRejects } from "./assert.ts";
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
    // One axis cut, the rest whole: rows one stride apart, copied by 16-byte lanes and a tail.
    [[2, 4, 9], [0, 1, 0], [2, 2, 9]],
    [[3, 21], [0, 3], [3, 17]],
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
  const column = tf.slice(bools, [0, 1], [2, 1]);
  assertEquals(Array.from(column.dataSync()), [0, 1]);
  // Gradients flow through the replaced kernels as through tfjs's (Split's is Concat).
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.split(t, 3, -1)[1], 2)))(x);
  assertEquals(
    Array.from(grad.dataSync()),
    Array.from({ length: 36 }, (_, i) => (i % 6 >= 2 && i % 6 < 4 ? 2 : 0)),
  );
  tf.dispose([x, ...parts, ...rows, bools, ...flags, column, grad]);
  assertEquals(tf.memory().numTensors, before);
});

/** A tensor whose every element is its own flat index, so expected values are index arithmetic. */
function indexTensor(shape: number[], dtype: "float32" | "int32" = "float32"): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, (_, i) => i), shape, dtype);
}

Deno.test("concat and gather on wasm give the values of index arithmetic, any axis", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  // Concat: [2, 3, w_i] along the last axis, and [a_i, 4] along the first.
  const parts = tf.tidy(() => [1, 4, 2].map((w, i) => tf.add(indexTensor([2, 3, w]), 100 * i)));
  const joined = tf.concat(parts, -1);
  const expectedJoined: number[] = [];
  for (let r = 0; r < 6; r++) {
    [1, 4, 2].forEach((w, i) => {
      for (let c = 0; c < w; c++) expectedJoined.push(100 * i + r * w + c);
    });
  }
  assertEquals(joined.shape, [2, 3, 7]);
  assertEquals(Array.from(joined.dataSync()), expectedJoined);
  const stacked = tf.tidy(() =>
    tf.concat([indexTensor([1, 4], "int32"), tf.add(indexTensor([2, 4], "int32"), 4)])
  );
  assertEquals(Array.from(stacked.dataSync()), Array.from({ length: 12 }, (_, i) => i));
  // GatherV2 along each axis of [3, 4, 5], repeated and out-of-order indices of rank 2.
  const x = indexTensor([3, 4, 5]);
  const index = tf.tensor2d([[2, 0], [2, 1]], [2, 2], "int32");
  const flat = [2, 0, 2, 1];
  for (const axis of [0, 1, 2]) {
    const shape = [3, 4, 5];
    const y = tf.gather(x, index, axis);
    const outShape = [...shape.slice(0, axis), 2, 2, ...shape.slice(axis + 1)];
    assertEquals(y.shape, outShape);
    const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const expected: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const i of flat) {
        for (let c = 0; c < inner; c++) expected.push((o * shape[axis] + i) * inner + c);
      }
    }
    assertEquals(Array.from(y.dataSync()), expected, `axis ${axis}`);
    y.dispose();
  }
  const bad = tf.tensor1d([0, 3], "int32");
  await assertRejects(() => tf.gather(x, bad), Error, "index value 3 is not in [0, 2]");
  tf.dispose([...parts, joined, stacked, x, index, bad]);
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("a cast to the dtype a tensor has shares its data on wasm; other casts convert", async () => {
  await initBackend("cpu");
  const x = tf.tensor1d([1.5, -2.25]);
  const buffers = tf.memory().numDataBuffers;
  const y = tf.cast(x, "float32");
  assertEquals(tf.memory().numDataBuffers, buffers);
  x.dispose();
  assertEquals(Array.from(y.dataSync()), [1.5, -2.25]);
  const z = tf.cast(y, "int32");
  assertEquals([z.dtype, Array.from(z.dataSync())], ["int32", [1, -2]]);
  tf.dispose([y, z]);
});

Deno.test("sum over leading axes on wasm gives tfjs's bits: its transpose, then its row sums", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  // Values whose f32 sums round differently in different orders.
  const x = tf.randomNormal([37, 3, 11], 0, 1e3, "float32", 7);
  for (const [axes, inner] of [[[0], [1, 2]], [[0, 1], [2]], [[1, 0], [2]]] as const) {
    for (const keepDims of [false, true]) {
      const got = tf.sum(x, axes as unknown as number[], keepDims);
      // tfjs's kernel: leading axes moved last by a transpose, then summed in its own kernel.
      const lead = axes.length;
      const perm = [...inner, ...Array.from({ length: lead }, (_, i) => i)];
      const trailing = Array.from({ length: lead }, (_, i) => inner.length + i);
      const want = tf.tidy(() => tf.sum(tf.transpose(x, perm), trailing, false));
      const shape = keepDims
        ? [...Array(lead).fill(1), ...inner.map((d) => x.shape[d])]
        : want.shape;
      assertEquals(got.shape, shape);
      assertEquals(Array.from(got.dataSync()), Array.from(want.dataSync()), `${axes} ${keepDims}`);
      tf.dispose([got, want]);
    }
  }
  // A sum in another order gives other bits, so the comparison above can fail.
  const reversed = tf.tidy(() => tf.sum(tf.reverse(x, 0), 0));
  const plain = tf.sum(x, 0);
  assertEquals(
    Array.from(reversed.dataSync()).some((v, i) => v !== plain.dataSync()[i]),
    true,
  );
  tf.dispose([x, reversed, plain]);
  assertEquals(tf.memory().numTensors, before);
});

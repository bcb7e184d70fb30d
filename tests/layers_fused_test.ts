/**
 * The fused CPU-mode kernels (`src/model/wasm_attention.ts`,
 * `wasm_layer_norm.ts`) against their reference, the op-by-op layers that
 * WebGPU runs, here on tfjs's plain CPU backend: outputs and the gradients of
 * a weighted sum of them, on the shapes the Decision Transformer uses
 * (training's causal mask, the KV-cached step's per-env mask with rows whose
 * every key is masked, dropout multipliers).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend.ts";
import {
  attention,
  causalMask,
  layerNorm,
  MASKED,
  multiHeadAttention,
} from "../src/model/layers.ts";
import { assert, assertAllClose } from "./assert.ts";

/** Deterministic values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 * 2 - 1) * scale;
  });
}

interface Case {
  inputs: { shape: number[]; data: Float32Array }[];
  /** Builds the output from tensors made of `inputs` (the first `diff` of them are differentiated). */
  run: (xs: tf.Tensor[]) => tf.Tensor;
  diff: number;
}

/** Output and gradients of sum(output * fixed weights) on the active backend. */
function evaluate(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const xs = c.inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = c.run(xs);
    const weights = tf.tensor(values(y.size, 99), y.shape);
    const grads = tf.grads((...d: tf.Tensor[]) =>
      c.run([...d, ...xs.slice(c.diff)]).mul(weights).sum()
    )(
      xs.slice(0, c.diff),
    );
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

async function compare(c: Case, tolerance: number): Promise<void> {
  await initBackend("cpu");
  assert(tf.getBackend() === "wasm");
  const fused = evaluate(c);
  await tf.setBackend("cpu");
  // tfjs's CPU backend would print its "install tfjs-node" banner on first use.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const reference = evaluate(c);
  await tf.setBackend("wasm");
  const names = ["output", ...c.inputs.slice(0, c.diff).map((_, k) => `gradient ${k}`)];
  fused.forEach((x, k) => assertAllClose(x, reference[k], tolerance, names[k]));
}

const tensor = (shape: number[], seed: number, scale = 1) => ({
  shape,
  data: values(shape.reduce((a, b) => a * b, 1), seed, scale),
});

Deno.test("fused attention equals the op-by-op one under a causal mask (training's shapes)", async () => {
  const [b, h, t, dh] = [3, 2, 12, 8];
  await compare({
    inputs: [tensor([b, h, t, dh], 1, 2), tensor([b, h, t, dh], 2, 2), tensor([b, h, t, dh], 3)],
    run: ([q, k, v]) => attention(q, k, v, causalMask(t)),
    diff: 3,
  }, 2e-6);
});

Deno.test("fused attention applies a dropout multiplier as tfjs's ops do", async () => {
  const [b, h, t, dh] = [2, 1, 9, 16];
  const keep = Float32Array.from(values(b * h * t * t, 4), (u) => (u > -0.4 ? 1 / 0.7 : 0));
  await compare({
    inputs: [
      tensor([b, h, t, dh], 5),
      tensor([b, h, t, dh], 6),
      tensor([b, h, t, dh], 7),
      { shape: [b, h, t, t], data: keep },
    ],
    run: ([q, k, v, m]) => attention(q, k, v, causalMask(t), m),
    diff: 3,
  }, 2e-6);
});

Deno.test("fused attention takes a per-env mask with fully masked rows (the cached step's)", async () => {
  // 4 envs, 3 new tokens against 15 cache slots; env 0's first row sees no slot at all.
  const [n, tq, s, dh] = [4, 3, 15, 8];
  const visible = [[-1, 0, 1], [2, 3, 4], [8, 9, 10], [11, 12, 13]];
  const mask = new Float32Array(n * tq * s);
  visible.forEach((rows, e) =>
    rows.forEach((last, r) => {
      for (let j = last + 1; j < s; j++) mask[(e * tq + r) * s + j] = MASKED;
    })
  );
  await compare({
    inputs: [
      tensor([n, 1, tq, dh], 8),
      tensor([n, 1, s, dh], 9),
      tensor([n, 1, s, dh], 10),
      { shape: [n, 1, tq, s], data: mask },
    ],
    run: ([q, k, v, m]) => attention(q, k, v, m),
    diff: 3,
  }, 2e-6);
});

Deno.test("fused layer norm equals the op-by-op one, gradients of input, gain and bias included", async () => {
  await compare({
    inputs: [tensor([5, 7, 24], 11, 3), tensor([24], 12), tensor([24], 13)],
    run: ([x, w, b]) => layerNorm(x, w, b),
    diff: 3,
  }, 3e-6);
});

Deno.test("attention over tokens: one head read in the tokens' layout, two split and merged", async () => {
  const [b, t, d] = [3, 9, 16];
  for (const nHead of [1, 2]) {
    const keep = Float32Array.from(values(b * nHead * t * t, 11), (u) => (u > -0.4 ? 1 / 0.7 : 0));
    await compare({
      inputs: [
        tensor([b, t, d], 12),
        tensor([b, t, d], 13),
        tensor([b, t, d], 14),
        { shape: [b, nHead, t, t], data: keep },
      ],
      run: ([q, k, v, m]) => multiHeadAttention(q, k, v, nHead, causalMask(t), m),
      diff: 3,
    }, 2e-6);
  }
});

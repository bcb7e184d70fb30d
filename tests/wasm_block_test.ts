/**
 * A transformer block as one node on wasm (`src/model/wasm_block.ts`)
 * against the block op by op (`DecisionTransformer`'s `block`, written out
 * here with the same layers), bit for bit: the output off and on the tape
 * and the gradients of the input and all twelve weights, for a block over
 * every token and for the last block, which picks the state tokens; widths
 * a multiple of four and not, with and without dropout. And a rollout
 * step's block, attending over a context (a KV cache) with a mask per
 * sequence, off the tape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend.ts";
import {
  causalMask,
  dense,
  everyNthToken,
  gelu,
  layerNorm,
  multiHeadAttention,
} from "../src/model/layers.ts";
import { type BlockWeights, wasmBlock } from "../src/model/wasm_block.ts";
import { assertEquals } from "./assert.ts";

/**
 * A block's weights of width `d` from `rand(shape, scale, mean)`: layer norm
 * weights near 1, biases small.
 */
function blockWeights(
  d: number,
  rand: (shape: number[], scale?: number, mean?: number) => tf.Tensor,
): BlockWeights {
  const pair = (rows: number | undefined, n: number): [tf.Tensor, tf.Tensor] => [
    rows === undefined ? rand([n], 0.3, 1) : rand([rows, n]),
    rand([n], 0.1),
  ];
  return {
    ln1: pair(undefined, d),
    attn: pair(d, 3 * d),
    attnProj: pair(d, d),
    ln2: pair(undefined, d),
    fc: pair(d, 4 * d),
    mlpProj: pair(4 * d, d),
  };
}

Deno.test("a transformer block on wasm equals the block op by op, bit for bit", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  // Width, steps, picking the state tokens, dropout, seed.
  const cases = [
    [8, 4, false, false, 1],
    [8, 4, true, false, 2],
    [6, 3, true, false, 3],
    [8, 4, true, true, 4],
  ] as const;
  for (const [d, k, pickStates, dropping, seed] of cases) {
    const b = 3, t = 3 * k;
    let s = seed * 100;
    // Inside a tidy: tf.variable copies its initial tensor, which the tidy frees.
    const rand = (shape: number[], scale = 0.3, add = 0) =>
      tf.tidy(() => tf.variable(tf.randomNormal(shape, add, scale, "float32", s++)));
    const blk = blockWeights(d, rand);
    const full = causalMask(t);
    const mask = pickStates
      ? tf.tidy(() => full.reshape([k, 3, t]).slice([0, 1, 0], [k, 1, t]).reshape([k, t]))
      : full;
    const x = rand([b, t, d], 1);
    const dy = tf.tidy(() => tf.randomNormal([b, pickStates ? k : t, d], 0, 1, "float32", s++));
    // Dropout's multipliers (0 or 1 / 0.9), as tf.dropout draws them.
    const tq = pickStates ? k : t;
    const multiplier = (shape: number[]) =>
      tf.tidy(() => tf.dropout(tf.ones(shape), 0.1, undefined, `${s++}`));
    const dropout = dropping
      ? {
        attention: multiplier([b, 1, tq, t]),
        attnProj: multiplier([b, tq, d]),
        mlp: multiplier([b, tq, d]),
      }
      : undefined;
    const drop = (u: tf.Tensor, m?: tf.Tensor) => m ? u.mul(m) : u;
    // The block as decision_transformer.ts writes it.
    const ops = (x: tf.Tensor) => {
      const pick = (u: tf.Tensor) => pickStates ? everyNthToken(u, 3, 1) : u;
      const [qAll, keys, values] = tf.split(dense(layerNorm(x, ...blk.ln1), ...blk.attn), 3, -1);
      const y = multiHeadAttention(pick(qAll), keys, values, 1, mask, dropout?.attention);
      const x2 = pick(x).add(drop(dense(y, ...blk.attnProj), dropout?.attnProj));
      const mlp = dense(gelu(dense(layerNorm(x2, ...blk.ln2), ...blk.fc)), ...blk.mlpProj);
      return x2.add(drop(mlp, dropout?.mlp));
    };
    const fused = (x: tf.Tensor) =>
      wasmBlock(x, blk, mask, { pick: pickStates ? { every: 3, offset: 1 } : undefined, dropout });
    const what = `width ${d}, picking ${pickStates}, dropout ${dropping}`;

    const offTape = tf.tidy(() => [ops(x), fused(x)].map((y) => Array.from(y.dataSync())));
    assertEquals(offTape[1], offTape[0], `output off the tape, ${what}`);
    const variables = [x, ...Object.values(blk).flat()] as tf.Variable[];
    const [want, got] = [ops, fused].map((f) =>
      tf.variableGrads(() => f(x).mul(dy).sum() as tf.Scalar, variables)
    );
    assertEquals(got.value.dataSync()[0], want.value.dataSync()[0], `output on the tape, ${what}`);
    variables.forEach((v, i) => {
      assertEquals(
        Array.from(got.grads[v.name].dataSync()),
        Array.from(want.grads[v.name].dataSync()),
        `gradient of input ${i} [${v.shape}], ${what}`,
      );
    });
    tf.dispose([want, got].flatMap((g) => [g.value, ...Object.values(g.grads)]));
    tf.dispose([variables, dy, full, mask, Object.values(dropout ?? {})]);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("a rollout step's block on wasm, over a context, equals the block op by op", async () => {
  await initBackend("cpu");
  const before = tf.memory().numTensors;
  const [n, d, cached] = [4, 8, 5];
  let s = 7;
  const rand = (shape: number[], scale = 0.3, add = 0) =>
    tf.randomNormal(shape, add, scale, "float32", s++);
  const blk = blockWeights(d, rand);
  // Three new tokens per env after `cached` ones; each env's queries see a prefix of its own.
  const [cacheK, cacheV] = [rand([n, cached, d]), rand([n, cached, d])];
  const context = (k: tf.Tensor, v: tf.Tensor): [tf.Tensor, tf.Tensor] => [
    tf.concat([cacheK, k], 1),
    tf.concat([cacheV, v], 1),
  ];
  const tk = cached + 3;
  const mask = tf.tidy(() => {
    const seen = tf.tensor1d([2, 4, 6, 7], "int32").reshape([n, 1, 1, 1]);
    return tf.range(0, tk, 1, "int32").reshape([1, 1, 1, tk]).greater(seen).cast("float32")
      .mul(-1e9).tile([1, 1, 3, 1]);
  });
  const x = rand([n, 3, d], 1);
  for (const pick of [undefined, { every: 3, offset: 2 }]) {
    const rows = pick ? mask.slice([0, 0, 2, 0], [n, 1, 1, tk]) : mask;
    const [want, got] = tf.tidy(() => {
      const [qAll, k, v] = tf.split(dense(layerNorm(x, ...blk.ln1), ...blk.attn), 3, -1);
      const at = (u: tf.Tensor) => pick ? everyNthToken(u, 3, 2) : u;
      const [keys, values] = context(k, v);
      const x2 = at(x).add(
        dense(multiHeadAttention(at(qAll), keys, values, 1, rows), ...blk.attnProj),
      );
      const ops = x2.add(dense(gelu(dense(layerNorm(x2, ...blk.ln2), ...blk.fc)), ...blk.mlpProj));
      return [ops, wasmBlock(x, blk, rows, { pick, context })].map((y) => Array.from(y.dataSync()));
    });
    assertEquals(got, want, `picking ${pick !== undefined}`);
    if (pick) rows.dispose();
  }
  tf.dispose([Object.values(blk).flat(), cacheK, cacheV, mask, x]);
  assertEquals(tf.memory().numTensors, before);
});

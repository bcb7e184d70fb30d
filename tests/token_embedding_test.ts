/**
 * The Decision Transformer's token embedding as one node on wasm
 * (`src/model/token_embedding.ts`) against the tfjs ops it replaces (the
 * model's path on other backends), bit for bit: the tokens off and on the
 * tape and every weight's gradient, for discrete and continuous actions,
 * with timesteps past both ends of the table and an action out of range;
 * and a rollout step's tokens (`embedStepOnWasm`) against its ops.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../src/model/backend.ts";
import {
  embedStepOnWasm,
  embedTokensOnWasm,
  type TokenInputs,
} from "../src/model/token_embedding.ts";
import { dense, embeddingLookup, oneHot } from "../src/model/layers.ts";
import { assertEquals } from "./assert.ts";

Deno.test("the token embedding on wasm equals tfjs's ops bit for bit, forward and gradients", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  const [b, k, obsDim, d, maxTimestep] = [3, 5, 6, 12, 40];
  for (const [discrete, actDim, seed] of [[true, 3, 1], [false, 2, 2]] as const) {
    const rand = (shape: number[], s: number) =>
      tf.randomNormal(shape, 0, 1, "float32", seed * 100 + s);
    const weights = tf.tidy(() => ({
      timestep: tf.variable(rand([maxTimestep, d], 1)),
      returns: [tf.variable(rand([1, d], 2)), tf.variable(rand([d], 3))] as [
        tf.Variable,
        tf.Variable,
      ],
      states: [tf.variable(rand([obsDim, d], 4)), tf.variable(rand([d], 5))] as [
        tf.Variable,
        tf.Variable,
      ],
      actions: [tf.variable(rand([actDim, d], 6)), tf.variable(rand([d], 7))] as [
        tf.Variable,
        tf.Variable,
      ],
    }));
    const scaling = {
      returnScale: 37.3,
      obsMean: rand([obsDim], 8),
      obsInvStd: tf.tidy(() => rand([obsDim], 9).abs().add(0.1)),
      discrete,
    };
    const inputs: TokenInputs = tf.tidy(() => ({
      returnsToGo: rand([b, k], 10).mul(300),
      obs: rand([b, k, obsDim], 11).mul(3),
      // Index 3 of 3 actions is out of range: a zero row, as tf.oneHot gives.
      actions: discrete
        ? tf.tensor3d([0, 1, 2, 1, 0, 2, 3, 1, 1, 0, 2, 2, 0, 1, 1], [b, k, 1])
        : rand([b, k, actDim], 12),
      // Float timesteps truncate; -1 and 45 clamp to the table's ends; 7 repeats (a scatter-add).
      timesteps: tf.tensor2d([0, 1, 2, 3, 4, 7, 7.9, 7, 39, 45, -1, 12, 13, 14, 15], [b, k]),
    }));
    const dy = rand([b, 3 * k, d], 13);
    const variables = [
      weights.timestep,
      ...weights.returns,
      ...weights.states,
      ...weights.actions,
    ];

    // What decision_transformer.ts computes on other backends.
    const ops = () => {
      const int = (v: number) => tf.scalar(v, "int32");
      const index = tf.minimum(
        tf.maximum(inputs.timesteps.cast("int32"), int(0)),
        int(maxTimestep - 1),
      );
      const time = embeddingLookup(weights.timestep, index);
      const [wr, br] = weights.returns;
      const hot = discrete
        ? oneHot(inputs.actions.squeeze([-1]).cast("int32"), actDim)
        : inputs.actions;
      return tf.stack([
        inputs.returnsToGo.div(scaling.returnScale).expandDims(-1).mul(wr.reshape([-1])).add(br)
          .add(time),
        dense(inputs.obs.sub(scaling.obsMean).mul(scaling.obsInvStd), ...weights.states).add(time),
        dense(hot, ...weights.actions).add(time),
      ], 2).reshape([b, 3 * k, d]);
    };
    const fused = () => embedTokensOnWasm(backend, inputs, weights, scaling);

    const offTape = tf.tidy(() => [ops(), fused()].map((t) => Array.from(t.dataSync())));
    assertEquals(offTape[1], offTape[0], `tokens off the tape, discrete ${discrete}`);
    const [want, got] = [ops, fused].map((f) =>
      tf.variableGrads(() => f().mul(dy).sum() as tf.Scalar, variables)
    );
    assertEquals(got.value.dataSync()[0], want.value.dataSync()[0], "loss on the tape");
    variables.forEach((v) => {
      assertEquals(
        Array.from(got.grads[v.name].dataSync()),
        Array.from(want.grads[v.name].dataSync()),
        `gradient of weight ${v.shape}, discrete ${discrete}`,
      );
    });
    tf.dispose([want, got].flatMap((g) => [g.value, ...Object.values(g.grads)]));
    tf.dispose([variables, Object.values(inputs), dy, scaling.obsMean, scaling.obsInvStd]);
  }
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("a rollout step's tokens on wasm equal tfjs's ops bit for bit", async () => {
  await initBackend("cpu");
  const backend = tf.backend() as BackendWasm;
  const before = tf.memory().numTensors;
  const [n, obsDim, actDim, d, maxTimestep] = [5, 3, 2, 8, 20];
  tf.tidy(() => {
    const rand = (shape: number[], s: number) => tf.randomNormal(shape, 0, 1, "float32", s);
    const weights = {
      timestep: rand([maxTimestep, d], 1),
      returns: [rand([1, d], 2), rand([d], 3)] as [tf.Tensor, tf.Tensor],
      states: [rand([obsDim, d], 4), rand([d], 5)] as [tf.Tensor, tf.Tensor],
      actions: [rand([actDim, d], 6), rand([d], 7)] as [tf.Tensor, tf.Tensor],
    };
    const scaling = {
      returnScale: 9.1,
      obsMean: rand([obsDim], 8),
      obsInvStd: rand([obsDim], 9).abs().add(0.1),
      discrete: true,
    };
    // t = 0 (its previous row clamps to 0) and t past the table's end.
    const inputs: TokenInputs = {
      returnsToGo: rand([n], 10).mul(50),
      obs: rand([n, obsDim], 11),
      actions: tf.tensor2d([0, 1, 1, 0, 1], [n, 1]),
      timesteps: tf.tensor1d([0, 1, 7, 19, 25], "int32"),
    };
    const int = (v: number) => tf.scalar(v, "int32");
    const time = (t: tf.Tensor) =>
      tf.gather(weights.timestep, tf.minimum(tf.maximum(t, int(0)), int(maxTimestep - 1)));
    const [wr, br] = weights.returns;
    const ops = tf.stack([
      dense(oneHot(inputs.actions.squeeze([-1]).cast("int32"), actDim), ...weights.actions)
        .add(time(inputs.timesteps.sub(int(1)))),
      inputs.returnsToGo.div(scaling.returnScale).expandDims(-1).mul(wr.reshape([-1])).add(br)
        .add(time(inputs.timesteps)),
      dense(inputs.obs.sub(scaling.obsMean).mul(scaling.obsInvStd), ...weights.states)
        .add(time(inputs.timesteps)),
    ], 1);
    const fused = embedStepOnWasm(backend, inputs, weights, scaling);
    assertEquals(Array.from(fused.dataSync()), Array.from(ops.dataSync()));
  });
  assertEquals(tf.memory().numTensors, before);
});

import { cartpole } from "../envs/cartpole.ts";
import { initBackend } from "../src/model/backend.ts";
import {
  DEFAULT_BC_CONFIG,
  learningRate,
  returnsToGo,
  trainBehaviourCloning,
} from "../src/rl/behaviour_cloning.ts";
import * as tf from "@tensorflow/tfjs";
import { DecisionTransformer, type SegmentBatch } from "../src/model/decision_transformer.ts";
import { createAdam } from "../src/model/optim.ts";
import { bcStep } from "../src/rl/bc_step.ts";
import { HelperThread } from "../src/rl/helper_thread.ts";
import { assert, assertAllClose, assertAlmostEquals, assertEquals } from "./assert.ts";
import { fixedDataset, tinyDtConfig } from "./fixtures.ts";

await initBackend("cpu");

Deno.test("returns-to-go restart at each episode", () => {
  const ds = fixedDataset(2, 3);
  ds.rewards.set([1, 2, 3, 4, 5, 6]);
  assertEquals(Array.from(returnsToGo(ds)), [6, 5, 3, 15, 11, 6]);
});

Deno.test("behaviour cloning overfits a fixed dataset", async () => {
  const ds = fixedDataset(12, 6);
  const epochs: number[] = [];
  const result = await trainBehaviourCloning(cartpole, ds, {
    ...DEFAULT_BC_CONFIG,
    numEpochs: 60,
    batchSize: 32,
    learningRate: 3e-3,
    warmupSteps: 5,
    maxGradNorm: 1,
    valFraction: 0,
    embedDim: 16,
    nLayer: 1,
    nHead: 1,
    contextLength: 3,
    dropout: 0,
  }, { onEpoch: (m) => void epochs.push(m.epoch) });
  assertEquals(epochs.length, 60);
  const first = result.history[0], last = result.history.at(-1)!;
  assert(first.train_loss > 0.5, `starts near chance: ${first.train_loss}`);
  assert(last.train_loss < 0.1, `fits the data: train loss ${last.train_loss}`);
  assertEquals(last.val_accuracy, 1, "every action predicted");
  assertEquals(result.targetReturn, 6);
  result.policy.dispose();
});

Deno.test("a short run's warmup is at most a tenth of its steps, so it reaches the peak rate", () => {
  const c = { ...DEFAULT_BC_CONFIG, learningRate: 1e-3, warmupSteps: 50, minLrFraction: 0.1 };
  assertAlmostEquals(learningRate(c, 0, 20), 5e-4, 1e-12);
  assertAlmostEquals(learningRate(c, 1, 20), 1e-3, 1e-12);
  assertAlmostEquals(learningRate(c, 20, 20), 1e-4, 1e-12);
  // A long run keeps the configured warmup.
  assertAlmostEquals(learningRate(c, 24, 1000), 5e-4, 1e-12);
});

Deno.test("behaviour cloning with dropout repeats bit for bit under one seed", async () => {
  const ds = fixedDataset(8, 6);
  const train = async (seed: number) => {
    const { policy } = await trainBehaviourCloning(cartpole, ds, {
      ...DEFAULT_BC_CONFIG,
      numEpochs: 3,
      batchSize: 8,
      valFraction: 0,
      embedDim: 16,
      nLayer: 1,
      nHead: 1,
      contextLength: 3,
      dropout: 0.3,
      seed,
    });
    const weights = await Promise.all(
      policy.namedWeights().map(async ([, v]) => [...await v.data()]),
    );
    policy.dispose();
    return weights.flat();
  };
  const first = await train(5);
  assertEquals(await train(5), first);
  const other = await train(6);
  assert(other.some((w, i) => w !== first[i]), "another seed trains another model");
});

Deno.test("CPU mode: a stage-1 step split with the helper thread takes the whole batch's step", async () => {
  await initBackend("cpu");
  // No dropout, so that both halves compute exactly what the whole batch does (up to the order
  // of the float sums).
  const config = tinyDtConfig({ embedDim: 16, contextLength: 5 });
  const B = 7, K = 5;
  const batch: SegmentBatch = {
    returnsToGo: tf.randomUniform([B, K], 0, 100, "float32", 1) as tf.Tensor2D,
    obs: tf.randomNormal([B, K, 4], 0, 1, "float32", 2) as tf.Tensor3D,
    actions: tf.randomUniform([B, K, 1], 0, 2, "int32", 3).cast("float32") as tf.Tensor3D,
    timesteps: tf.randomUniform([B, K], 0, 50, "int32", 4) as tf.Tensor2D,
  };
  // Padded steps at the end of the shorter segments: the loss averages over real steps only.
  const mask = tf.tensor2d(Array.from({ length: B * K }, (_, i) => (i % K < K - (i % 3) ? 1 : 0)), [
    B,
    K,
  ]);
  const step = async (helper?: HelperThread) => {
    const policy = new DecisionTransformer(config, 5);
    const optimizer = createAdam(1e-2);
    const { loss, gradNorm } = await bcStep(policy, optimizer, batch, mask, "s", 0.5, helper);
    const out = {
      loss: (await loss.data())[0],
      norm: (await gradNorm.data())[0],
      weights: await Promise.all(policy.trainableVariables().map((v) => v.data())),
    };
    tf.dispose([loss, gradNorm]);
    optimizer.dispose();
    policy.dispose();
    return out;
  };
  const helper = new HelperThread();
  try {
    const whole = await step(), split = await step(helper);
    assertAlmostEquals(split.loss, whole.loss, 1e-5);
    assertAlmostEquals(split.norm, whole.norm, 1e-5 * whole.norm);
    whole.weights.forEach((w, i) => assertAllClose(split.weights[i], w, 1e-5, `weight ${i}`));
    // The step moved the weights (a helper that added nothing would leave a half-sized step).
    assert(whole.norm > 1e-3);
  } finally {
    helper.close();
  }
});

Deno.test("a stage-1 step split with the helper thread leaves no tensor behind", async () => {
  await initBackend("cpu");
  const policy = new DecisionTransformer(tinyDtConfig(), 1);
  const optimizer = createAdam(1e-3);
  const B = 4, K = 4;
  const batch: SegmentBatch = {
    returnsToGo: tf.ones([B, K]),
    obs: tf.zeros([B, K, 4]),
    actions: tf.ones([B, K, 1]),
    timesteps: tf.zeros([B, K], "int32"),
  };
  const mask = tf.ones([B, K]) as tf.Tensor2D;
  const helper = new HelperThread();
  try {
    const step = async () => {
      const { loss, gradNorm } = await bcStep(policy, optimizer, batch, mask, "s", 1, helper);
      tf.dispose([loss, gradNorm]);
    };
    await step(); // the optimizer's state is made on the first step
    const before = tf.memory().numTensors;
    await step();
    await step();
    assertEquals(tf.memory().numTensors, before);
  } finally {
    helper.close();
    optimizer.dispose();
    policy.dispose();
    tf.dispose([...Object.values(batch), mask]);
  }
});

import { cartpole } from "../envs/cartpole.ts";
import { initBackend } from "../src/model/backend.ts";
import {
  DEFAULT_BC_CONFIG,
  returnsToGo,
  trainBehaviourCloning,
} from "../src/rl/behaviour_cloning.ts";
import { assert, assertEquals } from "./assert.ts";
import { fixedDataset } from "./fixtures.ts";

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

/**
 * Host round trips of training in GPU mode: at most 2 readbacks per stage-2
 * iteration (collect, advantages, every minibatch update, metrics) in every
 * advantage mode and with prioritized minibatches, at most 2 per stage-1
 * epoch; the NaN guard that rides on the one readback restores the
 * iteration's start; and the results equal those the code gave before these
 * changes (recorded in `training_fingerprint_golden.json`). The CPU rows
 * were recorded again when CPU mode's attention and layer norm became fused
 * kernels (`src/model/wasm_attention.ts`): they round in double, so metrics
 * moved by ~1e-7 relative (tests/layers_fused_test.ts holds them to tfjs's ops).
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { tinyStage1 } from "./cli_helpers.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";
import {
  disposeState,
  type Fingerprint,
  fingerprints,
  STAGE2_CASES,
  TINY_BC,
  tinyGrpoState,
  tinyModels,
} from "./training_fingerprint.ts";
import { fixedDataset } from "./fixtures.ts";
import { countGpuCalls } from "../bench/gpu_counters.ts";
import { cartpole } from "../envs/cartpole.ts";
import { main } from "../src/cli/main.ts";
import { readSafetensors } from "../src/io/safetensors.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { TrainingSnapshot } from "../src/model/snapshot.ts";
import { createAdam } from "../src/model/optim.ts";
import { trainBehaviourCloning } from "../src/rl/behaviour_cloning.ts";
import { trainGrpo } from "../src/rl/grpo.ts";
import { IterationSnapshot, saveTrainingCheckpoint } from "../src/rl/grpo_checkpoint.ts";

async function onCpuAgain(): Promise<void> {
  await initBackend("cpu");
  disposeGpuBackend();
}

for (const [name, overrides] of Object.entries(STAGE2_CASES)) {
  gpuTest(`GPU mode, ${name}: one stage-2 iteration reads back at most twice`, async () => {
    await initBackend("gpu");
    const state = tinyGrpoState({ ...overrides, numIterations: 1 });
    await trainGrpo(state); // compiles the kernels
    state.config.numIterations = 3;
    const perIteration: number[] = [];
    let last = 0;
    await countGpuCalls((counts) =>
      trainGrpo(state, {
        onIteration: () => {
          perIteration.push(counts.mapAsync - last);
          last = counts.mapAsync;
        },
      })
    );
    disposeState(state);
    await onCpuAgain();
    assertEquals(perIteration.length, 2);
    for (const n of perIteration) assert(n >= 1 && n <= 2, `readbacks per iteration: ${n}`);
  });
}

gpuTest(
  "GPU mode: one stage-1 epoch (training and validation) reads back at most twice",
  async () => {
    await initBackend("gpu");
    const perEpoch: number[] = [];
    let last = 0;
    const steps: number[] = [];
    await countGpuCalls(async (counts) => {
      const r = await trainBehaviourCloning(cartpole, fixedDataset(12, 7), TINY_BC, {
        onStart: () => void (last = counts.mapAsync),
        onStep: (_epoch, batch) => void steps.push(batch),
        onEpoch: () => {
          perEpoch.push(counts.mapAsync - last);
          last = counts.mapAsync;
        },
      });
      r.policy.dispose();
    });
    await onCpuAgain();
    assertEquals(perEpoch.length, TINY_BC.numEpochs);
    assert(Math.max(...steps) >= 3, "several batches per epoch");
    for (const n of perEpoch) assert(n >= 1 && n <= 2, `readbacks per epoch: ${n}`);
  },
);

gpuTest(
  "GPU mode: stage 1 uploads its batches' data once per epoch (the epoch's rows), not per batch",
  async () => {
    await initBackend("gpu");
    // Tensors made from host data go through the backend's write; those made by stage 1's own
    // code (not the model's constants or the optimizer's) are its data uploads.
    const backend = tf.backend() as unknown as { write: (...args: unknown[]) => unknown };
    const write = backend.write;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    let uploads = 0;
    backend.write = function (...args: unknown[]) {
      // Kernel outputs are written without values; host data comes with its values.
      const first = (new Error().stack ?? "").split("\n").find((l) => l.includes("/src/"));
      if (args[0] != null && first?.includes("behaviour_cloning.ts")) uploads++;
      return write.apply(this, args);
    };
    const perEpoch: number[] = [];
    let batches = 0;
    try {
      const r = await trainBehaviourCloning(cartpole, fixedDataset(12, 7), TINY_BC, {
        onStart: () => void (uploads = 0),
        onStep: (_epoch, batch) => void (batches = Math.max(batches, batch)),
        onEpoch: () => {
          perEpoch.push(uploads);
          uploads = 0;
        },
      });
      r.policy.dispose();
    } finally {
      backend.write = write;
      Error.stackTraceLimit = limit;
    }
    await onCpuAgain();
    assert(batches >= 3, "several batches per epoch");
    // The first epoch also uploads the dataset's steps and the validation rows (once per run).
    assertEquals(perEpoch.slice(1), perEpoch.slice(1).map(() => 1), JSON.stringify(perEpoch));
    assert(perEpoch[0] <= 1 + 5 + 1, JSON.stringify(perEpoch));
  },
);

/** A tiny stage-1 checkpoint for the CLI. */
async function stage1Checkpoint(dir: string): Promise<string> {
  await initBackend("cpu");
  const { policy, value } = tinyModels(0);
  value.dispose();
  return await tinyStage1(dir, { policy });
}

/** Runs `main` with console output captured. */
async function quietly(args: string[]): Promise<{ code: number; err: string }> {
  const log = console.log, error = console.error;
  let err = "";
  console.log = () => {};
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await main(args), err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** The model and optimizer tensors of a stage-2 checkpoint (not the collector's, which moved on). */
async function trainedTensors(path: string): Promise<Map<string, number[]>> {
  const file = await readSafetensors(path);
  const out = new Map<string, number[]>();
  for (const [name, t] of file.tensors) {
    if (!name.startsWith("collector.")) out.set(name, Array.from(t.data as Float32Array));
  }
  return out;
}

for (const device of ["gpu", "cpu"]) {
  (device === "gpu" ? gpuTest : Deno.test)(
    `${device} mode: a NaN injected mid-iteration stops the run with the advice; last.safetensors is the iteration's start`,
    async () => {
      const dir = await Deno.makeTempDir();
      const stage1 = await stage1Checkpoint(dir);
      // Every Adam step after the 13th writes NaN into the first weight it updated: a few
      // minibatches into iteration 2 or later (an iteration has ~5 minibatches of 2 steps).
      // Every step of createAdam's optimizer, clipped or not, goes through applyScaledGradients.
      type Scaled = { applyScaledGradients(grads: tf.NamedTensorMap, scale: number): void };
      const adam = Object.getPrototypeOf(createAdam(1)) as Scaled;
      const apply = adam.applyScaledGradients;
      let steps = 0;
      adam.applyScaledGradients = function (grads, scale) {
        apply.call(this, grads, scale);
        if (++steps !== 13) return;
        const first = Array.isArray(grads) ? grads[0].name : Object.keys(grads)[0];
        const v = tf.engine().registeredVariables[first];
        tf.tidy(() => v.assign(tf.fill(v.shape, NaN)));
      };
      const ck = join(dir, "ck");
      const run = await quietly([
        "train",
        "--checkpoint",
        stage1,
        ...["--num-envs", "2", "--rollout-steps", "40", "--num-epochs", "1", "--batch-size", "16"],
        ...["--num-iterations", "5", "--save-every", "1", "--eval-every", "0"],
        ...["--out", ck, "--log-dir", join(dir, "logs"), "--device", device],
      ]).finally(() => adam.applyScaledGradients = apply);
      if (device === "gpu") await onCpuAgain();
      assertEquals(run.code, 1, run.err);
      assert(run.err.includes("became NaN"), run.err);
      assert(run.err.includes("--policy-lr 1e-5"), run.err);
      const [runDir] = [...Deno.readDirSync(ck)].map((e) => join(ck, e.name));
      const last = join(runDir, "last.safetensors");
      const started = Number((await readSafetensors(last)).metadata.iteration);
      assert(started >= 1, `the NaN came in iteration ${started + 1}`);
      assert(run.err.includes(last), run.err);
      const expected = await trainedTensors(join(runDir, `iteration_${started}.safetensors`));
      const got = await trainedTensors(last);
      assertEquals([...got.keys()].sort(), [...expected.keys()].sort());
      assert([...got.keys()].some((k) => k.startsWith("optimizer.policy.")), "Adam state saved");
      for (const [name, values] of expected) assertEquals(got.get(name), values, name);
      await Deno.remove(dir, { recursive: true });
    },
  );
}

/**
 * The readbacks of a GPU-mode `grpo train` run, cut into iterations at each
 * collect's readback; a readback from inside saveTrainingCheckpoint counts
 * as the checkpoint's.
 */
function readbacksPerIteration(stacks: string[]): { other: number; checkpoint: number }[] {
  const out: { other: number; checkpoint: number }[] = [];
  for (const stack of stacks) {
    if (stack.includes("GpuRolloutCollector.collect")) out.push({ other: 0, checkpoint: 0 });
    const at = out.at(-1);
    if (!at) continue; // before the first collect: the setup
    if (stack.includes("saveTrainingCheckpoint")) at.checkpoint++;
    else at.other++;
  }
  return out;
}

gpuTest(
  "GPU mode, grpo train: an iteration of the CLI's loop (with its interrupt snapshot) reads back at most twice; a checkpoint once",
  async () => {
    const dir = await Deno.makeTempDir();
    const stage1 = await stage1Checkpoint(dir);
    const iterations = 4;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 100; // deep enough to see the caller through tfjs's frames
    const { result: run, mapStacks } = await countGpuCalls(
      () =>
        quietly([
          "train",
          "--checkpoint",
          stage1,
          ...["--num-envs", "2", "--rollout-steps", "40", "--num-epochs", "2"],
          ...["--batch-size", "16", "--num-iterations", String(iterations)],
          ...["--save-every", "2", "--eval-every", "0"],
          ...["--out", join(dir, "ck"), "--log-dir", join(dir, "logs"), "--device", "gpu"],
        ]),
      { stacks: true },
    ).finally(() => Error.stackTraceLimit = limit);
    await onCpuAgain();
    assertEquals(run.code, 0, run.err);
    const per = readbacksPerIteration(mapStacks);
    assertEquals(per.length, iterations, "one collect readback per iteration");
    for (const [k, n] of per.entries()) {
      assert(n.other <= 2, `iteration ${k + 1}: ${n.other} readbacks besides checkpoints`);
    }
    // Saved: iteration_2 and iteration_4, last.safetensors, best.safetensors whenever it
    // improved; each save one readback (at a9951a5: 2 more per iteration for the snapshot and
    // about 100 in an iteration that saved).
    assert(per[1].checkpoint >= 1 && per[3].checkpoint >= 2, JSON.stringify(per));
    assert(per.every((n) => n.checkpoint <= 3), JSON.stringify(per));
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest("GPU mode: a stage-2 checkpoint is written with one readback", async () => {
  await initBackend("gpu");
  const state = tinyGrpoState({ advantage: "outcome", numIterations: 1 });
  await trainGrpo(state);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "ck.safetensors");
  const { counts } = await countGpuCalls(() =>
    saveTrainingCheckpoint(path, state, { trainingArgs: {}, bestMeanReward: 0 })
  );
  const file = await readSafetensors(path);
  disposeState(state);
  await onCpuAgain();
  assertEquals(counts.mapAsync, 1);
  const names = [...file.tensors.keys()];
  for (const part of ["optimizer.policy.", "optimizer.value.", "reference.", "collector.cache."]) {
    assert(names.some((n) => n.startsWith(part)), `${part}* saved`);
  }
  await Deno.remove(dir, { recursive: true });
});

gpuTest(
  "GPU mode: an iteration undone by the interrupt snapshot saves the same bytes as a save before it",
  async () => {
    await initBackend("gpu");
    const state = tinyGrpoState({ numIterations: 1 });
    await trainGrpo(state);
    const dir = await Deno.makeTempDir();
    const record = { trainingArgs: {}, bestMeanReward: 1 };
    await saveTrainingCheckpoint(join(dir, "at1.safetensors"), state, record);
    const { result: snapshot, counts } = await countGpuCalls(() => IterationSnapshot.take(state));
    state.config.numIterations = 2;
    await trainGrpo(state);
    await snapshot.restore(state);
    snapshot.dispose();
    await saveTrainingCheckpoint(join(dir, "undone.safetensors"), state, record);
    disposeState(state);
    await onCpuAgain();
    assertEquals(counts.mapAsync, 0, "taking the snapshot reads nothing back");
    assertEquals(
      await Deno.readFile(join(dir, "undone.safetensors")),
      await Deno.readFile(join(dir, "at1.safetensors")),
    );
    await Deno.remove(dir, { recursive: true });
  },
);

gpuTest("fused Adam on WebGPU equals its twin, tfjs's Adam, step by step", async () => {
  await initBackend("gpu");
  // 70 and 3 x 5 elements: sizes that do not fill a workgroup; one variable gets no gradient.
  const vars = [[70], [3, 5], [4]].map((shape, k) =>
    tf.variable(tf.randomNormal(shape, 0, 1, "float32", k), true, `adam twin ${k}`)
  );
  const start = await Promise.all(vars.map((v) => v.data()));
  const run = async (optimizer: tf.Optimizer) => {
    vars.forEach((v, k) => v.assign(tf.tensor(start[k], v.shape)));
    for (let step = 0; step < 3; step++) {
      const grads: tf.NamedTensorMap = {};
      for (const [k, v] of vars.slice(0, 2).entries()) {
        grads[v.name] = tf.randomNormal(v.shape, 0, 1 + step, "float32", 10 * step + k + 1);
      }
      optimizer.applyGradients(grads);
      tf.dispose(Object.values(grads));
    }
    const state = await optimizer.getWeights();
    const out = await Promise.all(
      [...vars, ...state.slice(1).map((w) => w.tensor)].map(async (t) =>
        Array.from(await t.data())
      ),
    );
    state[0].tensor.dispose();
    optimizer.dispose();
    return out;
  };
  const fused = await run(createAdam(0.05, 0.9, 0.999, 1e-5));
  const twin = await run(tf.train.adam(0.05, 0.9, 0.999, 1e-5));
  tf.dispose(vars);
  await onCpuAgain();
  assertEquals(fused.length, twin.length);
  fused.forEach((values, k) =>
    values.forEach((x, j) =>
      assert(
        Math.abs(x - twin[k][j]) <= 1e-6 * Math.max(1, Math.abs(x)),
        `${k}[${j}]: ${x} vs ${twin[k][j]}`,
      )
    )
  );
  assertEquals(fused[2], Array.from(start[2]), "no gradient: unchanged");
});

Deno.test("a training snapshot restores weights and Adam state, also to a fresh optimizer", async () => {
  await initBackend("cpu");
  const { policy, value } = tinyModels(1);
  value.dispose();
  const vars = policy.trainableVariables();
  const opt = tf.train.adam(1e-2);
  const step = () =>
    opt.minimize(() => tf.addN(vars.map((v) => v.square().sum())) as tf.Scalar, false, vars);
  const read = async () => {
    const state = await opt.getWeights();
    const values = async (ts: tf.Tensor[]) =>
      await Promise.all(ts.map(async (t) => Array.from(await t.data())));
    const out = {
      weights: await values(vars),
      optimizer: await values(state.map((w) => w.tensor)),
    };
    state[0].tensor.dispose(); // the step count, made for the call
    return out;
  };
  const fresh = await TrainingSnapshot.take(vars, [opt]);
  const atFresh = await read();
  step();
  const before = tf.memory().numTensors;
  const later = await TrainingSnapshot.take(vars, [opt]);
  const atLater = await read();
  step();
  step();
  await later.restore();
  assertEquals(await read(), atLater);
  step(); // moves on from the restored state
  later.dispose();
  assertEquals(tf.memory().numTensors, before, "restore and dispose leave no tensors behind");
  await fresh.restore();
  assertEquals(await read(), atFresh);
  assertEquals(opt.iterations, 0);
  fresh.dispose();
  opt.dispose();
  policy.dispose();
});

/** Relative closeness of two fingerprints' numbers (null: NaN in JSON). */
function assertSameRun(got: Fingerprint, want: Fingerprint, rel: number, what: string): void {
  const close = (a: number | null, b: number | null, at: string) => {
    if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b)) {
      assertEquals(Number.isNaN(a ?? NaN), Number.isNaN(b ?? NaN), at);
      return;
    }
    assert(Math.abs(a - b) <= rel * Math.max(1e-3, Math.abs(b)), `${at}: ${a} vs ${b}`);
  };
  assertEquals(got.metrics.length, want.metrics.length, what);
  got.metrics.forEach((row, k) => {
    for (const key of Object.keys(want.metrics[k])) {
      close(row[key], want.metrics[k][key], `${what} row ${k} ${key}`);
    }
  });
  got.moved.forEach((x, k) => close(x, want.moved[k], `${what} weights moved (${k})`));
}

gpuTest(
  "both stages give the metrics and weights the code gave before, in both modes",
  async () => {
    const golden = JSON.parse(
      await Deno.readTextFile(new URL("./training_fingerprint_golden.json", import.meta.url)),
    ) as Record<string, Fingerprint>;
    const now = await fingerprints(["cpu", "gpu"]);
    assertEquals(Object.keys(now).sort(), Object.keys(golden).sort());
    for (const [what, want] of Object.entries(golden)) {
      // wasm repeats bit for bit; another GPU may round differently from the recording's lavapipe.
      assertSameRun(now[what], want, what.startsWith("cpu") ? 1e-6 : 1e-3, what);
    }
  },
);

releaseGpuAfterTests();

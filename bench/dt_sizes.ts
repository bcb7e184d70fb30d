/**
 * Time per behaviour-cloning training step (Adam, batch 64) of Decision
 * Transformer sizes on the active backend; how `DEFAULT_DT_SIZES` was picked.
 *
 *     deno run -A bench/dt_sizes.ts [cpu|gpu]
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/model/backend.ts";
import { DecisionTransformer } from "../src/model/decision_transformer.ts";
import { releaseGpu } from "../src/device.ts";

const mode = (Deno.args[0] ?? "cpu") as "cpu" | "gpu";
await initBackend(mode);
const sizes: [number, number, number, number][] = [
  // embedDim, nLayer, nHead, K
  [128, 3, 1, 20],
  [64, 2, 2, 20],
  [64, 2, 1, 20],
  [32, 2, 1, 20],
  [64, 2, 1, 10],
  [32, 2, 1, 10],
  [64, 1, 1, 10],
];
const B = 64;
for (const [embedDim, nLayer, nHead, K] of sizes) {
  const model = new DecisionTransformer({
    obsDim: 4,
    actionKind: "discrete",
    actDim: 2,
    embedDim,
    nLayer,
    nHead,
    contextLength: K,
    maxTimestep: 500,
    dropout: 0.1,
    obsMean: [0, 0, 0, 0],
    obsStd: [1, 1, 1, 1],
    returnScale: 100,
  });
  const batch = {
    returnsToGo: tf.randomUniform([B, K], 0, 50) as tf.Tensor2D,
    obs: tf.randomNormal([B, K, 4]) as tf.Tensor3D,
    actions: tf.randomUniform([B, K, 1], 0, 2, "int32").cast("float32") as tf.Tensor3D,
    timesteps: tf.randomUniform([B, K], 0, 100, "int32") as tf.Tensor2D,
  };
  const opt = tf.train.adam(1e-4);
  const step = () =>
    opt.minimize(
      () => model.logProbs(batch, "bench").logProb.mean().neg() as tf.Scalar,
      true,
      model.trainableVariables(),
    )!.dataSync();
  for (let i = 0; i < 3; i++) step();
  const n = 10;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const ms = (performance.now() - t0) / n;
  console.log(
    `embed ${embedDim} layers ${nLayer} heads ${nHead} K ${K}: ${
      ms.toFixed(1)
    } ms/step, ${model.parameterCount()} params`,
  );
  model.dispose();
  opt.dispose();
  tf.dispose(Object.values(batch));
}
await releaseGpu();

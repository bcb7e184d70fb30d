/**
 * The critic of stage 2: docs/spec.md's `ValueNetwork(obs_dim, embed_dim=256,
 * hidden_dim=512)`, an MLP from one observation to a scalar value:
 * Linear(obs, embed) -> GELU -> Linear(embed, hidden) -> GELU ->
 * Linear(hidden, 1). It reads the raw observation and normalizes it with the
 * same statistics as the policy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { constantVariable, InitRandom } from "./init.ts";
import { dense, gelu } from "./layers.ts";

/** Sizes and input statistics of a value network. */
export interface ValueNetworkConfig {
  /** Size of an observation. */
  obsDim: number;
  /** Width of the first layer (spec default 256). */
  embedDim: number;
  /** Width of the second layer (spec default 512). */
  hiddenDim: number;
  /** Per-dimension observation mean, subtracted before the first layer. */
  obsMean: number[];
  /** Per-dimension observation standard deviation, divided by before the first layer. */
  obsStd: number[];
}

/** The spec's default widths. */
export const DEFAULT_VALUE_SIZES = { embedDim: 256, hiddenDim: 512 } as const;

/**
 * V(s): observation -> expected return.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { DEFAULT_VALUE_SIZES, initBackend, ValueNetwork } from "@grpo/grpo";
 *
 * await initBackend("cpu");
 * const value = new ValueNetwork({
 *   ...DEFAULT_VALUE_SIZES,
 *   obsDim: 4,
 *   obsMean: [0, 0, 0, 0],
 *   obsStd: [1, 1, 1, 1],
 * });
 * assert.equal(value.config.hiddenDim, 512);
 * value.dispose();
 * ```
 */
export class ValueNetwork {
  /** The sizes and input statistics it was built with. */
  readonly config: ValueNetworkConfig;
  private readonly named: [string, tf.Variable][] = [];
  private readonly layers: [tf.Variable, tf.Variable][];
  private readonly obsMean: tf.Tensor1D;
  private readonly obsInvStd: tf.Tensor1D;

  /** Creates a network with weights drawn from `seed` (identical on every backend). */
  constructor(config: ValueNetworkConfig, seed = 0) {
    const { obsDim, embedDim, hiddenDim } = config;
    for (const [k, v] of Object.entries({ obsDim, embedDim, hiddenDim })) {
      if (!Number.isInteger(v) || v <= 0) {
        throw new Error(`invalid value network config: ${k} must be a positive integer`);
      }
    }
    if (config.obsMean.length !== obsDim || config.obsStd.length !== obsDim) {
      throw new Error("invalid value network config: obsMean and obsStd must have obsDim entries");
    }
    this.config = config;
    const rng = new InitRandom(seed ^ 0x5a17);
    const linear = (name: string, i: number, o: number, std: number) => {
      const w = rng.normalVariable([i, o], std), b = constantVariable([o], 0);
      this.named.push([`${name}.weight`, w], [`${name}.bias`, b]);
      return [w, b] as [tf.Variable, tf.Variable];
    };
    // He-style scale for the GELU layers; a small last layer so initial values start near 0.
    this.layers = [
      linear("value.fc1", obsDim, embedDim, Math.sqrt(2 / obsDim)),
      linear("value.fc2", embedDim, hiddenDim, Math.sqrt(2 / embedDim)),
      linear("value.out", hiddenDim, 1, 0.01),
    ];
    this.obsMean = tf.keep(tf.tensor1d(config.obsMean));
    this.obsInvStd = tf.keep(tf.tensor1d(config.obsStd.map((s) => 1 / s)));
  }

  /** Values of observations [..., obsDim] -> [...]. */
  predict(obs: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [l1, l2, out] = this.layers;
      const x = obs.sub(this.obsMean).mul(this.obsInvStd);
      const h = gelu(dense(gelu(dense(x, ...l1)), ...l2));
      return dense(h, ...out).squeeze([-1]);
    });
  }

  /** The weights by checkpoint name. */
  namedWeights(): readonly [string, tf.Variable][] {
    return this.named;
  }

  /** The trainable variables. */
  trainableVariables(): tf.Variable[] {
    return this.named.map(([, v]) => v);
  }

  /** Frees every tensor. */
  dispose(): void {
    for (const [, v] of this.named) v.dispose();
    this.obsMean.dispose();
    this.obsInvStd.dispose();
  }
}

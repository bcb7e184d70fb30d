/**
 * A training snapshot: variables and optimizer state at one moment, kept as
 * tensors on the active backend, so that a run can go back to that moment
 * without reading anything to the host. Stage 2 takes one at the start of
 * every iteration: when the iteration's one readback finds a non-finite loss
 * or gradient, it restores the snapshot and stops (see `src/rl/grpo.ts`).
 *
 * Taking one is cheap: on WebGPU a clone shares the variable's buffer (an
 * optimizer step assigns new tensors to variables instead of writing into
 * them, so the shared buffer keeps the old values); on wasm it is a memcpy.
 * It holds one extra copy of the weights and optimizer state until disposed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What a snapshot keeps of one optimizer: its step count and its state tensors. */
interface OptimizerState {
  optimizer: tf.Optimizer;
  iterations: number;
  /** Copies of the optimizer's state variables (e.g. Adam's moments), by name. */
  weights: { name: string; tensor: tf.Tensor }[];
  /** Adam's running beta powers: `setWeights` recomputes them as pow(beta, t), which differs in the last bits. */
  betaPowers?: [tf.Tensor, tf.Tensor];
}

function copyPair(pair: [tf.Tensor, tf.Tensor] | undefined): [tf.Tensor, tf.Tensor] | undefined {
  return pair && [tf.clone(pair[0]), tf.clone(pair[1])];
}

/** Adam's running products of beta1 and beta2, when `optimizer` is an Adam. */
function betaPowersOf(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | undefined {
  const a = optimizer as unknown as { accBeta1?: unknown; accBeta2?: unknown };
  return a.accBeta1 instanceof tf.Variable && a.accBeta2 instanceof tf.Variable
    ? [a.accBeta1, a.accBeta2]
    : undefined;
}

/** Variables and optimizer states at one moment (see the module doc). */
export class TrainingSnapshot {
  private constructor(
    private readonly variables: [tf.Variable, tf.Tensor][],
    private readonly optimizers: OptimizerState[],
  ) {}

  /** Keeps the current values of `variables` and the state of `optimizers`. No readback. */
  static async take(
    variables: tf.Variable[],
    optimizers: tf.Optimizer[],
  ): Promise<TrainingSnapshot> {
    const states: OptimizerState[] = [];
    for (const optimizer of optimizers) {
      // getWeights: [the step count as a new scalar, ...the state variables themselves].
      const [iter, ...state] = await optimizer.getWeights();
      iter.tensor.dispose();
      states.push({
        optimizer,
        iterations: optimizer.iterations,
        weights: state.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })),
        betaPowers: copyPair(betaPowersOf(optimizer)),
      });
    }
    return new TrainingSnapshot(variables.map((v) => [v, tf.clone(v)]), states);
  }

  /** Puts the kept values back; the snapshot stays valid (restore again, then dispose). */
  async restore(): Promise<void> {
    for (const [v, kept] of this.variables) v.assign(kept);
    for (const s of this.optimizers) {
      const [iter, ...current] = await s.optimizer.getWeights();
      iter.tensor.dispose();
      // The step count from a host number: setWeights reads it without a device readback.
      const step = tf.scalar(s.iterations, "int32");
      const copies = s.weights.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
      await s.optimizer.setWeights([{ name: "iter", tensor: step }, ...copies]);
      // setWeights made variables of the copies and left the replaced state variables alive.
      tf.dispose([step, ...copies.map((c) => c.tensor), ...current.map((c) => c.tensor)]);
      const powers = betaPowersOf(s.optimizer);
      if (powers && s.betaPowers) powers.forEach((v, k) => v.assign(s.betaPowers![k]));
    }
  }

  /** Frees the kept tensors. */
  dispose(): void {
    tf.dispose(this.variables.map(([, kept]) => kept));
    for (const s of this.optimizers) {
      tf.dispose([...s.weights.map((w) => w.tensor), ...(s.betaPowers ?? [])]);
    }
  }
}

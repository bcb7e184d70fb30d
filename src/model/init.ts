/**
 * Deterministic weight initialisation: weights are drawn in JavaScript from a
 * seeded generator, so the same seed gives bit-identical weights on every
 * tfjs backend (tfjs's own seeded ops differ between wasm and WebGPU).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A seeded stream of uniform and normal draws (mulberry32 + Box-Muller). */
export class InitRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = (seed ^ 0x2545f491) >>> 0;
  }

  /** A uniform draw in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal draw. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform(), v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A trainable variable of N(0, std^2) draws. */
  normalVariable(shape: number[], std: number): tf.Variable {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = this.normal() * std;
    return toVariable(tf.tensor(data, shape));
  }
}

/** A trainable variable filled with `value`. */
export function constantVariable(shape: number[], value: number): tf.Variable {
  return toVariable(tf.fill(shape, value));
}

/** A trainable variable holding `t`'s values; `t` itself is disposed (a variable only shares its data). */
function toVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/**
 * A start-up warm-up of V8's type feedback for tfjs's shape functions.
 *
 * tfjs gets shapes as arrays of three element kinds (packed and holey small
 * integers, and generic elements), and V8's Maglev compiled `sizeFromShape`
 * for the kinds it had seen, then threw the code away at the next kind, over
 * and over: ~850 deoptimizations in two CartPole iterations, and with the
 * functions it was inlined into (the Tensor constructor, the wasm backend's
 * `move` and `reshape`) ~1,600. `sizeFromShape` was 8.8% of the main thread's
 * CPU profile (`inferFromImplicitShape`, called by reshape, did the same ~19
 * times). Called first with all six kinds, their feedback holds every kind
 * before they are compiled: neither deoptimized in the same two iterations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

let warmed = false;

/** The shape [2, 3] as an array of each of V8's six element kinds. */
function shapesOfEveryKind(): number[][] {
  const smi = [2, 3];
  const holeySmi = new Array<number>(2);
  holeySmi[0] = 2, holeySmi[1] = 3;
  // A double stored once moves the array to double elements for good.
  const double = [2.5, 3];
  double[0] = 2;
  const holeyDouble = new Array<number>(2);
  holeyDouble[0] = 2.5, holeyDouble[0] = 2, holeyDouble[1] = 3;
  // Likewise a string, to generic elements.
  const generic: unknown[] = ["", 3];
  generic[0] = 2;
  const holeyGeneric: unknown[] = new Array(2);
  holeyGeneric[0] = "", holeyGeneric[0] = 2, holeyGeneric[1] = 3;
  return [smi, holeySmi, double, holeyDouble, generic, holeyGeneric] as number[][];
}

/**
 * Calls tfjs's shape helpers with shapes of every element kind, enough times
 * that V8 records them all (it allocates a function's feedback only after a
 * few calls). Once per isolate: later calls return at once. `initBackend`
 * runs it.
 *
 * @example Usage
 * ```ts
 * import { warmShapeFeedback } from "./shape_feedback.ts";
 *
 * warmShapeFeedback();
 * ```
 */
export function warmShapeFeedback(): void {
  if (warmed) return;
  warmed = true;
  const shapes = shapesOfEveryKind();
  for (let round = 0; round < 16; round++) {
    for (const shape of shapes) {
      tf.util.sizeFromShape(shape);
      tf.util.inferFromImplicitShape(shape, 6);
    }
  }
}

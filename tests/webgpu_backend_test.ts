/**
 * GPU mode's tfjs backend uploads host tensors with `queue.writeBuffer` into
 * pooled buffers (`src/model/backend.ts`): every dtype arrives intact, and a
 * buffer freed while its reader is still unsubmitted is not overwritten.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals } from "./assert.ts";
import { disposeGpuBackend, initBackend } from "../src/model/backend.ts";
import { gpuTest, releaseGpuAfterTests } from "./gpu.ts";

gpuTest(
  "GPU mode uploads float32, int32 and bool tensors from typed and plain arrays",
  async () => {
    await initBackend("gpu");
    try {
      const cases: [tf.Tensor, number[]][] = [
        [tf.tensor(new Float32Array([1.5, -2.25, 3e-8])), [1.5, -2.25, Math.fround(3e-8)]],
        [tf.tensor([0.1, 7]), [Math.fround(0.1), 7]],
        // Values a float32 holds exactly: tfjs's WebGPU add computes int32 in float.
        [tf.tensor(new Int32Array([-3, 1 << 30]), undefined, "int32"), [-3, 1 << 30]],
        [tf.tensor([5, -6], undefined, "int32"), [5, -6]],
        [tf.tensor([true, false, true], undefined, "bool"), [1, 0, 1]],
        [tf.scalar(4), [4]],
      ];
      for (const [t, expected] of cases) {
        // An op makes the upload happen (a readback alone would answer from the host copy).
        const y = tf.add(t, tf.zerosLike(t));
        assertEquals(Array.from(await y.data()), expected, t.dtype);
        tf.dispose([t, y]);
      }
    } finally {
      await initBackend("cpu");
      disposeGpuBackend();
    }
  },
);

gpuTest(
  "GPU mode: an upload never lands in a buffer that unsubmitted work still reads",
  async () => {
    await initBackend("gpu");
    try {
      // Each input is disposed right after the op that reads it is recorded; the next upload
      // of the same size must not reuse its buffer before that op is submitted.
      const outputs: tf.Tensor[] = [];
      for (let i = 0; i < 40; i++) {
        const x = tf.tensor([i, i + 1, i + 2, i + 3]);
        outputs.push(tf.mul(x, 2));
        x.dispose();
      }
      for (const [i, y] of outputs.entries()) {
        assertEquals(Array.from(await y.data()), [2 * i, 2 * i + 2, 2 * i + 4, 2 * i + 6]);
      }
      tf.dispose(outputs);
    } finally {
      await initBackend("cpu");
      disposeGpuBackend();
    }
  },
);

releaseGpuAfterTests();

/**
 * `warmShapeFeedback` keeps V8 from deoptimizing tfjs's `sizeFromShape` in a
 * loop during training. Without the warm-up, the bench run below (a warm-up
 * iteration and a timed one) logged 583 of its deoptimizations (Deno 2.9.6's
 * V8); with it, none.
 *
 * @module
 */
import { assert } from "./assert.ts";
import { join } from "node:path";
import { inTempDir } from "./cli_helpers.ts";

const root = new URL("..", import.meta.url);

Deno.test("stage 2 on wasm runs without deoptimizing tfjs's sizeFromShape", () =>
  inTempDir("grpo-deopt-", async (dir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--trace-deopt",
        "bench/train_speed.ts",
        "--envs",
        "cartpole",
        "--iterations",
        "1",
        "--out",
        join(dir, "speed.json"),
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.code === 0, `bench failed:\n${log.slice(-2000)}`);
    assert(/steps\/s/.test(log), "the bench ran its iterations");
    const deopts = log.split("\n").filter((l) =>
      /deoptimizing .*<JSFunction sizeFromShape /.test(l)
    );
    assert(deopts.length <= 2, `sizeFromShape deoptimized ${deopts.length} times:\n${deopts[0]}`);
  }));

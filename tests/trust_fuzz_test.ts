/**
 * The trust boundary, fuzzed: checkpoint metadata (env ids that are URLs,
 * module paths or random strings; run_dir/log_dir/stage1_checkpoint and
 * training_args paths pointing elsewhere; bad flag values) and replay input
 * env fields, run through eval, act, train --resume, train --checkpoint,
 * inspect and replay, and `--env` values with URL schemes. Every payload
 * module would write a canary file; the test asserts that none appears,
 * that nothing is written outside the run's directory, and that every
 * outcome is a result (exit 0) or one line of error (exit 2).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import {
  exists,
  flags,
  grpoProcess,
  inTempDir,
  onlyEntry,
  quietly,
  tinyStage1,
} from "./cli_helpers.ts";
import { main } from "../src/cli/main.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensors } from "../src/io/safetensors.ts";

/** Every file under `dir`, relative. */
function listFiles(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]
  );
}

/** Deterministic random strings: printable, control characters, escapes, long. */
function randomStrings(n: number, seed: number): string[] {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const alphabet = "abcXYZ019-_./:\\@%?#\n\r\t\x1b[2J\u0000\u202e\u00e9\u{1f600} ";
  return Array.from({ length: n }, (_, k) => {
    const length = k === 0 ? 300 : 1 + Math.floor(next() * 40);
    return Array.from({ length }, () => [...alphabet][Math.floor(next() * [...alphabet].length)])
      .join("");
  });
}

interface Outcome {
  probe: string;
  code: number | string;
  err: string;
}

Deno.test("fuzzed checkpoint metadata, replay input and --env values run no code and write only where told", async () => {
  const root = await Deno.makeTempDir({ prefix: "grpo-trust-" });
  const work = join(root, "work");
  const canary = join(root, "PWNED");
  const outside = join(root, "outside");
  const home = Deno.cwd();
  const homeBefore = [...Deno.readDirSync(home)].map((e) => e.name).sort();
  const outcomes: Outcome[] = [];
  try {
    await Deno.mkdir(work);
    const evil = `Deno.writeTextFileSync(${JSON.stringify(canary)}, "x"); export default 1;\n`;
    Deno.writeTextFileSync(join(root, "evil.ts"), evil);
    Deno.writeTextFileSync(join(work, "evil.ts"), evil);
    Deno.chdir(work);
    // ---- a real stage-2 checkpoint at iteration 2 to mutate
    const stage1 = await tinyStage1(work);
    const tiny = flags({ "num-envs": 2, "rollout-steps": 24, "num-epochs": 1, device: "cpu" });
    const base = await quietly(() =>
      main(["train", "--checkpoint", stage1, ...tiny, "--num-iterations", "2", "--out", "ck"])
    );
    assertEquals(base.result, 0, base.err);
    const runName = [...Deno.readDirSync(join(work, "ck"))][0].name;
    const baseBytes = Deno.readFileSync(join(work, "ck", runName, "last.safetensors"));
    const filesBefore = new Set(listFiles(root));

    let count = 0;
    const mutated = (metadata: Record<string, string>): string => {
      const file = decodeSafetensors(baseBytes, "base");
      const dir = join(work, "fuzz", `m${count++}`);
      Deno.mkdirSync(dir, { recursive: true });
      const path = join(dir, "last.safetensors");
      Deno.writeFileSync(path, encodeSafetensors(file.tensors, { ...file.metadata, ...metadata }));
      return path;
    };
    const run = async (probe: string, argv: string[]) => {
      try {
        const r = await quietly(() => main(argv));
        outcomes.push({ probe, code: r.result, err: r.err });
      } catch (e) {
        outcomes.push({ probe, code: "threw", err: String((e as Error)?.stack ?? e) });
      }
    };

    // ---- env ids: code, downloads, paths, schemes, random strings
    const payloads = [
      `data:text/javascript,Deno.writeTextFileSync(${
        JSON.stringify(canary)
      },'x');export default 1;//.js`,
      "https://example.invalid/evil.ts",
      "http://127.0.0.1:9/evil.ts",
      "./evil.ts",
      "../evil.ts",
      "evil.ts",
      join(root, "evil.ts"),
      `file://${join(root, "evil.ts")}`,
      "npm:left-pad",
      "jsr:@evil/env",
      "node:fs",
      "blob:null/1",
      ...randomStrings(8, 12345),
    ];
    for (const [k, id] of payloads.entries()) {
      const ck = mutated({ env_id: id, ...(k % 3 === 0 ? { env_source: "user" } : {}) });
      await run(`eval env_id ${k}`, ["eval", "--checkpoint", ck, "--num-episodes", "1"]);
      await run(`resume env_id ${k}`, ["train", "--resume", ck, "--num-iterations", "3"]);
      await run(`checkpoint env_id ${k}`, [
        "train",
        "--checkpoint",
        ck,
        ...tiny,
        "--num-iterations",
        "1",
        "--out",
        "ck2",
      ]);
      await run(`inspect env_id ${k}`, ["inspect", ck]);
    }
    // act serves stdin: run as a subprocess with stdin closed.
    for (const [k, id] of payloads.slice(0, 5).entries()) {
      const out = await grpoProcess(["act", "--checkpoint", mutated({ env_id: id })], work)
        .output();
      outcomes.push({
        probe: `act env_id ${k}`,
        code: out.code,
        err: new TextDecoder().decode(out.stderr),
      });
    }

    // ---- paths in metadata and training_args, bad flag values
    const far = [join(outside, "run"), "../../outside", `${outside}/../outside/x`];
    for (const [k, path] of far.entries()) {
      const ck = mutated({
        run_dir: path,
        log_dir: path,
        stage1_checkpoint: join(outside, "stage1.safetensors"),
        training_args: JSON.stringify({
          out: path,
          "log-dir": path,
          checkpoint: path,
          resume: path,
          env: "./evil.ts",
          "num-envs": 2,
          "rollout-steps": 24,
          "num-epochs": 1,
          device: "cpu",
        }),
      });
      await run(`resume paths ${k}`, ["train", "--resume", ck, "--num-iterations", "3"]);
      await run(`eval paths ${k}`, [
        "eval",
        "--checkpoint",
        ck,
        "--num-episodes",
        "1",
        "--device",
        "cpu",
      ]);
    }
    const badArgs = [
      { "num-iterations": "abc" },
      { gamma: 5 },
      { advantage: "evil" },
      { "num-envs": 1e9 },
      [1, 2],
      null,
    ];
    for (const [k, args] of badArgs.entries()) {
      const ck = mutated({ training_args: JSON.stringify(args) });
      await run(`resume training_args ${k}`, ["train", "--resume", ck, "--num-iterations", "3"]);
    }
    const grpoMode = mutated({
      stage1_checkpoint: join(root, "evil.ts"),
      training_args: JSON.stringify({ advantage: "grpo", "num-envs": 2, "rollout-steps": 24 }),
    });
    await run("resume grpo mode", ["train", "--resume", grpoMode, "--num-iterations", "3"]);

    // ---- replay input env fields
    for (const [k, id] of payloads.entries()) {
      const input = join(work, `replay${k}.json`);
      Deno.writeTextFileSync(
        input,
        JSON.stringify({ episodes: [{ env: id, init_state: [0, 0, 0, 0], actions: [0] }] }),
      );
      await run(`replay env ${k}`, ["replay", "--input", input, "--device", "cpu"]);
    }

    // ---- --env values the user typed: local files only, never a URL or a package
    const ck = join(work, "ck", runName, "last.safetensors");
    for (const scheme of payloads.slice(0, 3).concat(payloads.slice(8, 12))) {
      await run(`--env ${scheme.slice(0, 30)}`, ["eval", "--checkpoint", ck, "--env", scheme]);
    }

    // ---- the verdicts
    assert(!exists(canary), "a payload module ran");
    assert(!exists(outside), "something was written where metadata pointed");
    const added = listFiles(root).filter((f) => !filesBefore.has(f));
    const stray = added.filter((f) => !f.startsWith("work/"));
    assertEquals(stray, [], "files written outside the run's directory");
    assertEquals([...Deno.readDirSync(home)].map((e) => e.name).sort(), homeBefore);
    const bad = outcomes.filter((o) =>
      !(o.code === 0 || (o.code === 2 && /^error: [^\n]*\n$/.test(o.err)))
    );
    assertEquals(bad, [], "every outcome is a result or a one-line error");
    const errors = outcomes.filter((o) => o.code === 2);
    for (const o of errors.filter((o) => o.probe.startsWith("--env"))) {
      assert(o.err.includes("local files"), `${o.probe}: ${o.err}`);
    }
    // Only the controls succeed: inspect, and resumes/evals of the built-in env.
    for (const o of outcomes.filter((o) => o.code === 0)) {
      assert(/^(inspect|resume paths|eval paths)/.test(o.probe), `${o.probe} succeeded`);
    }
  } finally {
    Deno.chdir(home);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a checkpoint of a user env says so and asks for --env; with it, eval runs", () =>
  inTempDir("grpo-user-env-", async (dir) => {
    const example = fileURLToPath(new URL("../examples/my_env.ts", import.meta.url));
    const stage1 = await quietly(() =>
      main([
        "pretrain",
        ...flags({
          env: example,
          "num-episodes": 8,
          "num-epochs": 1,
          "embed-dim": 8,
          "n-layer": 1,
          "n-head": 1,
          device: "cpu",
          out: dir,
        }),
      ])
    );
    assertEquals(stage1.result, 0, stage1.err);
    const ck = join(onlyEntry(dir), "last.safetensors");
    assertEquals((await readSafetensors(ck)).metadata.env_source, "user");
    const eval1 = ["eval", "--checkpoint", ck, "--num-episodes", "1", "--device", "cpu"];
    const without = await quietly(() => main(eval1));
    assertEquals(without.result, 2);
    assertEquals(
      without.err.trim(),
      `error: ${ck}: this checkpoint was trained on the user env "Parking-v0"; pass --env ./path/to/it.ts`,
    );
    const withEnv = await quietly(() => main([...eval1, "--env", example]));
    assertEquals(withEnv.result, 0, withEnv.err);
    // The built-in env of another id is refused, naming the fix.
    const other = await quietly(() => main([...eval1, "--env", "cartpole"]));
    assertEquals(other.result, 2);
    assert(other.err.includes("pass --env ./path/to/it.ts"), other.err);
  }));

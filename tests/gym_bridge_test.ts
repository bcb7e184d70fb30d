/**
 * The Gymnasium bridge against the plain Python envs of
 * `tests/fixtures/gym_envs/toy.py` (no gymnasium needed): the protocol,
 * same-step auto-reset and final observations, seeds, a Python CartPole
 * checked step by step against the TypeScript one, every failure as one
 * line, and a `train --quick-test` over the bridge.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { cartpole } from "../envs/cartpole.ts";
import {
  type GymEnv,
  gymFlagsOf,
  GymVecEnv,
  parseGymSpec,
  resolveGymEnv,
} from "../src/bridge/gym_env.ts";
import { InputError } from "../src/errors.ts";
import { CpuVecEnv, createVecEnv, type HostVecEnv, TERMINATED } from "../src/rl/vec_env.ts";
import { main } from "../src/cli/main.ts";
import { flags } from "./cli_helpers.ts";

const TOY = "gym:tests.fixtures.gym_envs.toy";

function toy(id: string, kwargs?: string): Promise<GymEnv> {
  return resolveGymEnv(parseGymSpec(`${TOY}:${id}`, kwargs));
}

async function withBatch<T>(
  env: GymEnv,
  n: number,
  seed: number,
  body: (vec: HostVecEnv) => Promise<T>,
): Promise<T> {
  const vec = new GymVecEnv(env, n, { seed });
  try {
    return await body(vec);
  } finally {
    await vec.close?.();
  }
}

Deno.test("gym names: gym:ID, gym:module:ID and --gym-kwargs; the recorded id gives the flags back", () => {
  assertEquals(parseGymSpec("gym:CartPole-v1"), {
    id: "CartPole-v1",
    module: undefined,
    kwargs: {},
  });
  const spec = parseGymSpec("gym:my.pkg:Thing-v0", '{"b": 1, "a": true}');
  assertEquals(spec, { id: "Thing-v0", module: "my.pkg", kwargs: { b: 1, a: true } });
  assertEquals(gymFlagsOf("gym:CartPole-v1"), "--env gym:CartPole-v1");
  assertEquals(
    gymFlagsOf('gym:LunarLander-v3{"continuous":true}'),
    `--env gym:LunarLander-v3 --gym-kwargs '{"continuous":true}'`,
  );
  for (const bad of ["[1]", "nope", "3"]) {
    try {
      parseGymSpec("gym:X", bad);
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof InputError && e.message.includes("--gym-kwargs must be a JSON object"));
    }
  }
});

Deno.test("gym bridge: spaces from the worker; same-step auto-reset with final observations; seeded resets", async () => {
  const env = await toy("Counter-v0", '{"length": 3}');
  assertEquals(env.id, `${TOY}:Counter-v0{"length":3}`);
  assertEquals(env.obsSize, 2);
  assertEquals(env.actionSpace, { kind: "discrete", n: 3 });
  assertEquals(env.maxEpisodeSteps, 100);
  const run = () =>
    withBatch(env, 2, 7, async (vec) => {
      await vec.reset();
      const seeds = [vec.obs[0], vec.obs[2]];
      const rows: number[][] = [];
      for (let k = 0; k < 3; k++) {
        await vec.step(Float32Array.from([1, 2]));
        rows.push([...vec.obs, ...vec.reward, ...vec.done]);
      }
      return { seeds, rows, final: [...vec.finalObs], vec };
    });
  const a = await run();
  // Two steps in: [seed, steps]; the third step ends the episode (terminated) and resets.
  assertEquals(a.rows[1], [a.seeds[0], 2, a.seeds[1], 2, 1, 2, 0, 0]);
  assertEquals(a.rows[2].slice(4), [1, 2, TERMINATED, TERMINATED]);
  assertEquals([a.rows[2][1], a.rows[2][3]], [0, 0]);
  assertEquals(a.final, [a.seeds[0], 3, a.seeds[1], 3]);
  assertEquals([...a.vec.episode], [1, 1]);
  assertEquals([...a.vec.stats.count], [1, 1]);
  assertEquals([...a.vec.stats.returnSum], [3, 6]);
  assert(a.seeds[0] !== a.seeds[1], "each env has its own reset seed");
  assert(a.rows[2][0] !== a.seeds[0], "the next episode has its own seed");
  // Runs repeat.
  assertEquals((await run()).rows, a.rows);
});

Deno.test("gym bridge: a Python CartPole matches the TypeScript CartPole step by step", async () => {
  const env = await toy("CartPole-v1");
  const n = 4;
  await withBatch(env, n, 3, async (vec) => {
    await vec.reset();
    const ts = new CpuVecEnv(cartpole, n, { seed: 3 });
    // Start the twin from the Python resets (exact in f32, see toy.py).
    for (let i = 0; i < n; i++) ts.setState(i, vec.obs.subarray(4 * i, 4 * i + 4));
    let compared = 0, ends = 0;
    for (let step = 0; step < 60; step++) {
      const actions = Float32Array.from(
        { length: n },
        (_, i) => (step * 7 + i * 3) % 5 < 2 ? 1 : 0,
      );
      const obsBefore = vec.obs.slice();
      await vec.step(actions);
      ts.step(actions);
      for (let i = 0; i < n; i++) {
        assertEquals(vec.done[i], ts.done[i], `env ${i} step ${step} done`);
        assertEquals(vec.reward[i], ts.reward[i]);
        const py = vec.done[i] ? vec.finalObs : vec.obs, twin = ts.done[i] ? ts.finalObs : ts.obs;
        for (let k = 0; k < 4; k++) {
          const d = Math.abs(py[4 * i + k] - twin[4 * i + k]);
          assert(d <= 1e-6 * (1 + Math.abs(twin[4 * i + k])), `env ${i} step ${step} obs ${k}`);
        }
        compared++;
        if (vec.done[i]) {
          // Each side reset with its own draws: restart the twin from Python's new state.
          ends++;
          ts.setState(i, vec.obs.subarray(4 * i, 4 * i + 4));
        }
      }
      assert(obsBefore.length === 4 * n);
    }
    assert(compared === 60 * n && ends > 0, `some episodes ended (${ends})`);
  });
});

Deno.test("gym bridge: without auto-reset an ended env stays ended (evaluation)", async () => {
  const env = await toy("Counter-v0", '{"length": 2}');
  const vec = createVecEnv(env, 1, { seed: 1, autoreset: false });
  try {
    await vec.reset();
    for (let k = 0; k < 4; k++) await vec.step(Float32Array.from([1]));
    assertEquals([vec.obs[1], vec.done[0], vec.reward[0], vec.t[0]], [2, TERMINATED, 0, 2]);
  } finally {
    await vec.close?.();
  }
});

Deno.test("gym bridge: continuous actions are clipped into the box", async () => {
  const env = await toy("Counter-v0", '{"continuous": true}');
  assertEquals(env.actionSpace, { kind: "box", low: [-1, -1], high: [1, 1] });
  await withBatch(env, 2, 0, async (vec) => {
    await vec.reset();
    await vec.step(Float32Array.from([5, 0.25, -3, -0.5]));
    assertEquals([...vec.reward], [1.25, -1.5]);
  });
});

async function rejectsWith(fn: () => Promise<unknown>, ...parts: string[]): Promise<void> {
  const e = await assertRejects(fn, InputError);
  for (const p of parts) assert(e.message.includes(p), `"${e.message}" lacks "${p}"`);
  assert(!e.message.includes("\n"), "one line");
}

Deno.test("gym bridge failures are one line each: python, gymnasium, id, space, crash, hang", async () => {
  await rejectsWith(
    () => resolveGymEnv(parseGymSpec("gym:CartPole-v1"), { python: "/nonexistent/python3" }),
    "cannot run /nonexistent/python3",
    "--python",
  );
  await rejectsWith(
    () => resolveGymEnv(parseGymSpec("gym:tests.fixtures.gym_envs.hide_gymnasium:CartPole-v1")),
    "gymnasium is not installed",
    "pip install gymnasium",
  );
  await rejectsWith(() => toy("Nope-v0"), "unknown env id Nope-v0");
  await rejectsWith(
    () => resolveGymEnv(parseGymSpec("gym:no_such_module_x:A-v0")),
    "cannot import",
  );
  await rejectsWith(() => toy("BadSpace-v0"), "MultiDiscrete action space", "Box and Discrete");
  const crash = await toy("Crash-v0");
  await rejectsWith(
    () =>
      withBatch(crash, 2, 0, async (vec) => {
        await vec.reset();
        for (let k = 0; k < 3; k++) await vec.step(Float32Array.from([0, 0]));
      }),
    "the Python worker exited (code 3)",
    "toy env: simulated crash",
  );
  // The short timeout only for the batch: starting Python on a busy machine may take longer.
  const hang: GymEnv = { ...(await toy("Hang-v0")), worker: { timeoutMs: 1000 } };
  await rejectsWith(
    () =>
      withBatch(hang, 1, 0, async (vec) => {
        await vec.reset();
        await vec.step(Float32Array.from([0]));
      }),
    "did not answer within 1 s",
  );
});

Deno.test("grpo train --quick-test over the bridge, then eval needs the same --env gym:", async () => {
  const dir = await Deno.makeTempDir();
  const envFlag = `${TOY}:CartPole-v1`;
  try {
    const code = await main([
      "train",
      "--quick-test",
      ...flags({
        env: envFlag,
        "num-iterations": 1,
        "num-envs": 2,
        "rollout-steps": 40,
        "num-epochs": 1,
        "eval-episodes": 2,
        device: "cpu",
        out: dir,
        "log-dir": `${dir}/logs`,
      }),
    ]);
    assertEquals(code, 0);
    const runs = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("grpo_"));
    const last = `${dir}/${runs[0]}/last.safetensors`;
    assertEquals(await main(["eval", "--checkpoint", last, "--num-episodes", "1"]), 2);
    const evalCode = await main([
      "eval",
      "--checkpoint",
      last,
      "--env",
      envFlag,
      "--num-episodes",
      "2",
      "--device",
      "cpu",
    ]);
    assertEquals(evalCode, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grpo envs --describe gym:... reads the spaces from the worker", async () => {
  const log = console.log;
  let out = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  try {
    assertEquals(
      await main([
        "envs",
        "--describe",
        `${TOY}:Counter-v0`,
        "--gym-kwargs",
        '{"continuous":true}',
      ]),
      0,
    );
  } finally {
    console.log = log;
  }
  assert(out.includes("Box(-1,-1 .. 1,1)") && out.includes("100"), out);
});

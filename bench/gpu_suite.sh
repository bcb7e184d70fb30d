#!/usr/bin/env bash
# The GPU kit's suite (`deno task gpu-kit` packs it beside deno.xz and grpo.js).
# On a bare x86-64 Linux host with a GPU and no network: unpacks Deno, prints
# the WebGPU adapter, then within 9 minutes measures, with grpo's own tools,
#   - env steps/s in GPU mode (grpo bench envs): CartPole at 4k/64k/1M envs,
#     LunarLander at 64/4k/64k; LunarLander again at 16 steps a dispatch, with
#     this build and with each baseline_NAME.js in the kit (an earlier build,
#     packed by `deno task gpu-kit --baseline NAME=FILE.js`), for the per-step
#     cost side by side;
#   - one training iteration of the CartPole and LunarLander presets, rollout
#     and update apart, GPU mode beside CPU mode (grpo train's metrics.jsonl:
#     the last of 3 iterations, so start-up and compilation are left out);
#   - the CartPole demo's wall time and its final score (500 is the goal);
# and prints one table, also written as JSON to the path given.
#
# usage: gpu_suite.sh RESULT.json [--allow-software] [--small]
#   --allow-software  run on a software (fallback) adapter; without it the suite fails
#   --small           small sizes (for a software adapter on a few cores): CartPole at
#                     1k/4k envs, LunarLander at 256/1k; iterations of 4 envs x 16 steps,
#                     1 epoch (not the presets); a 3-iteration demo
# Each step has its own timeout, so one hang cannot eat the 9 minutes.
set -uo pipefail

usage() { echo "usage: $0 RESULT.json [--allow-software] [--small]" >&2; exit 2; }
[ $# -ge 1 ] || usage
RESULT=$1
shift
ALLOW_SOFTWARE=0
SMALL=0
for a in "$@"; do
  case $a in
    --allow-software) ALLOW_SOFTWARE=1 ;;
    --small) SMALL=1 ;;
    *) usage ;;
  esac
done
case $RESULT in /*) ;; *) RESULT="$PWD/$RESULT" ;; esac

KIT=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /tmp/grpo-gpu-suite.XXXXXX)
START=$(date +%s)
BUDGET=530 # seconds for everything after unpacking: 9 minutes with a margin
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
export DENO_DIR="$WORK/deno_dir" XDG_RUNTIME_DIR="$WORK/xdg"
mkdir -p "$DENO_DIR" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export DENO_WEBGPU_BACKEND="${DENO_WEBGPU_BACKEND:-vulkan}"

echo "== unpacking Deno into $WORK"
if command -v xz >/dev/null 2>&1; then
  xz -dc "$KIT/deno.xz" >"$WORK/deno"
else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$KIT/deno.xz" "$WORK/deno"
fi || { echo "FAIL: could not unpack deno.xz (needs xz or python3)" >&2; exit 1; }
chmod +x "$WORK/deno"
DENO="$WORK/deno"
GRPO=("$DENO" run -A "$KIT/grpo.js")
"$DENO" --version | head -1

# Runs "$@" with at most $1 seconds, and never past the budget.
step() {
  local limit=$1
  shift
  local left=$((BUDGET - ($(date +%s) - START)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -le 5 ]; then
    echo "   (skipped: the 9-minute budget is spent)" >&2
    return 124
  fi
  timeout -k 5 "$limit" "$@"
}

echo "== adapter"
cat >"$WORK/adapter.js" <<'EOF'
const adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
const info = adapter?.info ?? {};
const software = Boolean(info.isFallbackAdapter) ||
  /llvmpipe|lavapipe|swiftshader|warp|software/i.test(info.description ?? "");
console.log(JSON.stringify(adapter ? {
  vendor: info.vendor, architecture: info.architecture, device: info.device,
  description: info.description, software,
} : null));
EOF
step 30 "$DENO" run -A "$WORK/adapter.js" >"$WORK/adapter.json" 2>"$WORK/adapter.err"
cat "$WORK/adapter.json"
if ! grep -q '"vendor"' "$WORK/adapter.json"; then
  echo "FAIL: no WebGPU adapter (backends: $DENO_WEBGPU_BACKEND). Is a Vulkan loader (libvulkan.so.1) and the GPU's ICD visible? $(cat "$WORK/adapter.err")" >&2
  exit 3
fi
if grep -q '"software":true' "$WORK/adapter.json" && [ $ALLOW_SOFTWARE = 0 ]; then
  echo "FAIL: the adapter is a software (fallback) one, not the GPU; its numbers would mean nothing. Make the GPU's Vulkan ICD visible (VK_DRIVER_FILES=.../nvidia_icd.json), or pass --allow-software to measure it anyway." >&2
  exit 3
fi

if [ $SMALL = 1 ]; then
  # A timing's first dispatch loops ~1M env steps unless told fewer: minutes of LunarLander on a
  # software adapter. (A baseline build without the flag still takes that long.)
  CARTPOLE_SIZES=1024,4096 LANDER_SIZES=256,1024 COMPARE_SIZES=64,256 DEMO=(--iterations 3)
  LANDER_FLAGS=(--steps-per-dispatch 16)
  TRAIN=(--num-iterations 2 --num-envs 4 --rollout-steps 16 --num-epochs 1)
else
  CARTPOLE_SIZES=4096,65536,1048576 LANDER_SIZES=64,4096,65536 COMPARE_SIZES=64,4096,65536 DEMO=()
  LANDER_FLAGS=()
  TRAIN=(--num-iterations 3)
fi

echo "== env steps/s in GPU mode"
step 75 "${GRPO[@]}" bench envs --env cartpole --sizes $CARTPOLE_SIZES --mode gpu --json \
  >"$WORK/bench_cartpole.json" || echo "   cartpole bench failed or timed out" >&2
step 75 "${GRPO[@]}" bench envs --env lunar_lander --sizes $LANDER_SIZES --mode gpu "${LANDER_FLAGS[@]}" --json \
  >"$WORK/bench_lander.json" || echo "   lunar_lander bench failed or timed out" >&2

echo "== LunarLander at 16 steps a dispatch: this build and the baselines"
step 60 "${GRPO[@]}" bench envs --env lunar_lander --sizes $COMPARE_SIZES --mode gpu \
  --steps-per-dispatch 16 --json >"$WORK/compare_this_build.json" ||
  echo "   lunar_lander bench at 16 steps a dispatch failed or timed out" >&2
for baseline in "$KIT"/baseline_*.js; do
  [ -e "$baseline" ] || continue
  name=$(basename "$baseline" .js)
  # Builds older than the --steps-per-dispatch flag ran 16 steps a dispatch.
  step 60 "$DENO" run -A "$baseline" bench envs --env lunar_lander --sizes $COMPARE_SIZES --mode gpu \
    --json >"$WORK/compare_$name.json" || echo "   $name bench failed or timed out" >&2
done

echo "== one training iteration of each preset, GPU and CPU mode"
for env in cartpole lunar_lander; do
  # A stage-1 model of the default size, trained briefly: only its shape matters here.
  step 45 "${GRPO[@]}" pretrain --env $env --num-episodes 16 --num-epochs 1 --device cpu \
    --out "$WORK/pretrain_$env" >"$WORK/pretrain_$env.log" 2>&1 ||
    { echo "   pretrain $env failed: $(tail -2 "$WORK/pretrain_$env.log")" >&2; continue; }
  ckpt=$(ls "$WORK/pretrain_$env"/*/best_model.safetensors | head -1)
  for mode in gpu cpu; do
    step 60 "${GRPO[@]}" train --checkpoint "$ckpt" --env $env "${TRAIN[@]}" \
      --eval-every 0 --save-every 100 --device $mode --out "$WORK/train_${env}_$mode" \
      --log-dir "$WORK/logs_${env}_$mode" >"$WORK/train_${env}_$mode.log" 2>&1 ||
      echo "   train $env $mode failed: $(tail -2 "$WORK/train_${env}_$mode.log")" >&2
    tail -n 1 "$WORK/logs_${env}_$mode"/*/metrics.jsonl >"$WORK/iteration_${env}_$mode.json" 2>/dev/null
  done
done

echo "== the CartPole demo, GPU mode"
demo_start=$(date +%s.%N)
step 200 "${GRPO[@]}" demo --out "$WORK/demo" --device gpu "${DEMO[@]}" >"$WORK/demo.log" 2>&1 ||
  echo "   demo failed or timed out: $(tail -2 "$WORK/demo.log")" >&2
echo "{\"seconds\": $(echo "$(date +%s.%N) - $demo_start" | awk '{print $1 - $3}'), \"iterations\": \"${DEMO[*]:-30 (default)}\"}" \
  >"$WORK/demo_time.json"

cat >"$WORK/table.js" <<'EOF'
const [work, result] = Deno.args;
const read = (name) => {
  try {
    return JSON.parse(Deno.readTextFileSync(`${work}/${name}`));
  } catch {
    return null;
  }
};
const bench = (name) => (read(name)?.results ?? []).map((r) => ({ envs: r.numEnvs, stepsPerSecond: r.stepsPerSecond, raw: r }));
const compared = Object.fromEntries(
  [...Deno.readDirSync(work)].map((e) => e.name).filter((n) => /^compare_.*\.json$/.test(n)).sort()
    .map((n) => [n.slice("compare_".length, -".json".length), bench(n)]),
);
const iteration = (env, mode) => {
  const m = read(`iteration_${env}_${mode}.json`);
  return m ? { rollout_seconds: m.rollout_seconds, update_seconds: m.update_seconds, env_steps: m.envSteps } : null;
};
const demoLog = (() => {
  try {
    return Deno.readTextFileSync(`${work}/demo.log`);
  } catch {
    return "";
  }
})();
// The evaluation's "mean return X +- Y over N episodes"; stage 1's collection line also says
// "mean return" (no "+-"), and is the last such line when the demo is cut short.
const score = demoLog.match(/mean return [-0-9.]+(?= \+-)/g)?.at(-1)?.split(" ").at(-1);
const out = {
  adapter: read("adapter.json"),
  host: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
  env_steps_per_second_gpu: { cartpole: bench("bench_cartpole.json"), lunar_lander: bench("bench_lander.json") },
  lunar_lander_per_build: compared,
  iteration_seconds: Object.fromEntries(["cartpole", "lunar_lander"].map((env) => [env, { gpu: iteration(env, "gpu"), cpu: iteration(env, "cpu") }])),
  demo: { ...read("demo_time.json"), final_mean_return: score === undefined ? null : Number(score), reached_500: score !== undefined && Number(score) >= 500 },
};
Deno.writeTextFileSync(result, JSON.stringify(out, null, 2) + "\n");
const f = (x, d = 3) => (typeof x === "number" ? x.toFixed(d) : "n/a");
const rows = [["measure", "value"]];
for (const env of ["cartpole", "lunar_lander"]) {
  for (const b of out.env_steps_per_second_gpu[env]) {
    rows.push([`${env} env steps/s, GPU, ${b.envs} envs (${b.raw.stepsPerDispatch} steps/dispatch)`, f(b.stepsPerSecond, 0)]);
  }
}
for (const [build, results] of Object.entries(compared)) {
  for (const b of results) {
    rows.push([`lunar_lander steps/s, ${build}, ${b.envs} envs (${b.raw.stepsPerDispatch ?? "?"} steps/dispatch)`, f(b.stepsPerSecond, 0)]);
  }
}
for (const env of ["cartpole", "lunar_lander"]) {
  for (const mode of ["gpu", "cpu"]) {
    const it = out.iteration_seconds[env][mode];
    rows.push([`${env} preset iteration, ${mode}: rollout / update s`, it ? `${f(it.rollout_seconds)} / ${f(it.update_seconds)}` : "n/a"]);
  }
}
rows.push([`cartpole demo wall s (${out.demo.iterations} iterations)`, f(out.demo.seconds, 1)]);
rows.push(["cartpole demo final mean return (goal 500)", `${out.demo.final_mean_return ?? "n/a"}${out.demo.reached_500 ? " (reached)" : ""}`]);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`adapter: ${out.adapter?.description} (${out.adapter?.vendor}${out.adapter?.software ? ", SOFTWARE" : ""}); ${out.host.cpus} CPUs; Deno ${out.host.deno}`);
for (const [i, [k, v]] of rows.entries()) {
  console.log(`| ${k.padEnd(w)} | ${v.padStart(18)} |`);
  if (i === 0) console.log(`| ${"-".repeat(w)} | ${"-".repeat(18)}:|`);
}
console.log(`JSON: ${result}`);
EOF
echo "== results ($(($(date +%s) - START)) s)"
timeout 30 "$DENO" run -A "$WORK/table.js" "$WORK" "$RESULT"

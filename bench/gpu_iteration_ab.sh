#!/usr/bin/env bash
# GPU-mode training iterations, this build (grpo.js) against each baseline_NAME.js in the kit
# (`deno task gpu-kit --baseline NAME=FILE.js`), on a GPU host without network: CartPole's
# preset for 3 iterations and LunarLander's for 2, from brief stage-1 models of the default size.
# Prints the last iteration's rollout and update seconds per build (the first one compiles).
#
# usage: gpu_iteration_ab.sh [WORK_DIR]   (about 2 minutes with one baseline on an H200)
set -u
KIT=$(cd "$(dirname "$0")" && pwd)
W=${1:-/tmp/grpo-gpu-ab}
mkdir -p "$W/xdg" && chmod 700 "$W/xdg"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 DENO_DIR="$W/deno_dir" XDG_RUNTIME_DIR="$W/xdg"
export DENO_WEBGPU_BACKEND="${DENO_WEBGPU_BACKEND:-vulkan}"
if command -v xz >/dev/null 2>&1; then xz -dc "$KIT/deno.xz" >"$W/deno"; else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$KIT/deno.xz" "$W/deno"
fi
chmod +x "$W/deno"
DENO=$W/deno
last() {
  tail -n 1 "$W"/logs_"$1"/*/metrics.jsonl 2>/dev/null | python3 -c 'import json, sys
m = json.loads(sys.stdin.read())
print("rollout %.3f s, update %.3f s, %d env steps" % (m["rollout_seconds"], m["update_seconds"], m["envSteps"]))'
}
for env in cartpole lunar_lander; do
  timeout 60 "$DENO" run -A "$KIT/grpo.js" pretrain --env $env --num-episodes 16 --num-epochs 1 \
    --device cpu --out "$W/pretrain_$env" >"$W/pretrain_$env.log" 2>&1 || echo "pretrain $env failed" >&2
done
for build in "$KIT/grpo.js" "$KIT"/baseline_*.js; do
  [ -e "$build" ] || continue
  for env in cartpole lunar_lander; do
    [ $env = cartpole ] && iterations=3 || iterations=2
    name=$(basename "$build" .js)_$env
    timeout -k 5 90 "$DENO" run -A "$build" train --checkpoint "$(ls "$W/pretrain_$env"/*/best_model.safetensors)" \
      --env $env --num-iterations $iterations --device gpu --eval-every 0 --save-every 100 \
      --out "$W/ckpt_$name" --log-dir "$W/logs_$name" >"$W/$name.log" 2>&1 || echo "$name failed: $(tail -1 "$W/$name.log")" >&2
    echo "$name: $(last "$name")"
  done
done

#!/usr/bin/env bash
# The one command on a lent GPU machine (issue 15): build the CUDA addon, run the GPU tests (forward and
# backward kernels and AdamW vs references, the whole pass vs the CPU engine and transformers, training
# vs the CPU engine, T5 on the CUDA engine and its kernels, top-N), then the GPU benchmarks (bench/gpu:
# scoring on the GPT-2-small, Qwen2-0.5B and SmolLM2-135M shapes, T5, the PPO update; then bench/serve
# --device cuda), and print a table last. Most valuable first: build, correctness, scoring bench, serve.
#
# On the development machine, once, in the checkout the session's `run` sends (after npm ci):
#   npm run build && PACK_SKIP=onnxruntime-node bash ../shared/device/pack.sh     (~34 MiB; tree ~16 MiB)
#   (in a git worktree pack.sh fails on .git/info/exclude, a file there: run it from the main checkout)
# Then ONE device call (the machine has no Node/npm/network; .gpu-carry brings Node + node_modules):
#   run(command: "bash scripts/gpu-check.sh 2>&1 | tee $OUT/gpu.log", carry: [".gpu-carry", "dist"], timeout_s: 470)
# It ends by GPU_CHECK_BUDGET_S (default 420 s; quick: 240) after it starts, with the table, whatever
# hangs: each step has its own timeout, capped by what is left, and no step starts with < 20 s left.
# Device time: ~1-2 min start + <= 470 s, then a rerun on the still-warm machine (the build is kept, so
# incremental) with GPU_CHECK_QUICK=1 (tests + the SmolLM2-shape scoring bench, no T5/training/serve):
#   run(command: "GPU_CHECK_QUICK=1 bash scripts/gpu-check.sh 2>&1 | tee $OUT/gpu.log", carry: [".gpu-carry", "dist"], timeout_s: 280)
# fits the 15 minutes. Estimated on an H100 (16 cores; nothing has run on a GPU yet): unpack 15 s, CPU +
# CUDA addon for one arch 60-150 s (tsc alongside), transformers fixtures 30 s, GPU tests 30-90 s,
# bench/gpu 120-200 s (writing the random-weight models ~3 GB, peers' torch start-ups, training), serve 40 s.
#
# Results: $OUT (else /tmp/gpu-check) gets gpu-check.md (the table, rewritten after every step, so a
# killed run still returns what finished) and gpu-check-logs.tgz (every step's log and JSON, likewise);
# the device tool returns at most 8 files from $OUT, so logs travel in the one archive.
# Subtle: the machine's toolkit may hold nvcc without cuBLAS (PyTorch's pip nvidia-* wheels carry
# cuBLASLt); cmake/cuda.cmake finds cuBLASLt through LIBRARY_PATH / CPATH, which unpack.sh exports.
# GLAM_CUDA_ARCHS (default: this GPU's compute capability) keeps the build to one architecture;
# GLAM_BUILD_JOBS defaults to every core (build-native.mjs's own default is 2, for the CI machine).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${GPU_CHECK_OUT:-${OUT:-/tmp/gpu-check}}
logs=$(mktemp -d /tmp/gpu-check-logs.XXXXXX)
mkdir -p "$out"
start=$(date +%s)
quick=${GPU_CHECK_QUICK:-0}
budget=${GPU_CHECK_BUDGET_S:-$([ "$quick" = 1 ] && echo 240 || echo 420)}
if [ -f .gpu-carry/unpack.sh ] && ! command -v node >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source .gpu-carry/unpack.sh
fi
command -v node >/dev/null || { echo "gpu-check: node is not on PATH (source .gpu-carry/unpack.sh)"; exit 1; }
[ -d node_modules ] || { echo "gpu-check: node_modules is missing (npm ci, or .gpu-carry)"; exit 1; }
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
export GLAM_CUDA_ARCHS=${GLAM_CUDA_ARCHS:-${cc:-90}}
export GLAM_BUILD_JOBS=${GLAM_BUILD_JOBS:-$(nproc)}
rows=()
extra=""

# Rewrites the table and the log archive under $out (after every step: a killed run keeps what finished).
publish() {
  {
    echo "## gpu-check on ${gpu:-no GPU} ($(date -u +%FT%TZ), $(( $(date +%s) - start )) s in)"
    echo "| step | result | seconds |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
    printf '%s' "$extra"
  } > "$out/gpu-check.md"
  tar -czf "$out/gpu-check-logs.tgz" -C "$logs" . 2>/dev/null
}

# step NAME LOGFILE TIMEOUT_S CMD...: runs CMD under timeout (capped by what is left of the budget), output
# to the terminal and $logs/LOGFILE; sets $rc and $secs; records nothing (the caller words the row).
step() {
  local name=$1 log=$2 limit=$3; shift 3
  local left=$(( budget - ($(date +%s) - start) ))
  if [ "$left" -lt 20 ]; then rc=125; secs=0; echo "gpu-check: $name not started: the budget is spent"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo; echo "=== gpu-check: $name (at most $limit s) ==="
  local t0; t0=$(date +%s)
  timeout -k 10 "$limit" "$@" 2>&1 | tee "$logs/$log"
  rc=${PIPESTATUS[0]}; secs=$(( $(date +%s) - t0 ))
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "gpu-check: $name stopped after $limit s (timeout)"
}
verdict() { # verdict RC [LOG]: ok (or the bench's own "skipped: why") / timed out / failed (rc) / not started
  if [ "$1" = 0 ] && [ -n "${2:-}" ] && grep -qm1 ': skipped: ' "$2"; then grep -m1 -o 'skipped: .*' "$2" | cut -c1-160; return; fi
  case $1 in 0) echo ok ;; 124|137) echo "TIMED OUT" ;; 125) echo "not started (budget spent)" ;; *) echo "FAILED (rc $1)" ;; esac
}

# 1. tsc (dist/ for the benches) in the background while the addon builds: carried dist/ is used if tsc fails
# (tsc emits dist/ even when a type is missing: onnxruntime-node stays out of .gpu-carry to fit its limit)
( node node_modules/typescript/bin/tsc -p tsconfig.json > "$logs/tsc.log" 2>&1; echo $? > "$logs/tsc.rc" ) &
tsc_pid=$!

# 2. the native addons: CPU (needed by every test) and CUDA, one architecture
step "native build (sm_$GLAM_CUDA_ARCHS, $GLAM_BUILD_JOBS jobs)" build.log 240 node scripts/build-native.mjs
cp build-cuda/glam-cuda-build.log "$logs/" 2>/dev/null
if grep -q "glam: built the CUDA addon" "$logs/build.log"; then build="ok, CUDA addon built (sm_$GLAM_CUDA_ARCHS)"
else build="$(verdict $rc): no CUDA addon ($(grep -m1 -E '^glam: .*CUDA' "$logs/build.log" | cut -c1-120))"; fi
grep -iE "error" "$logs/glam-cuda-build.log" 2>/dev/null | head -20
rows+=("| native build | $build | $secs |"); publish

# 3. transformers on the GPU (the reference the whole-pass tests read through GLAM_HF_GPU_JSON)
hf="skipped: no torch with CUDA"
if timeout 60 python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
  step "transformers on the GPU" hf-gpu.log 90 python3 scripts/fixtures/hf_gpu_scores.py --out "$logs/hf-gpu.json"
  hf=$(verdict $rc); [ "$rc" -eq 0 ] && export GLAM_HF_GPU_JSON="$logs/hf-gpu.json"
  rows+=("| transformers on the GPU (fixtures) | $hf | $secs |")
else rows+=("| transformers on the GPU (fixtures) | $hf | 0 |"); fi
publish

# 4. the GPU tests (every suite skips with its reason without a GPU)
step "GPU tests" gpu-tests.log 150 node node_modules/vitest/vitest.mjs run test/gpu test/native/cuda-addon.test.ts \
  test/native/test-hooks.test.ts --reporter=verbose --reporter=json --outputFile="$logs/gpu-tests.json"
tests=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`)' "$logs/gpu-tests.json" 2>/dev/null || echo "no report")
rows+=("| GPU tests | $(verdict $rc): $tests | $secs |"); publish

wait "$tsc_pid"
# onnxruntime-node's types are expected to be missing (PACK_SKIP); any other tsc error is worth a look
if grep "error TS" "$logs/tsc.log" 2>/dev/null | grep -qv "'onnxruntime-node'"; then
  echo "gpu-check: tsc reported errors beyond onnxruntime-node (tsc.log in the archive); running what dist/ holds"
  rows+=("| tsc | errors beyond onnxruntime-node's missing types: see tsc.log | |")
fi

# 5. bench/gpu: scoring (GPT-2-small, Qwen2-0.5B, SmolLM2-135M shapes vs HF naive and Lamorel way), T5, training
if [ "$quick" = 1 ]; then bargs=(--shapes smollm2-135m --reps 5 --no-train --no-t5); blimit=100; else bargs=(--reps 10); blimit=210; fi
if [ -f dist/bench/gpu.js ]; then
  step "bench/gpu" bench-gpu.log "$blimit" node dist/bench/gpu.js "${bargs[@]}" --out "$logs/bench-gpu.json"
  rows+=("| bench/gpu | $(verdict $rc "$logs/bench-gpu.log") | $secs |")
  t=$(grep -E '^\|' "$logs/bench-gpu.log" 2>/dev/null) && extra+=$'\n'"$t"$'\n'
else rows+=("| bench/gpu | no dist/bench/gpu.js (tsc failed, dist/ not carried) | 0 |"); fi
publish

# 6. glam serve on the GPU: the same tables as on the CPU (short: 3 s per level and contender, no soak)
if [ "$quick" != 1 ] && [ -f dist/bench/serve.js ]; then
  step "bench/serve --device cuda" bench-serve.log 75 node dist/bench/serve.js --device cuda --duration 3 --reps 1 --soak-s 0
  rows+=("| bench/serve --device cuda | $(verdict $rc "$logs/bench-serve.log") | $secs |")
  t=$(grep -E '^\|' "$logs/bench-serve.log" 2>/dev/null) && extra+=$'\n'"$t"$'\n'
  publish
fi

rows+=("| total | $(( $(date +%s) - start )) s of the ${budget} s budget | |"); publish
echo; cat "$out/gpu-check.md"
echo; echo "gpu-check: logs in $out/gpu-check-logs.tgz"
rm -rf "$logs"

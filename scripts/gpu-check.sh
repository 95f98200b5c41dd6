#!/usr/bin/env bash
# The one command on a GPU machine: build the CUDA addon, run the GPU tests (forward and backward
# kernels and AdamW vs references, the whole pass vs the CPU engine and transformers, training vs the
# CPU engine: test/gpu/training.test.ts; T5 on the CUDA engine vs the CPU T5 engine and T5's kernels:
# test/gpu/t5.test.ts, t5-kernels.test.ts; top-N alternatives) and the GPU benchmarks (bench/gpu, then
# bench/serve --device cuda: glam serve against Policy.score on the GPU), print short tables last.
#   bash scripts/gpu-check.sh            (from the project root; logs under ${GPU_CHECK_OUT:-$OUT or /tmp/gpu-check})
# On the lent GPU machine (no Node, npm or network): `source .gpu-carry/unpack.sh` first — this
# script sources it itself when present (../shared/device/README.md; on the development machine, after
# npm ci: `PACK_SKIP=onnxruntime-node bash ../shared/device/pack.sh`, about 45 MiB with the tree).
# Subtle: the machine's toolkit may hold nvcc without cuBLAS (PyTorch's pip nvidia-* wheels carry
# cuBLASLt); cmake/cuda.cmake finds cuBLASLt through LIBRARY_PATH / CPATH, which unpack.sh exports.
# GLAM_CUDA_ARCHS (default: this GPU's compute capability) keeps the build to one architecture here.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${GPU_CHECK_OUT:-${OUT:-/tmp/gpu-check}}
mkdir -p "$out"
if [ -f .gpu-carry/unpack.sh ] && ! command -v node >/dev/null 2>&1; then
  # shellcheck disable=SC1091
  source .gpu-carry/unpack.sh
fi
command -v node >/dev/null || { echo "gpu-check: node is not on PATH (source .gpu-carry/unpack.sh)"; exit 1; }
[ -d node_modules ] || { echo "gpu-check: node_modules is missing (npm ci, or .gpu-carry)"; exit 1; }
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
export GLAM_CUDA_ARCHS=${GLAM_CUDA_ARCHS:-${cc:-90}}
status=()

t0=$(date +%s)
node scripts/build-native.mjs 2>&1 | tee "$out/build.log"
t1=$(date +%s)
if grep -q "glam: built the CUDA addon" "$out/build.log"; then build="ok ($((t1 - t0)) s, sm_$GLAM_CUDA_ARCHS)"; else
  build="FAILED (build-cuda/glam-cuda-build.log)"; cp build-cuda/glam-cuda-build.log "$out/" 2>/dev/null; fi
tail -30 build-cuda/glam-cuda-build.log 2>/dev/null | grep -iE "error|warning" | head -20

hf="skipped"
if python3 -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null; then
  if python3 scripts/fixtures/hf_gpu_scores.py --out "$out/hf-gpu.json" > "$out/hf-gpu.log" 2>&1; then
    export GLAM_HF_GPU_JSON="$out/hf-gpu.json"; hf="ok"
  else hf="FAILED ($out/hf-gpu.log)"; fi
fi

node node_modules/vitest/vitest.mjs run test/gpu test/native/cuda-addon.test.ts test/native/test-hooks.test.ts --reporter=verbose \
  --reporter=json --outputFile="$out/gpu-tests.json" 2>&1 | tee "$out/gpu-tests.log"
tests=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`)' "$out/gpu-tests.json" 2>/dev/null || echo "no report")

# tsc emits dist/ even when a type is missing (onnxruntime-node is left out of .gpu-carry to fit its
# size limit: PACK_SKIP=onnxruntime-node); bench/gpu needs neither
node node_modules/typescript/bin/tsc -p tsconfig.json > "$out/tsc.log" 2>&1 || echo "gpu-check: tsc reported errors ($out/tsc.log); running what it emitted"
if [ -f dist/bench/gpu.js ]; then node dist/bench/gpu.js --out "$out/bench-gpu.json" 2>&1 | tee "$out/bench-gpu.log"; fi
bench=$(grep -E '^\|' "$out/bench-gpu.log" 2>/dev/null)
# glam serve on the GPU: the same tables as on the CPU (short: 3 s per level and contender, no soak)
if [ -f dist/bench/serve.js ]; then node dist/bench/serve.js --device cuda --duration 3 --reps 1 --soak-s 0 2>&1 | tee "$out/bench-serve.log"; fi
serve=$(grep -E '^\|' "$out/bench-serve.log" 2>/dev/null)

echo
echo "## gpu-check on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
echo "| step | result |"
echo "|---|---|"
echo "| CUDA addon build | $build |"
echo "| transformers on the GPU (fixtures) | $hf |"
echo "| GPU tests | $tests |"
echo
echo "${bench:-bench/gpu: no table (see $out/bench-gpu.log)}"
echo
echo "${serve:-bench/serve --device cuda: no table (see $out/bench-serve.log)}"

#!/usr/bin/env bash
# Assembles a CUDA toolkit that CMake's FindCUDAToolkit accepts from NVIDIA's PyPI wheels, for
# machines without one (CI compiles glam's CUDA sources on every run this way; no GPU is needed).
#   usage: scripts/cuda-toolkit-from-wheels.sh [DIR]     (default DIR: .cuda-toolkit, gitignored)
#   prints the toolkit root last; `eval "$(scripts/cuda-toolkit-from-wheels.sh --env)"` exports
#   CUDA_HOME, CUDACXX and PATH instead.
# Subtle: the CUDA 12 wheels (nvidia-cuda-nvcc-cu12) ship only ptxas and libnvvm, not nvcc, so this
# uses the CUDA 13.0 wheels, which hold a whole nvcc (cudafe++, cicc, fatbinary, nvlink) under
# nvidia/cu13/ in a toolkit layout. The wheels carry only versioned .so files (libcudart.so.13), so
# the unversioned names the linker looks for are added as symlinks, and lib64 -> lib. Versions are
# pinned; the install is skipped when DIR already holds a working nvcc of those versions.
# CUDA 13 compiles sm_80..sm_90 (what glam targets) and accepts gcc 6..15.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=print
if [ "${1:-}" = "--env" ]; then mode=env; shift; fi
dir=${1:-$root/.cuda-toolkit}
py=${PYTHON:-python3}
pins=(nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-runtime==13.0.96
      nvidia-cuda-cccl==13.0.85 nvidia-cublas==13.0.2.14)
stamp="$dir/.pins"
tk="$dir/site/nvidia/cu13"
if [ ! -x "$tk/bin/nvcc" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "glam: installing the CUDA 13.0 compiler and libraries from PyPI wheels into $dir" >&2
  "$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$dir/site" "${pins[@]}" >&2
  echo "${pins[*]}" > "$stamp"
fi
for l in cudart cublas cublasLt; do
  so=$(ls "$tk/lib/lib$l.so."* 2>/dev/null | head -1)
  [ -n "$so" ] && ln -sfn "$(basename "$so")" "$tk/lib/lib$l.so"
done
[ -e "$tk/lib64" ] || ln -sfn lib "$tk/lib64"
"$tk/bin/nvcc" --version >/dev/null
if [ "$mode" = env ]; then
  echo "export CUDA_HOME='$tk' CUDACXX='$tk/bin/nvcc' PATH='$tk/bin':\"\$PATH\""
else
  echo "$tk"
fi

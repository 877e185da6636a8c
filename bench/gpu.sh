#!/usr/bin/env bash
# GPU figures in one command, on a machine with PyTorch and/or JAX (no TensorFlow, no internet needed):
#   1. backbone images/s through Keras on the torch and on the JAX backend (bench/gpu_backbone.py):
#      model only, and with decoding from files on every core;
#   2. `generate` images/minute and peak GPU memory with sd-turbo's architecture (bench/gpu_generate.py).
# The keras wheel (and diffusers, transformers for step 2) must be installed; devise itself need not be:
# the repository is put on PYTHONPATH under the name `devise` when it is not importable.
#
#   bash bench/gpu.sh            # the full run (minutes, on the GPU)
#   bash bench/gpu.sh --tiny     # a few images, CPU only: proves the script runs anywhere
# Environment: PYTHON (default python), BACKENDS (default "torch jax").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python}"
tiny=()
if [[ "${1:-}" == "--tiny" ]]; then
    tiny=(--tiny)
    # The tiny run proves the commands work; it stays off any GPU, as on a machine without one.
    export CUDA_VISIBLE_DEVICES="" JAX_PLATFORMS=cpu
elif [[ $# -gt 0 ]]; then
    echo "usage: bash bench/gpu.sh [--tiny]" >&2
    exit 2
fi

scratch="$(mktemp -d -t devise-gpu-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
if ! (cd "$scratch" && "$py" -c "import devise" 2>/dev/null); then
    ln -s "$repo" "$scratch/devise"
    export PYTHONPATH="$scratch${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cores"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

for backend in ${BACKENDS:-torch jax}; do
    echo "== backbone, Keras on $backend"
    if ! "$py" -c "import $backend" 2>/dev/null; then
        echo "$backend is not installed: skipped"
        continue
    fi
    KERAS_BACKEND="$backend" "$py" "$repo/bench/gpu_backbone.py" "${tiny[@]}"
done

echo "== generate (bench/gpu_generate.py)"
DEVISE_HOME="$scratch/home-generate" "$py" "$repo/bench/gpu_generate.py" "${tiny[@]}"

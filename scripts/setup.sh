#!/usr/bin/env bash
# One-time set-up on a fresh machine: a Python venv with the packages the tests drive
# (numpy, gguf for reference dequantization). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check numpy "gguf==0.19.0"

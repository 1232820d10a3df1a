#!/usr/bin/env bash
# The test command: builds the release library and runs every test suite, then the shared
# reference tools through the C API. Tests that need ../shared fail (instead of skipping) when
# FERROLLAMA_REQUIRE_SHARED=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
cargo build --release
cargo test --release
if [ -d ../shared/data ]; then
    # Tokenizer vectors through the C API (issue 5): every vector of ../shared/data/vocab.
    python3 ../shared/tools/tokenizer_vectors.py --lib target/release
    # llama-cpp-python 0.3.36, unmodified, on our library (issue 6): upstream's offline tests and
    # the high-level Llama class on the shared models.
    sh tests/python/run.sh
elif [ "${FERROLLAMA_REQUIRE_SHARED:-0}" = 1 ]; then
    echo "FERROLLAMA_REQUIRE_SHARED=1 but ../shared/data is missing" >&2
    exit 1
fi

#!/usr/bin/env bash
# The test command: builds the release library and runs every test suite.
# Tests that need ../shared fail (instead of skipping) when FERROLLAMA_REQUIRE_SHARED=1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
cargo build --release
cargo test --release

#!/bin/sh
# Regenerates include/*.h from src/ffi (cbindgen 0.29.4, pinned in Cargo.toml's dev-dependencies,
# plus the post-processing in tests/ffi_common/header_gen.rs). Commit the result.
set -e
cd "$(dirname "$0")/.."
FERROLLAMA_BLESS=1 cargo test --release --test ffi_header committed_headers_match_generator

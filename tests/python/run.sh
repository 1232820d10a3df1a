#!/bin/sh
# Must-show #3: llama-cpp-python 0.3.36, pip-installed unmodified (without compiling upstream's
# library) in a venv, running on ferrollama's libllama through LLAMA_CPP_LIB_PATH:
#   1. upstream's own offline tests (test_llama_cpp_version, test_llama_cpp_tokenization) from the
#      pinned sdist's tests/test_llama.py, unmodified;
#   2. tests/python/test_ferrollama.py (low-level bindings, high-level Llama on ../shared models).
# Environment: FERROLLAMA_PY_VENV (default target/py-venv; created if missing, needs network the
# first time), FERROLLAMA_UPSTREAM_SDIST (sdist .tar.gz or extracted folder; else
# /work/up/llama_cpp_python-0.3.36, else a cached or fresh `pip download`), FERROLLAMA_SHARED
# (default ../shared).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${FERROLLAMA_PY_VENV:-$ROOT/target/py-venv}
SHARED=${FERROLLAMA_SHARED:-$ROOT/../shared}
VERSION=0.3.36

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import llama_cpp, pytest, scipy, huggingface_hub" 2>/dev/null; then
    "$VENV/bin/pip" install -q cmake ninja pytest numpy scipy huggingface_hub
    CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" "$VENV/bin/pip" install -q "llama-cpp-python==$VERSION"
fi

(cd "$ROOT" && cargo build --release --lib)
LLAMA_CPP_LIB_PATH="$ROOT/target/release"
export LLAMA_CPP_LIB_PATH

# upstream's test file from the pinned sdist
SDIST=${FERROLLAMA_UPSTREAM_SDIST:-}
if [ -z "$SDIST" ] && [ -d "/work/up/llama_cpp_python-$VERSION" ]; then
    SDIST="/work/up/llama_cpp_python-$VERSION"
fi
CACHE="$ROOT/target/upstream-sdist"
if [ -z "$SDIST" ]; then
    if [ ! -f "$CACHE/llama_cpp_python-$VERSION.tar.gz" ]; then
        mkdir -p "$CACHE"
        "$VENV/bin/pip" download -q --no-deps --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -d "$CACHE"
    fi
    SDIST="$CACHE/llama_cpp_python-$VERSION.tar.gz"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -d "$SDIST" ]; then
    cp "$SDIST/tests/test_llama.py" "$WORK/"
else
    tar xzf "$SDIST" -C "$WORK" --strip-components=2 "llama_cpp_python-$VERSION/tests/test_llama.py"
fi
# the test opens ./vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf
mkdir -p "$WORK/vendor/llama.cpp/models"
ln -s "$SHARED/data/vocab/ggml-vocab-llama-spm.gguf" "$WORK/vendor/llama.cpp/models/"

status=0
echo "== upstream tests/test_llama.py (offline tests) on ferrollama =="
(cd "$WORK" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider test_llama.py \
    -k "test_llama_cpp_version or test_llama_cpp_tokenization") || status=1
echo "== tests/python/test_ferrollama.py =="
(cd "$WORK" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/tests/python/test_ferrollama.py") || status=1
exit $status

#!/usr/bin/env bash
# Builds a replica of the library that recorded ../shared/data/reference: upstream's pinned
# llama.cpp with its CPU backend compiled for AVX2 (no AVX-512). With it, compare.py reports
# max_abs = 0 on every case (a, b, c, d, e) of all 42 reference files; the pip build on an
# AVX-512 machine (GGML_NATIVE) does not (F32 matmuls, F16 attention and k-quant paths sum in
# another order there). Only libggml-cpu is rebuilt; the rest is copied from the pip build.
#
# usage: scripts/build_upstream_avx2.sh [OUT_DIR]   (default /tmp/upstream-avx2; ~5 min on 2 cores)
# env:   FERROLLAMA_UPSTREAM_SDIST (default /work/up/llama_cpp_python-0.3.36)
#        FERROLLAMA_UPSTREAM_LIB_DIR (the pip build's lib folder, default the venv's)
set -euo pipefail
out=${1:-/tmp/upstream-avx2}
sdist=${FERROLLAMA_UPSTREAM_SDIST:-/work/up/llama_cpp_python-0.3.36}
lib=${FERROLLAMA_UPSTREAM_LIB_DIR:-/work/up/venv/lib/python3.11/site-packages/llama_cpp/lib}
cmake=$(command -v cmake || echo /work/up/venv/bin/cmake)
build=$out/build
mkdir -p "$build"
"$cmake" -S "$sdist/vendor/llama.cpp" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF >"$out/configure.log"
"$cmake" --build "$build" --target ggml-cpu -j"$(nproc)" >"$out/build.log"
cp -L "$lib"/lib*.so* "$out"/
for f in "$out"/libggml-cpu.so*; do cp -L "$build"/bin/libggml-cpu.so "$f"; done
echo "library folder: $out (use: compare.py --lib $out)"

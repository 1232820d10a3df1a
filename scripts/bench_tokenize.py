#!/usr/bin/env python3
"""Time llama_tokenize on ~1 MB of mixed text (the vocab's .inp strings repeated) through the C
API, for any libllama (upstream or ours), best of 3, add_special = true, parse_special = false.

    python3 scripts/bench_tokenize.py --lib DIR [vocab names ...]
Same text as `cargo run --release --example 02_tokenize -- VOCAB.gguf --bench 3`.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "tools"))
import llama_ctypes as lc  # noqa: E402

VDIR = os.path.join(HERE, "..", "..", "shared", "data", "vocab")
ALL = ["bert-bge", "deepseek-coder", "deepseek-llm", "gpt-2", "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2",
       "refact", "starcoder"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=None)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    L = lc.Llama(a.lib)
    for v in a.names or ALL:
        p = os.path.join(VDIR, f"ggml-vocab-{v}.gguf")
        inp = open(p + ".inp", "rb").read()
        t = b""
        while len(t) < 1000000:
            t += inp
        t = t[:1000000]
        while t[-1] >= 0x80:
            t = t[:-1]
        m = lc.Model(L, p, vocab_only=True)
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            toks = m.tokenize(t, add_special=True, parse_special=False)
            best = min(best, time.perf_counter() - t0)
        checksum = sum((i + 1) * x for i, x in enumerate(toks)) % (1 << 64)
        print(f"{v:16} {len(t)} bytes -> {len(toks)} tokens: best {best * 1e3:.1f} ms  checksum {checksum}")
        m.close()


if __name__ == "__main__":
    main()

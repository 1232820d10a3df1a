"""Decode speed after a long prompt, or of several sequences decoding in parallel.

    python scripts/bench_decode_context.py LIBDIR MODEL [--prompt 2000] [--gen 40]
        [--seqs 1] [--flash-attn off|on|auto] [--threads 2]

Each of `--seqs` sequences first evaluates its own `--prompt`-token prompt; then `--gen` steps
decode one token per sequence in one batch. Prints the decode tokens/s (all sequences). Run it
once per library, alternating, in the same session: on a VM whose memory bandwidth drifts between
processes, single runs are only comparable side by side.
"""
import argparse
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "tools"))
import llama_ctypes as lc  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("model")
    ap.add_argument("--prompt", type=int, default=2000)
    ap.add_argument("--gen", type=int, default=40)
    ap.add_argument("--seqs", type=int, default=1)
    ap.add_argument("--flash-attn", default="off")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    L = lc.Llama(a.lib)
    m = lc.Model(L, a.model)
    s, p, g = a.seqs, a.prompt, a.gen
    ctx = lc.Context(m, n_ctx=s * (p + g) + 16, n_batch=512, n_ubatch=512, n_seq_max=s,
                     n_threads=a.threads, flash_attn=a.flash_attn)
    for q in range(s):
        ctx.eval_prompt([(7 * q + i) % 500 + 1 for i in range(p)], seq_id=q, all_logits=False)
    t0 = time.perf_counter()
    for i in range(g):
        rc = ctx.decode_batch(lc.Batch([5] * s, [p + i] * s, list(range(s)), [True] * s))
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        ctx.synchronize()
    dt = time.perf_counter() - t0
    print(f"seqs={s} prompt={p} flash_attn={a.flash_attn}: decode {s * g / dt:.2f} t/s")


if __name__ == "__main__":
    main()

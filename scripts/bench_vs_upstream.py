#!/usr/bin/env python3
"""pp512 / tg128 tokens/s of our libllama.so against upstream's, measured in one run.

Each (model, library) pair runs in its own process through ../shared/tools/llama_ctypes.py
(llama-bench style: random tokens, empty KV cache per repetition, median of the repetitions),
alternating libraries per model so both see the same machine state. Prints a Markdown table
with the ratio ours / upstream.

    python3 scripts/bench_vs_upstream.py --upstream UPSTREAM_LIB_DIR --ours target/release \
        /tmp/bench-1b-Q4_0.gguf /tmp/bench-1b-Q8_0.gguf ... [-t 2] [-r 3] [--rounds 5]

Models come from ../shared/tools/make_model.py --preset bench-1b (F16), quantized with
../shared/tools/quantize_ref.py.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "shared", "tools")

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import llama_ctypes as lc
L = lc.Llama(sys.argv[2])
m = lc.Model(L, sys.argv[3])
r = lc.bench(m, n_prompt=int(sys.argv[4]), n_gen=int(sys.argv[5]), reps=int(sys.argv[6]),
             n_threads=int(sys.argv[7]))
print("RESULT " + json.dumps(r))
"""


def run(lib, model, a):
    # numpy (imported by llama_ctypes) starts one OpenBLAS thread per core, which spin after
    # BLAS calls and take cores from the library's own threads on a small machine: one
    # BLAS thread for the client, the same for both libraries (override by setting it).
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    out = subprocess.run([sys.executable, "-c", CHILD, TOOLS, lib, model, str(a.p), str(a.g),
                          str(a.r), str(a.t)], capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--ours", default=os.path.join(HERE, "..", "target", "release"))
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-g", type=int, default=128)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="processes per library and model, alternating upstream / ours; on a "
                         "machine whose memory bandwidth drifts between processes, the table "
                         "gives each library's median over the rounds (and its best)")
    a = ap.parse_args()
    rows = []
    for m in a.models:
        ups, ourss = [], []
        for _ in range(a.rounds):
            ups.append(run(a.upstream, m, a))
            ourss.append(run(a.ours, m, a))
        rows.append((os.path.basename(m), ups, ourss))

    def stat(rs, k, f):
        v = sorted(r[k] for r in rs if r and k in r)
        if not v:
            return None
        return v[len(v) // 2] if f == "median" else v[-1]

    for f in (["median", "best"] if a.rounds > 1 else ["median"]):
        if a.rounds > 1:
            print(f"\n{f} of {a.rounds} rounds (each round: one process per library, "
                  f"median of {a.r} repetitions)\n")
        print(f"| model | pp{a.p} upstream | pp{a.p} ours | ratio | tg{a.g} upstream | tg{a.g} ours | ratio |")
        print("|---|---|---|---|---|---|---|")
        for name, ups, ourss in rows:
            cells = []
            for k in ("pp_tps", "tg_tps"):
                u, o = stat(ups, k, f), stat(ourss, k, f)
                cells += [f"{u:.2f}" if u else "n/a", f"{o:.2f}" if o else "n/a",
                          f"{o / u:.2f}" if u and o else "n/a"]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

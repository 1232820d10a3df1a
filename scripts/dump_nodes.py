#!/usr/bin/env python3
"""Find the first graph node where ferrollama and upstream's library differ.

Runs one prompt (the tokens of a reference case, e.g. case d of a ../shared/data/reference
npz) through both libraries on one thread with all logits requested:
  * upstream: every node through llama_context_params.cb_eval (ggml_tensor read via ctypes);
  * ours:     FERROLLAMA_DUMP=<dir> (src/backend/cpu/dump.rs).
Our nodes are then matched in order to upstream's nodes of the same op and element count
(views / reshapes / permutes are skipped on both sides), and per node the max |diff| per token
row is printed, so the first op that computes something else stands out. (KQ and its softmax
are not matched: upstream pads the KV length to 256, we do not.)

usage: dump_nodes.py REF.npz --ours target/release --up UPSTREAM_LIB_DIR [--case d] [--n 12]
Each library runs in its own subprocess (both are called libllama.so).
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
from ctypes import (CDLL, CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_int,
                    c_int32, c_int64, c_size_t, c_void_p, cast)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools")
WINDOW = 16  # upstream nodes searched either side of the running position
SKIP = {"VIEW", "RESHAPE", "PERMUTE", "TRANSPOSE", "NONE"}
# our op names that differ from ggml_op_desc's
ALIAS = {"GLU": {"SWIGLU", "GEGLU", "REGLU", "GLU"}, "TOP_K": {"ARGSORT"}}


class GgmlTensor(Structure):
    _fields_ = [("type", c_int), ("buffer", c_void_p), ("ne", c_int64 * 4), ("nb", c_size_t * 4),
                ("op", c_int), ("op_params", c_int32 * 16), ("flags", c_int32),
                ("src", c_void_p * 10), ("view_src", c_void_p), ("view_offs", c_size_t),
                ("data", c_void_p), ("name", c_char * 64), ("extra", c_void_p),
                ("padding", c_char * 8)]


def tokens_of(npz, case, n):
    sys.path.insert(0, TOOLS)
    import corpus_cases as cc
    spec, _ = cc.load_reference(npz)
    c = [c for c in spec["cases"] if c["name"] == case][0]
    toks = c["tokens"] if "tokens" in c else c["seqs"][0]
    return cc.resolve_model(npz, spec), toks[:n] if n else toks


def run_side(side, lib, model, toks, out):
    sys.path.insert(0, TOOLS)
    import llama_ctypes as lc
    L = lc.Llama(lib)
    m = lc.Model(L, model)
    nodes = []
    over = {}
    if side == "up":
        gb = CDLL(os.path.join(lib, "libggml-base.so"))
        gb.ggml_op_desc.restype = c_char_p
        gb.ggml_op_desc.argtypes = [c_void_p]

        def cb(tp, ask, _ud):
            if ask:
                return True
            t = GgmlTensor.from_address(tp)
            ne, nb = list(t.ne), list(t.nb)
            dt = {0: np.float32, 1: np.float16}.get(t.type)
            arr = None
            if dt is not None and t.data:
                span = sum((a - 1) * b for a, b in zip(ne, nb)) + np.dtype(dt).itemsize
                raw = np.ctypeslib.as_array(cast(t.data, POINTER(c_char * span)).contents)
                raw = np.frombuffer(bytes(raw), np.uint8)
                arr = np.lib.stride_tricks.as_strided(
                    raw[: span - span % np.dtype(dt).itemsize].view(dt),
                    shape=ne[::-1], strides=nb[::-1]).astype(np.float32)
            nodes.append((t.name.decode(), gb.ggml_op_desc(tp).decode(), ne, arr))
            return True

        cbf = CFUNCTYPE(c_bool, c_void_p, c_bool, c_void_p)(cb)
        over = {"cb_eval": cast(cbf, c_void_p).value}
    ctx = lc.Context(m, n_ctx=512, n_batch=512, n_seq_max=1, type_k="f16", type_v="f16",
                     flash_attn="off", n_threads=1, overrides=over)
    logits = ctx.eval_prompt(toks, all_logits=True)
    if side == "ours":
        d = os.environ["FERROLLAMA_DUMP"]
        raw = np.fromfile(os.path.join(d, "dump.bin"), "<f4")
        for line in open(os.path.join(d, "index.tsv")):
            _, name, op, _, ne, off = line.rstrip("\n").split("\t")
            ne = [int(x) for x in ne.split(",")]
            off = int(off)
            arr = None if off < 0 else raw[off // 4: off // 4 + int(np.prod(ne))].reshape(ne[::-1])
            nodes.append((name, op, ne, arr))
    np.savez(out, logits=logits, meta=json.dumps([(a, b, c) for a, b, c, _ in nodes]),
             **{"n%05d" % i: x[3] for i, x in enumerate(nodes) if x[3] is not None})


def load(path):
    z = np.load(path)
    meta = json.loads(str(z["meta"]))
    return z["logits"], [(n, op, ne, z["n%05d" % i] if "n%05d" % i in z.files else None)
                         for i, (n, op, ne) in enumerate(meta)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("npz")
    ap.add_argument("--ours", required=True)
    ap.add_argument("--up", required=True)
    ap.add_argument("--case", default="d")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    model, toks = tokens_of(a.npz, a.case, a.n)
    if a.side:
        return run_side(a.side, a.ours if a.side == "ours" else a.up, model, toks, a.out)
    tmp = tempfile.mkdtemp(prefix="dump_nodes_")
    for side in ("up", "ours"):
        env = dict(os.environ, FERROLLAMA_DUMP=os.path.join(tmp, "ours"))
        subprocess.run([sys.executable, __file__, a.npz, "--ours", a.ours, "--up", a.up,
                        "--case", a.case, "--n", str(a.n), "--side", side,
                        "--out", os.path.join(tmp, side + ".npz")], env=env, check=True)
    lu, up = load(os.path.join(tmp, "up.npz"))
    lo, ours = load(os.path.join(tmp, "ours.npz"))
    up = [x for x in up if x[1] not in SKIP and x[3] is not None]
    j = 0
    used = set()
    np.set_printoptions(linewidth=200, precision=2)
    for name, op, ne, arr in ours:
        if op in SKIP or arr is None:
            continue
        want = ALIAS.get(op, {op})
        # the same op and size near the running position; of those the closest in value
        # (the two graphs order independent branches differently)
        cands = [i for i in range(max(0, j - WINDOW), min(len(up), j + WINDOW))
                 if i not in used and up[i][1] in want and up[i][3].size == arr.size]
        if not cands:
            print(f"{'(ours) ' + name:28s} {op:12s} {str(ne):18s} no upstream match")
            continue
        k = min(cands, key=lambda i: float(np.abs(up[i][3].reshape(arr.shape) - arr).max()))
        used.add(k)
        j = k + 1
        u = up[k][3].reshape(arr.shape)
        d = np.abs(u - arr)
        rows = d.reshape(-1, arr.shape[-1]).max(1)
        print(f"{up[k][0][:28]:28s} {op:12s} {str(ne):18s} max {d.max():.2e}  "
              f"first row > 0: {int(np.argmax(rows > 0)) if rows.max() > 0 else '-'}")
    print("logits max |diff| per row:", np.abs(lu - lo).max(1))


if __name__ == "__main__":
    main()

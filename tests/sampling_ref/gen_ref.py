#!/usr/bin/env python3
"""Record upstream libllama's sampler outputs as test vectors for tests/sampling_upstream.rs.

Usage: gen_ref.py LIB_DIR > tests/sampling_ref/vectors.txt
LIB_DIR holds upstream's libllama.so (llama-cpp-python 0.3.36 build). Floats are f32 bit patterns
in hex so that the comparison can be exact.
"""
import ctypes, os, struct, sys
import numpy as np

lib_dir = sys.argv[1]
for n in ["libggml-base.so", "libggml-cpu.so", "libggml.so"]:
    p = os.path.join(lib_dir, n)
    if os.path.exists(p):
        ctypes.CDLL(p, mode=ctypes.RTLD_GLOBAL)
L = ctypes.CDLL(os.path.join(lib_dir, "libllama.so"), mode=ctypes.RTLD_GLOBAL)

class TD(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int32), ("logit", ctypes.c_float), ("p", ctypes.c_float)]
class TDA(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(TD)), ("size", ctypes.c_size_t), ("selected", ctypes.c_int64), ("sorted", ctypes.c_bool)]
class LB(ctypes.Structure):
    _fields_ = [("token", ctypes.c_int32), ("bias", ctypes.c_float)]
class ChainParams(ctypes.Structure):
    _fields_ = [("no_perf", ctypes.c_bool)]

vp = ctypes.c_void_p
f, i32, u32, sz = ctypes.c_float, ctypes.c_int32, ctypes.c_uint32, ctypes.c_size_t
def fn(name, res, *args):
    g = getattr(L, name); g.restype = res; g.argtypes = list(args); return g
chain_init = fn("llama_sampler_chain_init", vp, ChainParams)
chain_add = fn("llama_sampler_chain_add", None, vp, vp)
apply_ = fn("llama_sampler_apply", None, vp, ctypes.POINTER(TDA))
accept = fn("llama_sampler_accept", None, vp, i32)
free = fn("llama_sampler_free", None, vp)
name_ = fn("llama_sampler_name", ctypes.c_char_p, vp)
INIT = {
    "greedy": (fn("llama_sampler_init_greedy", vp), []),
    "dist": (fn("llama_sampler_init_dist", vp, u32), [int]),
    "top_k": (fn("llama_sampler_init_top_k", vp, i32), [int]),
    "top_p": (fn("llama_sampler_init_top_p", vp, f, sz), [float, int]),
    "min_p": (fn("llama_sampler_init_min_p", vp, f, sz), [float, int]),
    "typical": (fn("llama_sampler_init_typical", vp, f, sz), [float, int]),
    "temp": (fn("llama_sampler_init_temp", vp, f), [float]),
    "temp_ext": (fn("llama_sampler_init_temp_ext", vp, f, f, f), [float, float, float]),
    "xtc": (fn("llama_sampler_init_xtc", vp, f, f, sz, u32), [float, float, int, int]),
    "top_n_sigma": (fn("llama_sampler_init_top_n_sigma", vp, f), [float]),
    "mirostat": (fn("llama_sampler_init_mirostat", vp, i32, u32, f, f, i32), [int, int, float, float, int]),
    "mirostat_v2": (fn("llama_sampler_init_mirostat_v2", vp, u32, f, f), [int, float, float]),
    "penalties": (fn("llama_sampler_init_penalties", vp, i32, i32, f, f, f), [int, int, float, float, float]),
    "adaptive_p": (fn("llama_sampler_init_adaptive_p", vp, f, f, u32), [float, float, int]),
}
lb_init = fn("llama_sampler_init_logit_bias", vp, i32, i32, ctypes.POINTER(LB))

def make(spec):
    kind, *args = spec.split(":")
    if kind == "logit_bias":
        pairs = [a.split("=") for a in args[1].split(",")]
        arr = (LB * len(pairs))(*[LB(int(t), float(b)) for t, b in pairs])
        return lb_init(int(args[0]), len(pairs), arr)
    ctor, types = INIT[kind]
    return ctor(*[t(a) for t, a in zip(types, args)])

def fhex(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]

# Inputs are generated, not stored: xorshift32 integers mapped to f32 with one IEEE division,
# which the Rust test reproduces exactly.
class XorShift:
    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF
    def next(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x

GEN_SEED = [1]
def logits(n, kind="normal"):
    seed = GEN_SEED[0]
    GEN_SEED[0] += 1
    g = XorShift(seed * 2654435761 + 1)
    out = np.zeros(n, dtype=np.float32)
    for k in range(n):
        x = g.next()
        if kind == "normal":
            out[k] = np.float32(float(x % 20001) - 10000.0) / np.float32(1500.0)
        elif kind == "ties":
            out[k] = np.float32(float(x % 9) - 4.0)
        elif kind == "small":
            out[k] = np.float32(float(x % 2001) - 1000.0) / np.float32(3000.0)
    return (seed, kind, out)

def fnv(entries):
    h = 0xcbf29ce484222325
    for v in entries:
        for b in struct.pack("<I", v & 0xFFFFFFFF):
            h ^= b
            h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h

def run_case(name, specs, rounds):
    """rounds: list of (accept_list, logits array)."""
    print(f"case {name}")
    print("chain " + " ".join(specs))
    ch = chain_init(ChainParams(True))
    names = []
    for s in specs:
        sm = make(s)
        names.append(name_(sm).decode())
        chain_add(ch, sm)
    print("names " + " ".join(names))
    for acc, (seed, kind, lg) in rounds:
        print("round")
        if acc:
            for t in acc:
                accept(ch, t)
            print("accept " + " ".join(str(t) for t in acc))
        n = len(lg)
        buf = (TD * n)(*[TD(k, float(lg[k]), 0.0) for k in range(n)])
        base = ctypes.addressof(buf)
        arr = TDA(buf, n, -1, False)
        print("in %d %d %s" % (seed, n, kind))
        apply_(ch, ctypes.byref(arr))
        off = (ctypes.cast(arr.data, vp).value - base) // ctypes.sizeof(TD)
        print("out %d %d %d %d" % (arr.size, arr.selected, int(arr.sorted), off))
        m = min(arr.size, 48)
        print("outdata " + " ".join("%d:%08x:%08x" % (arr.data[k].id, fhex(arr.data[k].logit), fhex(arr.data[k].p)) for k in range(m)))
        ents = []
        for k in range(arr.size):
            ents += [arr.data[k].id, fhex(arr.data[k].logit), fhex(arr.data[k].p)]
        print("hash %016x" % fnv(ents))
        if 0 <= arr.selected < arr.size:
            accept(ch, arr.data[arr.selected].id)
    print("end")
    free(ch)

cases = []
def one(name, specs, n=64, kind="normal", rounds=1, accepts=None):
    rs = []
    for r in range(rounds):
        rs.append(((accepts[r] if accepts else None), logits(n, kind)))
    run_case(name, specs, rs)

# single samplers on small and large arrays
for n in (8, 64, 1500):
    one(f"greedy_{n}", ["greedy"], n)
    one(f"top_k_{n}", ["top_k:5"], n)
    one(f"top_k0_{n}", ["top_k:0"], n)
    one(f"top_p_{n}", ["top_p:0.9:1"], n)
    one(f"top_p_small_{n}", ["top_p:0.5:3"], n, "small")
    one(f"min_p_{n}", ["min_p:0.05:1"], n)
    one(f"min_p_keep_{n}", ["min_p:0.5:20"], n)
    one(f"typical_{n}", ["typical:0.7:1"], n)
    one(f"temp_{n}", ["temp:0.7"], n)
    one(f"temp0_{n}", ["temp:0"], n)
    one(f"temp_ext_{n}", ["temp_ext:0.8:0.5:1.5"], n)
    one(f"temp_ext_nodelta_{n}", ["temp_ext:0.8:0:1"], n)
    one(f"top_n_sigma_{n}", ["top_n_sigma:1.5"], n)
    one(f"xtc_{n}", ["xtc:0.9:0.05:1:7"], n, "small", rounds=4)
    one(f"dist_{n}", ["dist:42"], n, rounds=6)
    one(f"dist_ties_{n}", ["dist:7"], n, "ties", rounds=4)
    one(f"mirostat_{n}", [f"mirostat:{n}:3:5.0:0.1:100"], n, rounds=4)
    one(f"mirostat_v2_{n}", ["mirostat_v2:3:5.0:0.1"], n, rounds=4)
    one(f"penalties_{n}", [f"penalties:{n}:4:1.3:0.2:0.5"], n, rounds=3, accepts=[[1, 2, 3, 2], [5, 1], [7, 7, 7]])
    one(f"logit_bias_{n}", [f"logit_bias:{n}:1=5.5,3=-100,{n-1}=2.25"], n)
    one(f"logit_bias_shuffled_{n}", ["top_k:6", f"logit_bias:{n}:1=5.5,3=-100,{n-1}=2.25", "greedy"], n, rounds=2)

# adaptive-p (selects), alone and after min-p, over several rounds (its EMA state evolves)
for n in (8, 64, 1500):
    one(f"adaptive_p_{n}", ["adaptive_p:0.3:0.9:21"], n, rounds=5)
    one(f"adaptive_p_off_{n}", ["adaptive_p:-1:0.5:4"], n, rounds=3)
    one(f"adaptive_p_minp_{n}", ["min_p:0.05:1", "adaptive_p:0.5:0.5:8"], n, "small", rounds=5)

# typical generation chains
for n in (200, 4000):
    one(f"chain_llama_cpp_python_{n}", [f"penalties:{n}:64:1.1:0:0", "top_k:40", "typical:1:1", "top_p:0.95:1", "min_p:0.05:1", "temp:0.8", "dist:1234"], n, rounds=8)
    one(f"chain_common_{n}", ["top_k:40", "top_p:0.95:1", "min_p:0.05:1", "xtc:0.5:0.1:1:3", "temp_ext:0.8:0:1", "dist:99"], n, rounds=8)
    one(f"chain_dist_only_{n}", ["temp:1.5", "dist:0"], n, rounds=8)
    one(f"chain_sigma_{n}", ["top_n_sigma:1", "temp:0.5", "dist:5"], n, rounds=4)
    one(f"chain_typical_{n}", ["top_k:100", "typical:0.5:2", "dist:11"], n, rounds=4)

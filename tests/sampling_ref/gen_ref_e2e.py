#!/usr/bin/env python3
"""Record token sequences chosen by upstream's llama_sampler_sample during generation on the
../shared models (tests/sampling_e2e.rs replays them through our library).

Usage: gen_ref_e2e.py LIB_DIR MODELS_DIR > tests/sampling_ref/e2e.txt
Each line: model chain-name n_prompt prompt-tokens... | sampled-tokens...
"""
import ctypes, os, sys
sys.path.insert(0, "/work/shared/tools")
import llama_ctypes as lc

lib_dir, models = sys.argv[1:3]
L = lc.Llama(lib_dir)
lib = L.lib
vp = ctypes.c_void_p
def fn(name, res, *args):
    g = getattr(lib, name); g.restype = res; g.argtypes = list(args); return g
chain_init = fn("llama_sampler_chain_init", vp, ctypes.c_bool)
chain_add = fn("llama_sampler_chain_add", None, vp, vp)
sample = fn("llama_sampler_sample", ctypes.c_int32, vp, vp, ctypes.c_int32)
free = fn("llama_sampler_free", None, vp)
greedy = fn("llama_sampler_init_greedy", vp)
dist = fn("llama_sampler_init_dist", vp, ctypes.c_uint32)
top_k = fn("llama_sampler_init_top_k", vp, ctypes.c_int32)
top_p = fn("llama_sampler_init_top_p", vp, ctypes.c_float, ctypes.c_size_t)
min_p = fn("llama_sampler_init_min_p", vp, ctypes.c_float, ctypes.c_size_t)
typical = fn("llama_sampler_init_typical", vp, ctypes.c_float, ctypes.c_size_t)
temp = fn("llama_sampler_init_temp", vp, ctypes.c_float)
penalties = fn("llama_sampler_init_penalties", vp, ctypes.c_int32, ctypes.c_int32, ctypes.c_float, ctypes.c_float, ctypes.c_float)

def make_chain(name, n_vocab):
    ch = chain_init(True)
    if name == "greedy":
        chain_add(ch, greedy())
    elif name == "python-default":
        for s in [penalties(n_vocab, 64, 1.1, 0.0, 0.0), top_k(40), typical(1.0, 1), top_p(0.95, 1),
                  min_p(0.05, 1), temp(0.8), dist(1234)]:
            chain_add(ch, s)
    elif name == "dist7":
        chain_add(ch, dist(7))
    return ch

for mname in ["llama-spm-F32.gguf", "qwen2-F32.gguf", "llama3-F32.gguf"]:
    M = lc.Model(L, os.path.join(models, mname))
    prompt = M.tokenize("Once upon a time", add_special=True)
    for cname in ["greedy", "python-default", "dist7"]:
        C = lc.Context(M, n_ctx=128, n_batch=64, n_threads=1)
        C.decode(prompt, list(range(len(prompt))), [0] * len(prompt), [False] * (len(prompt) - 1) + [True])
        ch = make_chain(cname, M.n_vocab)
        out = []
        pos = len(prompt)
        for _ in range(24):
            t = sample(ch, C.ptr, -1)
            out.append(t)
            C.decode([t], [pos], [0], [True])
            pos += 1
        print("%s %s %s | %s" % (mname, cname, " ".join(map(str, prompt)), " ".join(map(str, out))))
        free(ch)

#!/usr/bin/env python3
"""Record upstream libllama's vocabulary-dependent samplers (grammar, DRY) for
tests/sampling_vocab.rs, in the format of gen_ref.py, one file per vocabulary.

Usage: gen_ref_vocab.py LIB_DIR VOCAB_GGUF > tests/sampling_ref/vocab-NAME.txt
Candidates cover the whole vocabulary (logits from gen_ref.py's "small" generator); the accepted
tokens are the tokenisation of a text the grammar accepts (or a repetitive text for DRY).
"""
import ctypes, os, struct, sys

sys.path.insert(0, "/work/shared/tools")
sys.path.insert(0, os.path.dirname(__file__))
import llama_ctypes as lc

lib_dir, vocab_path = sys.argv[1:3]
L = lc.Llama(lib_dir)
M = lc.Model(L, vocab_path, vocab_only=True)
lib = L.lib

class TD(ctypes.Structure):
    _fields_ = [("id", ctypes.c_int32), ("logit", ctypes.c_float), ("p", ctypes.c_float)]
class TDA(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(TD)), ("size", ctypes.c_size_t), ("selected", ctypes.c_int64), ("sorted", ctypes.c_bool)]
vp = ctypes.c_void_p
def fn(name, res, *args):
    g = getattr(lib, name); g.restype = res; g.argtypes = list(args); return g
apply_ = fn("llama_sampler_apply", None, vp, ctypes.POINTER(TDA))
accept = fn("llama_sampler_accept", None, vp, ctypes.c_int32)
free = fn("llama_sampler_free", None, vp)
name_ = fn("llama_sampler_name", ctypes.c_char_p, vp)
init_grammar = fn("llama_sampler_init_grammar", vp, vp, ctypes.c_char_p, ctypes.c_char_p)
init_infill = fn("llama_sampler_init_infill", vp, vp)
init_top_k = fn("llama_sampler_init_top_k", vp, ctypes.c_int32)
chain_init = fn("llama_sampler_chain_init", vp, ctypes.c_bool)
chain_add = fn("llama_sampler_chain_add", None, vp, vp)
class LB(ctypes.Structure):
    _fields_ = [("token", ctypes.c_int32), ("bias", ctypes.c_float)]
init_lb = fn("llama_sampler_init_logit_bias", vp, ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(LB))
init_dry = fn("llama_sampler_init_dry", vp, vp, ctypes.c_float, ctypes.c_float, ctypes.c_int32, ctypes.c_int32,
              ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t)

def fhex(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]

def fnv(vals):
    h = 0xcbf29ce484222325
    for v in vals:
        for b in struct.pack("<I", v & 0xFFFFFFFF):
            h ^= b
            h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h

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

import numpy as np
def small_logits(seed, n):
    g = XorShift(seed * 2654435761 + 1)
    return [float(np.float32(float(g.next() % 2001) - 1000.0) / np.float32(3000.0)) for _ in range(n)]

n_vocab = M.n_vocab
print("vocab %s %d" % (os.path.basename(vocab_path), n_vocab))
SEED = [100]

def run(name, spec, smpl, accepts):
    """accepts: tokens accepted one per round before each apply (first round accepts none)."""
    print("case " + name)
    print("chain " + spec)
    print("names " + name_(smpl).decode())
    rounds = [[]] + [([t] if t is not None else []) for t in accepts]
    for acc in rounds:
        print("round")
        if acc:
            for t in acc:
                accept(smpl, t)
            print("accept " + " ".join(map(str, acc)))
        seed = SEED[0]; SEED[0] += 1
        lg = small_logits(seed, n_vocab)
        buf = (TD * n_vocab)()
        for k in range(n_vocab):
            buf[k].id = k; buf[k].logit = lg[k]; buf[k].p = 0.0
        base = ctypes.addressof(buf)
        arr = TDA(buf, n_vocab, -1, False)
        print("in %d %d small" % (seed, n_vocab))
        apply_(smpl, ctypes.byref(arr))
        off = (ctypes.cast(arr.data, vp).value - base) // ctypes.sizeof(TD)
        print("out %d %d %d %d" % (arr.size, arr.selected, int(arr.sorted), off))
        m = min(arr.size, 48)
        print("outdata " + " ".join("%d:%08x:%08x" % (arr.data[k].id, fhex(arr.data[k].logit), fhex(arr.data[k].p)) for k in range(m)))
        ents = []
        for k in range(arr.size):
            ents += [arr.data[k].id, fhex(arr.data[k].logit), fhex(arr.data[k].p)]
        print("hash %016x" % fnv(ents))
    print("end")
    free(smpl)

GRAMMARS = [
    ("json", r'''root   ::= object
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
value  ::= object | array | string | number | ("true" | "false" | "null") ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
''', '{"a": [1, 2.5, "x\\u00e9"], "b": true, "c": "h\u00e9llo"}'),
    ("arith", "root ::= expr\nexpr ::= term ([-+*/] term)*\nterm ::= [0-9]+ | \"(\" expr \")\"\n", "(12+3)*4-(5/6)"),
    ("unicode", "root ::= \"h\u00e9llo\" \" \" [\u03b1-\u03c9]+ .? \"!\"\n# comment\n", "h\u00e9llo \u03b1\u03b2\u03b3!"),
    ("repeat", "root ::= (\"ab\"){2,3} [xyz]{1,} \"-\"? [0-9]{2}\n", "ababxzy-42"),
    ("alt-empty", "root ::= item+\nitem ::= (\"yes\" | \"no\" | ) \",\" [ ]*\n", "yes, no,,yes,"),
    ("tokens", "root ::= \"x\" !<[1000]>* <[%d]>\n" % 1000, None),
]

for gname, g, text in GRAMMARS:
    # SPM tokenisations start with a space: allow one before the original root
    g = 'root ::= " "? start\n' + g.replace("root ", "start ", 1)
    toks = M.tokenize(text, add_special=False, parse_special=False) if text else []
    smpl = init_grammar(M.vocab, g.encode(), b"root")
    assert smpl, gname
    run("grammar_" + gname, "grammar:%s:root" % g.encode().hex(), smpl, toks[:12])

# lazy grammar: unconstrained until the trigger token, then constrained from its text on
init_lazy = fn("llama_sampler_init_grammar_lazy_patterns", vp, vp, ctypes.c_char_p, ctypes.c_char_p,
               ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t)
lazy_text = "hello world call(abc)"
lazy_toks = M.tokenize(lazy_text, add_special=False, parse_special=False)
call_tok = [t for t in lazy_toks if M.token_to_piece(t).strip() == "call"] if hasattr(M, "token_to_piece") else []
if not call_tok:
    # find the token whose piece ends in "call"
    for t in lazy_toks:
        buf = ctypes.create_string_buffer(64)
        n = lib.llama_token_to_piece(M.vocab, t, buf, 64, 0, True)
        if buf.raw[:n].strip() == b"call":
            call_tok = [t]
            break
lg_text = 'root ::= " "? "call(" [a-z]+ ")" [ ]?\n'
trig = (ctypes.c_int32 * 1)(call_tok[0])
smpl = init_lazy(M.vocab, lg_text.encode(), b"root", None, 0, trig, 1)
assert smpl
run("grammar_lazy", "grammar_lazy:%s:root:%d" % (lg_text.encode().hex(), call_tok[0]), smpl, lazy_toks[:8])

DRY = [
    ("basic", 0.8, 1.75, 2, 64, ["\n", ":", "\"", "*"], "one two three four: one two three four: one two three"),
    ("nobreak", 1.5, 1.2, 1, 32, [], "the cat sat on the mat and the cat sat on the"),
    ("long", 0.8, 1.75, 2, 16, ["\n"], "a b c d e f g h a b c d e f g h a b c d"),
]
for dname, mult, base, allowed, lastn, breakers, text in DRY:
    toks = M.tokenize(text, add_special=False, parse_special=False)
    arr = (ctypes.c_char_p * max(1, len(breakers)))(*[b.encode() for b in breakers])
    smpl = init_dry(M.vocab, mult, base, allowed, lastn, arr, len(breakers))
    bhex = ",".join(b.encode().hex() for b in breakers) or "-"
    # all tokens accepted up front (first round), then one more apply per extra round
    print("case dry_" + dname)
    print("chain dry:%s:%s:%d:%d:%s" % (repr(mult), repr(base), allowed, lastn, bhex))
    print("names " + name_(smpl).decode())
    for t in toks:
        accept(smpl, t)
    print("round")
    print("accept " + " ".join(map(str, toks)))
    seed = SEED[0]; SEED[0] += 1
    lg = small_logits(seed, n_vocab)
    buf = (TD * n_vocab)()
    for k in range(n_vocab):
        buf[k].id = k; buf[k].logit = lg[k]; buf[k].p = 0.0
    arr2 = TDA(buf, n_vocab, -1, False)
    print("in %d %d small" % (seed, n_vocab))
    apply_(smpl, ctypes.byref(arr2))
    print("out %d %d %d %d" % (arr2.size, arr2.selected, int(arr2.sorted), 0))
    print("outdata " + " ".join("%d:%08x:%08x" % (arr2.data[k].id, fhex(arr2.data[k].logit), fhex(arr2.data[k].p)) for k in range(48)))
    ents = []
    for k in range(arr2.size):
        ents += [arr2.data[k].id, fhex(arr2.data[k].logit), fhex(arr2.data[k].p)]
    print("hash %016x" % fnv(ents))
    print("end")
    free(smpl)

# infill after logit bias + top-k: prefix merging, thresholds, the EOG branch, the EOT fallback
def infill_case(name, biases, rounds):
    ch = chain_init(True)
    arr = (LB * len(biases))(*[LB(t, b) for t, b in biases])
    chain_add(ch, init_lb(n_vocab, len(biases), arr))
    chain_add(ch, init_top_k(20))
    chain_add(ch, init_infill(M.vocab))
    spec = "logit_bias:%d:%s top_k:20 infill" % (n_vocab, ",".join("%d=%s" % (t, repr(b)) for t, b in biases))
    run(name, spec, ch, [None] * (rounds - 1))

def toks_of(words):
    out = []
    for w in words:
        t = M.tokenize(w, add_special=False, parse_special=False)
        out.append(t[-1])
    return out

hel = toks_of(["he", "hel", "hell", "hello"])
infill_case("infill_prefix", [(t, 6.0 + i * 0.5) for i, t in enumerate(hel)], 2)
infill_case("infill_spread", list(zip(toks_of(["cat", "dog", "bird"]), [5.0, 4.8, 4.5])), 1)
infill_case("infill_mixed", list(zip(toks_of(["hello", "world", "he", "wor", "x"]), [6.0, 5.8, 5.0, 4.9, 4.0])), 1)
infill_case("infill_eog", [(M.eos, 9.0)] + [(t, 4.0) for t in toks_of(["cat", "dog"])], 1)
infill_case("infill_none", [], 1)

#!/usr/bin/env python3
"""Record upstream libllama's vocabulary behaviour for tests/vocab_ref/*.ref.

For every ../shared/data/vocab/ggml-vocab-*.gguf: the special ids and flags, the
end-of-generation set, non-normal token attributes, and for each test text (the
.inp strings plus edge cases made of the vocab's own special-token strings) under
all four add_special/parse_special settings: llama_tokenize, llama_detokenize with
remove_special false/true (unparse_special = parse_special) and
llama_token_to_piece of each token (special = parse_special).

    LLAMA_LIB_DIR=/path/to/upstream/lib python3 scripts/make_vocab_refs.py

Output format (one record per line, byte strings in hex, lists space-separated):
    meta <key> <value>
    eog <ids>
    attr <id>:<attr> ...          (tokens whose attribute is not NORMAL)
    case <add_special> <parse_special> <text hex>
    tok <ids>
    detok <hex>                   (remove_special = false)
    detok_rs <hex>                (remove_special = true)
    pieces <hex> <hex> ...        ('-' for an empty piece)
"""
import ctypes
import glob
import os
import sys
from ctypes import c_bool, c_char_p, c_float, c_int32, c_void_p

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "tools"))
import llama_ctypes as lc  # noqa: E402

SEP = b"\n__ggml_vocab_test__\n"


def bind(L):
    """Declare the vocab getters that llama_ctypes does not bind."""
    lib = L.lib
    P = c_void_p
    for name, res in [("llama_vocab_eot", c_int32), ("llama_vocab_sep", c_int32), ("llama_vocab_nl", c_int32),
                      ("llama_vocab_pad", c_int32), ("llama_vocab_mask", c_int32),
                      ("llama_vocab_fim_pre", c_int32), ("llama_vocab_fim_suf", c_int32),
                      ("llama_vocab_fim_mid", c_int32), ("llama_vocab_fim_pad", c_int32),
                      ("llama_vocab_fim_rep", c_int32), ("llama_vocab_fim_sep", c_int32),
                      ("llama_vocab_get_add_bos", c_bool), ("llama_vocab_get_add_eos", c_bool),
                      ("llama_vocab_get_add_sep", c_bool), ("llama_vocab_type", c_int32)]:
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = [P]
    lib.llama_vocab_get_attr.restype = c_int32
    lib.llama_vocab_get_attr.argtypes = [P, c_int32]
    lib.llama_vocab_get_text.restype = c_char_p
    lib.llama_vocab_get_text.argtypes = [P, c_int32]
    return lib


def record(L, lib, path, texts, extras=True):
    """Reference lines for one vocabulary file and its test texts (see the module doc)."""
    m = lc.Model(L, path, vocab_only=True)
    v = m.vocab
    n = m.n_vocab
    lines = []
    meta = {"n_tokens": n, "type": lib.llama_vocab_type(v), "bos": m.bos, "eos": m.eos}
    for k in ["eot", "sep", "nl", "pad", "mask", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep",
              "fim_sep"]:
        meta[k] = getattr(lib, "llama_vocab_" + k)(v)
    for k in ["add_bos", "add_eos", "add_sep"]:
        meta[k] = int(getattr(lib, "llama_vocab_get_" + k)(v))
    for k, val in meta.items():
        lines.append(f"meta {k} {val}")
    lines.append("eog " + " ".join(str(t) for t in range(n) if m.is_eog(t)))
    attrs = [(t, lib.llama_vocab_get_attr(v, t)) for t in range(n)]
    lines.append("attr " + " ".join(f"{t}:{a}" for t, a in attrs if a != 4))
    specials = [t for t, a in attrs if a & (8 | 16 | 1)][:24]
    sp_texts = [lib.llama_vocab_get_text(v, t) for t in specials]
    extra = [b"", b" ", b"   \n\n  \t ", b"\xff\xfe invalid \xc3 utf8 \xe2\x82", b"".join(sp_texts),
             b" ".join(sp_texts), b"  " + b"  x ".join(sp_texts) + b"\n", b"a" * 300 + b" " * 300 + b"\n" * 50]
    for text in texts + (extra if extras else []):
        for add_special in (0, 1):
            for parse_special in (0, 1):
                toks = m.tokenize(text, add_special=bool(add_special), parse_special=bool(parse_special))
                d0 = m.detokenize(toks, remove_special=False, unparse_special=bool(parse_special))
                d1 = m.detokenize(toks, remove_special=True, unparse_special=bool(parse_special))
                pcs = [m.token_to_piece(t, special=bool(parse_special)).hex() or "-" for t in toks]
                lines.append(f"case {add_special} {parse_special} {text.hex() or '-'}")
                lines.append("tok " + " ".join(map(str, toks)))
                lines.append("detok " + (d0.hex() or "-"))
                lines.append("detok_rs " + (d1.hex() or "-"))
                lines.append("pieces " + " ".join(pcs))
    m.close()
    return lines


def main() -> None:
    L = lc.Llama(os.environ.get("LLAMA_LIB_DIR"))
    lib = bind(L)
    vdir = os.path.join(ROOT, "..", "shared", "data", "vocab")
    outdir = os.path.join(ROOT, "tests", "vocab_ref")
    os.makedirs(outdir, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(vdir, "ggml-vocab-*.gguf"))):
        if not os.path.exists(path + ".inp"):
            continue
        texts = open(path + ".inp", "rb").read().split(SEP)[:-1]
        lines = record(L, lib, path, texts)
        out = os.path.join(outdir, os.path.basename(path)[len("ggml-vocab-"):-len(".gguf")] + ".ref")
        with open(out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(out, len(lines))


if __name__ == "__main__":
    main()

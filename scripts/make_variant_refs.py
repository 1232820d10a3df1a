#!/usr/bin/env python3
"""Record upstream libllama on synthetic variants of the shared vocabularies, to cover code
paths no shipped vector file reaches: UGM (T5) built from the llama-spm tokens, a Gemma-4 style
BPE (tokenizer model "gemma4") with merges derived from the llama-spm vocabulary, BERT without
lowercasing, SPM without the space prefix and with EOS, BPE with BOS and EOS.

    LLAMA_LIB_DIR=/path/to/upstream/lib python3 scripts/make_variant_refs.py

Writes tests/vocab_ref/variants.ref: for each variant a line
    variant <label> <base vocab name> [key=value ...]
followed by the records of make_vocab_refs.py.  `merges=spm` means: merges derived from the
tokens as `derive_merges` below does (tests/vocab_reference.rs derives the same list).
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_vocab_refs as mvr  # noqa: E402
import gguf  # noqa: E402

ROOT = mvr.ROOT
VARIANTS = [
    ("t5-spm", "llama-spm", {"model": "t5"}),
    ("t5-spm-ws", "llama-spm", {"model": "t5", "add_space_prefix": True, "remove_extra_whitespaces": True}),
    ("gemma4-spm", "llama-spm", {"model": "gemma4", "merges": "spm"}),
    ("bert-nolower", "bert-bge", {"lowercase": False}),
    ("spm-noprefix-eos", "llama-spm", {"add_space_prefix": False, "add_eos": True}),
    ("gpt2-bos-eos", "gpt-2", {"add_bos": True, "add_eos": True}),
    # ASCII texts only: upstream's RWKV loop never ends on a byte path that holds no token
    ("rwkv-gpt2", "gpt-2", {"model": "rwkv", "unk": 0}),
    ("test-gpt2", "gpt-2", {"model": "test"}),
    ("plamo2-spm", "llama-spm", {"model": "plamo2"}),
    ("whitespace-gpt2", "gpt-2", {"model": "whitespace", "pre": "whitespace"}),
]
KEYS = {
    "model": ("tokenizer.ggml.model", gguf.GGUFValueType.STRING),
    "add_space_prefix": ("tokenizer.ggml.add_space_prefix", gguf.GGUFValueType.BOOL),
    "remove_extra_whitespaces": ("tokenizer.ggml.remove_extra_whitespaces", gguf.GGUFValueType.BOOL),
    "lowercase": ("tokenizer.ggml.normalizer.lowercase", gguf.GGUFValueType.BOOL),
    "add_bos": ("tokenizer.ggml.add_bos_token", gguf.GGUFValueType.BOOL),
    "add_eos": ("tokenizer.ggml.add_eos_token", gguf.GGUFValueType.BOOL),
    "unk": ("tokenizer.ggml.unknown_token_id", gguf.GGUFValueType.UINT32),
    "pre": ("tokenizer.ggml.pre", gguf.GGUFValueType.STRING),
}


def derive_merges(tokens):
    """For each token (id order) and each split into two tokens (left to right): 'left right'."""
    have = set(tokens)
    out = []
    for t in tokens:
        for k in range(1, len(t)):
            a, b = t[:k], t[k:]
            if a in have and b in have and " " not in a and " " not in b:
                out.append(a + " " + b)
    return out


def main() -> None:
    L = mvr.lc.Llama(os.environ.get("LLAMA_LIB_DIR"))
    lib = mvr.bind(L)
    vdir = os.path.join(ROOT, "..", "shared", "data", "vocab")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, base, over in VARIANTS:
            src = os.path.join(vdir, f"ggml-vocab-{base}.gguf")
            r = gguf.GGUFReader(src)
            path = os.path.join(tmp, label + ".gguf")
            w = gguf.GGUFWriter(path, r.fields["general.architecture"].contents())
            seen = set()
            tokens = r.fields["tokenizer.ggml.tokens"].contents()
            for k, f in r.fields.items():
                if k.startswith("GGUF.") or k == "general.architecture":
                    continue
                val = f.contents()
                for ok, (key, _) in KEYS.items():
                    if key == k and ok in over:
                        val = over[ok]
                        seen.add(ok)
                sub = f.types[1] if len(f.types) > 1 else None
                w.add_key_value(k, val, f.types[0], sub_type=sub)
            for ok, val in over.items():
                if ok in KEYS and ok not in seen:
                    w.add_key_value(KEYS[ok][0], val, KEYS[ok][1])
            if over.get("merges") == "spm":
                w.add_key_value("tokenizer.ggml.merges", derive_merges(tokens), gguf.GGUFValueType.ARRAY,
                                sub_type=gguf.GGUFValueType.STRING)
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            texts = open(src + ".inp", "rb").read().split(mvr.SEP)[:-1][:24]
            ascii_only = over.get("model") == "rwkv"
            if ascii_only:
                texts = [t for t in texts if t.isascii()]
            lines.append(f"variant {label} {base} " + " ".join(f"{k}={v}" for k, v in over.items()))
            lines += mvr.record(L, lib, path, texts, extras=not ascii_only)
            print(label, file=sys.stderr)
    out = os.path.join(ROOT, "tests", "vocab_ref", "variants.ref")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(out, len(lines))


if __name__ == "__main__":
    main()

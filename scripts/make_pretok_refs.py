#!/usr/bin/env python3
"""Record upstream libllama's BPE pre-tokenizers for every `tokenizer.ggml.pre` name.

Each name is tried on a synthetic vocabulary: ggml-vocab-gpt-2.gguf with only
`tokenizer.ggml.pre` changed (written to a temporary folder), so that every
pre-tokenizer regex list upstream knows is exercised with real merges.  The
texts are the gpt-2 vector inputs plus strings aimed at the regex features
(digit groups, CJK, marks, punctuation classes, CR/LF, sentinels, ...).

    LLAMA_LIB_DIR=/path/to/upstream/lib python3 scripts/make_pretok_refs.py

Writes tests/vocab_ref/pretok.ref:
    text <hex>            (all texts first)
    pre <name>            (or: pre <name> error, when upstream refuses to load it)
    tok <ids>             (one line per text, in order; add_special = parse_special = false)
"""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "tools"))
import llama_ctypes as lc  # noqa: E402
import gguf  # noqa: E402

UP = "/work/up/llama_cpp_python-0.3.36/vendor/llama.cpp/src/llama-vocab.cpp"
SEP = b"\n__ggml_vocab_test__\n"
# upstream aborts on these with a gpt2 vocabulary (a space reaches the merge lookup)
SKIP = {"whitespace"}
EXTRA = [
    "1234567 12 123456 3.14159 1,000,000 ١٢٣ ½ ²",
    "日本語のテキストです。カタカナ ひらがな 漢字 한국어 텍스트 中文，标点！",
    "café naïve Ñandú e\u0301 a\u0308 \u0915\u093f\u0924\u093e\u092c",
    "Hello!!! ... (test) [x] {y} <z> $5 +3 ^ ~ | ` @ # % & * _ - = \\ / ; : ' \" ? ¿ ¡",
    "a\r\nb\n\n\rc \r\n\r\n  \t\t x\u00a0y\u2003z\u3000w",
    "IMGIMGABCZ <sentinel:12> IMGIMGAAAAZ",
    "مرحبا بالعالم ۔، नमस्ते। Привет, мир! Γειά σου Κόσμε",
    "I'M YOU'RE We'Ve they'LL it'S I'd 've",
    "      leading spaces and trailing      ",
    "😀😃 🦙🦙🦙 👨‍👩‍👧 ✅ ™ © ®",
    "camelCaseWords ALLCAPS lowerUPPERlower MiXeD123abc",
    "path/to/file.rs:42:7 https://example.com/a?b=c&d=e#f",
]


def main() -> None:
    names = []
    for n in re.findall(r'tokenizer_pre == "([^"]+)"', open(UP, encoding="utf-8").read()):
        if n not in names and n not in SKIP:
            names.append(n)
    L = lc.Llama(os.environ.get("LLAMA_LIB_DIR"))
    src = os.path.join(ROOT, "..", "shared", "data", "vocab", "ggml-vocab-gpt-2.gguf")
    raw = open(src + ".inp", "rb").read()
    texts = raw.split(SEP)[:-1] + [t.encode() for t in EXTRA]
    r = gguf.GGUFReader(src)
    lines = [f"text {t.hex() or '-'}" for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = os.path.join(tmp, "v.gguf")
            w = gguf.GGUFWriter(path, "gpt2")
            for k, f in r.fields.items():
                if k.startswith("GGUF.") or k == "general.architecture":
                    continue
                val = f.contents()
                if k == "tokenizer.ggml.pre":
                    val = name
                sub = f.types[1] if len(f.types) > 1 else None
                w.add_key_value(k, val, f.types[0], sub_type=sub)
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            try:
                m = lc.Model(L, path, vocab_only=True)
            except RuntimeError:
                lines.append(f"pre {name} error")
                continue
            lines.append(f"pre {name}")
            for t in texts:
                toks = m.tokenize(t, add_special=False, parse_special=False)
                lines.append("tok " + " ".join(map(str, toks)))
            m.close()
            print(name, file=sys.stderr)
    out = os.path.join(ROOT, "tests", "vocab_ref", "pretok.ref")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(out, len(lines))


if __name__ == "__main__":
    main()

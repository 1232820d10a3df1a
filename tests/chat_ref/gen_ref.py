#!/usr/bin/env python3
"""Record upstream libllama's llama_chat_apply_template outputs for tests/chat_upstream.rs.

Usage: gen_ref.py LIB_DIR TEST_CHAT_TEMPLATE_CPP VOCAB_DIR > tests/chat_ref/vectors.txt

Templates: every built-in name, every Jinja template string of upstream's
tests/test-chat-template.cpp, and the tokenizer.chat_template of each ../shared/data/vocab gguf.
Each record: the template (hex), the conversation index, add_ass, and upstream's return value and
output (hex). Byte strings are hex so that the file stays ASCII.
"""
import ctypes, glob, os, re, sys

lib_dir, cpp_path, vocab_dir = sys.argv[1:4]
for n in ["libggml-base.so", "libggml-cpu.so", "libggml.so"]:
    p = os.path.join(lib_dir, n)
    if os.path.exists(p):
        ctypes.CDLL(p, mode=ctypes.RTLD_GLOBAL)
L = ctypes.CDLL(os.path.join(lib_dir, "libllama.so"), mode=ctypes.RTLD_GLOBAL)

class Msg(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]
apply_ = L.llama_chat_apply_template
apply_.restype = ctypes.c_int32
apply_.argtypes = [ctypes.c_char_p, ctypes.POINTER(Msg), ctypes.c_size_t, ctypes.c_bool, ctypes.c_char_p, ctypes.c_int32]
builtin = L.llama_chat_builtin_templates
builtin.restype = ctypes.c_int32
builtin.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t]

# conversations (index = position here); kept in sync with tests/chat_upstream.rs
CONVS = [
    [("system", "You are a helpful assistant"), ("user", "Hello"), ("assistant", "Hi there"),
     ("user", "Who are you"), ("assistant", "   I am an assistant   "), ("user", "Another question")],
    [("user", "Hello"), ("assistant", " Hi! \n"), ("user", "\tbye\n")],
    [("system", " sys \n"), ("system", "second sys"), ("user", "q"), ("tool", "tool out"),
     ("assistant_tool_call", "call()"), ("function", "fn"), ("assistant", "a"), ("", "empty role")],
    [],
    [("user", "héllo wörld — ✓")],
]

def hx(b):
    return b.hex() if b else "-"

def record(tmpl_bytes):
    print("tmpl %s" % (hx(tmpl_bytes) if tmpl_bytes is not None else "NULL"))
    for ci, conv in enumerate(CONVS):
        msgs = (Msg * max(1, len(conv)))(*[Msg(r.encode(), c.encode()) for r, c in conv])
        for add_ass in (False, True):
            buf = ctypes.create_string_buffer(1 << 16)
            res = apply_(tmpl_bytes, msgs, len(conv), add_ass, buf, len(buf))
            out = buf.raw[:res] if res > 0 else b""
            print("r %d %d %d %s" % (ci, int(add_ass), res, hx(out)))

n = builtin(None, 0)
names = (ctypes.c_char_p * n)()
builtin(names, n)
print("builtin " + " ".join(x.decode() for x in names))

for x in names:
    record(x)
record(None)
record(b"INVALID TEMPLATE")
record(b"mistral-something")

def c_unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            d = s[i + 1]
            out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r"}.get(d, "\\" + d))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)

src = open(cpp_path, encoding="utf-8").read()
n_cpp = 0
for m in re.finditer(r'/\* \.template_str= \*/\s*(?:U8C\(|u8)?"((?:[^"\\]|\\.)*)"', src):
    record(c_unescape(m.group(1)).encode())
    n_cpp += 1
print("# %d templates from test-chat-template.cpp" % n_cpp, file=sys.stderr)

sys.path.insert(0, "/work/up/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py")
import gguf
for path in sorted(glob.glob(os.path.join(vocab_dir, "*.gguf"))):
    r = gguf.GGUFReader(path)
    f = r.fields.get("tokenizer.chat_template")
    if f is None:
        continue
    t = bytes(f.parts[f.data[0]])
    print("# vocab %s" % os.path.basename(path))
    record(t)

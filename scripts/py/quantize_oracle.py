#!/usr/bin/env python3
"""Upstream oracle for ferrollama's reference quantizers (dev tool, not used by CI).

Builds a deterministic set of f32 rows (the same generator as `oracle_rows` in
tests/quantize_parity.rs: splitmix64, values m * 2^e computed exactly, 13 kinds of
32-value blocks: uniform, bell, zeros, single non-zero, tiny, exact ties, constant,
all positive, all negative, sparse, outlier, subnormal, large), quantizes them with
upstream's libggml-base.so through ctypes, and prints one FNV-1a 64 hash of the output
bytes per type, in the form of the table in tests/quantize_parity.rs.

    python scripts/py/quantize_oracle.py --lib /work/up/venv/lib/python3.11/site-packages/llama_cpp/lib
    python scripts/py/quantize_oracle.py --lib DIR --out /tmp/qoracle    # also write raw bytes
    python scripts/py/quantize_oracle.py --lib DIR --special             # NaN / inf / extreme rows
    python scripts/py/quantize_oracle.py --lib DIR --imatrix             # with importance weights

With --out DIR the raw upstream output of each type goes to DIR/<type>.bin (and the
input rows to DIR/input.f32); running the Rust tests with FERROLLAMA_QUANT_ORACLE_DIR=DIR
then compares those bytes too (reporting the first differing row and byte). --rows and
--seed make bigger or other input sets for such a one-off check; the hashes recorded in
the Rust test are for the defaults.

    python scripts/py/quantize_oracle.py --lib DIR --out /tmp/qbig --rows 20000 --seed 7
    FERROLLAMA_QUANT_ORACLE_DIR=/tmp/qbig cargo test --release --test quantize_parity

Upstream entry points: ggml_quantize_chunk(type, src, dst, 0, nrows, n_per_row, NULL)
for every type it takes (what llama_model_quantize calls without an imatrix), and
quantize_row_q8_1_ref / quantize_row_q8_K_ref for Q8_1 and Q8_K, which it does not take.
"""

import argparse
import ctypes
import os
import sys

import numpy as np

N_PER_ROW = 256
N_ROWS = 96
N_KINDS = 13
MASK64 = (1 << 64) - 1

# (name, ggml_type number, block size, bytes per block)
TYPES = [
    ("f16", 1, 1, 2), ("bf16", 30, 1, 2),
    ("q4_0", 2, 32, 18), ("q4_1", 3, 32, 20), ("q5_0", 6, 32, 22), ("q5_1", 7, 32, 24),
    ("q8_0", 8, 32, 34), ("q8_1", 9, 32, 36),
    ("q2_K", 10, 256, 84), ("q3_K", 11, 256, 110), ("q4_K", 12, 256, 144),
    ("q5_K", 13, 256, 176), ("q6_K", 14, 256, 210), ("q8_K", 15, 256, 292),
    ("iq4_nl", 20, 32, 18), ("iq4_xs", 23, 256, 136), ("mxfp4", 39, 32, 17),
    ("nvfp4", 40, 64, 36), ("q1_0", 41, 128, 18), ("q2_0", 42, 64, 18),
    ("tq1_0", 34, 256, 54), ("tq2_0", 35, 256, 66), ("iq3_s", 21, 256, 110),
]
# Upstream may abort on these (IQ3_S asserts that every block scale is >= 0, which fails
# once a sum overflows: non-finite input, or |x| around 1e15), so they run in a child process.
MAY_ABORT = {"iq3_s"}
# ggml-cpu's from_float where it differs from ggml_quantize_chunk: IQ4_NL takes
# quantize_row_iq4_nl_ref (called per row, as ggml_cpy / set_rows do). Its all-zero blocks
# carry stale or uninitialised levels, so the nibbles of every block with d == 0 are
# zeroed before hashing, here and in the Rust test.
TYPES.append(("iq4_nl.from_float", 20, 32, 18))


class Rng:
    """splitmix64."""

    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def m(self):
        """A signed 24-bit mantissa in [-2^23, 2^23)."""
        return (self.next() >> 40) - (1 << 23)


def val(m, e):
    return float(m) * 2.0 ** e


def block(rng, kind):
    v = [0.0] * 32
    if kind == 0:  # uniform
        s = rng.below(25) - 12
        for j in range(32):
            v[j] = val(rng.m(), s - 23)
    elif kind == 1:  # bell-shaped
        s = rng.below(25) - 12
        for j in range(32):
            a = rng.m() >> 2
            b = rng.m() >> 2
            c = rng.m() >> 2
            v[j] = val(a + b + c, s - 23)
    elif kind == 2:  # zeros
        pass
    elif kind == 3:  # a single non-zero value
        idx = rng.below(32)
        m = rng.m()
        s = rng.below(25) - 12
        v[idx] = val(m, s - 23)
    elif kind == 4:  # tiny (below GROUP_MAX_EPS)
        for j in range(32):
            v[j] = val(rng.m(), -23 - 70)
    elif kind == 5:  # multiples of 1/4: exact ties
        for j in range(32):
            v[j] = val(rng.below(33) - 16, -2)
    elif kind == 6:  # constant
        m = rng.m()
        s = rng.below(25) - 12
        for j in range(32):
            v[j] = val(m, s - 23)
    elif kind == 7:  # all positive
        s = rng.below(25) - 12
        for j in range(32):
            v[j] = val(abs(rng.m()), s - 23)
    elif kind == 8:  # all non-positive
        s = rng.below(25) - 12
        for j in range(32):
            v[j] = val(-abs(rng.m()), s - 23)
    elif kind == 9:  # sparse
        s = rng.below(25) - 12
        for j in range(32):
            if rng.next() & 1:
                v[j] = val(rng.m(), s - 23)
    elif kind == 10:  # one outlier
        s = rng.below(13) - 12
        idx = rng.below(32)
        for j in range(32):
            v[j] = val(rng.m(), s - 23)
        v[idx] = val(rng.m(), s - 23 + 10)
    elif kind == 11:  # subnormal
        for j in range(32):
            v[j] = val(rng.m(), -23 - 130)
    elif kind == 12:  # large
        s = 12 + rng.below(4)
        for j in range(32):
            v[j] = val(rng.m(), s - 23)
    return v


def oracle_rows(n_rows=N_ROWS, seed=0x5EED_2026):
    rng = Rng(seed)
    out = []
    for r in range(n_rows):
        whole = rng.below(N_KINDS) if r % 3 == 0 else None
        for _ in range(N_PER_ROW // 32):
            kind = whole if whole is not None else rng.below(N_KINDS)
            out.extend(block(rng, kind))
    return np.array(out, dtype=np.float32)


# Special values as f32 bit patterns: quiet NaN, negative NaN, 65520 (rounds to f16 inf),
# +-inf, +-FLT_MAX, FLT_MIN, the smallest subnormal, a negative subnormal, +-0, 1e30, -3e38.
# NaNs with other payloads are left out on purpose: when both operands of an operation are
# NaN, x86 keeps the first one's payload, so upstream's bytes then depend on the operand
# order GCC happened to pick (seen in Q2_K / Q4_K / Q5_K with a signalling NaN).
SPECIAL_BITS = [0x7FC00000, 0xFFC00000, 0x477FF000, 0x7F800000, 0xFF800000, 0x7F7FFFFF,
                0xFF7FFFFF, 0x00800000, 0x00000001, 0x800116C2, 0x00000000, 0x80000000,
                0x7149F2CA, 0xFF61B1E6]
N_SPECIAL_ROWS = 24


def special_rows():
    """Rows mixing non-finite and extreme values (the `special_rows` of the Rust test)."""
    sp = np.array(SPECIAL_BITS, dtype=np.uint32).view(np.float32)
    rng = Rng(0x0DD5)
    out = []
    for r in range(N_SPECIAL_ROWS):
        pattern = r % 3
        for i in range(N_PER_ROW):
            if pattern == 0:  # every element special
                out.append(sp[(i + r) % len(sp)])
            elif pattern == 1:  # one special value per 32-block
                out.append(sp[(i // 32 + r) % len(sp)])
            else:  # ordinary values with a special one every 37
                m = rng.m()
                out.append(sp[(i // 37 + r) % len(sp)] if i % 37 == r % 37 else np.float32(val(m, -23)))
    return np.array(out, dtype=np.float32)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return h


def load(lib):
    if os.path.isdir(lib):
        lib = os.path.join(lib, "libggml-base.so")
    g = ctypes.CDLL(lib)
    g.ggml_quantize_chunk.restype = ctypes.c_size_t
    g.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                      ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    for name in ("quantize_row_q8_1_ref", "quantize_row_q8_K_ref", "quantize_row_iq4_nl_ref"):
        f = getattr(g, name)
        f.restype = None
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    return g


IMATRIX_N_PER_ROW = 512


def imatrix_weights(n=IMATRIX_N_PER_ROW):
    """Importance weights (the `oracle_imatrix` of the Rust test): 1 in 16 zero, the rest
    m * 2^e with m in [1, 2^23] and e in [-22, -14]."""
    rng = Rng(0x1A7E)
    out = []
    for _ in range(n):
        if rng.below(16) == 0:
            out.append(0.0)
        else:
            m = 1 + (rng.next() >> 41)
            out.append(val(m, -22 + rng.below(9)))
    return np.array(out, dtype=np.float32)


def quantize(g, name, tid, blck, size, x, imatrix=None):
    n_per_row = N_PER_ROW if imatrix is None else imatrix.size
    n_rows = x.size // n_per_row
    dst = np.zeros(n_rows * (n_per_row // blck) * size, dtype=np.uint8)
    src = x.ctypes.data_as(ctypes.c_void_p)
    out = dst.ctypes.data_as(ctypes.c_void_p)
    if name == "iq4_nl.from_float":
        for r in range(n_rows):
            g.quantize_row_iq4_nl_ref(ctypes.c_void_p(src.value + 4 * r * n_per_row),
                                      ctypes.c_void_p(out.value + r * (n_per_row // blck) * size), n_per_row)
        blocks = dst.reshape(-1, size)
        zero_d = (blocks[:, 0] == 0) & ((blocks[:, 1] & 0x7F) == 0)
        blocks[zero_d, 2:] = 0
    elif name == "q8_1":
        g.quantize_row_q8_1_ref(src, out, x.size)
    elif name == "q8_K":
        g.quantize_row_q8_K_ref(src, out, x.size)
    else:
        qw = None if imatrix is None else imatrix.ctypes.data_as(ctypes.c_void_p)
        n = g.ggml_quantize_chunk(tid, src, out, 0, n_rows, n_per_row, qw)
        if n != dst.size:
            raise RuntimeError(f"{name}: ggml_quantize_chunk wrote {n} bytes, expected {dst.size}")
    return dst


def quantize_guarded(g, name, tid, blck, size, x, imatrix=None):
    """`quantize` in a forked child; None when upstream aborts."""
    import tempfile
    with tempfile.NamedTemporaryFile() as tmp:
        pid = os.fork()
        if pid == 0:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                quantize(g, name, tid, blck, size, x, imatrix).tofile(tmp.name)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            return None
        return np.fromfile(tmp.name, dtype=np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default=os.environ.get("LLAMA_LIB_DIR"),
                    help="libggml-base.so or the folder holding it (default $LLAMA_LIB_DIR)")
    ap.add_argument("--out", help="also write input.f32 and <type>.bin here")
    ap.add_argument("--rows", type=int, default=N_ROWS, help=f"rows of {N_PER_ROW} values (default {N_ROWS})")
    ap.add_argument("--seed", type=lambda v: int(v, 0), default=0x5EED_2026, help="generator seed")
    ap.add_argument("--special", action="store_true", help="quantize the special-value rows instead")
    ap.add_argument("--imatrix", action="store_true",
                    help=f"pass importance weights (rows of {IMATRIX_N_PER_ROW}; written to imatrix.f32 with --out)")
    ap.add_argument("--input", help="quantize this raw little-endian f32 file (a multiple of 256 values) "
                    "instead of the generated rows")
    a = ap.parse_args()
    if not a.lib:
        ap.error("--lib is required")
    g = load(a.lib)
    if a.input:
        x = np.fromfile(a.input, dtype="<f4")
        if x.size == 0 or x.size % N_PER_ROW:
            ap.error(f"{a.input}: {x.size} values, not a multiple of {N_PER_ROW}")
    elif a.special:
        x = special_rows()
    else:
        x = oracle_rows(a.rows, a.seed)
    imatrix = imatrix_weights() if a.imatrix else None
    if imatrix is not None and x.size % imatrix.size:
        ap.error(f"{x.size} values are not rows of {imatrix.size}")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        x.tofile(os.path.join(a.out, "input.f32"))
        if imatrix is not None:
            imatrix.tofile(os.path.join(a.out, "imatrix.f32"))
    # FNV in pure Python is slow: hash only small sets (the recorded default is 96 KiB).
    small = x.nbytes <= (1 << 20)

    def h(b):
        return f"0x{fnv1a64(b):016x}" if small else "None /* not hashed */"

    what = "special rows" if a.special else a.input if a.input else f"seed {a.seed:#x}"
    n_per_row = N_PER_ROW if imatrix is None else imatrix.size
    if imatrix is not None:
        what += f", imatrix fnv1a64 = {h(imatrix.tobytes())}"
    print(f"// {x.size // n_per_row} rows x {n_per_row}, {what}; input fnv1a64 = {h(x.tobytes())}")
    for name, tid, blck, size in TYPES:
        if name in MAY_ABORT:
            y = quantize_guarded(g, name, tid, blck, size, x, imatrix)
            if y is None:
                print(f"    // {name}: skipped, upstream aborts on this input")
                continue
        else:
            y = quantize(g, name, tid, blck, size, x, imatrix)
        if a.out:
            y.tofile(os.path.join(a.out, f"{name}.bin"))
        print(f'    ("{name}", {h(y.tobytes())}),')
    return 0


if __name__ == "__main__":
    sys.exit(main())

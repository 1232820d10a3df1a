#!/usr/bin/env python3
"""Reference dequantization for tests/dequant_parity.rs.

Writes a binary stream of records to stdout; each record is one tensor (or one batch of
random blocks) with its raw bytes and the reference f32 values:

    b"REC1" | u32 name_len | name (utf-8) | u32 ggml_type | u64 n_elements
            | u64 raw_len | raw bytes | u32 oracle | n_elements * f32
    ...
    b"END!"

All integers little-endian. `oracle` says who produced the floats:
    0  gguf.quants.dequantize (the gguf Python package)
    1  upstream ggml's to_float (libggml-base via ctypes)
    2  a numpy formula in this script (types neither of the above covers)

usage:
    dequant_ref.py models [--no-raw] FILE.gguf...   every tensor of every file
                                       (--no-raw: raw_len 0, the reader under test supplies the bytes)
    dequant_ref.py random SEED N_BLOCKS     random blocks of every type
    dequant_ref.py types                    text, not records: "source number name block_size type_size"
                                            per type, from upstream ggml (if found) and gguf-py

Exit status 3 when numpy or gguf cannot be imported (the test turns that into a skip or a
failure depending on FERROLLAMA_REQUIRE_SHARED).
"""
import ctypes
import glob
import os
import struct
import sys

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import dequantize
except ImportError as e:  # pragma: no cover
    print(f"dequant_ref.py: {e}", file=sys.stderr)
    sys.exit(3)

ORACLE_GGUF, ORACLE_GGML, ORACLE_NUMPY = 0, 1, 2

# types newer than the gguf package, and Q8_1 whose size gguf-py 0.19.0 still gives as 40
# (the old f32 d/s layout; ggml's block_q8_1 has two f16 and is 36 bytes)
Q2_0 = getattr(T, "Q2_0", 42)
SIZE_OVERRIDES = {42: (64, 18), int(T.Q8_1): (32, 36)}


def quant_sizes(ty):
    return SIZE_OVERRIDES.get(int(ty)) or gguf.GGML_QUANT_SIZES[ty]


def type_name(ty):
    return ty.name if hasattr(ty, "name") else {42: "Q2_0"}[int(ty)]
out = sys.stdout.buffer


def emit(name, ty, n, raw, oracle, values):
    values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    assert values.size == n, (name, values.size, n)
    nb = name.encode()
    out.write(b"REC1" + struct.pack("<I", len(nb)) + nb + struct.pack("<IQQ", int(ty), n, len(raw)))
    out.write(raw)
    out.write(struct.pack("<I", oracle))
    out.write(values.tobytes())


# ---------------------------------------------------------------- upstream ggml via ctypes

class _Traits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


_TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)


def find_ggml():
    """libggml-base from $FERROLLAMA_GGML_LIB, $LLAMA_LIB_DIR or an installed llama_cpp."""
    cands = []
    for var in ("FERROLLAMA_GGML_LIB", "LLAMA_LIB_DIR"):
        v = os.environ.get(var)
        if v:
            cands += [v] if v.endswith(".so") else glob.glob(os.path.join(v, "libggml-base.so*"))
    try:
        import importlib.util
        spec = importlib.util.find_spec("llama_cpp")
        if spec and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                cands += glob.glob(os.path.join(loc, "lib", "libggml-base.so*"))
    except Exception:
        pass
    for c in cands:
        try:
            lib = ctypes.CDLL(c)
            lib.ggml_get_type_traits.restype = ctypes.POINTER(_Traits)
            lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
            print(f"dequant_ref.py: upstream ggml from {c}", file=sys.stderr)
            return lib
        except OSError:
            continue
    return None


def ggml_dequant(lib, ty, raw, n):
    tr = lib.ggml_get_type_traits(int(ty)).contents
    if tr.to_float:
        fn = _TO_FLOAT(tr.to_float)
    else:
        # Q8_K has no to_float in the traits table, but its dequantize_row_* is exported
        sym = getattr(lib, "dequantize_row_" + tr.type_name.decode(), None)
        if sym is None:
            return None
        fn = _TO_FLOAT(ctypes.cast(sym, ctypes.c_void_p).value)
    src = ctypes.create_string_buffer(bytes(raw), len(raw))
    dst = np.zeros(n, dtype=np.float32)
    fn(ctypes.cast(src, ctypes.c_void_p), dst.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n)
    return dst


# ---------------------------------------------------------------- numpy formulas

def np_formula(ty, blocks):
    """For types gguf-py 0.19.0 lacks. `blocks` is (n_blocks, type_size) uint8."""
    if ty == T.Q8_1:  # no upstream to_float; q * d as for Q8_0
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        return blocks[:, 4:].copy().view(np.int8).astype(np.float32) * d
    if ty == T.Q8_K:
        d = blocks[:, 0:4].copy().view(np.float32)
        return d * blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    if ty == T.Q1_0:
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        bits = np.unpackbits(blocks[:, 2:], axis=-1, bitorder="little")
        return np.where(bits != 0, d, -d)
    if ty == Q2_0:
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        q = blocks[:, 2:].reshape(-1, 16, 1) >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4)
        q = (q & 3).reshape(blocks.shape[0], -1).astype(np.int32) - 1
        return q.astype(np.float32) * d
    raise NotImplementedError(ty)


# ---------------------------------------------------------------- modes

def mode_models(paths):
    with_raw = True
    if paths and paths[0] == "--no-raw":
        with_raw, paths = False, paths[1:]
    for path in paths:
        r = gguf.GGUFReader(path)
        base = os.path.basename(path)
        for t in r.tensors:
            raw = np.ascontiguousarray(t.data).view(np.uint8).tobytes() if with_raw else b""
            vals = dequantize(t.data, t.tensor_type)
            emit(f"{base}:{t.name}", t.tensor_type, int(t.n_elements), raw, ORACLE_GGUF, vals)


# f16 scale fields (byte offsets) per type; every other byte is random
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.Q8_1: [0, 2],
    T.Q1_0: [0], Q2_0: [0], T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2],
    T.Q6_K: [208], T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0], T.IQ3_S: [0],
    T.IQ1_S: [0], T.IQ4_NL: [0], T.IQ4_XS: [0], T.TQ1_0: [52], T.TQ2_0: [64],
    T.IQ1_M: [], T.MXFP4: [], T.NVFP4: [], T.Q8_K: [],
}


def finite_f16(h):
    """Clear exponent bit 14 where the exponent is all ones (inf/NaN -> finite)."""
    bad = (h & 0x7C00) == 0x7C00
    return np.where(bad, h & 0xBFFF, h).astype(np.uint16)


def random_blocks(rng, ty, nb):
    bs, ts = quant_sizes(ty)
    b = rng.integers(0, 256, size=(nb, ts), dtype=np.uint8)
    for off in F16_FIELDS[ty]:
        h = b[:, off:off + 2].copy().view(np.uint16)
        b[:, off:off + 2] = finite_f16(h).view(np.uint8)
    if ty == T.Q8_K:
        d = (rng.standard_normal(nb) * 10.0 ** rng.uniform(-6, 6, nb)).astype(np.float32)
        b[:, 0:4] = d.reshape(nb, 1).view(np.uint8)
    if ty == T.IQ1_M:
        sc = b[:, 48:56].copy().view(np.uint16)
        d = (sc[:, 0] >> 12) | ((sc[:, 1] >> 8) & 0xF0) | ((sc[:, 2] >> 4) & 0xF00) | (sc[:, 3] & 0xF000)
        bad = (d & 0x7C00) == 0x7C00
        sc[:, 3] = np.where(bad, sc[:, 3] & 0xBFFF, sc[:, 3])
        b[:, 48:56] = sc.view(np.uint8)
    return b


RANDOM_TYPES = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q8_1, T.Q2_K, T.Q3_K, T.Q4_K,
                T.Q5_K, T.Q6_K, T.Q8_K, T.IQ2_XXS, T.IQ2_XS, T.IQ3_XXS, T.IQ1_S, T.IQ4_NL,
                T.IQ3_S, T.IQ2_S, T.IQ4_XS, T.IQ1_M, T.TQ1_0, T.TQ2_0, T.MXFP4, T.NVFP4,
                T.Q1_0, Q2_0]


def mode_random(seed, nb):
    rng = np.random.default_rng(seed)
    lib = find_ggml()
    # plain float types: random finite bit patterns
    for ty, dt in ((T.F16, np.uint16), (T.BF16, np.uint16)):
        n = 256 * nb
        h = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
        h = finite_f16(h) if ty == T.F16 else np.where((h & 0x7F80) == 0x7F80, h & 0xBFFF, h).astype(np.uint16)
        raw = h.view(np.uint8)
        emit(f"random:{type_name(ty)}", ty, n, raw.tobytes(), ORACLE_GGUF, dequantize(raw, ty))
    for ty in RANDOM_TYPES:
        bs, ts = quant_sizes(ty)
        blocks = random_blocks(rng, ty, nb)
        n = nb * bs
        raw = blocks.tobytes()
        try:
            if not isinstance(ty, T):
                raise NotImplementedError(ty)
            vals, oracle = dequantize(blocks, ty), ORACLE_GGUF
        except NotImplementedError:
            vals = ggml_dequant(lib, ty, raw, n) if lib is not None else None
            oracle = ORACLE_GGML
            if vals is None:
                vals, oracle = np_formula(ty, blocks), ORACLE_NUMPY
        emit(f"random:{type_name(ty)}", ty, n, raw, oracle, vals)
        # a second opinion from upstream C where gguf-py was the first
        if oracle == ORACLE_GGUF and lib is not None:
            c_vals = ggml_dequant(lib, ty, raw, n)
            if c_vals is not None:
                emit(f"random:{type_name(ty)}", ty, n, raw, ORACLE_GGML, c_vals)


def mode_types():
    lib = find_ggml()
    if lib is not None:
        for t in range(43):  # GGML_TYPE_COUNT of the pinned header
            tr = lib.ggml_get_type_traits(t).contents
            if tr.blck_size == 0:
                continue  # removed type numbers
            print(f"ggml {t} {tr.type_name.decode()} {tr.blck_size} {tr.type_size}")
    for ty, (bs, ts) in gguf.GGML_QUANT_SIZES.items():
        print(f"gguf-py {int(ty)} {ty.name} {bs} {ts}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "models":
        mode_models(sys.argv[2:])
    elif sys.argv[1] == "types":
        mode_types()
        return
    elif sys.argv[1] == "random":
        mode_random(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out.write(b"END!")
    out.flush()


if __name__ == "__main__":
    main()

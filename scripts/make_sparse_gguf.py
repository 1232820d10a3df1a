#!/usr/bin/env python3
"""Sparse GGUFs with the real shapes of huge models, for memory-plan and fit tests.

The header (metadata, tensor infos) is complete and exact; the data section is a hole
(the file is extended with truncate(), so it takes no disk space and reading it gives zeros).
Shapes and metadata keys come from ../shared/tools/make_model.py; tensor types follow the
quantization mixes of the seed reports (experts in IQ3_XXS or Q2_K, the rest Q8_0/Q4_K/Q6_K,
norms F32; rows that a k-quant cannot hold fall back to Q8_0, as upstream does).

    python3 scripts/make_sparse_gguf.py kimi-k2 /tmp/kimi-k2-sparse.gguf
    python3 scripts/make_sparse_gguf.py deepseek-r1 /tmp/deepseek-r1-sparse.gguf
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "tools"))

import gguf  # noqa: E402
import make_model as mm  # noqa: E402

Q = gguf.GGMLQuantizationType

# MLA is stored as MQA with larger heads (head_count_kv 1, key_length kv_lora_rank + rope), as
# upstream's converter writes it; the KV cache then holds the latent rows only.
DS_COMMON = dict(arch="deepseek2", vocab="ggml-vocab-deepseek-llm.gguf", n_embd=7168, n_layer=61,
                 n_head=128, n_head_kv=1, n_ff=18432, n_ff_exp=2048, n_expert_shared=1,
                 kv_lora_rank=512, q_lora_rank=1536, qk_rope_dim=64, qk_nope_dim=128,
                 v_head_dim=128, gating="sigmoid", expert_weights_scale=2.5,
                 expert_weights_norm=True, ctx_train=163840, rope_base=10000.0,
                 rope_scaling="yarn", rope_factor=40.0, rope_orig_ctx=4096, tied=False,
                 norm_eps=1e-6)

MODELS = {
    # Kimi-K2(.5)-like: 384 experts top-8, one leading dense layer, 64 heads, IQ3_XXS experts
    "kimi-k2": (dict(DS_COMMON, n_head=64, n_expert=384, n_expert_used=8,
                     n_dense_lead=1, expert_weights_scale=2.827, ctx_train=262144,
                     rope_factor=64.0, name="kimi-k2-sparse"),
                {"exps": Q.IQ3_XXS, "default": Q.Q4_K, "attn": Q.Q8_0, "output": Q.Q6_K}),
    # DeepSeek-R1 Q2_K: 256 experts top-8, three leading dense layers
    "deepseek-r1": (dict(DS_COMMON, n_expert=256, n_expert_used=8, n_dense_lead=3,
                         name="deepseek-r1-sparse"),
                    {"exps": Q.Q2_K, "default": Q.Q2_K, "attn": Q.Q4_K, "output": Q.Q6_K}),
}


def pick_type(name, ne0, n_dims, mix):
    if n_dims < 2:
        return Q.F32
    if "_exps." in name:
        want = mix["exps"]
    elif name.startswith("output.") or name.startswith("token_embd."):
        want = mix["output"]
    elif ".attn_" in name:
        want = mix["attn"]
    else:
        want = mix["default"]
    blck, _ = gguf.GGML_QUANT_SIZES[want]
    if ne0 % blck == 0:
        return want
    return Q.Q8_0 if ne0 % 32 == 0 else Q.F32


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(MODELS)}}} OUT.gguf")
    spec, mix = MODELS[sys.argv[1]]
    out = sys.argv[2]
    cfg = mm.Cfg(**spec)
    vocab_path = os.path.join(mm.VOCAB_DIR, cfg.vocab)
    tok, n_vocab = mm.load_tokenizer_kv(vocab_path, 0)
    kv, ts = mm.build(cfg, n_vocab)
    w = gguf.GGUFWriter(out, cfg.arch)
    for key, typ, val in kv:
        {"u32": lambda: w.add_uint32(key, int(val)), "f32": lambda: w.add_float32(key, float(val)),
         "bool": lambda: w.add_bool(key, bool(val)), "str": lambda: w.add_string(key, str(val))}[typ]()
    GT = gguf.GGUFValueType
    for key, (t, val, st) in tok.items():
        if t == mm._T_ARR:
            if st == mm._T_STR:
                w.add_key_value(key, list(val), GT.ARRAY, sub_type=GT.STRING)
            else:
                w.add_key_value(key, [x.item() for x in val], GT.ARRAY, sub_type=GT(st))
        else:
            w.add_key_value(key, val, GT(t))
    total = 0
    align = 32
    for t in ts:
        ne = list(reversed(t.shape))
        ty = pick_type(t.name, ne[0], len(ne), mix)
        blck, size = gguf.GGML_QUANT_SIZES[ty]
        n_bytes = ne[0] // blck * size
        for d in ne[1:]:
            n_bytes *= d
        byte_shape = tuple(t.shape[:-1]) + (ne[0] // blck * size,)
        w.add_tensor_info(t.name, byte_shape, gguf.np.dtype(gguf.np.uint8), n_bytes, raw_dtype=ty)
        total += (n_bytes + align - 1) // align * align
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    f = w.fout[0]
    f.flush()
    start = (f.tell() + align - 1) // align * align
    f.truncate(start + total)
    f.close()
    w.fout = None
    print(f"wrote {out}: {len(ts)} tensors, {start + total:,} bytes (sparse), n_vocab {n_vocab}")


if __name__ == "__main__":
    main()

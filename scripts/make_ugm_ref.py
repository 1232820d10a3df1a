#!/usr/bin/env python3
"""Build a small T5-style (UGM) vocabulary with a real precompiled_charsmap and record
upstream libllama on it, to test the unigram tokenizer with SentencePiece normalisation.

A unigram model is trained with the `sentencepiece` package (nmt_nfkc normalisation, so the
charsmap is non-trivial) on the shared vector inputs, written as
tests/vocab_ref/ugm-tiny.gguf (tokenizer.ggml.model = "t5"), and recorded to
tests/vocab_ref/ugm-tiny.ref in the format of make_vocab_refs.py.

    LLAMA_LIB_DIR=/path/to/upstream/lib python3 scripts/make_ugm_ref.py
"""
import glob
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_vocab_refs as mvr  # noqa: E402
import gguf  # noqa: E402
import sentencepiece as spm  # noqa: E402
from sentencepiece import sentencepiece_model_pb2 as pb  # noqa: E402

ROOT = mvr.ROOT


def main() -> None:
    vdir = os.path.join(ROOT, "..", "shared", "data", "vocab")
    texts = []
    for p in sorted(glob.glob(os.path.join(vdir, "*.inp"))):
        texts += [t.decode("utf-8", "replace") for t in open(p, "rb").read().split(mvr.SEP)[:-1]]
    corpus = [line for t in texts for line in t.split("\n") if line.strip()] * 3
    corpus += ["ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ and ① ② ㍻ ﬁ ligatures", "Ⅻ Ⓐ ㈱ ＡＢＣ １２３ ！？"] * 20
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=model, vocab_size=600,
                                   model_type="unigram", normalization_rule_name="nmt_nfkc",
                                   user_defined_symbols=["<extra_id_0>", "<extra_id_1>", "▁hello"],
                                   character_coverage=0.9995, hard_vocab_limit=False)
    m = pb.ModelProto()
    m.ParseFromString(model.getvalue())
    out_gguf = os.path.join(ROOT, "tests", "vocab_ref", "ugm-tiny.gguf")
    w = gguf.GGUFWriter(out_gguf, "t5")
    w.add_string("general.name", "ugm-tiny")
    w.add_string("tokenizer.ggml.model", "t5")
    w.add_token_list([p.piece for p in m.pieces])
    w.add_token_scores([p.score for p in m.pieces])
    w.add_token_types([int(p.type) for p in m.pieces])
    w.add_key_value("tokenizer.ggml.precompiled_charsmap", list(m.normalizer_spec.precompiled_charsmap),
                    gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
    w.add_bool("tokenizer.ggml.add_space_prefix", m.normalizer_spec.add_dummy_prefix)
    w.add_bool("tokenizer.ggml.remove_extra_whitespaces", m.normalizer_spec.remove_extra_whitespaces)
    w.add_uint32("tokenizer.ggml.unknown_token_id", m.trainer_spec.unk_id)
    w.add_uint32("tokenizer.ggml.eos_token_id", m.trainer_spec.eos_id)
    w.add_uint32("tokenizer.ggml.padding_token_id", max(m.trainer_spec.pad_id, 0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    L = mvr.lc.Llama(os.environ.get("LLAMA_LIB_DIR"))
    lib = mvr.bind(L)
    extra = ["ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ ﬁne ①②", "  spaces   between\t\twords  ", "<extra_id_0>hello<extra_id_1> ▁hello",
             "Ⅻ Ⓐ ㈱ Ａ１！", "ｶﾀｶﾅ ﾃｽﾄ", "e\u0301 \u00e9 \u212b \u00c5"]
    recs = mvr.record(L, lib, out_gguf, [t.encode() for t in texts[:40] + extra])
    with open(os.path.join(ROOT, "tests", "vocab_ref", "ugm-tiny.ref"), "w") as f:
        f.write("\n".join(recs) + "\n")
    print(out_gguf, os.path.getsize(out_gguf), len(recs))


if __name__ == "__main__":
    main()

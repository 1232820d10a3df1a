"""llama-cpp-python 0.3.36, unmodified, on top of ferrollama's libllama (LLAMA_CPP_LIB_PATH).

Run through tests/python/run.sh. Expected values come from upstream: token ids from upstream's
own test suite and from the reference corpus (../shared/data/reference/*.npz, recorded with
llama-cpp-python 0.3.36 on upstream's library).
"""

import ctypes
import json
import os
import pathlib

import numpy as np
import pytest

import llama_cpp

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = pathlib.Path(os.environ.get("FERROLLAMA_SHARED", ROOT.parent / "shared"))
VOCAB = SHARED / "data/vocab/ggml-vocab-llama-spm.gguf"
MODELS = SHARED / "data/models"
REFS = SHARED / "data/reference"


def require_shared():
    if SHARED.is_dir():
        return
    if os.environ.get("FERROLLAMA_REQUIRE_SHARED") == "1":
        pytest.fail(f"FERROLLAMA_REQUIRE_SHARED=1 but {SHARED} is missing")
    pytest.skip(f"{SHARED} not found")


def test_library_is_ours():
    lib = pathlib.Path(llama_cpp.llama_cpp._lib._name).resolve()
    want = pathlib.Path(os.environ["LLAMA_CPP_LIB_PATH"]).resolve()
    assert lib.parent == want, f"loaded {lib}, expected a library from {want}"


def test_plain_functions():
    assert llama_cpp.llama_max_devices() == 16
    assert llama_cpp.llama_supports_mmap()
    info = llama_cpp.llama_print_system_info()
    assert info.startswith(b"CPU : ")
    p = llama_cpp.llama_context_default_params()
    assert (p.n_ctx, p.n_batch, p.n_ubatch, p.n_seq_max) == (512, 2048, 512, 1)
    assert p.type_k == llama_cpp.GGML_TYPE_F16 and p.flash_attn_type == -1
    m = llama_cpp.llama_model_default_params()
    assert m.n_gpu_layers == -1 and m.use_extra_bufts and not m.vocab_only
    q = llama_cpp.llama_model_quantize_default_params()
    assert q.ftype == llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0 and q.quantize_output_tensor


def test_low_level_vocab_only_tokenize():
    """Upstream's tokenization expectations, through the low-level bindings (no context)."""
    require_shared()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(VOCAB).encode(), params)
    assert model
    vocab = llama_cpp.llama_model_get_vocab(model)
    assert vocab
    assert llama_cpp.llama_vocab_n_tokens(vocab) == 32000
    buf = (llama_cpp.llama_token * 16)()

    def tok(text, add_special, parse_special):
        n = llama_cpp.llama_tokenize(vocab, text, len(text), buf, 16, add_special, parse_special)
        assert n >= 0
        return list(buf[:n])

    assert tok(b"Hello World", True, False) == [1, 15043, 2787]
    assert tok(b"Hello World", False, False) == [15043, 2787]
    assert tok(b"Hello World</s>", True, False) == [1, 15043, 2787, 829, 29879, 29958]
    assert tok(b"Hello World</s>", True, True) == [1, 15043, 2787, 2]
    # too small a buffer: the negative required size
    assert llama_cpp.llama_tokenize(vocab, b"Hello World", 11, buf, 1, True, False) == -3
    out = ctypes.create_string_buffer(32)
    arr = (llama_cpp.llama_token * 3)(1, 15043, 2787)
    n = llama_cpp.llama_detokenize(vocab, arr, 3, out, 32, True, False)
    assert out.raw[:n] == b" Hello World"  # upstream keeps the SPM space after a removed BOS
    llama_cpp.llama_model_free(model)


def reference(name):
    z = np.load(REFS / f"{name}.npz")
    spec = json.loads(str(z["spec"]))
    return z, spec


MODEL_NAMES = ["llama-spm-Q8_0", "llama-spm-F32", "qwen2-Q8_0", "llama3-Q4_K_M"]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_high_level_llama(name):
    """Llama on a ../shared model: tokenize, greedy generation and create_completion as upstream."""
    require_shared()
    z, spec = reference(name)
    llm = llama_cpp.Llama(model_path=str(MODELS / f"{name}.gguf"), n_ctx=512, n_batch=512, verbose=False, seed=0)

    prompt = spec["prompts"]["a"].encode()
    assert llm.tokenize(prompt, add_bos=True, special=False) == list(z["tok_a"])

    case_d = next(c for c in spec["cases"] if c["name"] == "d")
    want = [int(t) for t in z["d_gen"]]
    got = []
    for t in llm.generate(case_d["tokens"], temp=0.0, top_k=1, reset=True):
        got.append(t)
        if len(got) == len(want):
            break
    k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), len(want))
    if k < len(want):
        # allowed only at a near tie, by the corpus comparison tool's rule (../shared/tools/compare.py)
        near_tie = {"F32": 1e-3, "F16": 1e-2, "BF16": 5e-2}.get(name.rsplit("-", 1)[1], 2e-1)
        assert z["d_margin"][k] < near_tie, f"greedy tokens diverge at step {k}: {got} vs {want}"
        pytest.skip(f"{name}: diverges from upstream at a near tie (step {k}); text not compared")

    llm.reset()
    out = llm.create_completion(case_d["tokens"], max_tokens=16, temperature=0.0)
    text = out["choices"][0]["text"]
    # the same text and usage as llama-cpp-python gives on upstream's library (recorded by
    # record_expected.py; it differs from a plain detokenize around incomplete UTF-8 sequences)
    expected = json.loads((HERE / "expected_completions.json").read_text())["completions"][name]
    assert text == expected["text"]
    assert out["usage"] == expected["usage"]


def test_chat_completion_and_state_round_trip():
    require_shared()
    llm = llama_cpp.Llama(model_path=str(MODELS / "qwen2-Q8_0.gguf"), n_ctx=512, verbose=False)
    res = llm.create_chat_completion(
        messages=[{"role": "user", "content": "Hello"}], max_tokens=8, temperature=0.0
    )
    assert res["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(res["choices"][0]["message"]["content"], str)

    llm.reset()
    tokens = llm.tokenize(b"Once upon a time", add_bos=True)
    llm.eval(tokens)
    state = llm.save_state()
    if state.llama_state_size == 0:
        pytest.xfail("llama_state_get_size/get_data are not implemented yet: no state to round-trip")
    first = [t for _, t in zip(range(6), llm.generate([], temp=0.0, reset=False))]
    llm.load_state(state)
    second = [t for _, t in zip(range(6), llm.generate([], temp=0.0, reset=False))]
    assert first == second

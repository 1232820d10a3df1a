"""Records llama-cpp-python's create_completion output on upstream's libllama, for
test_ferrollama.py to compare against. Run with LLAMA_CPP_LIB_PATH pointing at an upstream build
of llama.cpp 0c1e57098 (e.g. the lib folder of a normal `pip install llama-cpp-python==0.3.36`):

    LLAMA_CPP_LIB_PATH=/path/to/upstream/lib python tests/python/record_expected.py
"""

import json
import pathlib
import sys

import numpy as np

import llama_cpp

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parents[1].parent / "shared"
sys.path.insert(0, str(HERE))
from test_ferrollama import MODEL_NAMES  # noqa: E402

out = {"library": llama_cpp.llama_cpp._lib._name, "completions": {}}
for name in MODEL_NAMES:
    z = np.load(SHARED / f"data/reference/{name}.npz")
    spec = json.loads(str(z["spec"]))
    d = next(c for c in spec["cases"] if c["name"] == "d")
    llm = llama_cpp.Llama(model_path=str(SHARED / f"data/models/{name}.gguf"), n_ctx=512, n_batch=512, verbose=False, seed=0)
    res = llm.create_completion(d["tokens"], max_tokens=16, temperature=0.0)
    out["completions"][name] = {"text": res["choices"][0]["text"], "usage": res["usage"]}
(HERE / "expected_completions.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print(json.dumps(out, indent=1, ensure_ascii=False))

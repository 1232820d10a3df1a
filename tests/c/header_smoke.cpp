// Compiles (as C++17, -Wall -Wextra -Werror) and links against include/llama.h and libllama.so:
// C++ is strict about enums (no implicit int -> enum), so this checks that enum-typed fields and
// returns are enum-typed in the header.
#include "llama.h"

#include <cstdio>
#include <cstring>
#include <vector>

int main() {
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);

    llama_model_params mparams = llama_model_default_params();
    llama_context_params cparams = llama_context_default_params();
    mparams.split_mode = LLAMA_SPLIT_MODE_NONE;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.type_v = GGML_TYPE_F16;

    llama_ftype ft = LLAMA_FTYPE_MOSTLY_Q8_0;
    llama_load_mode lm = llama_load_mode_from_str("mmap");
    // as upstream, the function of the same name hides the enum's plain name in C++
    enum ggml_backend_dev_type dt = ggml_backend_dev_type(ggml_backend_dev_get(0));
    if (lm != LLAMA_LOAD_MODE_MMAP || dt != GGML_BACKEND_DEVICE_TYPE_CPU) return 1;
    if (std::strcmp(llama_ftype_name(ft), "Q8_0") != 0) return 2;
    if (mparams.split_mode != LLAMA_SPLIT_MODE_NONE || cparams.type_v != GGML_TYPE_F16) return 5;

    std::vector<llama_token> toks = {1, 2, 3};
    llama_batch b = llama_batch_init(8, 0, 1);
    b.n_tokens = 1;
    b.token[0] = toks[0];
    llama_batch_free(b);

    char path[128];
    if (llama_split_path(path, sizeof(path), "/m/x", 1, 4) <= 0) return 3;
    if (std::strcmp(path, "/m/x-00002-of-00004.gguf") != 0) return 4;

    std::printf("header smoke ok\n");
    return 0;
}

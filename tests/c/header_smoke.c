/* Compiles (as C11, -Wall -Wextra -Werror) and links against include/llama.h and libllama.so,
 * using the header the way upstream's C clients do: enum-typed variables, typedef'd structs,
 * the anonymous union of llama_model_kv_override, callbacks, and a few calls. */
#include "llama.h"

#include <stdio.h>
#include <string.h>

static void quiet_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) level; (void) text;
    ++*(int *) user_data;
}

int main(void) {
    int n_logs = 0;
    llama_log_set(quiet_log, &n_logs);

    struct llama_model_params mparams = llama_model_default_params();
    struct llama_context_params cparams = llama_context_default_params();
    llama_model_quantize_params qparams = llama_model_quantize_default_params();
    llama_sampler_chain_params sparams = llama_sampler_chain_default_params();

    enum llama_ftype ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
    enum llama_pooling_type pooling = LLAMA_POOLING_TYPE_MEAN;
    enum ggml_type type_k = GGML_TYPE_Q8_0;
    cparams.pooling_type = pooling;
    cparams.type_k = type_k;
    qparams.ftype = ftype;

    struct llama_model_kv_override kvo;
    memset(&kvo, 0, sizeof kvo);
    kvo.tag = LLAMA_KV_OVERRIDE_TYPE_INT;
    kvo.val_i64 = 42;

    llama_token tokens[2] = { 1, 2 };
    llama_batch batch = llama_batch_get_one(tokens, 2);
    llama_token_data data[1] = { { 0, 1.0f, 0.5f } };
    llama_token_data_array cur = { data, 1, -1, false };
    llama_logit_bias bias = { 3, -1.0f };
    llama_chat_message msg = { "user", "hi" };
    (void) cur; (void) bias; (void) msg; (void) sparams; (void) qparams;

    if (mparams.n_gpu_layers != -1 || cparams.n_ctx != 512 || batch.n_tokens != 2) return 1;
    if (strcmp(llama_ftype_name(ftype), "Q4_K - Medium") != 0) return 2;
    if (llama_max_devices() != 16 || !llama_supports_mmap()) return 3;
    if (ggml_backend_dev_count() < 1) return 4;
    if (strcmp(ggml_backend_dev_name(ggml_backend_dev_get(0)), "CPU") != 0) return 5;
    if (llama_model_load_from_file(NULL, mparams) != NULL) return 6;
    if (n_logs == 0) return 7; /* the failed load above must have logged through our callback */

    printf("header smoke ok: %s\n", llama_print_system_info());
    return 0;
}

/*
 * simple.c — the smallest complete program on libllama's C API: load a model, tokenize a prompt,
 * decode it, then generate greedily, printing each piece as it comes.
 *
 *   cc -std=c11 -I include examples/c/simple.c -L target/release -lllama -o simple
 *   LD_LIBRARY_PATH=target/release ./simple MODEL.gguf "Once upon a time" 16
 *
 * The prompt may also be given as token ids, "ids:1,438,113": the ids are then used as they are.
 * After the text, the generated token ids are printed on one line starting with "ids:".
 */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level >= GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
    }
}

/* "ids:1,2,3" -> tokens; returns the count or -1 */
static int parse_ids(const char * s, llama_token * out, int max) {
    int n = 0;
    s += 4;
    while (*s && n < max) {
        char * end;
        long v = strtol(s, &end, 10);
        if (end == s) return -1;
        out[n++] = (llama_token) v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N_PREDICT]\n", argv[0]);
        return 2;
    }
    const char * model_path = argv[1];
    const char * prompt = argv[2];
    const int n_predict = argc > 3 ? atoi(argv[3]) : 16;

    llama_log_set(quiet, NULL);
    llama_backend_init();

    /* 1. the model and its vocabulary */
    struct llama_model_params mparams = llama_model_default_params();
    struct llama_model * model = llama_model_load_from_file(model_path, mparams);
    if (!model) {
        fprintf(stderr, "could not load %s\n", model_path);
        return 1;
    }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);

    /* 2. the prompt's tokens: ask for the size first (negative = tokens needed) */
    llama_token * tokens = NULL;
    int n_prompt;
    if (strncmp(prompt, "ids:", 4) == 0) {
        tokens = malloc(sizeof(llama_token) * 4096);
        n_prompt = parse_ids(prompt, tokens, 4096);
    } else {
        n_prompt = -llama_tokenize(vocab, prompt, (int32_t) strlen(prompt), NULL, 0, true, false);
        tokens = malloc(sizeof(llama_token) * (size_t) (n_prompt > 0 ? n_prompt : 1));
        if (llama_tokenize(vocab, prompt, (int32_t) strlen(prompt), tokens, n_prompt, true, false) != n_prompt) {
            n_prompt = -1;
        }
    }
    if (n_prompt <= 0) {
        fprintf(stderr, "could not tokenize the prompt\n");
        return 1;
    }

    /* 3. a context (the default 512 tokens, or more when prompt + generation need it) */
    struct llama_context_params cparams = llama_context_default_params();
    if ((uint32_t) (n_prompt + n_predict) > cparams.n_ctx) {
        cparams.n_ctx = (uint32_t) (n_prompt + n_predict);
    }
    if ((uint32_t) n_prompt > cparams.n_batch) {
        cparams.n_batch = (uint32_t) n_prompt;
    }
    /* plain attention, as llama-cpp-python uses by default (the reference corpus was recorded so);
     * the default (AUTO) picks flash attention on the CPU, whose rounding differs slightly */
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) {
        fprintf(stderr, "could not create the context\n");
        return 1;
    }

    /* 4. a sampler chain that always picks the most likely token */
    struct llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());

    /* 5. decode the prompt, then one token at a time */
    llama_token * generated = malloc(sizeof(llama_token) * (size_t) (n_predict > 0 ? n_predict : 1));
    int n_gen = 0;
    struct llama_batch batch = llama_batch_get_one(tokens, n_prompt);
    llama_token next;
    while (n_gen < n_predict) {
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "llama_decode failed\n");
            return 1;
        }
        next = llama_sampler_sample(smpl, ctx, -1);
        if (llama_vocab_is_eog(vocab, next)) {
            break;
        }
        char piece[256];
        int n = llama_token_to_piece(vocab, next, piece, sizeof piece, 0, true);
        if (n > 0) {
            fwrite(piece, 1, (size_t) n, stdout);
            fflush(stdout);
        }
        generated[n_gen++] = next;
        batch = llama_batch_get_one(&next, 1);
    }

    printf("\nids:");
    for (int i = 0; i < n_gen; i++) {
        printf("%s%d", i ? "," : "", generated[i]);
    }
    printf("\n");

    llama_sampler_free(smpl);
    llama_free(ctx);
    llama_model_free(model);
    free(tokens);
    free(generated);
    llama_backend_free();
    return 0;
}

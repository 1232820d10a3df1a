//! The `*_default_params` functions: upstream's defaults, field for field.

use std::ptr;

use super::boundary::ffi_guard;
use super::types::*;

/// Upstream's `LLAMA_QUANT_MAX_BUF_SIZE`: 8 GiB of tensor rows in memory at once.
pub const LLAMA_QUANT_MAX_BUF_SIZE: usize = 8 * 1024 * 1024 * 1024;

/// The default model parameters (also usable from Rust).
pub const MODEL_DEFAULT_PARAMS: llama_model_params = llama_model_params {
    devices: ptr::null_mut(),
    tensor_buft_overrides: ptr::null(),
    n_gpu_layers: -1,
    split_mode: LLAMA_SPLIT_MODE_LAYER,
    load_mode: LLAMA_LOAD_MODE_AUTO,
    lazy_mode: LLAMA_LAZY_MODE_AUTO,
    main_gpu: 0,
    tensor_split: ptr::null(),
    progress_callback: None,
    progress_callback_user_data: ptr::null_mut(),
    kv_overrides: ptr::null(),
    vocab_only: false,
    check_tensors: false,
    use_extra_bufts: true,
    no_host: false,
    no_alloc: false,
    load_mtp: false,
};

/// The default context parameters (also usable from Rust).
pub const CONTEXT_DEFAULT_PARAMS: llama_context_params = llama_context_params {
    n_ctx: 512,
    n_batch: 2048,
    n_ubatch: 512,
    n_seq_max: 1,
    n_rs_seq: 0,
    n_outputs_max: 0,
    n_outputs_max_per_seq: 1,
    n_threads: GGML_DEFAULT_N_THREADS,
    n_threads_batch: GGML_DEFAULT_N_THREADS,
    ctx_type: LLAMA_CONTEXT_TYPE_DEFAULT,
    rope_scaling_type: LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED,
    pooling_type: LLAMA_POOLING_TYPE_UNSPECIFIED,
    attention_type: LLAMA_ATTENTION_TYPE_UNSPECIFIED,
    flash_attn_type: LLAMA_FLASH_ATTN_TYPE_AUTO,
    rope_freq_base: 0.0,
    rope_freq_scale: 0.0,
    yarn_ext_factor: -1.0,
    yarn_attn_factor: -1.0,
    yarn_beta_fast: -1.0,
    yarn_beta_slow: -1.0,
    yarn_orig_ctx: 0,
    defrag_thold: -1.0,
    cb_eval: None,
    cb_eval_user_data: ptr::null_mut(),
    type_k: GGML_TYPE_F16,
    type_v: GGML_TYPE_F16,
    abort_callback: None,
    abort_callback_data: ptr::null_mut(),
    embeddings: false,
    offload_kqv: true,
    no_perf: true,
    op_offload: true,
    swa_full: true,
    kv_unified: false,
    samplers: ptr::null_mut(),
    n_samplers: 0,
    ctx_other: ptr::null_mut(),
};

/// The default sampler chain parameters.
pub const SAMPLER_CHAIN_DEFAULT_PARAMS: llama_sampler_chain_params =
    llama_sampler_chain_params { no_perf: true };

/// The default quantization parameters.
pub const MODEL_QUANTIZE_DEFAULT_PARAMS: llama_model_quantize_params =
    llama_model_quantize_params {
        nthread: 0,
        ftype: LLAMA_FTYPE_MOSTLY_Q8_0,
        output_tensor_type: GGML_TYPE_COUNT,
        token_embedding_type: GGML_TYPE_COUNT,
        allow_requantize: false,
        quantize_output_tensor: true,
        only_copy: false,
        pure: false,
        keep_split: false,
        dry_run: false,
        imatrix: ptr::null(),
        kv_overrides: ptr::null(),
        tt_overrides: ptr::null(),
        prune_layers: ptr::null(),
        max_buf_size: LLAMA_QUANT_MAX_BUF_SIZE,
    };

/// Upstream's default `llama_model_params`.
#[no_mangle]
pub extern "C" fn llama_model_default_params() -> llama_model_params {
    ffi_guard!("llama_model_default_params", MODEL_DEFAULT_PARAMS, {
        MODEL_DEFAULT_PARAMS
    })
}

/// Upstream's default `llama_context_params`.
#[no_mangle]
pub extern "C" fn llama_context_default_params() -> llama_context_params {
    ffi_guard!("llama_context_default_params", CONTEXT_DEFAULT_PARAMS, {
        CONTEXT_DEFAULT_PARAMS
    })
}

/// Upstream's default `llama_sampler_chain_params` (`no_perf = true`).
#[no_mangle]
pub extern "C" fn llama_sampler_chain_default_params() -> llama_sampler_chain_params {
    ffi_guard!(
        "llama_sampler_chain_default_params",
        SAMPLER_CHAIN_DEFAULT_PARAMS,
        { SAMPLER_CHAIN_DEFAULT_PARAMS }
    )
}

/// Upstream's default `llama_model_quantize_params`.
#[no_mangle]
pub extern "C" fn llama_model_quantize_default_params() -> llama_model_quantize_params {
    ffi_guard!(
        "llama_model_quantize_default_params",
        MODEL_QUANTIZE_DEFAULT_PARAMS,
        { MODEL_QUANTIZE_DEFAULT_PARAMS }
    )
}

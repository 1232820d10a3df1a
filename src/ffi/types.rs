//! `#[repr(C)]` mirrors of every type `llama.h` declares.
//!
//! C enums are plain `c_int` aliases plus constants: a C caller may pass any integer, and a Rust
//! `enum` holding an undeclared value would be undefined behaviour. Code that needs a Rust enum
//! converts with a checked `TryFrom`. The header generator (`tests/ffi_header.rs`) turns these
//! aliases back into real C `enum` types so that `llama.h` stays source compatible.
//!
//! Opaque handles (`llama_model`, `llama_context`, `llama_vocab`, ...) are zero-sized marker types:
//! only pointers to them cross the boundary. What each pointer really points to is documented
//! in [`crate::ffi`]. The ggml-side types llama.h uses live in [`super::ggml_types`] and are
//! re-exported here.
//!
//! Items are written out without macros because cbindgen reads this file to generate `llama.h`.
//! Sizes and field offsets are asserted at compile time below; `tests/abi.rs` checks the same
//! numbers against upstream's header with a C compiler.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};
use std::mem::{offset_of, size_of};

pub use super::ggml_types::*;
// ---------------------------------------------------------------------------------------------
// llama.h
// ---------------------------------------------------------------------------------------------

/// `LLAMA_DEFAULT_SEED`.
pub const LLAMA_DEFAULT_SEED: u32 = 0xFFFF_FFFF;
/// `LLAMA_TOKEN_NULL`.
pub const LLAMA_TOKEN_NULL: llama_token = -1;
/// `LLAMA_FILE_MAGIC_GGLA`.
pub const LLAMA_FILE_MAGIC_GGLA: u32 = 0x6767_6c61;
/// `LLAMA_FILE_MAGIC_GGSN`.
pub const LLAMA_FILE_MAGIC_GGSN: u32 = 0x6767_736e;
/// `LLAMA_FILE_MAGIC_GGSQ`.
pub const LLAMA_FILE_MAGIC_GGSQ: u32 = 0x6767_7371;
/// `LLAMA_SESSION_MAGIC`.
pub const LLAMA_SESSION_MAGIC: u32 = LLAMA_FILE_MAGIC_GGSN;
/// `LLAMA_SESSION_VERSION`.
pub const LLAMA_SESSION_VERSION: u32 = 10;
/// `LLAMA_STATE_SEQ_MAGIC`.
pub const LLAMA_STATE_SEQ_MAGIC: u32 = LLAMA_FILE_MAGIC_GGSQ;
/// `LLAMA_STATE_SEQ_VERSION`.
pub const LLAMA_STATE_SEQ_VERSION: u32 = 3;
/// `LLAMA_STATE_SEQ_FLAGS_NONE`.
pub const LLAMA_STATE_SEQ_FLAGS_NONE: llama_state_seq_flags = 0;
/// `LLAMA_STATE_SEQ_FLAGS_SWA_ONLY` (backwards-compatible name of PARTIAL_ONLY).
pub const LLAMA_STATE_SEQ_FLAGS_SWA_ONLY: llama_state_seq_flags = 1;
/// `LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY`.
pub const LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY: llama_state_seq_flags = 1;
/// `LLAMA_STATE_SEQ_FLAGS_ON_DEVICE`.
pub const LLAMA_STATE_SEQ_FLAGS_ON_DEVICE: llama_state_seq_flags = 2;

/// A vocabulary; a view owned by its `llama_model`.
pub struct llama_vocab {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A loaded model.
pub struct llama_model {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An inference context.
pub struct llama_context {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// The memory (KV cache) of a context.
pub struct llama_memory_i {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A LoRA adapter.
pub struct llama_adapter_lora {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An extended batch.
pub struct llama_batch_ext {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `llama_memory_t`.
pub type llama_memory_t = *mut llama_memory_i;
/// `llama_pos`.
pub type llama_pos = i32;
/// `llama_token`.
pub type llama_token = i32;
/// `llama_seq_id`.
pub type llama_seq_id = i32;
/// `llama_state_seq_flags`.
pub type llama_state_seq_flags = u32;
/// `llama_sampler_context_t`.
pub type llama_sampler_context_t = *mut c_void;

/// `enum llama_vocab_type`.
pub type llama_vocab_type = c_int;
pub const LLAMA_VOCAB_TYPE_NONE: llama_vocab_type = 0;
pub const LLAMA_VOCAB_TYPE_SPM: llama_vocab_type = 1;
pub const LLAMA_VOCAB_TYPE_BPE: llama_vocab_type = 2;
pub const LLAMA_VOCAB_TYPE_WPM: llama_vocab_type = 3;
pub const LLAMA_VOCAB_TYPE_UGM: llama_vocab_type = 4;
pub const LLAMA_VOCAB_TYPE_RWKV: llama_vocab_type = 5;
pub const LLAMA_VOCAB_TYPE_PLAMO2: llama_vocab_type = 6;
pub const LLAMA_VOCAB_TYPE_TEST: llama_vocab_type = 7;

/// `enum llama_rope_type`.
pub type llama_rope_type = c_int;
pub const LLAMA_ROPE_TYPE_NONE: llama_rope_type = -1;
pub const LLAMA_ROPE_TYPE_NORM: llama_rope_type = 0;
pub const LLAMA_ROPE_TYPE_NEOX: llama_rope_type = GGML_ROPE_TYPE_NEOX;
pub const LLAMA_ROPE_TYPE_MROPE: llama_rope_type = GGML_ROPE_TYPE_MROPE;
pub const LLAMA_ROPE_TYPE_IMROPE: llama_rope_type = GGML_ROPE_TYPE_IMROPE;
pub const LLAMA_ROPE_TYPE_VISION: llama_rope_type = GGML_ROPE_TYPE_VISION;

/// `enum llama_token_type`.
pub type llama_token_type = c_int;
pub const LLAMA_TOKEN_TYPE_UNDEFINED: llama_token_type = 0;
pub const LLAMA_TOKEN_TYPE_NORMAL: llama_token_type = 1;
pub const LLAMA_TOKEN_TYPE_UNKNOWN: llama_token_type = 2;
pub const LLAMA_TOKEN_TYPE_CONTROL: llama_token_type = 3;
pub const LLAMA_TOKEN_TYPE_USER_DEFINED: llama_token_type = 4;
pub const LLAMA_TOKEN_TYPE_UNUSED: llama_token_type = 5;
pub const LLAMA_TOKEN_TYPE_BYTE: llama_token_type = 6;

/// `enum llama_token_attr` (bit flags).
pub type llama_token_attr = c_int;
pub const LLAMA_TOKEN_ATTR_UNDEFINED: llama_token_attr = 0;
pub const LLAMA_TOKEN_ATTR_UNKNOWN: llama_token_attr = 1 << 0;
pub const LLAMA_TOKEN_ATTR_UNUSED: llama_token_attr = 1 << 1;
pub const LLAMA_TOKEN_ATTR_NORMAL: llama_token_attr = 1 << 2;
pub const LLAMA_TOKEN_ATTR_CONTROL: llama_token_attr = 1 << 3;
pub const LLAMA_TOKEN_ATTR_USER_DEFINED: llama_token_attr = 1 << 4;
pub const LLAMA_TOKEN_ATTR_BYTE: llama_token_attr = 1 << 5;
pub const LLAMA_TOKEN_ATTR_NORMALIZED: llama_token_attr = 1 << 6;
pub const LLAMA_TOKEN_ATTR_LSTRIP: llama_token_attr = 1 << 7;
pub const LLAMA_TOKEN_ATTR_RSTRIP: llama_token_attr = 1 << 8;
pub const LLAMA_TOKEN_ATTR_SINGLE_WORD: llama_token_attr = 1 << 9;

/// `enum llama_ftype`: model file types.
pub type llama_ftype = c_int;
pub const LLAMA_FTYPE_ALL_F32: llama_ftype = 0;
pub const LLAMA_FTYPE_MOSTLY_F16: llama_ftype = 1;
pub const LLAMA_FTYPE_MOSTLY_Q4_0: llama_ftype = 2;
pub const LLAMA_FTYPE_MOSTLY_Q4_1: llama_ftype = 3;
pub const LLAMA_FTYPE_MOSTLY_Q8_0: llama_ftype = 7;
pub const LLAMA_FTYPE_MOSTLY_Q5_0: llama_ftype = 8;
pub const LLAMA_FTYPE_MOSTLY_Q5_1: llama_ftype = 9;
pub const LLAMA_FTYPE_MOSTLY_Q2_K: llama_ftype = 10;
pub const LLAMA_FTYPE_MOSTLY_Q3_K_S: llama_ftype = 11;
pub const LLAMA_FTYPE_MOSTLY_Q3_K_M: llama_ftype = 12;
pub const LLAMA_FTYPE_MOSTLY_Q3_K_L: llama_ftype = 13;
pub const LLAMA_FTYPE_MOSTLY_Q4_K_S: llama_ftype = 14;
pub const LLAMA_FTYPE_MOSTLY_Q4_K_M: llama_ftype = 15;
pub const LLAMA_FTYPE_MOSTLY_Q5_K_S: llama_ftype = 16;
pub const LLAMA_FTYPE_MOSTLY_Q5_K_M: llama_ftype = 17;
pub const LLAMA_FTYPE_MOSTLY_Q6_K: llama_ftype = 18;
pub const LLAMA_FTYPE_MOSTLY_IQ2_XXS: llama_ftype = 19;
pub const LLAMA_FTYPE_MOSTLY_IQ2_XS: llama_ftype = 20;
pub const LLAMA_FTYPE_MOSTLY_Q2_K_S: llama_ftype = 21;
pub const LLAMA_FTYPE_MOSTLY_IQ3_XS: llama_ftype = 22;
pub const LLAMA_FTYPE_MOSTLY_IQ3_XXS: llama_ftype = 23;
pub const LLAMA_FTYPE_MOSTLY_IQ1_S: llama_ftype = 24;
pub const LLAMA_FTYPE_MOSTLY_IQ4_NL: llama_ftype = 25;
pub const LLAMA_FTYPE_MOSTLY_IQ3_S: llama_ftype = 26;
pub const LLAMA_FTYPE_MOSTLY_IQ3_M: llama_ftype = 27;
pub const LLAMA_FTYPE_MOSTLY_IQ2_S: llama_ftype = 28;
pub const LLAMA_FTYPE_MOSTLY_IQ2_M: llama_ftype = 29;
pub const LLAMA_FTYPE_MOSTLY_IQ4_XS: llama_ftype = 30;
pub const LLAMA_FTYPE_MOSTLY_IQ1_M: llama_ftype = 31;
pub const LLAMA_FTYPE_MOSTLY_BF16: llama_ftype = 32;
pub const LLAMA_FTYPE_MOSTLY_TQ1_0: llama_ftype = 36;
pub const LLAMA_FTYPE_MOSTLY_TQ2_0: llama_ftype = 37;
pub const LLAMA_FTYPE_MOSTLY_MXFP4_MOE: llama_ftype = 38;
pub const LLAMA_FTYPE_MOSTLY_NVFP4: llama_ftype = 39;
pub const LLAMA_FTYPE_MOSTLY_Q1_0: llama_ftype = 40;
pub const LLAMA_FTYPE_MOSTLY_Q2_0: llama_ftype = 41;
pub const LLAMA_FTYPE_GUESSED: llama_ftype = 1024;

/// `enum llama_rope_scaling_type`.
pub type llama_rope_scaling_type = c_int;
pub const LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED: llama_rope_scaling_type = -1;
pub const LLAMA_ROPE_SCALING_TYPE_NONE: llama_rope_scaling_type = 0;
pub const LLAMA_ROPE_SCALING_TYPE_LINEAR: llama_rope_scaling_type = 1;
pub const LLAMA_ROPE_SCALING_TYPE_YARN: llama_rope_scaling_type = 2;
pub const LLAMA_ROPE_SCALING_TYPE_LONGROPE: llama_rope_scaling_type = 3;
pub const LLAMA_ROPE_SCALING_TYPE_MAX_VALUE: llama_rope_scaling_type = 3;

/// `enum llama_pooling_type`.
pub type llama_pooling_type = c_int;
pub const LLAMA_POOLING_TYPE_UNSPECIFIED: llama_pooling_type = -1;
pub const LLAMA_POOLING_TYPE_NONE: llama_pooling_type = 0;
pub const LLAMA_POOLING_TYPE_MEAN: llama_pooling_type = 1;
pub const LLAMA_POOLING_TYPE_CLS: llama_pooling_type = 2;
pub const LLAMA_POOLING_TYPE_LAST: llama_pooling_type = 3;
pub const LLAMA_POOLING_TYPE_RANK: llama_pooling_type = 4;

/// `enum llama_attention_type`.
pub type llama_attention_type = c_int;
pub const LLAMA_ATTENTION_TYPE_UNSPECIFIED: llama_attention_type = -1;
pub const LLAMA_ATTENTION_TYPE_CAUSAL: llama_attention_type = 0;
pub const LLAMA_ATTENTION_TYPE_NON_CAUSAL: llama_attention_type = 1;

/// `enum llama_flash_attn_type`.
pub type llama_flash_attn_type = c_int;
pub const LLAMA_FLASH_ATTN_TYPE_AUTO: llama_flash_attn_type = -1;
pub const LLAMA_FLASH_ATTN_TYPE_DISABLED: llama_flash_attn_type = 0;
pub const LLAMA_FLASH_ATTN_TYPE_ENABLED: llama_flash_attn_type = 1;

/// `enum llama_split_mode`.
pub type llama_split_mode = c_int;
pub const LLAMA_SPLIT_MODE_NONE: llama_split_mode = 0;
pub const LLAMA_SPLIT_MODE_LAYER: llama_split_mode = 1;
pub const LLAMA_SPLIT_MODE_ROW: llama_split_mode = 2;
pub const LLAMA_SPLIT_MODE_TENSOR: llama_split_mode = 3;

/// `enum llama_load_mode`.
pub type llama_load_mode = c_int;
pub const LLAMA_LOAD_MODE_AUTO: llama_load_mode = -1;
pub const LLAMA_LOAD_MODE_NONE: llama_load_mode = 0;
pub const LLAMA_LOAD_MODE_MMAP: llama_load_mode = 1;
pub const LLAMA_LOAD_MODE_MLOCK: llama_load_mode = 2;
pub const LLAMA_LOAD_MODE_MMAP_MLOCK: llama_load_mode = 3;
pub const LLAMA_LOAD_MODE_DIRECT_IO: llama_load_mode = 4;

/// `enum llama_lazy_mode`.
pub type llama_lazy_mode = c_int;
pub const LLAMA_LAZY_MODE_OFF: llama_lazy_mode = 0;
pub const LLAMA_LAZY_MODE_AUTO: llama_lazy_mode = 1;
pub const LLAMA_LAZY_MODE_ON: llama_lazy_mode = 2;

/// `enum llama_context_type`.
pub type llama_context_type = c_int;
pub const LLAMA_CONTEXT_TYPE_DEFAULT: llama_context_type = 0;
pub const LLAMA_CONTEXT_TYPE_MTP: llama_context_type = 1;

/// `enum llama_model_kv_override_type`.
pub type llama_model_kv_override_type = c_int;
pub const LLAMA_KV_OVERRIDE_TYPE_INT: llama_model_kv_override_type = 0;
pub const LLAMA_KV_OVERRIDE_TYPE_FLOAT: llama_model_kv_override_type = 1;
pub const LLAMA_KV_OVERRIDE_TYPE_BOOL: llama_model_kv_override_type = 2;
pub const LLAMA_KV_OVERRIDE_TYPE_STR: llama_model_kv_override_type = 3;

/// `enum llama_model_meta_key`.
pub type llama_model_meta_key = c_int;
pub const LLAMA_MODEL_META_KEY_SAMPLING_SEQUENCE: llama_model_meta_key = 0;
pub const LLAMA_MODEL_META_KEY_SAMPLING_TOP_K: llama_model_meta_key = 1;
pub const LLAMA_MODEL_META_KEY_SAMPLING_TOP_P: llama_model_meta_key = 2;
pub const LLAMA_MODEL_META_KEY_SAMPLING_MIN_P: llama_model_meta_key = 3;
pub const LLAMA_MODEL_META_KEY_SAMPLING_XTC_PROBABILITY: llama_model_meta_key = 4;
pub const LLAMA_MODEL_META_KEY_SAMPLING_XTC_THRESHOLD: llama_model_meta_key = 5;
pub const LLAMA_MODEL_META_KEY_SAMPLING_TEMP: llama_model_meta_key = 6;
pub const LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_LAST_N: llama_model_meta_key = 7;
pub const LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_REPEAT: llama_model_meta_key = 8;
pub const LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT: llama_model_meta_key = 9;
pub const LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_TAU: llama_model_meta_key = 10;
pub const LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_ETA: llama_model_meta_key = 11;

/// `enum llama_process_type`.
pub type llama_process_type = c_int;
pub const LLAMA_PROCESS_TYPE_ENCODE: llama_process_type = 0;
pub const LLAMA_PROCESS_TYPE_DECODE: llama_process_type = 1;

/// `llama_token_data`: one candidate token.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct llama_token_data {
    pub id: llama_token,
    pub logit: f32,
    pub p: f32,
}

/// `llama_token_data_array`: the candidates a sampler works on.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_token_data_array {
    pub data: *mut llama_token_data,
    pub size: usize,
    pub selected: i64,
    pub sorted: bool,
}

/// `llama_progress_callback`: return false to abort loading.
pub type llama_progress_callback =
    Option<unsafe extern "C" fn(progress: f32, user_data: *mut c_void) -> bool>;

/// `llama_batch`: input of `llama_decode` / `llama_encode`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_batch {
    pub n_tokens: i32,
    pub token: *mut llama_token,
    pub embd: *mut f32,
    pub pos: *mut llama_pos,
    pub n_seq_id: *mut i32,
    pub seq_id: *mut *mut llama_seq_id,
    pub logits: *mut i8,
}

/// The anonymous value union of `llama_model_kv_override`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union llama_model_kv_override_value {
    pub val_i64: i64,
    pub val_f64: f64,
    pub val_bool: bool,
    pub val_str: [c_char; 128],
}

/// `struct llama_model_kv_override` (the value union is anonymous in C).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct llama_model_kv_override {
    pub tag: llama_model_kv_override_type,
    pub key: [c_char; 128],
    pub value: llama_model_kv_override_value,
}

/// `struct llama_model_tensor_buft_override`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_model_tensor_buft_override {
    pub pattern: *const c_char,
    pub buft: ggml_backend_buffer_type_t,
}

/// `struct llama_model_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_model_params {
    pub devices: *mut ggml_backend_dev_t,
    pub tensor_buft_overrides: *const llama_model_tensor_buft_override,
    pub n_gpu_layers: i32,
    pub split_mode: llama_split_mode,
    pub load_mode: llama_load_mode,
    pub lazy_mode: llama_lazy_mode,
    pub main_gpu: i32,
    pub tensor_split: *const f32,
    pub progress_callback: llama_progress_callback,
    pub progress_callback_user_data: *mut c_void,
    pub kv_overrides: *const llama_model_kv_override,
    pub vocab_only: bool,
    pub check_tensors: bool,
    pub use_extra_bufts: bool,
    pub no_host: bool,
    pub no_alloc: bool,
    pub load_mtp: bool,
}

/// `struct llama_sampler_seq_config`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_sampler_seq_config {
    pub seq_id: llama_seq_id,
    pub sampler: *mut llama_sampler,
}

/// `struct llama_context_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_context_params {
    pub n_ctx: u32,
    pub n_batch: u32,
    pub n_ubatch: u32,
    pub n_seq_max: u32,
    pub n_rs_seq: u32,
    pub n_outputs_max: u32,
    pub n_outputs_max_per_seq: u32,
    pub n_threads: i32,
    pub n_threads_batch: i32,
    pub ctx_type: llama_context_type,
    pub rope_scaling_type: llama_rope_scaling_type,
    pub pooling_type: llama_pooling_type,
    pub attention_type: llama_attention_type,
    pub flash_attn_type: llama_flash_attn_type,
    pub rope_freq_base: f32,
    pub rope_freq_scale: f32,
    pub yarn_ext_factor: f32,
    pub yarn_attn_factor: f32,
    pub yarn_beta_fast: f32,
    pub yarn_beta_slow: f32,
    pub yarn_orig_ctx: u32,
    pub defrag_thold: f32,
    pub cb_eval: ggml_backend_sched_eval_callback,
    pub cb_eval_user_data: *mut c_void,
    pub type_k: ggml_type,
    pub type_v: ggml_type,
    pub abort_callback: ggml_abort_callback,
    pub abort_callback_data: *mut c_void,
    pub embeddings: bool,
    pub offload_kqv: bool,
    pub no_perf: bool,
    pub op_offload: bool,
    pub swa_full: bool,
    pub kv_unified: bool,
    pub samplers: *mut llama_sampler_seq_config,
    pub n_samplers: usize,
    pub ctx_other: *mut llama_context,
}

/// `struct llama_model_tensor_override`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_model_tensor_override {
    pub pattern: *const c_char,
    pub r#type: ggml_type,
}

/// `struct llama_model_imatrix_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_model_imatrix_data {
    pub name: *const c_char,
    pub data: *const f32,
    pub size: usize,
}

/// `llama_model_quantize_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_model_quantize_params {
    pub nthread: i32,
    pub ftype: llama_ftype,
    pub output_tensor_type: ggml_type,
    pub token_embedding_type: ggml_type,
    pub allow_requantize: bool,
    pub quantize_output_tensor: bool,
    pub only_copy: bool,
    pub pure: bool,
    pub keep_split: bool,
    pub dry_run: bool,
    pub imatrix: *const llama_model_imatrix_data,
    pub kv_overrides: *const llama_model_kv_override,
    pub tt_overrides: *const llama_model_tensor_override,
    pub prune_layers: *const i32,
    pub max_buf_size: usize,
}

/// `llama_logit_bias`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct llama_logit_bias {
    pub token: llama_token,
    pub bias: f32,
}

/// `llama_sampler_chain_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct llama_sampler_chain_params {
    pub no_perf: bool,
}

/// `llama_chat_message`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

/// `llama_model_set_tensor_data_t`.
pub type llama_model_set_tensor_data_t =
    Option<unsafe extern "C" fn(tensor: *mut ggml_tensor, userdata: *mut c_void)>;

/// `struct llama_embd`: rows of input embeddings for the extended batch API.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_embd {
    pub data: *const f32,
    pub n_rows: usize,
    pub n_embd: usize,
}

/// `struct llama_sampler_data` (backend sampling, experimental).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_sampler_data {
    pub logits: *mut ggml_tensor,
    pub probs: *mut ggml_tensor,
    pub sampled: *mut ggml_tensor,
    pub candidates: *mut ggml_tensor,
}

/// `struct llama_sampler_i`: the sampler vtable (user samplers implement it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct llama_sampler_i {
    pub name: Option<unsafe extern "C" fn(smpl: *const llama_sampler) -> *const c_char>,
    pub accept: Option<unsafe extern "C" fn(smpl: *mut llama_sampler, token: llama_token)>,
    pub apply:
        Option<unsafe extern "C" fn(smpl: *mut llama_sampler, cur_p: *mut llama_token_data_array)>,
    pub reset: Option<unsafe extern "C" fn(smpl: *mut llama_sampler)>,
    pub clone: Option<unsafe extern "C" fn(smpl: *const llama_sampler) -> *mut llama_sampler>,
    pub free: Option<unsafe extern "C" fn(smpl: *mut llama_sampler)>,
    pub backend_init: Option<
        unsafe extern "C" fn(
            smpl: *mut llama_sampler,
            buft: ggml_backend_buffer_type_t,
            n_outputs_max_per_seq: u32,
        ) -> bool,
    >,
    pub backend_accept: Option<
        unsafe extern "C" fn(
            smpl: *mut llama_sampler,
            ctx: *mut ggml_context,
            gf: *mut ggml_cgraph,
            selected_token: *mut ggml_tensor,
        ),
    >,
    pub backend_apply: Option<
        unsafe extern "C" fn(
            smpl: *mut llama_sampler,
            ctx: *mut ggml_context,
            gf: *mut ggml_cgraph,
            data: *mut llama_sampler_data,
        ),
    >,
    pub backend_set_input: Option<unsafe extern "C" fn(smpl: *mut llama_sampler)>,
    pub backend_reset: Option<unsafe extern "C" fn(smpl: *mut llama_sampler)>,
    pub copy_state:
        Option<unsafe extern "C" fn(src: *const llama_sampler, dst: *mut llama_sampler)>,
}

/// `struct llama_sampler`: a vtable pointer and the sampler's own state.
#[repr(C)]
#[derive(Debug)]
pub struct llama_sampler {
    pub iface: *mut llama_sampler_i,
    pub ctx: llama_sampler_context_t,
}

/// `struct llama_perf_context_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct llama_perf_context_data {
    pub t_start_ms: f64,
    pub t_load_ms: f64,
    pub t_p_eval_ms: f64,
    pub t_eval_ms: f64,
    pub n_p_eval: i32,
    pub n_eval: i32,
    pub n_reused: i32,
}

/// `struct llama_perf_sampler_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct llama_perf_sampler_data {
    pub t_sample_ms: f64,
    pub n_sample: i32,
}

/// `llama_opt_param_filter`.
pub type llama_opt_param_filter =
    Option<unsafe extern "C" fn(tensor: *const ggml_tensor, userdata: *mut c_void) -> bool>;

/// `struct llama_opt_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct llama_opt_params {
    pub n_ctx_train: u32,
    pub param_filter: llama_opt_param_filter,
    pub param_filter_ud: *mut c_void,
    pub get_opt_pars: ggml_opt_get_optimizer_params,
    pub get_opt_pars_ud: *mut c_void,
    pub optimizer_type: ggml_opt_optimizer_type,
}

// ---------------------------------------------------------------------------------------------
// Layout checks (x86_64 / aarch64 LP64; tests/abi.rs checks the same against upstream's header)
// ---------------------------------------------------------------------------------------------

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<llama_token_data>() == 12);
    assert!(size_of::<llama_token_data_array>() == 32);
    assert!(offset_of!(llama_token_data_array, sorted) == 24);
    assert!(size_of::<llama_batch>() == 56);
    assert!(offset_of!(llama_batch, logits) == 48);
    assert!(size_of::<llama_model_kv_override>() == 264);
    assert!(offset_of!(llama_model_kv_override, value) == 136);
    assert!(size_of::<llama_model_tensor_buft_override>() == 16);
    assert!(size_of::<llama_model_params>() == 80);
    assert!(offset_of!(llama_model_params, n_gpu_layers) == 16);
    assert!(offset_of!(llama_model_params, tensor_split) == 40);
    assert!(offset_of!(llama_model_params, kv_overrides) == 64);
    assert!(offset_of!(llama_model_params, vocab_only) == 72);
    assert!(offset_of!(llama_model_params, load_mtp) == 77);
    assert!(size_of::<llama_sampler_seq_config>() == 16);
    assert!(offset_of!(llama_context_params, ctx_type) == 36);
    assert!(offset_of!(llama_context_params, rope_freq_base) == 56);
    assert!(offset_of!(llama_context_params, defrag_thold) == 84);
    assert!(offset_of!(llama_context_params, cb_eval) == 88);
    assert!(offset_of!(llama_context_params, type_k) == 104);
    assert!(offset_of!(llama_context_params, abort_callback) == 112);
    assert!(offset_of!(llama_context_params, embeddings) == 128);
    assert!(offset_of!(llama_context_params, samplers) == 136);
    assert!(offset_of!(llama_context_params, ctx_other) == 152);
    assert!(size_of::<llama_context_params>() == 160);
    assert!(size_of::<llama_model_tensor_override>() == 16);
    assert!(size_of::<llama_model_imatrix_data>() == 24);
    assert!(offset_of!(llama_model_quantize_params, imatrix) == 24);
    assert!(size_of::<llama_model_quantize_params>() == 64);
    assert!(size_of::<llama_logit_bias>() == 8);
    assert!(size_of::<llama_sampler_chain_params>() == 1);
    assert!(size_of::<llama_chat_message>() == 16);
    assert!(size_of::<llama_embd>() == 24);
    assert!(size_of::<llama_sampler_data>() == 32);
    assert!(size_of::<llama_sampler_i>() == 96);
    assert!(size_of::<llama_sampler>() == 16);
    assert!(size_of::<llama_perf_context_data>() == 48);
    assert!(size_of::<llama_perf_sampler_data>() == 16);
    assert!(size_of::<llama_opt_params>() == 48);
};

//! `#[repr(C)]` mirrors of every type `llama.h` declares (and the ggml-side types it uses).
//!
//! C enums are plain `c_int` aliases plus constants: a C caller may pass any integer, and a Rust
//! `enum` holding an undeclared value would be undefined behaviour. Code that needs a Rust enum
//! converts with a checked `TryFrom`. The header generator turns these aliases back into real C
//! `enum` types so that `llama.h` stays source compatible (see `scripts/gen_header.sh`).
//!
//! Opaque handles (`llama_model`, `llama_context`, `llama_vocab`, ...) are zero-sized marker types:
//! only pointers to them cross the boundary. What each pointer really points to is documented
//! in [`crate::ffi`].
//!
//! Sizes and field offsets are asserted at compile time below; `tests/abi.rs` checks the same
//! numbers against upstream's header with a C compiler.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};
use std::mem::{offset_of, size_of};

macro_rules! opaque {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

macro_rules! c_enum {
    ($(#[$m:meta])* $ty:ident { $($(#[$vm:meta])* $name:ident = $val:expr),* $(,)? }) => {
        $(#[$m])*
        pub type $ty = c_int;
        $($(#[$vm])* pub const $name: $ty = $val;)*
    };
}

// ---------------------------------------------------------------------------------------------
// ggml-side types that llama.h uses
// ---------------------------------------------------------------------------------------------

opaque!(
    /// A ggml tensor (opaque here).
    ggml_tensor,
    /// A ggml context (opaque here).
    ggml_context,
    /// A ggml compute graph (opaque here).
    ggml_cgraph,
    /// A ggml thread pool (opaque here).
    ggml_threadpool,
    /// A backend device.
    ggml_backend_device,
    /// A backend buffer type.
    ggml_backend_buffer_type,
    /// A backend registry entry.
    ggml_backend_reg,
    /// A GGUF context (opaque here).
    gguf_context,
    /// An optimisation dataset (opaque here).
    ggml_opt_dataset,
    /// An optimisation context (opaque here).
    ggml_opt_context,
    /// An optimisation result (opaque here).
    ggml_opt_result,
);

/// `ggml_threadpool_t`.
pub type ggml_threadpool_t = *mut ggml_threadpool;
/// `ggml_backend_dev_t`.
pub type ggml_backend_dev_t = *mut ggml_backend_device;
/// `ggml_backend_buffer_type_t`.
pub type ggml_backend_buffer_type_t = *mut ggml_backend_buffer_type;
/// `ggml_backend_reg_t`.
pub type ggml_backend_reg_t = *mut ggml_backend_reg;
/// `ggml_opt_dataset_t`.
pub type ggml_opt_dataset_t = *mut ggml_opt_dataset;
/// `ggml_opt_context_t`.
pub type ggml_opt_context_t = *mut ggml_opt_context;
/// `ggml_opt_result_t`.
pub type ggml_opt_result_t = *mut ggml_opt_result;

c_enum!(
    /// `enum ggml_type`: tensor element types (numbers as in ggml.h).
    ggml_type {
        GGML_TYPE_F32 = 0, GGML_TYPE_F16 = 1, GGML_TYPE_Q4_0 = 2, GGML_TYPE_Q4_1 = 3,
        GGML_TYPE_Q5_0 = 6, GGML_TYPE_Q5_1 = 7, GGML_TYPE_Q8_0 = 8, GGML_TYPE_Q8_1 = 9,
        GGML_TYPE_Q2_K = 10, GGML_TYPE_Q3_K = 11, GGML_TYPE_Q4_K = 12, GGML_TYPE_Q5_K = 13,
        GGML_TYPE_Q6_K = 14, GGML_TYPE_Q8_K = 15, GGML_TYPE_IQ2_XXS = 16, GGML_TYPE_IQ2_XS = 17,
        GGML_TYPE_IQ3_XXS = 18, GGML_TYPE_IQ1_S = 19, GGML_TYPE_IQ4_NL = 20, GGML_TYPE_IQ3_S = 21,
        GGML_TYPE_IQ2_S = 22, GGML_TYPE_IQ4_XS = 23, GGML_TYPE_I8 = 24, GGML_TYPE_I16 = 25,
        GGML_TYPE_I32 = 26, GGML_TYPE_I64 = 27, GGML_TYPE_F64 = 28, GGML_TYPE_IQ1_M = 29,
        GGML_TYPE_BF16 = 30, GGML_TYPE_TQ1_0 = 34, GGML_TYPE_TQ2_0 = 35, GGML_TYPE_MXFP4 = 39,
        GGML_TYPE_NVFP4 = 40, GGML_TYPE_Q1_0 = 41, GGML_TYPE_Q2_0 = 42, GGML_TYPE_COUNT = 43,
    }
);

c_enum!(
    /// `enum ggml_log_level`.
    ggml_log_level {
        GGML_LOG_LEVEL_NONE = 0, GGML_LOG_LEVEL_DEBUG = 1, GGML_LOG_LEVEL_INFO = 2,
        GGML_LOG_LEVEL_WARN = 3, GGML_LOG_LEVEL_ERROR = 4, GGML_LOG_LEVEL_CONT = 5,
    }
);

c_enum!(
    /// `enum ggml_numa_strategy` (ggml-cpu.h).
    ggml_numa_strategy {
        GGML_NUMA_STRATEGY_DISABLED = 0, GGML_NUMA_STRATEGY_DISTRIBUTE = 1,
        GGML_NUMA_STRATEGY_ISOLATE = 2, GGML_NUMA_STRATEGY_NUMACTL = 3,
        GGML_NUMA_STRATEGY_MIRROR = 4, GGML_NUMA_STRATEGY_COUNT = 5,
    }
);

c_enum!(
    /// `enum ggml_opt_optimizer_type` (ggml-opt.h).
    ggml_opt_optimizer_type {
        GGML_OPT_OPTIMIZER_TYPE_ADAMW = 0, GGML_OPT_OPTIMIZER_TYPE_SGD = 1,
        GGML_OPT_OPTIMIZER_TYPE_COUNT = 2,
    }
);

c_enum!(
    /// `enum ggml_backend_dev_type` (ggml-backend.h).
    ggml_backend_dev_type {
        GGML_BACKEND_DEVICE_TYPE_CPU = 0, GGML_BACKEND_DEVICE_TYPE_GPU = 1,
        GGML_BACKEND_DEVICE_TYPE_IGPU = 2, GGML_BACKEND_DEVICE_TYPE_ACCEL = 3,
        GGML_BACKEND_DEVICE_TYPE_META = 4,
    }
);

/// `ggml_log_callback`: receives every log line.
pub type ggml_log_callback = Option<
    unsafe extern "C" fn(level: ggml_log_level, text: *const c_char, user_data: *mut c_void),
>;
/// `ggml_abort_callback`: returns true to abort the running computation.
pub type ggml_abort_callback = Option<unsafe extern "C" fn(data: *mut c_void) -> bool>;
/// `ggml_backend_sched_eval_callback`.
pub type ggml_backend_sched_eval_callback =
    Option<unsafe extern "C" fn(t: *mut ggml_tensor, ask: bool, user_data: *mut c_void) -> bool>;

/// AdamW part of [`ggml_opt_optimizer_params`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ggml_opt_optimizer_params_adamw {
    pub alpha: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub wd: f32,
}

/// SGD part of [`ggml_opt_optimizer_params`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ggml_opt_optimizer_params_sgd {
    pub alpha: f32,
    pub wd: f32,
}

/// `struct ggml_opt_optimizer_params` (ggml-opt.h).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ggml_opt_optimizer_params {
    pub adamw: ggml_opt_optimizer_params_adamw,
    pub sgd: ggml_opt_optimizer_params_sgd,
}

/// `ggml_opt_get_optimizer_params`.
pub type ggml_opt_get_optimizer_params =
    Option<unsafe extern "C" fn(userdata: *mut c_void) -> ggml_opt_optimizer_params>;

/// `ggml_opt_epoch_callback`.
pub type ggml_opt_epoch_callback = Option<
    unsafe extern "C" fn(
        train: bool,
        opt_ctx: ggml_opt_context_t,
        dataset: ggml_opt_dataset_t,
        result: ggml_opt_result_t,
        ibatch: i64,
        ibatch_max: i64,
        t_start_us: i64,
    ),
>;

/// `GGML_ROPE_TYPE_NEOX`.
pub const GGML_ROPE_TYPE_NEOX: c_int = 2;
/// `GGML_ROPE_TYPE_MROPE`.
pub const GGML_ROPE_TYPE_MROPE: c_int = 8;
/// `GGML_ROPE_TYPE_VISION`.
pub const GGML_ROPE_TYPE_VISION: c_int = 24;
/// `GGML_ROPE_TYPE_IMROPE`.
pub const GGML_ROPE_TYPE_IMROPE: c_int = 40;

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

opaque!(
    /// A vocabulary; a view owned by its `llama_model`.
    llama_vocab,
    /// A loaded model.
    llama_model,
    /// An inference context.
    llama_context,
    /// The memory (KV cache) of a context.
    llama_memory_i,
    /// A LoRA adapter.
    llama_adapter_lora,
    /// An extended batch.
    llama_batch_ext,
);

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

c_enum!(
    /// `enum llama_vocab_type`.
    llama_vocab_type {
        LLAMA_VOCAB_TYPE_NONE = 0, LLAMA_VOCAB_TYPE_SPM = 1, LLAMA_VOCAB_TYPE_BPE = 2,
        LLAMA_VOCAB_TYPE_WPM = 3, LLAMA_VOCAB_TYPE_UGM = 4, LLAMA_VOCAB_TYPE_RWKV = 5,
        LLAMA_VOCAB_TYPE_PLAMO2 = 6, LLAMA_VOCAB_TYPE_TEST = 7,
    }
);

c_enum!(
    /// `enum llama_rope_type`.
    llama_rope_type {
        LLAMA_ROPE_TYPE_NONE = -1, LLAMA_ROPE_TYPE_NORM = 0,
        LLAMA_ROPE_TYPE_NEOX = GGML_ROPE_TYPE_NEOX, LLAMA_ROPE_TYPE_MROPE = GGML_ROPE_TYPE_MROPE,
        LLAMA_ROPE_TYPE_IMROPE = GGML_ROPE_TYPE_IMROPE, LLAMA_ROPE_TYPE_VISION = GGML_ROPE_TYPE_VISION,
    }
);

c_enum!(
    /// `enum llama_token_type`.
    llama_token_type {
        LLAMA_TOKEN_TYPE_UNDEFINED = 0, LLAMA_TOKEN_TYPE_NORMAL = 1, LLAMA_TOKEN_TYPE_UNKNOWN = 2,
        LLAMA_TOKEN_TYPE_CONTROL = 3, LLAMA_TOKEN_TYPE_USER_DEFINED = 4,
        LLAMA_TOKEN_TYPE_UNUSED = 5, LLAMA_TOKEN_TYPE_BYTE = 6,
    }
);

c_enum!(
    /// `enum llama_token_attr` (bit flags).
    llama_token_attr {
        LLAMA_TOKEN_ATTR_UNDEFINED = 0, LLAMA_TOKEN_ATTR_UNKNOWN = 1 << 0,
        LLAMA_TOKEN_ATTR_UNUSED = 1 << 1, LLAMA_TOKEN_ATTR_NORMAL = 1 << 2,
        LLAMA_TOKEN_ATTR_CONTROL = 1 << 3, LLAMA_TOKEN_ATTR_USER_DEFINED = 1 << 4,
        LLAMA_TOKEN_ATTR_BYTE = 1 << 5, LLAMA_TOKEN_ATTR_NORMALIZED = 1 << 6,
        LLAMA_TOKEN_ATTR_LSTRIP = 1 << 7, LLAMA_TOKEN_ATTR_RSTRIP = 1 << 8,
        LLAMA_TOKEN_ATTR_SINGLE_WORD = 1 << 9,
    }
);

c_enum!(
    /// `enum llama_ftype`: model file types.
    llama_ftype {
        LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_F16 = 1, LLAMA_FTYPE_MOSTLY_Q4_0 = 2,
        LLAMA_FTYPE_MOSTLY_Q4_1 = 3, LLAMA_FTYPE_MOSTLY_Q8_0 = 7, LLAMA_FTYPE_MOSTLY_Q5_0 = 8,
        LLAMA_FTYPE_MOSTLY_Q5_1 = 9, LLAMA_FTYPE_MOSTLY_Q2_K = 10, LLAMA_FTYPE_MOSTLY_Q3_K_S = 11,
        LLAMA_FTYPE_MOSTLY_Q3_K_M = 12, LLAMA_FTYPE_MOSTLY_Q3_K_L = 13,
        LLAMA_FTYPE_MOSTLY_Q4_K_S = 14, LLAMA_FTYPE_MOSTLY_Q4_K_M = 15,
        LLAMA_FTYPE_MOSTLY_Q5_K_S = 16, LLAMA_FTYPE_MOSTLY_Q5_K_M = 17,
        LLAMA_FTYPE_MOSTLY_Q6_K = 18, LLAMA_FTYPE_MOSTLY_IQ2_XXS = 19,
        LLAMA_FTYPE_MOSTLY_IQ2_XS = 20, LLAMA_FTYPE_MOSTLY_Q2_K_S = 21,
        LLAMA_FTYPE_MOSTLY_IQ3_XS = 22, LLAMA_FTYPE_MOSTLY_IQ3_XXS = 23,
        LLAMA_FTYPE_MOSTLY_IQ1_S = 24, LLAMA_FTYPE_MOSTLY_IQ4_NL = 25,
        LLAMA_FTYPE_MOSTLY_IQ3_S = 26, LLAMA_FTYPE_MOSTLY_IQ3_M = 27,
        LLAMA_FTYPE_MOSTLY_IQ2_S = 28, LLAMA_FTYPE_MOSTLY_IQ2_M = 29,
        LLAMA_FTYPE_MOSTLY_IQ4_XS = 30, LLAMA_FTYPE_MOSTLY_IQ1_M = 31,
        LLAMA_FTYPE_MOSTLY_BF16 = 32, LLAMA_FTYPE_MOSTLY_TQ1_0 = 36,
        LLAMA_FTYPE_MOSTLY_TQ2_0 = 37, LLAMA_FTYPE_MOSTLY_MXFP4_MOE = 38,
        LLAMA_FTYPE_MOSTLY_NVFP4 = 39, LLAMA_FTYPE_MOSTLY_Q1_0 = 40,
        LLAMA_FTYPE_MOSTLY_Q2_0 = 41, LLAMA_FTYPE_GUESSED = 1024,
    }
);

c_enum!(
    /// `enum llama_rope_scaling_type`.
    llama_rope_scaling_type {
        LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED = -1, LLAMA_ROPE_SCALING_TYPE_NONE = 0,
        LLAMA_ROPE_SCALING_TYPE_LINEAR = 1, LLAMA_ROPE_SCALING_TYPE_YARN = 2,
        LLAMA_ROPE_SCALING_TYPE_LONGROPE = 3, LLAMA_ROPE_SCALING_TYPE_MAX_VALUE = 3,
    }
);

c_enum!(
    /// `enum llama_pooling_type`.
    llama_pooling_type {
        LLAMA_POOLING_TYPE_UNSPECIFIED = -1, LLAMA_POOLING_TYPE_NONE = 0,
        LLAMA_POOLING_TYPE_MEAN = 1, LLAMA_POOLING_TYPE_CLS = 2, LLAMA_POOLING_TYPE_LAST = 3,
        LLAMA_POOLING_TYPE_RANK = 4,
    }
);

c_enum!(
    /// `enum llama_attention_type`.
    llama_attention_type {
        LLAMA_ATTENTION_TYPE_UNSPECIFIED = -1, LLAMA_ATTENTION_TYPE_CAUSAL = 0,
        LLAMA_ATTENTION_TYPE_NON_CAUSAL = 1,
    }
);

c_enum!(
    /// `enum llama_flash_attn_type`.
    llama_flash_attn_type {
        LLAMA_FLASH_ATTN_TYPE_AUTO = -1, LLAMA_FLASH_ATTN_TYPE_DISABLED = 0,
        LLAMA_FLASH_ATTN_TYPE_ENABLED = 1,
    }
);

c_enum!(
    /// `enum llama_split_mode`.
    llama_split_mode {
        LLAMA_SPLIT_MODE_NONE = 0, LLAMA_SPLIT_MODE_LAYER = 1, LLAMA_SPLIT_MODE_ROW = 2,
        LLAMA_SPLIT_MODE_TENSOR = 3,
    }
);

c_enum!(
    /// `enum llama_load_mode`.
    llama_load_mode {
        LLAMA_LOAD_MODE_AUTO = -1, LLAMA_LOAD_MODE_NONE = 0, LLAMA_LOAD_MODE_MMAP = 1,
        LLAMA_LOAD_MODE_MLOCK = 2, LLAMA_LOAD_MODE_MMAP_MLOCK = 3, LLAMA_LOAD_MODE_DIRECT_IO = 4,
    }
);

c_enum!(
    /// `enum llama_lazy_mode`.
    llama_lazy_mode {
        LLAMA_LAZY_MODE_OFF = 0, LLAMA_LAZY_MODE_AUTO = 1, LLAMA_LAZY_MODE_ON = 2,
    }
);

c_enum!(
    /// `enum llama_context_type`.
    llama_context_type { LLAMA_CONTEXT_TYPE_DEFAULT = 0, LLAMA_CONTEXT_TYPE_MTP = 1 }
);

c_enum!(
    /// `enum llama_model_kv_override_type`.
    llama_model_kv_override_type {
        LLAMA_KV_OVERRIDE_TYPE_INT = 0, LLAMA_KV_OVERRIDE_TYPE_FLOAT = 1,
        LLAMA_KV_OVERRIDE_TYPE_BOOL = 2, LLAMA_KV_OVERRIDE_TYPE_STR = 3,
    }
);

c_enum!(
    /// `enum llama_model_meta_key`.
    llama_model_meta_key {
        LLAMA_MODEL_META_KEY_SAMPLING_SEQUENCE = 0, LLAMA_MODEL_META_KEY_SAMPLING_TOP_K = 1,
        LLAMA_MODEL_META_KEY_SAMPLING_TOP_P = 2, LLAMA_MODEL_META_KEY_SAMPLING_MIN_P = 3,
        LLAMA_MODEL_META_KEY_SAMPLING_XTC_PROBABILITY = 4,
        LLAMA_MODEL_META_KEY_SAMPLING_XTC_THRESHOLD = 5, LLAMA_MODEL_META_KEY_SAMPLING_TEMP = 6,
        LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_LAST_N = 7,
        LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_REPEAT = 8,
        LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT = 9,
        LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_TAU = 10,
        LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_ETA = 11,
    }
);

c_enum!(
    /// `enum llama_process_type`.
    llama_process_type { LLAMA_PROCESS_TYPE_ENCODE = 0, LLAMA_PROCESS_TYPE_DECODE = 1 }
);

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
    assert!(size_of::<ggml_opt_optimizer_params>() == 28);
};

// ---------------------------------------------------------------------------------------------
// ggml-backend.h structs used by the device functions in `ggml.rs`
// ---------------------------------------------------------------------------------------------

/// `struct ggml_backend_dev_caps`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ggml_backend_dev_caps {
    pub r#async: bool,
    pub host_buffer: bool,
    pub buffer_from_host_ptr: bool,
    pub events: bool,
    pub mmap_support: bool,
}

/// `struct ggml_backend_dev_props`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ggml_backend_dev_props {
    pub name: *const c_char,
    pub description: *const c_char,
    pub memory_free: usize,
    pub memory_total: usize,
    pub r#type: ggml_backend_dev_type,
    pub device_id: *const c_char,
    pub caps: ggml_backend_dev_caps,
}

/// `struct ggml_backend_feature`: one (name, value) pair of a backend's feature list.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ggml_backend_feature {
    pub name: *const c_char,
    pub value: *const c_char,
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<ggml_backend_dev_caps>() == 5);
    assert!(size_of::<ggml_backend_dev_props>() == 56);
    assert!(offset_of!(ggml_backend_dev_props, caps) == 48);
};

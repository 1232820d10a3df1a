//! `#[repr(C)]` mirrors of the ggml-side types (ggml.h, ggml-cpu.h, ggml-backend.h, ggml-opt.h,
//! gguf.h) that llama.h and the functions of [`super::ggml`] use. Same conventions as
//! [`super::types`]; the header generator routes these items to the ggml-side headers.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};
use std::marker::{PhantomData, PhantomPinned};
use std::mem::{offset_of, size_of};
// ---------------------------------------------------------------------------------------------
// ggml-side types that llama.h uses
// ---------------------------------------------------------------------------------------------

/// A ggml tensor (opaque here).
pub struct ggml_tensor {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A ggml context (opaque here).
pub struct ggml_context {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A ggml compute graph (opaque here).
pub struct ggml_cgraph {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A ggml thread pool (opaque here).
pub struct ggml_threadpool {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A backend device.
pub struct ggml_backend_device {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A backend buffer type.
pub struct ggml_backend_buffer_type {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A backend registry entry.
pub struct ggml_backend_reg {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A GGUF context (opaque here).
pub struct gguf_context {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An optimisation dataset (opaque here).
pub struct ggml_opt_dataset {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An optimisation context (opaque here).
pub struct ggml_opt_context {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An optimisation result (opaque here).
pub struct ggml_opt_result {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

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

/// `enum ggml_type`: tensor element types (numbers as in ggml.h).
pub type ggml_type = c_int;
pub const GGML_TYPE_F32: ggml_type = 0;
pub const GGML_TYPE_F16: ggml_type = 1;
pub const GGML_TYPE_Q4_0: ggml_type = 2;
pub const GGML_TYPE_Q4_1: ggml_type = 3;
pub const GGML_TYPE_Q5_0: ggml_type = 6;
pub const GGML_TYPE_Q5_1: ggml_type = 7;
pub const GGML_TYPE_Q8_0: ggml_type = 8;
pub const GGML_TYPE_Q8_1: ggml_type = 9;
pub const GGML_TYPE_Q2_K: ggml_type = 10;
pub const GGML_TYPE_Q3_K: ggml_type = 11;
pub const GGML_TYPE_Q4_K: ggml_type = 12;
pub const GGML_TYPE_Q5_K: ggml_type = 13;
pub const GGML_TYPE_Q6_K: ggml_type = 14;
pub const GGML_TYPE_Q8_K: ggml_type = 15;
pub const GGML_TYPE_IQ2_XXS: ggml_type = 16;
pub const GGML_TYPE_IQ2_XS: ggml_type = 17;
pub const GGML_TYPE_IQ3_XXS: ggml_type = 18;
pub const GGML_TYPE_IQ1_S: ggml_type = 19;
pub const GGML_TYPE_IQ4_NL: ggml_type = 20;
pub const GGML_TYPE_IQ3_S: ggml_type = 21;
pub const GGML_TYPE_IQ2_S: ggml_type = 22;
pub const GGML_TYPE_IQ4_XS: ggml_type = 23;
pub const GGML_TYPE_I8: ggml_type = 24;
pub const GGML_TYPE_I16: ggml_type = 25;
pub const GGML_TYPE_I32: ggml_type = 26;
pub const GGML_TYPE_I64: ggml_type = 27;
pub const GGML_TYPE_F64: ggml_type = 28;
pub const GGML_TYPE_IQ1_M: ggml_type = 29;
pub const GGML_TYPE_BF16: ggml_type = 30;
pub const GGML_TYPE_TQ1_0: ggml_type = 34;
pub const GGML_TYPE_TQ2_0: ggml_type = 35;
pub const GGML_TYPE_MXFP4: ggml_type = 39;
pub const GGML_TYPE_NVFP4: ggml_type = 40;
pub const GGML_TYPE_Q1_0: ggml_type = 41;
pub const GGML_TYPE_Q2_0: ggml_type = 42;
pub const GGML_TYPE_COUNT: ggml_type = 43;

/// `enum ggml_log_level`.
pub type ggml_log_level = c_int;
pub const GGML_LOG_LEVEL_NONE: ggml_log_level = 0;
pub const GGML_LOG_LEVEL_DEBUG: ggml_log_level = 1;
pub const GGML_LOG_LEVEL_INFO: ggml_log_level = 2;
pub const GGML_LOG_LEVEL_WARN: ggml_log_level = 3;
pub const GGML_LOG_LEVEL_ERROR: ggml_log_level = 4;
pub const GGML_LOG_LEVEL_CONT: ggml_log_level = 5;

/// `enum ggml_numa_strategy` (ggml-cpu.h).
pub type ggml_numa_strategy = c_int;
pub const GGML_NUMA_STRATEGY_DISABLED: ggml_numa_strategy = 0;
pub const GGML_NUMA_STRATEGY_DISTRIBUTE: ggml_numa_strategy = 1;
pub const GGML_NUMA_STRATEGY_ISOLATE: ggml_numa_strategy = 2;
pub const GGML_NUMA_STRATEGY_NUMACTL: ggml_numa_strategy = 3;
pub const GGML_NUMA_STRATEGY_MIRROR: ggml_numa_strategy = 4;
pub const GGML_NUMA_STRATEGY_COUNT: ggml_numa_strategy = 5;

/// `enum ggml_opt_optimizer_type` (ggml-opt.h).
pub type ggml_opt_optimizer_type = c_int;
pub const GGML_OPT_OPTIMIZER_TYPE_ADAMW: ggml_opt_optimizer_type = 0;
pub const GGML_OPT_OPTIMIZER_TYPE_SGD: ggml_opt_optimizer_type = 1;
pub const GGML_OPT_OPTIMIZER_TYPE_COUNT: ggml_opt_optimizer_type = 2;

/// `enum ggml_backend_dev_type` (ggml-backend.h).
pub type ggml_backend_dev_type = c_int;
pub const GGML_BACKEND_DEVICE_TYPE_CPU: ggml_backend_dev_type = 0;
pub const GGML_BACKEND_DEVICE_TYPE_GPU: ggml_backend_dev_type = 1;
pub const GGML_BACKEND_DEVICE_TYPE_IGPU: ggml_backend_dev_type = 2;
pub const GGML_BACKEND_DEVICE_TYPE_ACCEL: ggml_backend_dev_type = 3;
pub const GGML_BACKEND_DEVICE_TYPE_META: ggml_backend_dev_type = 4;

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

/// `ggml_backend_get_features_t`: the type of the `ggml_backend_get_features` entry point that
/// `ggml_backend_reg_get_proc_address` returns.
pub type ggml_backend_get_features_t =
    Option<unsafe extern "C" fn(reg: ggml_backend_reg_t) -> *mut ggml_backend_feature>;

/// `GGML_DEFAULT_N_THREADS`.
pub const GGML_DEFAULT_N_THREADS: i32 = 4;

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<ggml_opt_optimizer_params>() == 28);
    assert!(size_of::<ggml_backend_dev_caps>() == 5);
    assert!(size_of::<ggml_backend_dev_props>() == 56);
    assert!(offset_of!(ggml_backend_dev_props, caps) == 48);
};

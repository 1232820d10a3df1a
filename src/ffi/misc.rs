//! llama.h functions that need no model: version, backend init, capabilities, time, names of enum
//! values, split-path helpers, system info, and the training entry points.

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_ftype_name` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_ftype_name(ftype: llama_ftype) -> *const c_char {
    unsupported!("llama_ftype_name", std::ptr::null(), ftype)
}

/// `llama_flash_attn_type_name` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_flash_attn_type_name(
    flash_attn_type: llama_flash_attn_type,
) -> *const c_char {
    unsupported!(
        "llama_flash_attn_type_name",
        std::ptr::null(),
        flash_attn_type
    )
}

/// `llama_load_mode_name` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_load_mode_name(load_mode: llama_load_mode) -> *const c_char {
    unsupported!("llama_load_mode_name", std::ptr::null(), load_mode)
}

/// `llama_load_mode_from_str` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_load_mode_from_str(str: *const c_char) -> llama_load_mode {
    unsupported!("llama_load_mode_from_str", LLAMA_LOAD_MODE_AUTO, str)
}

/// `llama_version` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_version() -> *const c_char {
    unsupported!("llama_version", std::ptr::null())
}

/// `llama_backend_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_backend_init() {
    unsupported!("llama_backend_init", ())
}

/// `llama_backend_free` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_backend_free() {
    unsupported!("llama_backend_free", ())
}

/// `llama_numa_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_numa_init(numa: ggml_numa_strategy) {
    unsupported!("llama_numa_init", (), numa)
}

/// `llama_time_us` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_time_us() -> i64 {
    unsupported!("llama_time_us", -1)
}

/// `llama_max_devices` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_max_devices() -> usize {
    unsupported!("llama_max_devices", 0)
}

/// `llama_max_parallel_sequences` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_max_parallel_sequences() -> usize {
    unsupported!("llama_max_parallel_sequences", 0)
}

/// `llama_max_tensor_buft_overrides` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_max_tensor_buft_overrides() -> usize {
    unsupported!("llama_max_tensor_buft_overrides", 0)
}

/// `llama_supports_mmap` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_supports_mmap() -> bool {
    unsupported!("llama_supports_mmap", false)
}

/// `llama_supports_mlock` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_supports_mlock() -> bool {
    unsupported!("llama_supports_mlock", false)
}

/// `llama_supports_gpu_offload` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_supports_gpu_offload() -> bool {
    unsupported!("llama_supports_gpu_offload", false)
}

/// `llama_supports_rpc` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_supports_rpc() -> bool {
    unsupported!("llama_supports_rpc", false)
}

/// `llama_model_meta_key_str` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_key_str(key: llama_model_meta_key) -> *const c_char {
    unsupported!("llama_model_meta_key_str", std::ptr::null(), key)
}

/// `llama_split_path` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_split_path(
    split_path: *mut c_char,
    maxlen: usize,
    path_prefix: *const c_char,
    split_no: i32,
    split_count: i32,
) -> i32 {
    unsupported!(
        "llama_split_path",
        -1,
        split_path,
        maxlen,
        path_prefix,
        split_no,
        split_count
    )
}

/// `llama_split_prefix` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_split_prefix(
    split_prefix: *mut c_char,
    maxlen: usize,
    split_path: *const c_char,
    split_no: i32,
    split_count: i32,
) -> i32 {
    unsupported!(
        "llama_split_prefix",
        -1,
        split_prefix,
        maxlen,
        split_path,
        split_no,
        split_count
    )
}

/// `llama_print_system_info` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_print_system_info() -> *const c_char {
    unsupported!("llama_print_system_info", std::ptr::null())
}

/// `llama_opt_param_filter_all` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_opt_param_filter_all(
    tensor: *const ggml_tensor,
    userdata: *mut c_void,
) -> bool {
    unsupported!("llama_opt_param_filter_all", false, tensor, userdata)
}

/// `llama_opt_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_opt_init(
    lctx: *mut llama_context,
    model: *mut llama_model,
    lopt_params: llama_opt_params,
) {
    unsupported!("llama_opt_init", (), lctx, model, lopt_params)
}

/// `llama_opt_epoch` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_opt_epoch(
    lctx: *mut llama_context,
    dataset: ggml_opt_dataset_t,
    result_train: ggml_opt_result_t,
    result_eval: ggml_opt_result_t,
    idata_split: i64,
    callback_train: ggml_opt_epoch_callback,
    callback_eval: ggml_opt_epoch_callback,
) {
    unsupported!(
        "llama_opt_epoch",
        (),
        lctx,
        dataset,
        result_train,
        result_eval,
        idata_split,
        callback_train,
        callback_eval
    )
}

//! Model functions of llama.h: loading, freeing, hyper-parameter getters, metadata, LoRA adapters,
//! quantization. (Created by the ffi helper as stubs; owned by the model helper from then on.)

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_model_init_from_user` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_init_from_user(
    metadata: *mut gguf_context,
    set_tensor_data: llama_model_set_tensor_data_t,
    set_tensor_data_ud: *mut c_void,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_model_init_from_user",
        std::ptr::null_mut(),
        metadata,
        set_tensor_data,
        set_tensor_data_ud,
        params
    )
}

/// `llama_load_model_from_file` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_load_model_from_file(
    path_model: *const c_char,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_load_model_from_file",
        std::ptr::null_mut(),
        path_model,
        params
    )
}

/// `llama_model_load_from_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_file(
    path_model: *const c_char,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_model_load_from_file",
        std::ptr::null_mut(),
        path_model,
        params
    )
}

/// `llama_model_load_from_file_ptr` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_file_ptr(
    file: *mut libc::FILE,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_model_load_from_file_ptr",
        std::ptr::null_mut(),
        file,
        params
    )
}

/// `llama_model_load_from_splits` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_splits(
    paths: *mut *const c_char,
    n_paths: usize,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_model_load_from_splits",
        std::ptr::null_mut(),
        paths,
        n_paths,
        params
    )
}

/// `llama_model_save_to_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_save_to_file(
    model: *const llama_model,
    path_model: *const c_char,
) {
    unsupported!("llama_model_save_to_file", (), model, path_model)
}

/// `llama_free_model` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_free_model(model: *mut llama_model) {
    unsupported!("llama_free_model", (), model)
}

/// `llama_model_free` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_free(model: *mut llama_model) {
    unsupported!("llama_model_free", (), model)
}

/// `llama_n_ctx_train` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx_train(model: *const llama_model) -> i32 {
    unsupported!("llama_n_ctx_train", -1, model)
}

/// `llama_n_embd` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_embd(model: *const llama_model) -> i32 {
    unsupported!("llama_n_embd", -1, model)
}

/// `llama_n_layer` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_layer(model: *const llama_model) -> i32 {
    unsupported!("llama_n_layer", -1, model)
}

/// `llama_n_head` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_head(model: *const llama_model) -> i32 {
    unsupported!("llama_n_head", -1, model)
}

/// `llama_model_get_vocab` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_get_vocab(model: *const llama_model) -> *const llama_vocab {
    unsupported!("llama_model_get_vocab", std::ptr::null(), model)
}

/// `llama_model_rope_type` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_rope_type(model: *const llama_model) -> llama_rope_type {
    unsupported!("llama_model_rope_type", LLAMA_ROPE_TYPE_NONE, model)
}

/// `llama_model_n_ctx_train` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_ctx_train(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_ctx_train", -1, model)
}

/// `llama_model_n_embd` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_embd", -1, model)
}

/// `llama_model_n_embd_inp` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd_inp(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_embd_inp", -1, model)
}

/// `llama_model_n_embd_out` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd_out(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_embd_out", -1, model)
}

/// `llama_model_n_layer` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_layer(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_layer", -1, model)
}

/// `llama_model_n_layer_nextn` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_layer_nextn(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_layer_nextn", -1, model)
}

/// `llama_model_n_head` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_head(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_head", -1, model)
}

/// `llama_model_n_head_kv` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_head_kv(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_head_kv", -1, model)
}

/// `llama_model_n_swa` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_swa(model: *const llama_model) -> i32 {
    unsupported!("llama_model_n_swa", -1, model)
}

/// `llama_model_rope_freq_scale_train` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_rope_freq_scale_train(model: *const llama_model) -> f32 {
    unsupported!("llama_model_rope_freq_scale_train", 0.0, model)
}

/// `llama_model_n_cls_out` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_cls_out(model: *const llama_model) -> u32 {
    unsupported!("llama_model_n_cls_out", 0, model)
}

/// `llama_model_cls_label` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_cls_label(model: *const llama_model, i: u32) -> *const c_char {
    unsupported!("llama_model_cls_label", std::ptr::null(), model, i)
}

/// `llama_model_meta_val_str` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_val_str(
    model: *const llama_model,
    key: *const c_char,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!("llama_model_meta_val_str", -1, model, key, buf, buf_size)
}

/// `llama_model_meta_count` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_count(model: *const llama_model) -> i32 {
    unsupported!("llama_model_meta_count", -1, model)
}

/// `llama_model_meta_key_by_index` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_key_by_index(
    model: *const llama_model,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!("llama_model_meta_key_by_index", -1, model, i, buf, buf_size)
}

/// `llama_model_meta_val_str_by_index` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_val_str_by_index(
    model: *const llama_model,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!(
        "llama_model_meta_val_str_by_index",
        -1,
        model,
        i,
        buf,
        buf_size
    )
}

/// `llama_model_desc` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_desc(
    model: *const llama_model,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!("llama_model_desc", -1, model, buf, buf_size)
}

/// `llama_model_ftype` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_ftype(model: *const llama_model) -> llama_ftype {
    unsupported!("llama_model_ftype", LLAMA_FTYPE_ALL_F32, model)
}

/// `llama_model_size` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_size(model: *const llama_model) -> u64 {
    unsupported!("llama_model_size", 0, model)
}

/// `llama_model_chat_template` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_chat_template(
    model: *const llama_model,
    name: *const c_char,
) -> *const c_char {
    unsupported!("llama_model_chat_template", std::ptr::null(), model, name)
}

/// `llama_model_n_params` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_params(model: *const llama_model) -> u64 {
    unsupported!("llama_model_n_params", 0, model)
}

/// `llama_model_has_encoder` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_has_encoder(model: *const llama_model) -> bool {
    unsupported!("llama_model_has_encoder", false, model)
}

/// `llama_model_has_decoder` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_has_decoder(model: *const llama_model) -> bool {
    unsupported!("llama_model_has_decoder", false, model)
}

/// `llama_model_decoder_start_token` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_decoder_start_token(model: *const llama_model) -> llama_token {
    unsupported!("llama_model_decoder_start_token", LLAMA_TOKEN_NULL, model)
}

/// `llama_model_is_recurrent` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_recurrent(model: *const llama_model) -> bool {
    unsupported!("llama_model_is_recurrent", false, model)
}

/// `llama_model_is_hybrid` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_hybrid(model: *const llama_model) -> bool {
    unsupported!("llama_model_is_hybrid", false, model)
}

/// `llama_model_is_diffusion` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_diffusion(model: *const llama_model) -> bool {
    unsupported!("llama_model_is_diffusion", false, model)
}

/// `llama_model_quantize` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_quantize(
    fname_inp: *const c_char,
    fname_out: *const c_char,
    params: *const llama_model_quantize_params,
) -> u32 {
    unsupported!("llama_model_quantize", 1, fname_inp, fname_out, params)
}

/// `llama_adapter_lora_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_init(
    model: *mut llama_model,
    path_lora: *const c_char,
) -> *mut llama_adapter_lora {
    unsupported!(
        "llama_adapter_lora_init",
        std::ptr::null_mut(),
        model,
        path_lora
    )
}

/// `llama_adapter_lora_init_from_file_ptr` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_init_from_file_ptr(
    model: *mut llama_model,
    file: *mut libc::FILE,
) -> *mut llama_adapter_lora {
    unsupported!(
        "llama_adapter_lora_init_from_file_ptr",
        std::ptr::null_mut(),
        model,
        file
    )
}

/// `llama_adapter_meta_val_str` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_val_str(
    adapter: *const llama_adapter_lora,
    key: *const c_char,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!(
        "llama_adapter_meta_val_str",
        -1,
        adapter,
        key,
        buf,
        buf_size
    )
}

/// `llama_adapter_meta_count` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_count(adapter: *const llama_adapter_lora) -> i32 {
    unsupported!("llama_adapter_meta_count", -1, adapter)
}

/// `llama_adapter_meta_key_by_index` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_key_by_index(
    adapter: *const llama_adapter_lora,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!(
        "llama_adapter_meta_key_by_index",
        -1,
        adapter,
        i,
        buf,
        buf_size
    )
}

/// `llama_adapter_meta_val_str_by_index` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_val_str_by_index(
    adapter: *const llama_adapter_lora,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    unsupported!(
        "llama_adapter_meta_val_str_by_index",
        -1,
        adapter,
        i,
        buf,
        buf_size
    )
}

/// `llama_adapter_lora_free` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_free(adapter: *mut llama_adapter_lora) {
    unsupported!("llama_adapter_lora_free", (), adapter)
}

/// `llama_adapter_get_alora_n_invocation_tokens` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_get_alora_n_invocation_tokens(
    adapter: *const llama_adapter_lora,
) -> u64 {
    unsupported!("llama_adapter_get_alora_n_invocation_tokens", 0, adapter)
}

/// `llama_adapter_get_alora_invocation_tokens` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_get_alora_invocation_tokens(
    adapter: *const llama_adapter_lora,
) -> *const llama_token {
    unsupported!(
        "llama_adapter_get_alora_invocation_tokens",
        std::ptr::null(),
        adapter
    )
}

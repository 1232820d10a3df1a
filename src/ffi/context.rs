//! Context functions of llama.h: creation, sizes, memory (KV cache), state save/load, encode/decode,
//! outputs, threads, perf. (Created by the ffi helper as stubs; owned by the model helper from then on.)

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_attach_threadpool` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_attach_threadpool(
    ctx: *mut llama_context,
    threadpool: ggml_threadpool_t,
    threadpool_batch: ggml_threadpool_t,
) {
    unsupported!(
        "llama_attach_threadpool",
        (),
        ctx,
        threadpool,
        threadpool_batch
    )
}

/// `llama_detach_threadpool` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_detach_threadpool(ctx: *mut llama_context) {
    unsupported!("llama_detach_threadpool", (), ctx)
}

/// `llama_init_from_model` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_init_from_model(
    model: *mut llama_model,
    params: llama_context_params,
) -> *mut llama_context {
    unsupported!("llama_init_from_model", std::ptr::null_mut(), model, params)
}

/// `llama_new_context_with_model` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_new_context_with_model(
    model: *mut llama_model,
    params: llama_context_params,
) -> *mut llama_context {
    unsupported!(
        "llama_new_context_with_model",
        std::ptr::null_mut(),
        model,
        params
    )
}

/// `llama_free` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_free(ctx: *mut llama_context) {
    unsupported!("llama_free", (), ctx)
}

/// `llama_n_ctx` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_ctx", 0, ctx)
}

/// `llama_n_ctx_seq` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx_seq(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_ctx_seq", 0, ctx)
}

/// `llama_n_batch` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_batch(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_batch", 0, ctx)
}

/// `llama_n_ubatch` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_ubatch(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_ubatch", 0, ctx)
}

/// `llama_n_seq_max` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_seq_max(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_seq_max", 0, ctx)
}

/// `llama_n_rs_seq` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_rs_seq(ctx: *const llama_context) -> u32 {
    unsupported!("llama_n_rs_seq", 0, ctx)
}

/// `llama_get_model` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_model(ctx: *const llama_context) -> *const llama_model {
    unsupported!("llama_get_model", std::ptr::null(), ctx)
}

/// `llama_get_memory` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_memory(ctx: *const llama_context) -> llama_memory_t {
    unsupported!("llama_get_memory", std::ptr::null_mut(), ctx)
}

/// `llama_pooling_type` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_pooling_type(ctx: *const llama_context) -> llama_pooling_type {
    unsupported!("llama_pooling_type", LLAMA_POOLING_TYPE_UNSPECIFIED, ctx)
}

/// `llama_set_adapters_lora` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_adapters_lora(
    ctx: *mut llama_context,
    adapters: *mut *mut llama_adapter_lora,
    n_adapters: usize,
    scales: *mut f32,
) -> i32 {
    unsupported!(
        "llama_set_adapters_lora",
        -1,
        ctx,
        adapters,
        n_adapters,
        scales
    )
}

/// `llama_set_adapter_cvec` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_adapter_cvec(
    ctx: *mut llama_context,
    data: *const f32,
    len: usize,
    n_embd: i32,
    il_start: i32,
    il_end: i32,
) -> i32 {
    unsupported!(
        "llama_set_adapter_cvec",
        -1,
        ctx,
        data,
        len,
        n_embd,
        il_start,
        il_end
    )
}

/// `llama_memory_clear` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_clear(mem: llama_memory_t, data: bool) {
    unsupported!("llama_memory_clear", (), mem, data)
}

/// `llama_memory_seq_rm` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_rm(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
) -> bool {
    unsupported!("llama_memory_seq_rm", false, mem, seq_id, p0, p1)
}

/// `llama_memory_seq_cp` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_cp(
    mem: llama_memory_t,
    seq_id_src: llama_seq_id,
    seq_id_dst: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
) {
    unsupported!(
        "llama_memory_seq_cp",
        (),
        mem,
        seq_id_src,
        seq_id_dst,
        p0,
        p1
    )
}

/// `llama_memory_seq_keep` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_keep(mem: llama_memory_t, seq_id: llama_seq_id) {
    unsupported!("llama_memory_seq_keep", (), mem, seq_id)
}

/// `llama_memory_seq_add` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_add(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
    delta: llama_pos,
) {
    unsupported!("llama_memory_seq_add", (), mem, seq_id, p0, p1, delta)
}

/// `llama_memory_seq_div` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_div(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
    d: c_int,
) {
    unsupported!("llama_memory_seq_div", (), mem, seq_id, p0, p1, d)
}

/// `llama_memory_seq_pos_min` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_pos_min(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
) -> llama_pos {
    unsupported!("llama_memory_seq_pos_min", -1, mem, seq_id)
}

/// `llama_memory_seq_pos_max` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_pos_max(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
) -> llama_pos {
    unsupported!("llama_memory_seq_pos_max", -1, mem, seq_id)
}

/// `llama_memory_can_shift` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_memory_can_shift(mem: llama_memory_t) -> bool {
    unsupported!("llama_memory_can_shift", false, mem)
}

/// `llama_state_get_size` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_get_size(ctx: *mut llama_context) -> usize {
    unsupported!("llama_state_get_size", 0, ctx)
}

/// `llama_get_state_size` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_get_state_size(ctx: *mut llama_context) -> usize {
    unsupported!("llama_get_state_size", 0, ctx)
}

/// `llama_state_get_data` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_get_data(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
) -> usize {
    unsupported!("llama_state_get_data", 0, ctx, dst, size)
}

/// `llama_copy_state_data` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_copy_state_data(ctx: *mut llama_context, dst: *mut u8) -> usize {
    unsupported!("llama_copy_state_data", 0, ctx, dst)
}

/// `llama_state_set_data` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_set_data(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
) -> usize {
    unsupported!("llama_state_set_data", 0, ctx, src, size)
}

/// `llama_set_state_data` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_set_state_data(ctx: *mut llama_context, src: *const u8) -> usize {
    unsupported!("llama_set_state_data", 0, ctx, src)
}

/// `llama_state_load_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_load_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> bool {
    unsupported!(
        "llama_state_load_file",
        false,
        ctx,
        path_session,
        tokens_out,
        n_token_capacity,
        n_token_count_out
    )
}

/// `llama_load_session_file` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_load_session_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> bool {
    unsupported!(
        "llama_load_session_file",
        false,
        ctx,
        path_session,
        tokens_out,
        n_token_capacity,
        n_token_count_out
    )
}

/// `llama_state_save_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_save_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens: *const llama_token,
    n_token_count: usize,
) -> bool {
    unsupported!(
        "llama_state_save_file",
        false,
        ctx,
        path_session,
        tokens,
        n_token_count
    )
}

/// `llama_save_session_file` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_save_session_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens: *const llama_token,
    n_token_count: usize,
) -> bool {
    unsupported!(
        "llama_save_session_file",
        false,
        ctx,
        path_session,
        tokens,
        n_token_count
    )
}

/// `llama_state_seq_get_size` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_size(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
) -> usize {
    unsupported!("llama_state_seq_get_size", 0, ctx, seq_id)
}

/// `llama_state_seq_get_data` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_data(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
    seq_id: llama_seq_id,
) -> usize {
    unsupported!("llama_state_seq_get_data", 0, ctx, dst, size, seq_id)
}

/// `llama_state_seq_set_data` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_set_data(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
    dest_seq_id: llama_seq_id,
) -> usize {
    unsupported!("llama_state_seq_set_data", 0, ctx, src, size, dest_seq_id)
}

/// `llama_state_seq_save_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_save_file(
    ctx: *mut llama_context,
    filepath: *const c_char,
    seq_id: llama_seq_id,
    tokens: *const llama_token,
    n_token_count: usize,
) -> usize {
    unsupported!(
        "llama_state_seq_save_file",
        0,
        ctx,
        filepath,
        seq_id,
        tokens,
        n_token_count
    )
}

/// `llama_state_seq_load_file` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_load_file(
    ctx: *mut llama_context,
    filepath: *const c_char,
    dest_seq_id: llama_seq_id,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> usize {
    unsupported!(
        "llama_state_seq_load_file",
        0,
        ctx,
        filepath,
        dest_seq_id,
        tokens_out,
        n_token_capacity,
        n_token_count_out
    )
}

/// `llama_state_seq_get_size_ext` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_size_ext(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    unsupported!("llama_state_seq_get_size_ext", 0, ctx, seq_id, flags)
}

/// `llama_state_seq_get_data_ext` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_data_ext(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
    seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    unsupported!(
        "llama_state_seq_get_data_ext",
        0,
        ctx,
        dst,
        size,
        seq_id,
        flags
    )
}

/// `llama_state_seq_set_data_ext` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_set_data_ext(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
    dest_seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    unsupported!(
        "llama_state_seq_set_data_ext",
        0,
        ctx,
        src,
        size,
        dest_seq_id,
        flags
    )
}

/// `llama_encode` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_encode(ctx: *mut llama_context, batch: llama_batch) -> i32 {
    unsupported!("llama_encode", -1, ctx, batch)
}

/// `llama_decode` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_decode(ctx: *mut llama_context, batch: llama_batch) -> i32 {
    unsupported!("llama_decode", -1, ctx, batch)
}

/// `llama_process` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_process(
    ctx: *mut llama_context,
    r#type: llama_process_type,
    batch: *mut llama_batch_ext,
) -> i32 {
    unsupported!("llama_process", -1, ctx, r#type, batch)
}

/// `llama_set_n_threads` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_n_threads(
    ctx: *mut llama_context,
    n_threads: i32,
    n_threads_batch: i32,
) {
    unsupported!("llama_set_n_threads", (), ctx, n_threads, n_threads_batch)
}

/// `llama_n_threads` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_threads(ctx: *mut llama_context) -> i32 {
    unsupported!("llama_n_threads", -1, ctx)
}

/// `llama_n_threads_batch` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_n_threads_batch(ctx: *mut llama_context) -> i32 {
    unsupported!("llama_n_threads_batch", -1, ctx)
}

/// `llama_set_embeddings` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_embeddings(ctx: *mut llama_context, embeddings: bool) {
    unsupported!("llama_set_embeddings", (), ctx, embeddings)
}

/// `llama_set_causal_attn` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_causal_attn(ctx: *mut llama_context, causal_attn: bool) {
    unsupported!("llama_set_causal_attn", (), ctx, causal_attn)
}

/// `llama_get_causal_attn` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_causal_attn(ctx: *const llama_context) -> bool {
    unsupported!("llama_get_causal_attn", false, ctx)
}

/// `llama_set_warmup` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_set_warmup(ctx: *mut llama_context, warmup: bool) {
    unsupported!("llama_set_warmup", (), ctx, warmup)
}

/// `llama_set_abort_callback` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_abort_callback(
    ctx: *mut llama_context,
    abort_callback: ggml_abort_callback,
    abort_callback_data: *mut c_void,
) {
    unsupported!(
        "llama_set_abort_callback",
        (),
        ctx,
        abort_callback,
        abort_callback_data
    )
}

/// `llama_synchronize` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_synchronize(ctx: *mut llama_context) {
    unsupported!("llama_synchronize", (), ctx)
}

/// `llama_get_logits` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_logits(ctx: *mut llama_context) -> *mut f32 {
    unsupported!("llama_get_logits", std::ptr::null_mut(), ctx)
}

/// `llama_get_logits_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_logits_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    unsupported!("llama_get_logits_ith", std::ptr::null_mut(), ctx, i)
}

/// `llama_get_embeddings` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings(ctx: *mut llama_context) -> *mut f32 {
    unsupported!("llama_get_embeddings", std::ptr::null_mut(), ctx)
}

/// `llama_get_embeddings_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    unsupported!("llama_get_embeddings_ith", std::ptr::null_mut(), ctx, i)
}

/// `llama_get_embeddings_seq` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings_seq(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
) -> *mut f32 {
    unsupported!(
        "llama_get_embeddings_seq",
        std::ptr::null_mut(),
        ctx,
        seq_id
    )
}

/// `llama_get_sampled_token_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_token_ith(
    ctx: *mut llama_context,
    i: i32,
) -> llama_token {
    unsupported!("llama_get_sampled_token_ith", LLAMA_TOKEN_NULL, ctx, i)
}

/// `llama_get_sampled_probs_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_probs_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    unsupported!("llama_get_sampled_probs_ith", std::ptr::null_mut(), ctx, i)
}

/// `llama_get_sampled_probs_count_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_probs_count_ith(ctx: *mut llama_context, i: i32) -> u32 {
    unsupported!("llama_get_sampled_probs_count_ith", 0, ctx, i)
}

/// `llama_get_sampled_logits_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_logits_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    unsupported!("llama_get_sampled_logits_ith", std::ptr::null_mut(), ctx, i)
}

/// `llama_get_sampled_logits_count_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_logits_count_ith(
    ctx: *mut llama_context,
    i: i32,
) -> u32 {
    unsupported!("llama_get_sampled_logits_count_ith", 0, ctx, i)
}

/// `llama_get_sampled_candidates_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_candidates_ith(
    ctx: *mut llama_context,
    i: i32,
) -> *mut llama_token {
    unsupported!(
        "llama_get_sampled_candidates_ith",
        std::ptr::null_mut(),
        ctx,
        i
    )
}

/// `llama_get_sampled_candidates_count_ith` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_candidates_count_ith(
    ctx: *mut llama_context,
    i: i32,
) -> u32 {
    unsupported!("llama_get_sampled_candidates_count_ith", 0, ctx, i)
}

/// `llama_set_sampler` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_set_sampler(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
    smpl: *mut llama_sampler,
) -> bool {
    unsupported!("llama_set_sampler", false, ctx, seq_id, smpl)
}

/// `llama_perf_context` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context(ctx: *const llama_context) -> llama_perf_context_data {
    unsupported!(
        "llama_perf_context",
        llama_perf_context_data::default(),
        ctx
    )
}

/// `llama_perf_context_print` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context_print(ctx: *const llama_context) {
    unsupported!("llama_perf_context_print", (), ctx)
}

/// `llama_perf_context_reset` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context_reset(ctx: *mut llama_context) {
    unsupported!("llama_perf_context_reset", (), ctx)
}

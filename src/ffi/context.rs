//! Context functions of llama.h: creation, sizes, memory (KV cache), encode/decode, outputs,
//! threads.
//!
//! `*mut llama_context` points to a [`LlamaContext`] (a `Box` made by `llama_init_from_model`,
//! released by `llama_free`). `llama_memory_t` is the same pointer: the memory functions act on
//! the context's KV cache.

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::{ffi_guard, slice, unsupported};
use super::log::log_error;
use super::model::model_ref;
use super::types::*;
use crate::context::{BatchView, Context, ContextParams};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// What a `*mut llama_context` (and its `llama_memory_t`) points to.
pub struct LlamaContext {
    /// The context.
    pub ctx: Context,
    /// The model handle it was made from (returned by `llama_get_model`).
    pub model: *const llama_model,
    /// `llama_perf_context` counters.
    pub perf: super::context_more::Perf,
    /// Sampler chains run inside decode (`llama_set_sampler`) and their outputs.
    pub sampling: super::sampler::backend::BackendSampling,
}

/// # Safety
/// `p` must be NULL or a live context pointer.
pub(crate) unsafe fn ctx_mut<'a>(p: *mut llama_context) -> Option<&'a mut LlamaContext> {
    // SAFETY: per the function contract.
    unsafe { (p as *mut LlamaContext).as_mut() }
}

pub(crate) fn with_ctx<R>(
    name: &str,
    ctx: *const llama_context,
    fail: R,
    f: impl FnOnce(&LlamaContext) -> R,
) -> R {
    with_ctx_mut(name, ctx as *mut llama_context, fail, |c| f(c))
}

pub(crate) fn with_ctx_mut<R>(
    name: &str,
    ctx: *mut llama_context,
    fail: R,
    f: impl FnOnce(&mut LlamaContext) -> R,
) -> R {
    let mut fail = Some(fail);
    let r = super::boundary::run(
        name,
        || None,
        || {
            // SAFETY: llama.h requires a live context; NULL is refused.
            match unsafe { ctx_mut(ctx) } {
                Some(c) => Some(f(c)),
                None => {
                    log_error!("{name}: ctx is NULL");
                    None
                }
            }
        },
    );
    match r {
        Some(v) => v,
        None => fail.take().expect("invariant: taken once"),
    }
}

fn with_mem<R>(
    name: &str,
    mem: llama_memory_t,
    fail: R,
    f: impl FnOnce(&mut LlamaContext) -> R,
) -> R {
    with_ctx_mut(name, mem as *mut llama_context, fail, f)
}

fn convert_params(p: &llama_context_params) -> Result<ContextParams> {
    let ty = |v: ggml_type, what: &str| {
        u32::try_from(v)
            .ok()
            .and_then(GgmlType::from_u32)
            .ok_or_else(|| Error::invalid(format!("invalid {what} {v}")))
    };
    Ok(ContextParams {
        n_ctx: p.n_ctx,
        n_batch: p.n_batch,
        n_ubatch: p.n_ubatch,
        n_seq_max: p.n_seq_max,
        n_threads: p.n_threads,
        n_threads_batch: p.n_threads_batch,
        flash_attn: p.flash_attn_type,
        type_k: ty(p.type_k, "type_k")?,
        type_v: ty(p.type_v, "type_v")?,
        embeddings: p.embeddings,
        pooling_type: p.pooling_type,
        attention_type: p.attention_type,
        kv_unified: p.kv_unified,
        rope_scaling_type: p.rope_scaling_type,
        rope_freq_base: p.rope_freq_base,
        rope_freq_scale: p.rope_freq_scale,
        yarn_ext_factor: p.yarn_ext_factor,
        yarn_attn_factor: p.yarn_attn_factor,
        yarn_beta_fast: p.yarn_beta_fast,
        yarn_beta_slow: p.yarn_beta_slow,
        yarn_orig_ctx: p.yarn_orig_ctx,
        swa_full: p.swa_full,
        offload_kqv: p.offload_kqv,
        op_offload: p.op_offload,
    })
}

/// Borrows a C batch as a [`BatchView`] (`None` when a required array is missing).
///
/// # Safety
/// Every non-NULL array of `b` must hold `b.n_tokens` entries (`embd`: `n_tokens * n_embd`),
/// and each `seq_id[i]` at least `n_seq_id[i]` entries, valid for `'a`.
pub(crate) unsafe fn batch_view<'a>(b: &'a llama_batch, n_embd: usize) -> Option<BatchView<'a>> {
    let n = usize::try_from(b.n_tokens).ok()?;
    // SAFETY (all blocks below): per the function contract; NULL arrays become `None`.
    let token = if b.token.is_null() {
        None
    } else {
        Some(unsafe { slice(b.token as *const i32, n) }?)
    };
    let embd = if b.embd.is_null() {
        None
    } else {
        Some(unsafe { slice(b.embd as *const f32, n * n_embd) }?)
    };
    let pos = if b.pos.is_null() {
        None
    } else {
        Some(unsafe { slice(b.pos as *const i32, n) }?)
    };
    let logits = if b.logits.is_null() {
        None
    } else {
        Some(unsafe { slice(b.logits as *const i8, n) }?)
    };
    let (n_seq_id, seq_id) = if b.n_seq_id.is_null() || b.seq_id.is_null() {
        (None, None)
    } else {
        let counts = unsafe { slice(b.n_seq_id as *const i32, n) }?;
        let rows = unsafe { slice(b.seq_id as *const *mut i32, n) }?;
        let mut v = Vec::with_capacity(n);
        for (i, &r) in rows.iter().enumerate() {
            let c = usize::try_from(counts[i]).ok()?;
            v.push(unsafe { slice(r as *const i32, c) }?);
        }
        (Some(counts), Some(v))
    };
    if token.is_none() && embd.is_none() {
        return None;
    }
    Some(BatchView {
        n_tokens: b.n_tokens,
        token,
        embd,
        pos,
        n_seq_id,
        seq_id,
        logits,
    })
}

/// `llama_init_from_model`.
#[no_mangle]
pub unsafe extern "C" fn llama_init_from_model(
    model: *mut llama_model,
    params: llama_context_params,
) -> *mut llama_context {
    ffi_guard!("llama_init_from_model", std::ptr::null_mut(), {
        // SAFETY: llama.h requires a model from a load function (NULL is refused).
        let Some(m) = (unsafe { model_ref(model) }) else {
            log_error!("llama_init_from_model: model is NULL");
            return std::ptr::null_mut();
        };
        let p = match convert_params(&params) {
            Ok(p) => p,
            Err(e) => {
                log_error!("llama_init_from_model: {e}");
                return std::ptr::null_mut();
            }
        };
        match Context::new(m.model.clone(), &p) {
            Ok(ctx) => {
                if let Some(plan) = ctx.device_plan() {
                    if plan.n_copies == 1 && plan.devices.iter().filter(|d| !d.is_host).count() > 1
                    {
                        super::log::log_info!(
                            "llama_init_from_model: one copy of the graph inputs per device \
                             (pipeline-parallel copies are off or did not fit)"
                        );
                    }
                    let how = if m.model.no_alloc() {
                        "no_alloc: planned, nothing allocated on the devices"
                    } else {
                        "bytes allocated = bytes planned"
                    };
                    super::log::log_info!(
                        "llama_init_from_model: memory plan ({how}):\n{}",
                        crate::fit::table::table(plan)
                    );
                }
                let n_batch = ctx.n_batch();
                let n_outputs_max = if params.n_outputs_max == 0 {
                    n_batch
                } else {
                    params.n_outputs_max
                };
                let n_outputs_max_per_seq = if params.n_outputs_max_per_seq == 0 {
                    n_outputs_max
                } else {
                    params.n_outputs_max_per_seq.min(n_outputs_max)
                };
                let sampling = super::sampler::backend::BackendSampling::new(
                    m.model.n_vocab().max(0) as usize,
                    n_batch as usize,
                    n_outputs_max_per_seq,
                );
                let mut h = LlamaContext {
                    ctx,
                    model: model as *const llama_model,
                    perf: super::context_more::Perf::new(m.t_load_us, params.no_perf),
                    sampling,
                };
                // SAFETY: llama.h: `samplers` holds `n_samplers` configs whose chains the
                // caller keeps alive.
                if !unsafe { attach_param_samplers(&mut h, &params) } {
                    return std::ptr::null_mut();
                }
                super::context_more::set_abort(
                    &mut h,
                    params.abort_callback,
                    params.abort_callback_data,
                );
                Box::into_raw(Box::new(h)) as *mut llama_context
            }
            Err(e) => {
                log_error!("llama_init_from_model: failed to create the context: {e}");
                std::ptr::null_mut()
            }
        }
    })
}

/// Attaches `llama_context_params.samplers` (upstream fails the context when one is not a
/// chain).
///
/// # Safety
/// `p.samplers` must be NULL or hold `p.n_samplers` configs with live samplers.
unsafe fn attach_param_samplers(h: &mut LlamaContext, p: &llama_context_params) -> bool {
    if p.samplers.is_null() || p.n_samplers == 0 {
        return true;
    }
    // SAFETY: per the contract.
    let Some(configs) = (unsafe { slice(p.samplers.cast_const(), p.n_samplers) }) else {
        return true;
    };
    for cfg in configs {
        // SAFETY: a live sampler or NULL.
        if unsafe { super::sampler::llama_sampler_chain_get(cfg.sampler, -1) }.is_null() {
            log_error!(
                "llama_init_from_model: failed to create the context: the backend samplers must be of type llama_sampler_chain"
            );
            return false;
        }
        // SAFETY: a live chain the caller keeps alive.
        if unsafe { h.sampling.set(cfg.seq_id, cfg.sampler) } {
            // SAFETY: as above.
            let n = unsafe { super::sampler::llama_sampler_chain_n(cfg.sampler) };
            super::log::log_info!(
                "llama_init_from_model: setting backend sampler for seq_id {} (n = {n})",
                cfg.seq_id
            );
        }
    }
    true
}

/// `llama_new_context_with_model`: as [`llama_init_from_model`]. Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_new_context_with_model(
    model: *mut llama_model,
    params: llama_context_params,
) -> *mut llama_context {
    llama_init_from_model(model, params)
}

/// `llama_free`.
#[no_mangle]
pub unsafe extern "C" fn llama_free(ctx: *mut llama_context) {
    ffi_guard!("llama_free", (), {
        if !ctx.is_null() {
            // SAFETY: non-NULL context pointers come from `Box::into_raw` in
            // `llama_init_from_model`, freed once.
            drop(unsafe { Box::from_raw(ctx as *mut LlamaContext) });
        }
    })
}

/// `llama_n_ctx`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_ctx", ctx, 0, |c| c.ctx.n_ctx())
}

/// `llama_n_ctx_seq`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx_seq(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_ctx_seq", ctx, 0, |c| c.ctx.n_ctx_seq())
}

/// `llama_n_batch`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_batch(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_batch", ctx, 0, |c| c.ctx.n_batch())
}

/// `llama_n_ubatch`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_ubatch(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_ubatch", ctx, 0, |c| c.ctx.n_ubatch())
}

/// `llama_n_seq_max`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_seq_max(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_seq_max", ctx, 0, |c| c.ctx.n_seq_max())
}

/// `llama_get_model`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_model(ctx: *const llama_context) -> *const llama_model {
    with_ctx("llama_get_model", ctx, std::ptr::null(), |c| c.model)
}

/// `llama_get_memory`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_memory(ctx: *const llama_context) -> llama_memory_t {
    // the memory handle is the context itself
    with_ctx("llama_get_memory", ctx, std::ptr::null_mut(), |_| {
        ctx as llama_memory_t
    })
}

/// `llama_pooling_type`.
#[no_mangle]
pub unsafe extern "C" fn llama_pooling_type(ctx: *const llama_context) -> llama_pooling_type {
    with_ctx(
        "llama_pooling_type",
        ctx,
        LLAMA_POOLING_TYPE_UNSPECIFIED,
        |c| c.ctx.cparams().pooling_type,
    )
}

/// `llama_set_adapters_lora`: applies `n_adapters` adapters with their `scales` (zero scales
/// left out), replacing the set applied; `n_adapters == 0` removes them all. Nothing changes
/// when the set is the one applied; otherwise the compute arena is planned again for the new
/// graphs (here, never in a decode). 0 on success; -1 with a log line for NULL arrays with
/// `n_adapters > 0`, a handle that is not a live adapter, a context whose model has layers on
/// simulated GPUs, or a graph the adapters cannot be applied to (the previous set stays).
#[no_mangle]
pub unsafe extern "C" fn llama_set_adapters_lora(
    ctx: *mut llama_context,
    adapters: *mut *mut llama_adapter_lora,
    n_adapters: usize,
    scales: *mut f32,
) -> i32 {
    let name = "llama_set_adapters_lora";
    with_ctx_mut(name, ctx, -1, |c| {
        if n_adapters > 0 && (adapters.is_null() || scales.is_null()) {
            log_error!("{name}: adapters or scales is NULL with n_adapters = {n_adapters}");
            return -1;
        }
        // SAFETY: `adapters` holds `n_adapters` handles (llama.h contract; NULL refused above).
        let ads = unsafe { slice(adapters as *const *mut llama_adapter_lora, n_adapters) };
        // SAFETY: `scales` holds `n_adapters` floats (llama.h contract; NULL refused above).
        let sc = unsafe { slice(scales as *const f32, n_adapters) };
        let (Some(ads), Some(sc)) = (ads, sc) else {
            log_error!("{name}: n_adapters {n_adapters} is not a valid length");
            return -1;
        };
        let mut set = Vec::with_capacity(n_adapters);
        for (i, (&p, &s)) in ads.iter().zip(sc).enumerate() {
            // SAFETY: a registered handle is live for this call (contract).
            match unsafe { super::lora::lora_ref(p) } {
                Some(a) => set.push((a.adapter.clone(), s)),
                None => {
                    log_error!("{name}: adapters[{i}] is not a live LoRA adapter");
                    return -1;
                }
            }
        }
        match c.ctx.set_loras(&set) {
            Ok(()) => 0,
            Err(e) => {
                log_error!("{name}: {e}");
                -1
            }
        }
    })
}

/// `llama_set_adapter_cvec`: applies `len` floats of control vector (rows of `n_embd` for
/// layers 1, 2, …) to layers `il_start..=il_end`, or turns it off when `data` is NULL; 0 on
/// success, -1 on error (e.g. `n_embd` not the model's).
#[no_mangle]
pub unsafe extern "C" fn llama_set_adapter_cvec(
    ctx: *mut llama_context,
    data: *const f32,
    len: usize,
    n_embd: i32,
    il_start: i32,
    il_end: i32,
) -> i32 {
    with_ctx_mut("llama_set_adapter_cvec", ctx, -1, |c| {
        // SAFETY: NULL (turn it off) or `len` floats (llama.h contract).
        let rows = if data.is_null() {
            None
        } else {
            unsafe { slice(data, len) }
        };
        match c.ctx.set_control_vector(rows, n_embd, il_start, il_end) {
            Ok(()) => 0,
            Err(e) => {
                log_error!("llama_set_adapter_cvec: {e}");
                -1
            }
        }
    })
}

/// `llama_memory_clear`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_clear(mem: llama_memory_t, data: bool) {
    with_mem("llama_memory_clear", mem, (), |c| c.ctx.memory_clear(data))
}

/// `llama_memory_seq_rm`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_rm(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
) -> bool {
    with_mem("llama_memory_seq_rm", mem, false, |c| {
        c.ctx.memory_seq_rm(seq_id, p0, p1)
    })
}

/// `llama_memory_seq_cp`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_cp(
    mem: llama_memory_t,
    seq_id_src: llama_seq_id,
    seq_id_dst: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
) {
    with_mem("llama_memory_seq_cp", mem, (), |c| {
        c.ctx.memory_seq_cp(seq_id_src, seq_id_dst, p0, p1)
    })
}

/// `llama_memory_seq_keep`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_keep(mem: llama_memory_t, seq_id: llama_seq_id) {
    with_mem("llama_memory_seq_keep", mem, (), |c| {
        c.ctx.memory_seq_keep(seq_id)
    })
}

/// `llama_memory_seq_add`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_add(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
    delta: llama_pos,
) {
    with_mem("llama_memory_seq_add", mem, (), |c| {
        c.ctx.memory_seq_add(seq_id, p0, p1, delta)
    })
}

/// `llama_memory_seq_div`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_div(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
    p0: llama_pos,
    p1: llama_pos,
    d: c_int,
) {
    with_mem("llama_memory_seq_div", mem, (), |c| {
        c.ctx.memory_seq_div(seq_id, p0, p1, d)
    })
}

/// `llama_memory_seq_pos_min`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_pos_min(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
) -> llama_pos {
    with_mem("llama_memory_seq_pos_min", mem, -1, |c| {
        c.ctx.memory_seq_pos_min(seq_id)
    })
}

/// `llama_memory_seq_pos_max`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_seq_pos_max(
    mem: llama_memory_t,
    seq_id: llama_seq_id,
) -> llama_pos {
    with_mem("llama_memory_seq_pos_max", mem, -1, |c| {
        c.ctx.memory_seq_pos_max(seq_id)
    })
}

/// `llama_memory_can_shift`.
#[no_mangle]
pub unsafe extern "C" fn llama_memory_can_shift(mem: llama_memory_t) -> bool {
    with_mem("llama_memory_can_shift", mem, false, |c| {
        c.ctx.memory_can_shift()
    })
}

/// `llama_state_get_size`.
#[no_mangle]
pub unsafe extern "C" fn llama_state_get_size(ctx: *mut llama_context) -> usize {
    with_ctx_mut("llama_state_get_size", ctx, 0, |c| c.ctx.state_save().len())
}

/// `llama_get_state_size`. Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_get_state_size(ctx: *mut llama_context) -> usize {
    llama_state_get_size(ctx)
}

/// `llama_state_get_data`.
#[no_mangle]
pub unsafe extern "C" fn llama_state_get_data(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
) -> usize {
    with_ctx_mut("llama_state_get_data", ctx, 0, |c| {
        let s = c.ctx.state_save();
        if dst.is_null() || size < s.len() {
            log_error!(
                "llama_state_get_data: buffer of {size} bytes, state needs {}",
                s.len()
            );
            return 0;
        }
        // SAFETY: dst holds `size` >= s.len() writable bytes (llama.h contract).
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), dst, s.len()) };
        s.len()
    })
}

/// `llama_copy_state_data`. Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_copy_state_data(ctx: *mut llama_context, dst: *mut u8) -> usize {
    with_ctx_mut("llama_copy_state_data", ctx, 0, |c| {
        let s = c.ctx.state_save();
        if dst.is_null() {
            return 0;
        }
        // SAFETY: the deprecated API requires dst to hold llama_get_state_size() bytes.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), dst, s.len()) };
        s.len()
    })
}

/// `llama_state_set_data`.
#[no_mangle]
pub unsafe extern "C" fn llama_state_set_data(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
) -> usize {
    with_ctx_mut("llama_state_set_data", ctx, 0, |c| {
        // SAFETY: src holds `size` readable bytes (llama.h contract); NULL refused by `slice`.
        let Some(src) = (unsafe { slice(src, size) }) else {
            return 0;
        };
        match c.ctx.state_load(src) {
            Ok(n) => {
                c.sampling.forget_outputs();
                n
            }
            Err(e) => {
                log_error!("llama_state_set_data: {e}");
                0
            }
        }
    })
}

/// `llama_state_load_file`.
#[no_mangle]
pub unsafe extern "C" fn llama_state_load_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> bool {
    with_ctx_mut("llama_state_load_file", ctx, false, |c| {
        // SAFETY: a NUL-terminated path (llama.h contract); NULL refused.
        let Some(path) = (unsafe { super::boundary::c_str(path_session) }) else {
            return false;
        };
        let path = std::path::PathBuf::from(String::from_utf8_lossy(path.to_bytes()).into_owned());
        match c.ctx.state_load_file(&path, n_token_capacity) {
            Ok(toks) => {
                c.sampling.forget_outputs();
                // SAFETY: tokens_out holds n_token_capacity >= toks.len() entries (checked).
                if let Some(out) = unsafe { super::boundary::slice_mut(tokens_out, toks.len()) } {
                    out.copy_from_slice(&toks);
                }
                if !n_token_count_out.is_null() {
                    // SAFETY: non-NULL out-parameter (llama.h contract).
                    unsafe { *n_token_count_out = toks.len() };
                }
                true
            }
            Err(e) => {
                log_error!("llama_state_load_file: {e}");
                false
            }
        }
    })
}

/// `llama_load_session_file`. Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_load_session_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> bool {
    llama_state_load_file(
        ctx,
        path_session,
        tokens_out,
        n_token_capacity,
        n_token_count_out,
    )
}

/// `llama_state_save_file`.
#[no_mangle]
pub unsafe extern "C" fn llama_state_save_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens: *const llama_token,
    n_token_count: usize,
) -> bool {
    with_ctx_mut("llama_state_save_file", ctx, false, |c| {
        // SAFETY: a NUL-terminated path (llama.h contract); NULL refused.
        let Some(path) = (unsafe { super::boundary::c_str(path_session) }) else {
            return false;
        };
        let path = std::path::PathBuf::from(String::from_utf8_lossy(path.to_bytes()).into_owned());
        // SAFETY: tokens holds n_token_count entries (llama.h contract).
        let Some(toks) = (unsafe { slice(tokens, n_token_count) }) else {
            return false;
        };
        match c.ctx.state_save_file(&path, toks) {
            Ok(()) => true,
            Err(e) => {
                log_error!("llama_state_save_file: {e}");
                false
            }
        }
    })
}

/// `llama_save_session_file`. Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_save_session_file(
    ctx: *mut llama_context,
    path_session: *const c_char,
    tokens: *const llama_token,
    n_token_count: usize,
) -> bool {
    llama_state_save_file(ctx, path_session, tokens, n_token_count)
}

/// `llama_encode`.
#[no_mangle]
pub unsafe extern "C" fn llama_encode(ctx: *mut llama_context, batch: llama_batch) -> i32 {
    llama_decode(ctx, batch)
}

/// `llama_decode`.
#[no_mangle]
pub unsafe extern "C" fn llama_decode(ctx: *mut llama_context, batch: llama_batch) -> i32 {
    ffi_guard!("llama_decode", -3, {
        // SAFETY: llama.h requires a live context (NULL is refused).
        let Some(c) = (unsafe { ctx_mut(ctx) }) else {
            log_error!("llama_decode: ctx is NULL");
            return -1;
        };
        // SAFETY: the batch arrays hold n_tokens entries (llama.h contract), checked for NULL.
        let view = match unsafe { batch_view(&batch, c.ctx.model().n_embd() as usize) } {
            Some(v) => v,
            None => {
                log_error!("llama_decode: invalid batch");
                return -1;
            }
        };
        decode_view(c, &view, "llama_decode")
    })
}

/// Runs one decode and maps errors to llama.h's codes (-1 invalid input, -3 fatal).
pub(crate) fn decode_view(c: &mut LlamaContext, view: &BatchView<'_>, name: &str) -> i32 {
    let t0 = super::ggml::time_us();
    let output_all = c.ctx.cparams().embeddings;
    if !c.sampling.check_batch(view, output_all) {
        return -1;
    }
    match c.ctx.decode(view) {
        Ok(r) => {
            c.sampling.after_decode(&c.ctx, view, r);
            if r == 0 {
                c.perf.record(view.n_tokens, t0);
            }
            r
        }
        Err(e) => {
            log_error!("{name}: {e}");
            if e.kind == crate::error::ErrorKind::InvalidArgument {
                -1
            } else {
                -3
            }
        }
    }
}

/// `llama_set_n_threads`.
#[no_mangle]
pub unsafe extern "C" fn llama_set_n_threads(
    ctx: *mut llama_context,
    n_threads: i32,
    n_threads_batch: i32,
) {
    with_ctx_mut("llama_set_n_threads", ctx, (), |c| {
        c.ctx.set_n_threads(n_threads, n_threads_batch)
    })
}

/// `llama_n_threads`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_threads(ctx: *mut llama_context) -> i32 {
    with_ctx_mut("llama_n_threads", ctx, -1, |c| {
        c.ctx.cparams().n_threads as i32
    })
}

/// `llama_n_threads_batch`.
#[no_mangle]
pub unsafe extern "C" fn llama_n_threads_batch(ctx: *mut llama_context) -> i32 {
    with_ctx_mut("llama_n_threads_batch", ctx, -1, |c| {
        c.ctx.cparams().n_threads_batch as i32
    })
}

/// `llama_set_embeddings`.
#[no_mangle]
pub unsafe extern "C" fn llama_set_embeddings(ctx: *mut llama_context, embeddings: bool) {
    with_ctx_mut("llama_set_embeddings", ctx, (), |c| {
        c.ctx.set_embeddings(embeddings)
    })
}

/// `llama_set_causal_attn`.
#[no_mangle]
pub unsafe extern "C" fn llama_set_causal_attn(ctx: *mut llama_context, causal_attn: bool) {
    with_ctx_mut("llama_set_causal_attn", ctx, (), |_| {
        if !causal_attn {
            log_error!("llama_set_causal_attn: non-causal attention is not supported");
        }
    })
}

/// `llama_set_warmup`. Deprecated in llama.h. Accepted and ignored: upstream uses it to run
/// every expert once while warming up, which changes no result.
#[no_mangle]
pub unsafe extern "C" fn llama_set_warmup(ctx: *mut llama_context, warmup: bool) {
    with_ctx_mut("llama_set_warmup", ctx, (), |_| {
        let _ = warmup;
    })
}

/// `llama_synchronize`.
#[no_mangle]
pub unsafe extern "C" fn llama_synchronize(ctx: *mut llama_context) {
    with_ctx_mut("llama_synchronize", ctx, (), |_| ())
}

/// `llama_get_logits`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_logits(ctx: *mut llama_context) -> *mut f32 {
    with_ctx_mut("llama_get_logits", ctx, std::ptr::null_mut(), |c| {
        c.ctx.logits().as_ptr() as *mut f32
    })
}

/// `llama_get_logits_ith`: the logits decode's sampler chain left for that output when its
/// sequence has one (as upstream), else the model's logits.
#[no_mangle]
pub unsafe extern "C" fn llama_get_logits_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    with_ctx_mut(
        "llama_get_logits_ith",
        ctx,
        std::ptr::null_mut(),
        |c| match c.ctx.logits_ith(i) {
            Some(_) if !c.sampling.logits(&c.ctx, i).0.is_null() => c.sampling.logits(&c.ctx, i).0,
            Some(r) => r.as_ptr() as *mut f32,
            None => {
                log_error!("llama_get_logits_ith: invalid logits id {i}");
                std::ptr::null_mut()
            }
        },
    )
}

/// `llama_get_embeddings`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings(ctx: *mut llama_context) -> *mut f32 {
    with_ctx_mut("llama_get_embeddings", ctx, std::ptr::null_mut(), |c| {
        let e = c.ctx.embeddings();
        if e.is_empty() {
            std::ptr::null_mut()
        } else {
            e.as_ptr() as *mut f32
        }
    })
}

/// `llama_get_embeddings_ith`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    with_ctx_mut(
        "llama_get_embeddings_ith",
        ctx,
        std::ptr::null_mut(),
        |c| match c.ctx.embeddings_ith(i) {
            Some(r) => r.as_ptr() as *mut f32,
            None => {
                log_error!("llama_get_embeddings_ith: invalid embeddings id {i}");
                std::ptr::null_mut()
            }
        },
    )
}

/// `llama_get_embeddings_seq`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_embeddings_seq(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
) -> *mut f32 {
    with_ctx_mut(
        "llama_get_embeddings_seq",
        ctx,
        std::ptr::null_mut(),
        |c| match c.ctx.embeddings_seq(seq_id) {
            Some(e) => e.as_ptr() as *mut f32,
            None => std::ptr::null_mut(),
        },
    )
}

/// `llama_set_sampler`: attaches a sampler chain to `seq_id`, sampled inside `llama_decode` on
/// the CPU (NULL detaches). False, with a warning, for a sampler that is not a non-empty chain;
/// a chain whose later samplers cannot run in decode is attached with its leading ones and the
/// rest run in `llama_sampler_sample` (as upstream). See `ffi::sampler::backend`.
#[no_mangle]
pub unsafe extern "C" fn llama_set_sampler(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
    smpl: *mut llama_sampler,
) -> bool {
    with_ctx_mut("llama_set_sampler", ctx, false, |c| {
        // SAFETY: llama.h: NULL or a live sampler the caller keeps alive while attached.
        unsafe { c.sampling.set(seq_id, smpl) }
    })
}

//! Context functions beside decoding: performance counters, the abort callback, thread pools,
//! causal attention and recurrent-state queries, and the backend-sampling getters.

use std::ffi::c_void;

use super::context::{with_ctx, with_ctx_mut, LlamaContext};
use super::ggml::time_us;
use super::log::log_info;
use super::types::*;

/// Upstream's per-context performance counters (`llama_perf_context_data`, in microseconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Perf {
    /// When the context was made or the counters reset.
    pub t_start_us: i64,
    /// Model load time, then (upstream's refinement) the time to the end of the first decode.
    pub t_load_us: i64,
    /// Time in batches of several tokens.
    pub t_p_eval_us: i64,
    /// Time in single-token batches.
    pub t_eval_us: i64,
    /// Tokens in batches of several tokens.
    pub n_p_eval: i32,
    /// Single-token batches.
    pub n_eval: i32,
    /// Whether a decode has finished since the context was made.
    pub evaluated_once: bool,
    /// `llama_context_params.no_perf`: times are not accumulated (counts are).
    pub no_perf: bool,
}

impl Perf {
    /// Counters for a context made now, from a model that took `t_load_us` to load.
    pub fn new(t_load_us: i64, no_perf: bool) -> Perf {
        Perf {
            t_start_us: time_us(),
            t_load_us,
            no_perf,
            ..Default::default()
        }
    }

    /// Records one decode of `n_tokens` tokens that started at `t0_us`.
    pub fn record(&mut self, n_tokens: i32, t0_us: i64) {
        let now = time_us();
        let dt = if self.no_perf { 0 } else { now - t0_us };
        match n_tokens {
            1 => {
                self.t_eval_us += dt;
                self.n_eval += 1;
            }
            n if n > 1 => {
                self.t_p_eval_us += dt;
                self.n_p_eval += n;
            }
            _ => {}
        }
        if n_tokens > 0 && !self.evaluated_once {
            self.t_load_us = now - self.t_start_us;
            self.evaluated_once = true;
        }
    }

    fn data(&self) -> llama_perf_context_data {
        llama_perf_context_data {
            t_start_ms: 1e-3 * self.t_start_us as f64,
            t_load_ms: 1e-3 * self.t_load_us as f64,
            t_p_eval_ms: 1e-3 * self.t_p_eval_us as f64,
            t_eval_ms: 1e-3 * self.t_eval_us as f64,
            n_p_eval: self.n_p_eval.max(1),
            n_eval: self.n_eval.max(1),
            n_reused: 0,
        }
    }
}

/// The caller's abort callback, asked from the decoding thread.
struct CAbort {
    cb: unsafe extern "C" fn(*mut c_void) -> bool,
    data: *mut c_void,
}

// SAFETY: llama.h hands the callback and its data to the context; the context calls it from
// whichever thread decodes, as upstream does.
unsafe impl Send for CAbort {}

impl CAbort {
    fn call(&self) -> bool {
        // SAFETY: a C callback with the data the caller gave for it (llama.h contract).
        unsafe { (self.cb)(self.data) }
    }
}

/// Installs `cb(data)` as `c`'s abort check (`None` clears it).
pub fn set_abort(c: &mut LlamaContext, cb: ggml_abort_callback, data: *mut c_void) {
    c.ctx.set_abort_check(cb.map(|cb| {
        let a = CAbort { cb, data };
        Box::new(move || a.call()) as crate::context::AbortCheck
    }));
}

/// `llama_set_abort_callback`: asked before every micro-batch; `true` makes `llama_decode`
/// return 2 (the micro-batches already run stay in the cache).
#[no_mangle]
pub unsafe extern "C" fn llama_set_abort_callback(
    ctx: *mut llama_context,
    abort_callback: ggml_abort_callback,
    abort_callback_data: *mut c_void,
) {
    with_ctx_mut("llama_set_abort_callback", ctx, (), |c| {
        set_abort(c, abort_callback, abort_callback_data)
    })
}

/// `llama_attach_threadpool`: accepted; this library runs graphs on its own pool, sized by
/// `llama_set_n_threads` (the ggml thread pool has no other effect here).
#[no_mangle]
pub unsafe extern "C" fn llama_attach_threadpool(
    ctx: *mut llama_context,
    threadpool: ggml_threadpool_t,
    threadpool_batch: ggml_threadpool_t,
) {
    with_ctx_mut("llama_attach_threadpool", ctx, (), |_| {
        let _ = (threadpool, threadpool_batch);
    })
}

/// `llama_detach_threadpool`: the counterpart of [`llama_attach_threadpool`].
#[no_mangle]
pub unsafe extern "C" fn llama_detach_threadpool(ctx: *mut llama_context) {
    with_ctx_mut("llama_detach_threadpool", ctx, (), |_| ())
}

/// `llama_n_rs_seq`: recurrent-state sequences with partial rollback; 0, as upstream for every
/// architecture without recurrent layers (all of this library's).
#[no_mangle]
pub unsafe extern "C" fn llama_n_rs_seq(ctx: *const llama_context) -> u32 {
    with_ctx("llama_n_rs_seq", ctx, 0, |_| 0)
}

/// `llama_get_causal_attn`: true (this library runs causal attention only; see
/// `llama_set_causal_attn`).
#[no_mangle]
pub unsafe extern "C" fn llama_get_causal_attn(ctx: *const llama_context) -> bool {
    with_ctx("llama_get_causal_attn", ctx, false, |_| true)
}

/// `llama_perf_context`.
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context(ctx: *const llama_context) -> llama_perf_context_data {
    if ctx.is_null() {
        // upstream returns zeroed data for NULL
        return llama_perf_context_data::default();
    }
    with_ctx(
        "llama_perf_context",
        ctx,
        llama_perf_context_data::default(),
        |c| c.perf.data(),
    )
}

/// `llama_perf_context_print`: logs the counters as upstream does.
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context_print(ctx: *const llama_context) {
    with_ctx("llama_perf_context_print", ctx, (), |c| {
        let d = c.perf.data();
        let t_end_ms = 1e-3 * time_us() as f64;
        let f = "llama_perf_context_print";
        log_info!("{f}:        load time = {:10.2} ms", d.t_load_ms);
        log_info!(
            "{f}: prompt eval time = {:10.2} ms / {:5} tokens ({:8.2} ms per token, {:8.2} tokens per second)",
            d.t_p_eval_ms,
            d.n_p_eval,
            d.t_p_eval_ms / d.n_p_eval as f64,
            1e3 / d.t_p_eval_ms * d.n_p_eval as f64
        );
        log_info!(
            "{f}:        eval time = {:10.2} ms / {:5} runs   ({:8.2} ms per token, {:8.2} tokens per second)",
            d.t_eval_ms,
            d.n_eval,
            d.t_eval_ms / d.n_eval as f64,
            1e3 / d.t_eval_ms * d.n_eval as f64
        );
        log_info!(
            "{f}:       total time = {:10.2} ms / {:5} tokens",
            t_end_ms - d.t_start_ms,
            d.n_p_eval + d.n_eval
        );
        log_info!("{f}:    graphs reused = {:10}", d.n_reused);
    })
}

/// `llama_perf_context_reset`.
#[no_mangle]
pub unsafe extern "C" fn llama_perf_context_reset(ctx: *mut llama_context) {
    with_ctx_mut("llama_perf_context_reset", ctx, (), |c| {
        let p = &mut c.perf;
        p.t_start_us = time_us();
        p.t_eval_us = 0;
        p.n_eval = 0;
        p.t_p_eval_us = 0;
        p.n_p_eval = 0;
    })
}

// ----- backend sampling ---------------------------------------------------------------------
// Outputs of the sampler chains attached with llama_context_params.samplers or
// llama_set_sampler, run inside decode (ffi::sampler::backend). Without a chain at the last
// decode they are llama.h's "nothing sampled" values (logits count: n_vocab, as upstream);
// candidates fall back to the list of all vocabulary ids.

/// `llama_get_sampled_token_ith`: the token decode sampled for output `i`, or
/// `LLAMA_TOKEN_NULL`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_token_ith(
    ctx: *mut llama_context,
    i: i32,
) -> llama_token {
    with_ctx_mut("llama_get_sampled_token_ith", ctx, LLAMA_TOKEN_NULL, |c| {
        c.sampling.token(&c.ctx, i)
    })
}

/// `llama_get_sampled_probs_ith`: the probabilities decode computed for output `i` (NULL when
/// none were).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_probs_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    with_ctx_mut(
        "llama_get_sampled_probs_ith",
        ctx,
        std::ptr::null_mut(),
        |c| c.sampling.probs(&c.ctx, i).0,
    )
}

/// `llama_get_sampled_probs_count_ith`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_probs_count_ith(ctx: *mut llama_context, i: i32) -> u32 {
    with_ctx_mut("llama_get_sampled_probs_count_ith", ctx, 0, |c| {
        c.sampling.probs(&c.ctx, i).1
    })
}

/// `llama_get_sampled_logits_ith`: the logits decode's sampler chain left for output `i` (NULL
/// when its sequence has no chain).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_logits_ith(ctx: *mut llama_context, i: i32) -> *mut f32 {
    with_ctx_mut(
        "llama_get_sampled_logits_ith",
        ctx,
        std::ptr::null_mut(),
        |c| c.sampling.logits(&c.ctx, i).0,
    )
}

/// `llama_get_sampled_logits_count_ith`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_logits_count_ith(
    ctx: *mut llama_context,
    i: i32,
) -> u32 {
    with_ctx_mut("llama_get_sampled_logits_count_ith", ctx, 0, |c| {
        c.sampling.logits(&c.ctx, i).1
    })
}

/// `llama_get_sampled_candidates_ith`: the vocabulary ids of the sampled logits of output `i`
/// (all ids `0..n_vocab` when decode kept none).
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_candidates_ith(
    ctx: *mut llama_context,
    i: i32,
) -> *mut llama_token {
    with_ctx_mut(
        "llama_get_sampled_candidates_ith",
        ctx,
        std::ptr::null_mut(),
        |c| c.sampling.candidates(&c.ctx, i, false).0,
    )
}

/// `llama_get_sampled_candidates_count_ith`.
#[no_mangle]
pub unsafe extern "C" fn llama_get_sampled_candidates_count_ith(
    ctx: *mut llama_context,
    i: i32,
) -> u32 {
    with_ctx_mut("llama_get_sampled_candidates_count_ith", ctx, 0, |c| {
        c.sampling.candidates(&c.ctx, i, true).1
    })
}

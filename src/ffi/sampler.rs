//! Sampler functions of llama.h: the `llama_sampler_i` vtable, chains and built-in samplers.
//! (Created by the ffi helper as stubs; owned by the sampling helper from then on.)

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_sampler_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init(
    iface: *mut llama_sampler_i,
    ctx: llama_sampler_context_t,
) -> *mut llama_sampler {
    unsupported!("llama_sampler_init", std::ptr::null_mut(), iface, ctx)
}

/// `llama_sampler_name` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_name(smpl: *const llama_sampler) -> *const c_char {
    unsupported!("llama_sampler_name", std::ptr::null(), smpl)
}

/// `llama_sampler_accept` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_accept(smpl: *mut llama_sampler, token: llama_token) {
    unsupported!("llama_sampler_accept", (), smpl, token)
}

/// `llama_sampler_apply` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_apply(
    smpl: *mut llama_sampler,
    cur_p: *mut llama_token_data_array,
) {
    unsupported!("llama_sampler_apply", (), smpl, cur_p)
}

/// `llama_sampler_reset` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_reset(smpl: *mut llama_sampler) {
    unsupported!("llama_sampler_reset", (), smpl)
}

/// `llama_sampler_clone` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_clone(smpl: *const llama_sampler) -> *mut llama_sampler {
    unsupported!("llama_sampler_clone", std::ptr::null_mut(), smpl)
}

/// `llama_sampler_copy` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_copy(src: *const llama_sampler, dst: *mut llama_sampler) {
    unsupported!("llama_sampler_copy", (), src, dst)
}

/// `llama_sampler_free` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_free(smpl: *mut llama_sampler) {
    unsupported!("llama_sampler_free", (), smpl)
}

/// `llama_sampler_chain_init` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_init(
    params: llama_sampler_chain_params,
) -> *mut llama_sampler {
    unsupported!("llama_sampler_chain_init", std::ptr::null_mut(), params)
}

/// `llama_sampler_chain_add` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_add(
    chain: *mut llama_sampler,
    smpl: *mut llama_sampler,
) {
    unsupported!("llama_sampler_chain_add", (), chain, smpl)
}

/// `llama_sampler_chain_get` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_get(
    chain: *mut llama_sampler,
    i: i32,
) -> *mut llama_sampler {
    unsupported!("llama_sampler_chain_get", std::ptr::null_mut(), chain, i)
}

/// `llama_sampler_chain_n` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_n(chain: *const llama_sampler) -> i32 {
    unsupported!("llama_sampler_chain_n", -1, chain)
}

/// `llama_sampler_chain_remove` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_remove(
    chain: *mut llama_sampler,
    i: i32,
) -> *mut llama_sampler {
    unsupported!("llama_sampler_chain_remove", std::ptr::null_mut(), chain, i)
}

/// `llama_sampler_init_greedy` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_greedy() -> *mut llama_sampler {
    unsupported!("llama_sampler_init_greedy", std::ptr::null_mut())
}

/// `llama_sampler_init_dist` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_dist(seed: u32) -> *mut llama_sampler {
    unsupported!("llama_sampler_init_dist", std::ptr::null_mut(), seed)
}

/// `llama_sampler_init_top_k` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_k(k: i32) -> *mut llama_sampler {
    unsupported!("llama_sampler_init_top_k", std::ptr::null_mut(), k)
}

/// `llama_sampler_init_top_p` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_p(p: f32, min_keep: usize) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_top_p",
        std::ptr::null_mut(),
        p,
        min_keep
    )
}

/// `llama_sampler_init_min_p` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_min_p(p: f32, min_keep: usize) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_min_p",
        std::ptr::null_mut(),
        p,
        min_keep
    )
}

/// `llama_sampler_init_typical` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_typical(p: f32, min_keep: usize) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_typical",
        std::ptr::null_mut(),
        p,
        min_keep
    )
}

/// `llama_sampler_init_temp` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_temp(t: f32) -> *mut llama_sampler {
    unsupported!("llama_sampler_init_temp", std::ptr::null_mut(), t)
}

/// `llama_sampler_init_temp_ext` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_temp_ext(
    t: f32,
    delta: f32,
    exponent: f32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_temp_ext",
        std::ptr::null_mut(),
        t,
        delta,
        exponent
    )
}

/// `llama_sampler_init_xtc` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_xtc(
    p: f32,
    t: f32,
    min_keep: usize,
    seed: u32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_xtc",
        std::ptr::null_mut(),
        p,
        t,
        min_keep,
        seed
    )
}

/// `llama_sampler_init_top_n_sigma` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_n_sigma(n: f32) -> *mut llama_sampler {
    unsupported!("llama_sampler_init_top_n_sigma", std::ptr::null_mut(), n)
}

/// `llama_sampler_init_mirostat` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_mirostat(
    n_vocab: i32,
    seed: u32,
    tau: f32,
    eta: f32,
    m: i32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_mirostat",
        std::ptr::null_mut(),
        n_vocab,
        seed,
        tau,
        eta,
        m
    )
}

/// `llama_sampler_init_mirostat_v2` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_mirostat_v2(
    seed: u32,
    tau: f32,
    eta: f32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_mirostat_v2",
        std::ptr::null_mut(),
        seed,
        tau,
        eta
    )
}

/// `llama_sampler_init_grammar` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_grammar(
    vocab: *const llama_vocab,
    grammar_str: *const c_char,
    grammar_root: *const c_char,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_grammar",
        std::ptr::null_mut(),
        vocab,
        grammar_str,
        grammar_root
    )
}

/// `llama_sampler_init_grammar_lazy` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_grammar_lazy(
    vocab: *const llama_vocab,
    grammar_str: *const c_char,
    grammar_root: *const c_char,
    trigger_words: *mut *const c_char,
    num_trigger_words: usize,
    trigger_tokens: *const llama_token,
    num_trigger_tokens: usize,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_grammar_lazy",
        std::ptr::null_mut(),
        vocab,
        grammar_str,
        grammar_root,
        trigger_words,
        num_trigger_words,
        trigger_tokens,
        num_trigger_tokens
    )
}

/// `llama_sampler_init_grammar_lazy_patterns` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_grammar_lazy_patterns(
    vocab: *const llama_vocab,
    grammar_str: *const c_char,
    grammar_root: *const c_char,
    trigger_patterns: *mut *const c_char,
    num_trigger_patterns: usize,
    trigger_tokens: *const llama_token,
    num_trigger_tokens: usize,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_grammar_lazy_patterns",
        std::ptr::null_mut(),
        vocab,
        grammar_str,
        grammar_root,
        trigger_patterns,
        num_trigger_patterns,
        trigger_tokens,
        num_trigger_tokens
    )
}

/// `llama_sampler_init_penalties` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_penalties(
    n_vocab: i32,
    penalty_last_n: i32,
    penalty_repeat: f32,
    penalty_freq: f32,
    penalty_present: f32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_penalties",
        std::ptr::null_mut(),
        n_vocab,
        penalty_last_n,
        penalty_repeat,
        penalty_freq,
        penalty_present
    )
}

/// `llama_sampler_init_dry` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_dry(
    vocab: *const llama_vocab,
    dry_multiplier: f32,
    dry_base: f32,
    dry_allowed_length: i32,
    dry_penalty_last_n: i32,
    seq_breakers: *mut *const c_char,
    num_breakers: usize,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_dry",
        std::ptr::null_mut(),
        vocab,
        dry_multiplier,
        dry_base,
        dry_allowed_length,
        dry_penalty_last_n,
        seq_breakers,
        num_breakers
    )
}

/// `llama_sampler_init_adaptive_p` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_adaptive_p(
    target: f32,
    decay: f32,
    seed: u32,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_adaptive_p",
        std::ptr::null_mut(),
        target,
        decay,
        seed
    )
}

/// `llama_sampler_init_logit_bias` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_logit_bias(
    n_vocab: i32,
    n_logit_bias: i32,
    logit_bias: *const llama_logit_bias,
) -> *mut llama_sampler {
    unsupported!(
        "llama_sampler_init_logit_bias",
        std::ptr::null_mut(),
        n_vocab,
        n_logit_bias,
        logit_bias
    )
}

/// `llama_sampler_init_infill` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_infill(
    vocab: *const llama_vocab,
) -> *mut llama_sampler {
    unsupported!("llama_sampler_init_infill", std::ptr::null_mut(), vocab)
}

/// `llama_sampler_get_seed` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_get_seed(smpl: *const llama_sampler) -> u32 {
    unsupported!("llama_sampler_get_seed", 0, smpl)
}

/// `llama_sampler_sample` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_sample(
    smpl: *mut llama_sampler,
    ctx: *mut llama_context,
    idx: i32,
) -> llama_token {
    unsupported!("llama_sampler_sample", LLAMA_TOKEN_NULL, smpl, ctx, idx)
}

/// `llama_perf_sampler` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler(
    chain: *const llama_sampler,
) -> llama_perf_sampler_data {
    unsupported!(
        "llama_perf_sampler",
        llama_perf_sampler_data::default(),
        chain
    )
}

/// `llama_perf_sampler_print` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler_print(chain: *const llama_sampler) {
    unsupported!("llama_perf_sampler_print", (), chain)
}

/// `llama_perf_sampler_reset` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler_reset(chain: *mut llama_sampler) {
    unsupported!("llama_perf_sampler_reset", (), chain)
}

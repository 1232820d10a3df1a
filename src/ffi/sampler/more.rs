//! The rest of the sampler API: penalties, logit bias, the samplers not built yet, seeds,
//! `llama_sampler_sample` and the perf counters.

use std::ffi::c_char;

use super::glue::rust_of;
use super::{chain_of, handle};
use crate::ffi::boundary::{c_str, ffi_guard, require_non_null, slice};
use crate::ffi::log::{log_error, log_info, log_warn};
use crate::ffi::types::*;
use crate::sampling::{self as s, LogitBiasEntry};

/// The vocabulary as the grammar sampler sees it: a view into the model that owns it.
struct VocabView(*const crate::vocab::Vocab);

impl VocabView {
    fn get(&self) -> &crate::vocab::Vocab {
        // SAFETY: llama.h requires the model (which owns the vocabulary) to outlive every
        // sampler created with its vocab; the pointer was checked for NULL at creation.
        unsafe { &*self.0 }
    }
}

impl s::SamplerVocab for VocabView {
    fn piece(&self, token: i32) -> Vec<u8> {
        self.get().token_to_piece(token, 0, true)
    }
    fn is_eog(&self, token: i32) -> bool {
        self.get().is_eog(token)
    }
    fn piece_plain(&self, token: i32) -> Vec<u8> {
        self.get().token_to_piece(token, 0, false)
    }
    fn tokenize_special(&self, text: &[u8]) -> Vec<i32> {
        self.get().tokenize(text, false, true)
    }
    fn eot(&self) -> i32 {
        self.get().eot()
    }
    fn eos(&self) -> i32 {
        self.get().eos()
    }
}

/// Shared body of the grammar constructors.
///
/// # Safety
/// Pointers as llama.h documents for `llama_sampler_init_grammar*`.
unsafe fn init_grammar(
    name: &str,
    vocab: *const llama_vocab,
    grammar_str: *const c_char,
    grammar_root: *const c_char,
    lazy: bool,
    trigger_tokens: *const llama_token,
    num_trigger_tokens: usize,
) -> *mut llama_sampler {
    if vocab.is_null() {
        log_error!("{name}: vocab is NULL");
        return std::ptr::null_mut();
    }
    // SAFETY: NUL-terminated strings or NULL, per llama.h.
    let text = unsafe { c_str(grammar_str) }.map_or(&[][..], |c| c.to_bytes());
    // SAFETY: as above.
    let root = unsafe { c_str(grammar_root) }.map_or(&[][..], |c| c.to_bytes());
    if !text.is_empty() && root.is_empty() {
        log_error!("{name}: grammar_root is NULL or empty");
        return std::ptr::null_mut();
    }
    // SAFETY: `num_trigger_tokens` tokens at `trigger_tokens`; NULL with a count is refused.
    let Some(triggers) = (unsafe { slice(trigger_tokens, num_trigger_tokens) }) else {
        log_error!("{name}: trigger_tokens is NULL with num_trigger_tokens = {num_trigger_tokens}");
        return std::ptr::null_mut();
    };
    let view = std::rc::Rc::new(VocabView(vocab.cast()));
    match s::GrammarSampler::new(view, text, root, lazy, triggers) {
        Ok(g) => handle(Box::new(g)),
        Err(e) => {
            log_error!("{name}: {}", e.context);
            std::ptr::null_mut()
        }
    }
}

/// `llama_sampler_init_grammar`: constrains sampling to a GBNF grammar (an empty grammar
/// string gives a sampler that does nothing; a parse error gives NULL).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_grammar(
    vocab: *const llama_vocab,
    grammar_str: *const c_char,
    grammar_root: *const c_char,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_grammar", std::ptr::null_mut(), {
        // SAFETY: arguments as llama.h documents.
        unsafe {
            init_grammar(
                "llama_sampler_init_grammar",
                vocab,
                grammar_str,
                grammar_root,
                false,
                std::ptr::null(),
                0,
            )
        }
    })
}

/// `llama_sampler_init_grammar_lazy`: trigger tokens work; trigger words (regular expressions
/// underneath) are not supported yet and give NULL.
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
    ffi_guard!("llama_sampler_init_grammar_lazy", std::ptr::null_mut(), {
        if !trigger_words.is_null() && num_trigger_words > 0 {
            crate::ffi::boundary::not_supported("llama_sampler_init_grammar_lazy (trigger words)");
            return std::ptr::null_mut();
        }
        // SAFETY: arguments as llama.h documents.
        unsafe {
            init_grammar(
                "llama_sampler_init_grammar_lazy",
                vocab,
                grammar_str,
                grammar_root,
                true,
                trigger_tokens,
                num_trigger_tokens,
            )
        }
    })
}

/// `llama_sampler_init_grammar_lazy_patterns`: trigger tokens work; trigger patterns are not
/// supported yet and give NULL.
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
    ffi_guard!(
        "llama_sampler_init_grammar_lazy_patterns",
        std::ptr::null_mut(),
        {
            if !trigger_patterns.is_null() && num_trigger_patterns > 0 {
                crate::ffi::boundary::not_supported(
                    "llama_sampler_init_grammar_lazy_patterns (trigger patterns)",
                );
                return std::ptr::null_mut();
            }
            // SAFETY: arguments as llama.h documents.
            unsafe {
                init_grammar(
                    "llama_sampler_init_grammar_lazy_patterns",
                    vocab,
                    grammar_str,
                    grammar_root,
                    true,
                    trigger_tokens,
                    num_trigger_tokens,
                )
            }
        }
    )
}

/// `llama_sampler_init_penalties`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_penalties(
    n_vocab: i32,
    penalty_last_n: i32,
    penalty_repeat: f32,
    penalty_freq: f32,
    penalty_present: f32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_penalties", std::ptr::null_mut(), {
        handle(s::Penalties::new(
            n_vocab,
            penalty_last_n,
            penalty_repeat,
            penalty_freq,
            penalty_present,
        ))
    })
}

/// The vocabulary behind a `llama_vocab*` (a view owned by its model).
///
/// # Safety
/// `vocab` must be NULL or a pointer from `llama_model_get_vocab` whose model is alive.
pub(super) unsafe fn vocab_ref<'a>(vocab: *const llama_vocab) -> Option<&'a crate::vocab::Vocab> {
    // SAFETY: per the contract, `*const llama_vocab` is a `*const Vocab` (ffi module docs).
    unsafe { vocab.cast::<crate::vocab::Vocab>().as_ref() }
}

/// `llama_sampler_init_dry`: sequence breakers are turned into token sequences with `vocab`.
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
    ffi_guard!("llama_sampler_init_dry", std::ptr::null_mut(), {
        let enabled = dry_multiplier != 0.0 && dry_base >= 1.0 && dry_penalty_last_n > 0;
        let mut processed = Vec::new();
        if enabled && num_breakers > 0 {
            // SAFETY: `num_breakers` string pointers; NULL with a count is refused.
            let Some(ptrs) = (unsafe { slice(seq_breakers.cast_const(), num_breakers) }) else {
                log_error!("llama_sampler_init_dry: seq_breakers is NULL with num_breakers = {num_breakers}");
                return std::ptr::null_mut();
            };
            // SAFETY: the model owning `vocab` outlives this call.
            let Some(v) = (unsafe { vocab_ref(vocab) }) else {
                log_error!("llama_sampler_init_dry: vocab is NULL");
                return std::ptr::null_mut();
            };
            let mut breakers: Vec<&[u8]> = Vec::new();
            for (i, &p) in ptrs.iter().enumerate() {
                // SAFETY: each entry is NULL or a NUL-terminated string.
                match unsafe { c_str(p) }.map(|c| c.to_bytes()) {
                    Some(b) if !b.is_empty() => {
                        if b.len() > s::dry::MAX_CHAR_LEN {
                            log_warn!(
                                "truncating DRY sequence breaker to {} characters",
                                s::dry::MAX_CHAR_LEN
                            );
                        }
                        breakers.push(b);
                    }
                    _ => log_warn!("skipping null or empty DRY sequence breaker at index {i}"),
                }
            }
            processed = s::dry::process_breakers(
                v.n_tokens(),
                |t| v.detokenize(&[t], false, true),
                |text| v.tokenize(text, false, false),
                &breakers,
            );
        }
        handle(s::Dry::new(
            dry_multiplier,
            dry_base,
            dry_allowed_length,
            dry_penalty_last_n,
            processed,
        ))
    })
}

/// `llama_sampler_init_adaptive_p`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_adaptive_p(
    target: f32,
    decay: f32,
    seed: u32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_adaptive_p", std::ptr::null_mut(), {
        handle(Box::new(s::AdaptiveP::new(target, decay, seed)))
    })
}

/// `llama_sampler_init_logit_bias`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_logit_bias(
    n_vocab: i32,
    n_logit_bias: i32,
    logit_bias: *const llama_logit_bias,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_logit_bias", std::ptr::null_mut(), {
        let n = usize::try_from(n_logit_bias).unwrap_or(0);
        // SAFETY: the caller passes `n_logit_bias` entries; NULL with n > 0 is refused.
        let Some(entries) = (unsafe { slice(logit_bias, n) }) else {
            log_error!("llama_sampler_init_logit_bias: logit_bias is NULL with n_logit_bias = {n_logit_bias}");
            return std::ptr::null_mut();
        };
        let entries: Vec<LogitBiasEntry> = entries
            .iter()
            .map(|e| LogitBiasEntry {
                token: e.token,
                bias: e.bias,
            })
            .collect();
        handle(s::LogitBias::new(n_vocab, &entries))
    })
}

/// `llama_sampler_init_infill`: the fill-in-the-middle sampler over `vocab`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_infill(
    vocab: *const llama_vocab,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_infill", std::ptr::null_mut(), {
        require_non_null!("llama_sampler_init_infill", std::ptr::null_mut(), vocab);
        handle(Box::new(s::Infill::new(std::rc::Rc::new(VocabView(
            vocab.cast(),
        )))))
    })
}

/// `llama_sampler_get_seed`: the seed in use by dist/mirostat (a chain: its last seeded member),
/// `LLAMA_DEFAULT_SEED` otherwise.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_get_seed(smpl: *const llama_sampler) -> u32 {
    ffi_guard!("llama_sampler_get_seed", LLAMA_DEFAULT_SEED, {
        require_non_null!("llama_sampler_get_seed", LLAMA_DEFAULT_SEED, smpl);
        // SAFETY: live handle.
        match unsafe { rust_of(smpl) } {
            Some(h) => h.inner.current_seed(),
            None => LLAMA_DEFAULT_SEED,
        }
    })
}

/// `llama_sampler_sample`: applies the sampler to the `idx`-th output's logits of the last
/// decode, accepts the chosen token and returns it (`LLAMA_TOKEN_NULL` on failure). As upstream,
/// a token already sampled inside decode (`llama_set_sampler`) is accepted and returned as is,
/// and an output whose chain ran only partly in decode starts from what decode left.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_sample(
    smpl: *mut llama_sampler,
    ctx: *mut llama_context,
    idx: i32,
) -> llama_token {
    ffi_guard!("llama_sampler_sample", LLAMA_TOKEN_NULL, {
        require_non_null!("llama_sampler_sample", LLAMA_TOKEN_NULL, smpl, ctx);
        use crate::ffi::context_more as cm;
        // a token sampled inside decode (llama_set_sampler) is the answer
        // SAFETY: the context API checks its own arguments.
        let sampled = unsafe { cm::llama_get_sampled_token_ith(ctx, idx) };
        if sampled != LLAMA_TOKEN_NULL {
            // SAFETY: a live handle.
            unsafe { super::llama_sampler_accept(smpl, sampled) };
            return sampled;
        }
        // else start from what decode's chain left, if anything (the chain skips the samplers
        // that already ran there)
        // SAFETY: as above; the pointers hold their counts' entries (ids: at least as many).
        let from_decode = unsafe {
            let probs = cm::llama_get_sampled_probs_ith(ctx, idx);
            let logits = cm::llama_get_sampled_logits_ith(ctx, idx);
            let ids = cm::llama_get_sampled_candidates_ith(ctx, idx);
            if !probs.is_null() && !logits.is_null() && !ids.is_null() {
                let n = cm::llama_get_sampled_probs_count_ith(ctx, idx) as usize;
                Some((ids, logits, Some(probs), n))
            } else if !logits.is_null() && !ids.is_null() {
                let n = cm::llama_get_sampled_logits_count_ith(ctx, idx) as usize;
                Some((ids, logits, None, n))
            } else {
                None
            }
        };
        if let Some((ids, logits, probs, n)) = from_decode {
            // SAFETY: see above.
            let (Some(ids), Some(logits)) = (unsafe { slice(ids.cast_const(), n) }, unsafe {
                slice(logits.cast_const(), n)
            }) else {
                return LLAMA_TOKEN_NULL;
            };
            // SAFETY: see above.
            let probs = probs.and_then(|p| unsafe { slice(p.cast_const(), n) });
            let cur: Vec<llama_token_data> = (0..n)
                .map(|i| llama_token_data {
                    id: ids[i],
                    logit: logits[i],
                    p: probs.map_or(0.0, |p| p[i]),
                })
                .collect();
            // SAFETY: a live handle.
            return unsafe { apply_and_accept(smpl, cur) };
        }
        // SAFETY: the context API checks its own arguments.
        let logits = unsafe { crate::ffi::context::llama_get_logits_ith(ctx, idx) };
        if logits.is_null() {
            log_error!("llama_sampler_sample: no logits for output {idx}");
            return LLAMA_TOKEN_NULL;
        }
        // SAFETY: as above; each returns NULL / a negative count on failure.
        let n_vocab = unsafe {
            let model = crate::ffi::context::llama_get_model(ctx);
            let vocab = crate::ffi::model::llama_model_get_vocab(model);
            if vocab.is_null() {
                -1
            } else {
                crate::ffi::vocab::llama_vocab_n_tokens(vocab)
            }
        };
        let Ok(n_vocab) = usize::try_from(n_vocab) else {
            log_error!("llama_sampler_sample: the context has no vocabulary");
            return LLAMA_TOKEN_NULL;
        };
        // SAFETY: a logits row of the context holds n_vocab floats.
        let Some(row) = (unsafe { slice(logits.cast_const(), n_vocab) }) else {
            return LLAMA_TOKEN_NULL;
        };
        let cur: Vec<llama_token_data> = row
            .iter()
            .enumerate()
            .map(|(i, &logit)| llama_token_data {
                id: i as llama_token,
                logit,
                p: 0.0,
            })
            .collect();
        // an output decode did not sample (its sequence has no chain): a chain attached to some
        // sequence runs whole here (upstream would skip the samplers it runs in decode)
        // SAFETY: a live handle.
        let prefix = unsafe { chain_of(smpl) }.and_then(|c| c.backend_prefix());
        if prefix.is_some() {
            // SAFETY: as above.
            if let Some(c) = unsafe { chain_of(smpl) } {
                c.set_backend_prefix(None);
            }
        }
        // SAFETY: a live handle.
        let token = unsafe { apply_and_accept(smpl, cur) };
        if prefix.is_some() {
            // SAFETY: as above.
            if let Some(c) = unsafe { chain_of(smpl) } {
                c.set_backend_prefix(prefix);
            }
        }
        token
    })
}

/// Applies `smpl` to `cur`, accepts the selected token and returns it (`LLAMA_TOKEN_NULL` when
/// nothing was selected).
///
/// # Safety
/// `smpl` must be a live handle.
unsafe fn apply_and_accept(
    smpl: *mut llama_sampler,
    mut cur: Vec<llama_token_data>,
) -> llama_token {
    {
        let mut arr = llama_token_data_array {
            data: cur.as_mut_ptr(),
            size: cur.len(),
            selected: -1,
            sorted: false,
        };
        // SAFETY: a live handle and a valid array.
        unsafe { super::llama_sampler_apply(smpl, &mut arr) };
        let sel = usize::try_from(arr.selected).ok().filter(|&s| s < arr.size);
        let Some(sel) = sel else {
            log_error!(
                "llama_sampler_sample: the sampler selected no token (selected = {})",
                arr.selected
            );
            return LLAMA_TOKEN_NULL;
        };
        if arr.data.is_null() {
            return LLAMA_TOKEN_NULL;
        }
        // SAFETY: the sampler left `size` candidates at `data` and sel < size.
        let token = unsafe { (*arr.data.add(sel)).id };
        // SAFETY: a live handle.
        unsafe { super::llama_sampler_accept(smpl, token) };
        token
    }
}

/// `llama_perf_sampler`: the chain's sampling time and count (zeros and a log line if `chain`
/// is not a chain; upstream aborts).
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler(
    chain: *const llama_sampler,
) -> llama_perf_sampler_data {
    ffi_guard!("llama_perf_sampler", llama_perf_sampler_data::default(), {
        // SAFETY: NULL or a live handle.
        match unsafe { chain_of(chain) } {
            Some(c) => {
                let p = c.perf();
                llama_perf_sampler_data {
                    t_sample_ms: p.t_sample_ms,
                    n_sample: p.n_sample,
                }
            }
            None => {
                log_error!("llama_perf_sampler: invalid sampler passed - requires a sampler created with llama_sampler_chain_init()");
                llama_perf_sampler_data::default()
            }
        }
    })
}

/// `llama_perf_sampler_print`: logs the chain's sampling time.
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler_print(chain: *const llama_sampler) {
    ffi_guard!("llama_perf_sampler_print", (), {
        // SAFETY: NULL or a live handle.
        let data = unsafe { llama_perf_sampler(chain) };
        log_info!(
            "llama_perf_sampler_print:    samplers time = {:10.2} ms / {:5} runs",
            data.t_sample_ms,
            data.n_sample
        );
    })
}

/// `llama_perf_sampler_reset`: zeroes the chain's counters.
#[no_mangle]
pub unsafe extern "C" fn llama_perf_sampler_reset(chain: *mut llama_sampler) {
    ffi_guard!("llama_perf_sampler_reset", (), {
        // SAFETY: NULL or a live handle.
        match unsafe { chain_of(chain) } {
            Some(c) => c.perf_reset(),
            None => log_error!(
                "llama_perf_sampler_reset: invalid sampler passed - requires a sampler created with llama_sampler_chain_init()"
            ),
        }
    })
}

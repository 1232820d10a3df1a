//! Backend sampling (`llama_set_sampler`, `llama_context_params.samplers`, the
//! `llama_get_sampled_*` getters): sampler chains attached to sequences run inside
//! `llama_decode` over each output row of their sequence, on the CPU.
//!
//! As upstream, a chain is attached with its longest prefix of samplers that can run inside
//! decode (greedy, dist, top-k, top-p, min-p, temp, temp-ext, logit-bias, penalties and the no-op
//! samplers: see `crate::sampling::backend`); the rest of the chain runs in `llama_sampler_sample`, which
//! starts from what decode left (sampled logits, probabilities and candidate ids) and skips the
//! prefix. A sampler that is not a chain, or an empty chain, cannot be attached
//! (`llama_set_sampler` warns and returns false). Removing a chain (NULL) makes it a whole
//! chain again.
//!
//! Memory: every buffer is sized when a chain is attached (a configuration call), for
//! `n_outputs_max_per_seq` rows of `n_vocab` entries per attached sequence, so decoding
//! allocates nothing. A decode giving a sequence with a chain more outputs than that fails with
//! -1 before computing anything, as upstream.

use std::collections::BTreeMap;

use super::chain_of;
use super::glue::{handle_name, rust_of, Foreign, RustHandle};
use crate::context::{output_row, BatchView, Context};
use crate::ffi::log::{log_error, log_info, log_warn};
use crate::ffi::types::*;
use crate::sampling::backend::{self as b, BackendRow};
use crate::sampling::{Chain, Sampler, TokenData};

/// The sampled outputs of one attached sequence.
struct Entry {
    chain: *mut llama_sampler,
    logits: Vec<f32>,
    probs: Vec<f32>,
    candidates: Vec<i32>,
    sampled: Vec<i32>,
    n_logits: Vec<u32>,
    n_probs: Vec<u32>,
    n_candidates: Vec<u32>,
    /// Rows filled by the last decode.
    n_used: usize,
    /// Outputs counted for the decode being checked.
    n_counted: u32,
}

/// Where a `llama_get_sampled_*` index leads.
enum Lookup<'a> {
    /// No chain was attached at the last decode: llama.h's "no backend sampling" values.
    Inactive,
    /// The index names no output of the last decode.
    Invalid,
    /// An output without backend-sampled data (its sequence has no chain).
    Empty,
    /// An output sampled in decode: the entry and its slot.
    Row(&'a Entry, usize),
}

/// A context's backend samplers and their outputs.
pub struct BackendSampling {
    n_vocab: usize,
    n_outputs_max_per_seq: u32,
    rows_per_seq: usize,
    entries: BTreeMap<i32, Entry>,
    /// `0..n_vocab`: the candidate ids of a row without candidates.
    full_vocab: Vec<i32>,
    scratch: Vec<TokenData>,
    /// Output row of the last decode → (sequence, slot).
    row_map: Vec<Option<(i32, usize)>>,
    /// Whether a chain was attached when the last decode ran (upstream's buffers exist).
    active: bool,
}

/// The handle of chain element `i`, when it is one of our samplers.
fn member_handle(chain: &mut Chain, i: usize) -> Option<&mut RustHandle> {
    let f = chain.get_mut(i)?.as_any_mut().downcast_mut::<Foreign>()?;
    // SAFETY: a chain element owns a live handle.
    unsafe { rust_of(f.ptr()) }
}

/// The Rust sampler of chain element `i`, when it is one of ours.
fn member(chain: &mut Chain, i: usize) -> Option<&mut dyn Sampler> {
    member_handle(chain, i).map(|h| h.inner.as_mut())
}

impl BackendSampling {
    /// No chains; `n_outputs_max_per_seq` as resolved from the context parameters.
    pub fn new(n_vocab: usize, n_batch: usize, n_outputs_max_per_seq: u32) -> Self {
        BackendSampling {
            n_vocab,
            n_outputs_max_per_seq,
            rows_per_seq: (n_outputs_max_per_seq as usize).clamp(1, n_batch.max(1)),
            entries: BTreeMap::new(),
            full_vocab: (0..n_vocab as i32).collect(),
            scratch: Vec::new(),
            row_map: vec![None; n_batch],
            active: false,
        }
    }

    /// Makes `chain` a whole chain again unless another sequence still uses it.
    fn release(&mut self, chain: *mut llama_sampler) {
        if self.entries.values().any(|e| e.chain == chain) {
            return;
        }
        // SAFETY: the chain was attached, so the caller keeps it alive (llama.h).
        if let Some(c) = unsafe { chain_of(chain) } {
            c.set_backend_prefix(None);
        }
    }

    /// `llama_set_sampler`.
    ///
    /// # Safety
    /// `smpl` must be NULL or a live sampler handle that stays alive while attached.
    pub unsafe fn set(&mut self, seq_id: i32, smpl: *mut llama_sampler) -> bool {
        if smpl.is_null() {
            if let Some(e) = self.entries.remove(&seq_id) {
                self.release(e.chain);
            }
            return true;
        }
        // SAFETY: per the contract.
        let chain = unsafe { chain_of(smpl) }.filter(|c| !c.is_empty());
        let Some(chain) = chain else {
            // SAFETY: a live handle.
            let name = unsafe { handle_name(smpl) };
            log_warn!(
                "llama_set_sampler: sampler '{name}' for seq_id = {seq_id}, cannot be offloaded to the backend"
            );
            if let Some(e) = self.entries.remove(&seq_id) {
                self.release(e.chain);
            }
            return false;
        };
        let mut prefix = 0;
        while prefix < chain.len() {
            let Some(h) = member_handle(chain, prefix) else {
                break;
            };
            if b::supports(h.inner.as_ref(), self.n_outputs_max_per_seq) {
                b::init(h.inner.as_mut(), self.n_outputs_max_per_seq);
                if b::reports_backend(h.inner.as_ref()) {
                    h.mark_backend(true);
                }
                prefix += 1;
            } else {
                if b::reports_backend(h.inner.as_ref()) {
                    // tried and refused (penalties with several outputs per sequence)
                    h.mark_backend(false);
                }
                break;
            }
        }
        chain.set_backend_prefix(Some(prefix));
        if prefix < chain.len() {
            let rest: Vec<&str> = (prefix..chain.len())
                .filter_map(|i| chain.get(i).map(|s| s.name()))
                .collect();
            log_info!(
                "llama_set_sampler: seq_id = {seq_id}: {} of {} samplers run in decode; {} run in llama_sampler_sample",
                prefix,
                chain.len(),
                rest.join(", ")
            );
        }
        let (nv, rows) = (self.n_vocab, self.rows_per_seq);
        if self.scratch.len() < nv {
            self.scratch = vec![TokenData::default(); nv];
        }
        let old = self.entries.insert(
            seq_id,
            Entry {
                chain: smpl,
                logits: vec![0.0; rows * nv],
                probs: vec![0.0; rows * nv],
                candidates: vec![0; rows * nv],
                sampled: vec![LLAMA_TOKEN_NULL; rows],
                n_logits: vec![0; rows],
                n_probs: vec![0; rows],
                n_candidates: vec![0; rows],
                n_used: 0,
                n_counted: 0,
            },
        );
        if let Some(e) = old {
            if e.chain != smpl {
                self.release(e.chain);
            }
        }
        true
    }

    /// Before a decode: refuses a batch giving an attached sequence more outputs than
    /// configured (`false`: the decode returns -1 without computing anything).
    pub fn check_batch(&mut self, view: &BatchView<'_>, output_all: bool) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        for e in self.entries.values_mut() {
            e.n_counted = 0;
        }
        let n = usize::try_from(view.n_tokens).unwrap_or(0);
        for i in 0..n {
            let out = output_all || view.logits.map_or(i + 1 == n, |l| l[i] != 0);
            if !out {
                continue;
            }
            let seqs: &[i32] = view.seq_id.as_ref().map_or(&[0], |s| s[i]);
            for s in seqs {
                if let Some(e) = self.entries.get_mut(s) {
                    e.n_counted += 1;
                    if e.n_counted > self.n_outputs_max_per_seq {
                        log_error!(
                            "llama_decode: backend sampling supports at most {} outputs per sequence (seq_id {s} had {})",
                            self.n_outputs_max_per_seq,
                            e.n_counted
                        );
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Forgets the sampled outputs (a state load replaced the context's outputs, as upstream's
    /// output buffer reset does).
    pub fn forget_outputs(&mut self) {
        self.row_map.iter_mut().for_each(|r| *r = None);
        self.active = !self.entries.is_empty();
        for e in self.entries.values_mut() {
            e.n_used = 0;
        }
    }

    /// After a decode that ran (`rc`: its result): forgets the previous outputs and, when it
    /// succeeded, runs each attached chain's prefix over its sequence's output rows.
    pub fn after_decode(&mut self, ctx: &Context, view: &BatchView<'_>, rc: i32) {
        self.forget_outputs();
        if !self.active || rc != 0 {
            return;
        }
        // a new transaction of draws for this batch (upstream's llama_sampler_backend_begin)
        for e in self.entries.values() {
            // SAFETY: attached chains are alive (llama.h).
            if let Some(c) = unsafe { chain_of(e.chain) } {
                for i in 0..c.backend_prefix().unwrap_or(0) {
                    if let Some(s) = member(c, i) {
                        b::begin(s);
                    }
                }
            }
        }
        let nv = self.n_vocab;
        let n = usize::try_from(view.n_tokens).unwrap_or(0);
        let ids = ctx.output_ids();
        for i in 0..n.min(ids.len()) {
            let Ok(row) = usize::try_from(ids[i]) else {
                continue;
            };
            let seq = view
                .seq_id
                .as_ref()
                .map_or(0, |s| s[i].first().copied().unwrap_or(0));
            let Some(e) = self.entries.get_mut(&seq) else {
                continue;
            };
            let Some(logits) = ctx.logits_ith(i as i32) else {
                continue;
            };
            let slot = e.n_used;
            if slot >= e.sampled.len() || logits.len() != nv {
                continue;
            }
            e.n_used += 1;
            let span = slot * nv..(slot + 1) * nv;
            e.logits[span.clone()].copy_from_slice(logits);
            let mut r = BackendRow {
                logits: &mut e.logits[span.clone()],
                probs: &mut e.probs[span.clone()],
                candidates: &mut e.candidates[span],
                scratch: &mut self.scratch[..nv],
                n: nv,
                n_probs: 0,
                has_candidates: false,
                sampled: None,
            };
            // SAFETY: attached chains are alive (llama.h).
            if let Some(c) = unsafe { chain_of(e.chain) } {
                for k in 0..c.backend_prefix().unwrap_or(0) {
                    if let Some(s) = member(c, k) {
                        b::apply(s, &mut r);
                    }
                }
            }
            e.sampled[slot] = r.sampled.unwrap_or(LLAMA_TOKEN_NULL);
            e.n_logits[slot] = r.n as u32;
            e.n_probs[slot] = r.n_probs as u32;
            e.n_candidates[slot] = if r.has_candidates { r.n as u32 } else { 0 };
            if let Some(m) = self.row_map.get_mut(row) {
                *m = Some((seq, slot));
            }
        }
    }

    fn lookup(&self, ctx: &Context, i: i32) -> Lookup<'_> {
        if !self.active {
            return Lookup::Inactive;
        }
        let Some(row) = output_row(i, ctx.output_ids(), ctx.n_outputs()) else {
            return Lookup::Invalid;
        };
        match self.row_map.get(row).copied().flatten() {
            Some((seq, slot)) => match self.entries.get(&seq) {
                Some(e) if slot < e.n_used => Lookup::Row(e, slot),
                _ => Lookup::Empty,
            },
            None => Lookup::Empty,
        }
    }

    fn invalid(what: &str, i: i32) {
        log_error!("llama_get_sampled_{what}_ith: invalid backend sampled {what} id {i}");
    }

    /// `llama_get_sampled_token_ith`.
    pub fn token(&self, ctx: &Context, i: i32) -> i32 {
        match self.lookup(ctx, i) {
            Lookup::Row(e, s) => e.sampled[s],
            Lookup::Invalid => {
                Self::invalid("token", i);
                LLAMA_TOKEN_NULL
            }
            _ => LLAMA_TOKEN_NULL,
        }
    }

    /// `llama_get_sampled_probs_ith` and its count.
    pub fn probs(&self, ctx: &Context, i: i32) -> (*mut f32, u32) {
        match self.lookup(ctx, i) {
            Lookup::Row(e, s) if e.n_probs[s] > 0 => (
                e.probs[s * self.n_vocab..].as_ptr().cast_mut(),
                e.n_probs[s],
            ),
            Lookup::Invalid => {
                Self::invalid("probs", i);
                (std::ptr::null_mut(), 0)
            }
            _ => (std::ptr::null_mut(), 0),
        }
    }

    /// `llama_get_sampled_logits_ith` and its count (`n_vocab` when no chain was attached).
    pub fn logits(&self, ctx: &Context, i: i32) -> (*mut f32, u32) {
        match self.lookup(ctx, i) {
            Lookup::Row(e, s) if e.n_logits[s] > 0 => (
                e.logits[s * self.n_vocab..].as_ptr().cast_mut(),
                e.n_logits[s],
            ),
            Lookup::Inactive => (std::ptr::null_mut(), self.n_vocab as u32),
            Lookup::Invalid => {
                Self::invalid("logits", i);
                (std::ptr::null_mut(), 0)
            }
            _ => (std::ptr::null_mut(), 0),
        }
    }

    /// `llama_get_sampled_candidates_ith` (all vocabulary ids when the row has none) and its
    /// count. The pointer getter logs nothing for an invalid index (upstream falls back silently).
    pub fn candidates(&self, ctx: &Context, i: i32, log: bool) -> (*mut i32, u32) {
        let all = self.full_vocab.as_ptr().cast_mut();
        match self.lookup(ctx, i) {
            Lookup::Row(e, s) if e.n_candidates[s] > 0 => (
                e.candidates[s * self.n_vocab..].as_ptr().cast_mut(),
                e.n_candidates[s],
            ),
            Lookup::Invalid => {
                if log {
                    Self::invalid("candidates", i);
                }
                (all, 0)
            }
            _ => (all, 0),
        }
    }
}

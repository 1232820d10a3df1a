//! Samplers: a [`Sampler`] trait, a [`Chain`], and one file per sampler. No tensor code.
//!
//! A sampler works on a [`TokenDataArray`]: a mutable view of candidates (`id`, `logit`, `p`)
//! plus the `selected` index and the `sorted` flag, exactly the state of llama.h's
//! `llama_token_data_array`. [`TokenData`] is `#[repr(C)]` and identical in layout to
//! `llama_token_data`, so the C boundary (`crate::ffi::sampler`) hands the caller's buffer to the
//! Rust samplers without copying, and user samplers written in C (a `llama_sampler_i` vtable) run
//! in the same [`Chain`] through an adapter that lives in `ffi`.
//!
//! Samplers only ever shrink the view or move its start forward (XTC), which the view expresses
//! by re-slicing: `data` is always a sub-slice of the caller's buffer, so the C side recovers the
//! new `data` pointer and `size` from it.
//!
//! Arithmetic follows upstream's `llama-sampler.cpp` step for step (the same float/double mix, the
//! same summation order) so that the same logits and seed choose the same tokens. The random
//! numbers come from [`rng::Mt19937`] with libstdc++'s `generate_canonical` and
//! `discrete_distribution` reproduced bit for bit.
//!
//! Sorting re-implements the steps of libstdc++'s `std::sort`/`std::partial_sort` and upstream's
//! bucket pre-pass ([`sort`]), so even candidates with *equal* logits end up in upstream's order.
//! tests/sampling_upstream.rs checks all of this bit for bit against vectors recorded from
//! upstream's library.
//!
//! Samplers that need a vocabulary (grammar, infill; DRY at construction) see it through the
//! [`SamplerVocab`] trait. Upstream's experimental backend sampling (samplers run inside decode)
//! is [`backend`], on the CPU. Not built: lazy grammars with trigger *patterns* (regular
//! expressions).

#![forbid(unsafe_code)]

use std::any::Any;

use crate::error::Result;

pub mod adaptive_p;
pub mod backend;
pub mod chain;
pub mod dist;
pub mod dry;
pub mod empty;
pub mod grammar;
pub mod greedy;
pub mod infill;
pub mod logit_bias;
pub mod min_p;
pub mod mirostat;
pub mod penalties;
pub mod rng;
pub mod sort;
pub mod temp;
pub mod temp_ext;
pub mod top_k;
pub mod top_n_sigma;
pub mod top_p;
pub mod typical;
pub mod xtc;

pub use adaptive_p::AdaptiveP;
pub use chain::{Chain, PerfData};
pub use dist::Dist;
pub use dry::Dry;
pub use empty::Empty;
pub use grammar::{Grammar, GrammarSampler, SamplerVocab};
pub use greedy::Greedy;
pub use infill::Infill;
pub use logit_bias::{LogitBias, LogitBiasEntry};
pub use min_p::MinP;
pub use mirostat::{Mirostat, MirostatV2};
pub use penalties::Penalties;
pub use temp::Temp;
pub use temp_ext::TempExt;
pub use top_k::TopK;
pub use top_n_sigma::TopNSigma;
pub use top_p::TopP;
pub use typical::Typical;
pub use xtc::Xtc;

/// `LLAMA_DEFAULT_SEED`: as a seed it asks for a random one; from `seed()` it means "no seed".
pub const LLAMA_DEFAULT_SEED: u32 = 0xFFFF_FFFF;

/// One candidate token; the same layout as llama.h's `llama_token_data`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TokenData {
    /// Token id.
    pub id: i32,
    /// Log-odds of the token.
    pub logit: f32,
    /// Probability of the token (valid only after a sampler computed it).
    pub p: f32,
}

const _: () = assert!(std::mem::size_of::<TokenData>() == 12);
const _: () = assert!(std::mem::align_of::<TokenData>() == 4);

/// The candidates a sampler works on: llama.h's `llama_token_data_array` as a safe view.
#[derive(Debug)]
pub struct TokenDataArray<'a> {
    /// The live candidates (`size` is `data.len()`); a sub-slice of the caller's buffer.
    pub data: &'a mut [TokenData],
    /// Index into `data` of the chosen token, or -1.
    pub selected: i64,
    /// Whether `data` is sorted by descending logit.
    pub sorted: bool,
}

impl<'a> TokenDataArray<'a> {
    /// A fresh, unsorted view with nothing selected.
    pub fn new(data: &'a mut [TokenData]) -> Self {
        TokenDataArray {
            data,
            selected: -1,
            sorted: false,
        }
    }

    /// Number of live candidates.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Keeps only the first `n` candidates (no-op when `n >= size`).
    pub fn truncate(&mut self, n: usize) {
        if n < self.data.len() {
            let d = std::mem::take(&mut self.data);
            self.data = &mut d[..n];
        }
    }

    /// Drops the first `n` candidates: the view starts `n` further (XTC does this).
    pub fn advance(&mut self, n: usize) {
        let n = n.min(self.data.len());
        let d = std::mem::take(&mut self.data);
        self.data = &mut d[n..];
    }

    /// The selected token id, when `selected` is a valid index.
    pub fn selected_token(&self) -> Option<i32> {
        usize::try_from(self.selected)
            .ok()
            .and_then(|i| self.data.get(i))
            .map(|t| t.id)
    }
}

/// Builds one candidate per vocabulary entry from a row of logits (`p` = 0).
pub fn candidates_from_logits(logits: &[f32]) -> Vec<TokenData> {
    logits
        .iter()
        .enumerate()
        .map(|(i, &logit)| TokenData {
            id: i as i32,
            logit,
            p: 0.0,
        })
        .collect()
}

/// A sampler: transforms the candidates and/or selects one (llama.h's `llama_sampler_i`).
pub trait Sampler: Any {
    /// The name upstream reports (`"top-k"`, `"dist"`, `"?temp"` for a no-op, ...).
    fn name(&self) -> &str;
    /// Tells the sampler which token was finally chosen (penalties remember it).
    fn accept(&mut self, _token: i32) {}
    /// Transforms `cur` (filters, rescales, or selects).
    fn apply(&mut self, cur: &mut TokenDataArray<'_>);
    /// Back to the state right after construction (a seeded RNG re-seeds).
    fn reset(&mut self) {}
    /// A copy with the same configuration and state.
    fn try_clone(&self) -> Result<Box<dyn Sampler>>;
    /// The seed in use (dist, mirostat; `llama_sampler_get_seed`), or [`LLAMA_DEFAULT_SEED`] when the sampler has none.
    fn current_seed(&self) -> u32 {
        LLAMA_DEFAULT_SEED
    }
    /// For downcasting (the C boundary finds chains and its own adapters this way).
    fn as_any(&self) -> &dyn Any;
    /// For downcasting, mutable.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Implements the `as_any` pair and a `Clone`-based `try_clone` for a sampler type.
macro_rules! sampler_boilerplate {
    () => {
        fn try_clone(&self) -> $crate::error::Result<Box<dyn $crate::sampling::Sampler>> {
            Ok(Box::new(self.clone()))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}
pub(crate) use sampler_boilerplate;

/// Applies `sampler` to one row of logits and accepts the chosen token, as
/// `llama_sampler_sample` does for a context's output. `None` if nothing was selected.
pub fn sample_logits(sampler: &mut dyn Sampler, logits: &[f32]) -> Option<i32> {
    let mut cur = candidates_from_logits(logits);
    let mut arr = TokenDataArray::new(&mut cur);
    sampler.apply(&mut arr);
    let token = arr.selected_token()?;
    sampler.accept(token);
    Some(token)
}

/// Scales logits by 1/temp; `temp <= 0` keeps only the (first) maximum and sets the rest to -inf.
pub(crate) fn temp_impl(cur: &mut TokenDataArray<'_>, temp: f32) {
    if cur.data.is_empty() {
        return;
    }
    if temp <= 0.0 {
        let mut max_i = 0;
        let mut max_l = cur.data[0].logit;
        for i in 1..cur.data.len() {
            if cur.data[i].logit > max_l {
                cur.data[max_i].logit = f32::NEG_INFINITY;
                max_i = i;
                max_l = cur.data[i].logit;
            } else {
                cur.data[i].logit = f32::NEG_INFINITY;
            }
        }
        return;
    }
    for t in cur.data.iter_mut() {
        t.logit /= temp;
    }
}

/// Softmax over the live candidates into `p`; with `do_sort`, sorts by logit first.
/// Does nothing on an empty array (upstream asserts).
pub(crate) fn softmax_impl(cur: &mut TokenDataArray<'_>, do_sort: bool) {
    if cur.data.is_empty() {
        return;
    }
    if do_sort && !cur.sorted {
        let n = cur.data.len();
        sort::partial_sort_inplace(cur, n);
    }
    let mut max_l = cur.data[0].logit;
    if !cur.sorted {
        for t in cur.data.iter().skip(1) {
            max_l = max_l.max(t.logit);
        }
    }
    let mut cum_sum = 0.0f32;
    for t in cur.data.iter_mut() {
        let p = (t.logit - max_l).exp();
        t.p = p;
        cum_sum += p;
    }
    for t in cur.data.iter_mut() {
        t.p /= cum_sum;
    }
}

/// Keeps the `k` highest logits (sorted); `k <= 0` is a no-op.
pub(crate) fn top_k_impl(cur: &mut TokenDataArray<'_>, k: i32) {
    if k <= 0 {
        return;
    }
    let k = (k as usize).min(cur.data.len());
    if !cur.sorted {
        sort::partial_sort_inplace(cur, k);
    }
    cur.truncate(k);
}

//! In-decode ("backend") sampling: the samplers upstream can run inside `llama_decode`
//! (`backend_init`/`backend_apply` in its vtables), here run on the CPU over one output row right
//! after the logits are computed.
//!
//! A row carries what upstream's `llama_sampler_data` carries between the samplers of a chain:
//! the current logits (`n` of them), optional candidate ids (vocabulary ids of those logits; none
//! means "index = id"), optional probabilities and the sampled token. Each supported sampler
//! transforms it the way its upstream graph does:
//! - greedy: samples the first maximum;
//! - dist: probabilities (softmax) and a sampled token, drawn as the CPU `dist` draws;
//! - top-k: keeps the `k` best logits and their ids, best first;
//! - top-p: sorts all logits (best first, with their ids) and sets the ones past the nucleus to
//!   -inf (the count stays);
//! - min-p: sets logits below `max + ln p` to -inf (the count stays);
//! - temp: divides the logits by `t` (`t <= 0`: keeps only the first maximum);
//! - temp-ext: divides the logits by the entropy-driven temperature (as temp when `delta <= 0`
//!   or `t <= 0`);
//! - logit-bias, penalties: change logits in place as their CPU versions do (penalties only
//!   with one output per sequence, as upstream: its history changes with each accepted token);
//! - the no-op samplers (`?top-k`, `?temp`, ...) leave the row alone.
//!
//! The arithmetic that decides tokens (temperature division, the dist draw) is the CPU samplers'
//! own, so a chain gives the same tokens whether it samples inside decode or through
//! `llama_sampler_sample`. Nothing here allocates: the row borrows buffers sized beforehand.

use super::sort::{cxx_partial_sort, cxx_sort};
use super::{
    Dist, Empty, Greedy, LogitBias, MinP, Penalties, Sampler, Temp, TempExt, TokenData,
    TokenDataArray, TopK, TopP,
};

/// One output row being sampled inside decode (buffers of `n_vocab` entries each).
#[derive(Debug)]
pub struct BackendRow<'a> {
    /// Current logits: the first `n` are live.
    pub logits: &'a mut [f32],
    /// Probabilities: the first `n_probs` are live (0: none were computed).
    pub probs: &'a mut [f32],
    /// Vocabulary ids of the live logits when `has_candidates`.
    pub candidates: &'a mut [i32],
    /// Sorting space.
    pub scratch: &'a mut [TokenData],
    /// Number of live logits.
    pub n: usize,
    /// Number of live probabilities.
    pub n_probs: usize,
    /// Whether `candidates` maps the live logits to vocabulary ids.
    pub has_candidates: bool,
    /// The sampled vocabulary id, once a sampler chose one.
    pub sampled: Option<i32>,
}

impl BackendRow<'_> {
    fn id_of(&self, i: usize) -> i32 {
        if self.has_candidates {
            self.candidates[i]
        } else {
            i as i32
        }
    }

    fn argmax(&self) -> usize {
        let l = &self.logits[..self.n];
        let mut best = 0;
        for i in 1..l.len() {
            if l[i] > l[best] {
                best = i;
            }
        }
        best
    }

    /// Sorts the live entries best first (`k`: only the first `k` need to be in place) and
    /// rewrites logits and candidate ids in that order.
    fn sort_desc(&mut self, k: usize) {
        let n = self.n;
        for j in 0..n {
            self.scratch[j] = TokenData {
                id: j as i32,
                logit: self.logits[j],
                p: 0.0,
            };
        }
        let s = &mut self.scratch[..n];
        if k < n {
            cxx_partial_sort(s, k, &mut |a, b| a.logit > b.logit);
        } else {
            cxx_sort(s, &mut |a, b| a.logit > b.logit);
        }
        for j in 0..k.min(n) {
            let id = self.id_of(self.scratch[j].id as usize);
            self.scratch[j].id = id;
        }
        for j in 0..k.min(n) {
            self.logits[j] = self.scratch[j].logit;
            self.candidates[j] = self.scratch[j].id;
        }
        self.has_candidates = true;
    }
}

/// Whether `s` can sample inside decode with up to `n_outputs_max_per_seq` outputs per
/// sequence.
pub fn supports(s: &dyn Sampler, n_outputs_max_per_seq: u32) -> bool {
    let a = s.as_any();
    a.is::<Greedy>()
        || a.is::<Dist>()
        || a.is::<TopK>()
        || a.is::<TopP>()
        || a.is::<MinP>()
        || a.is::<Temp>()
        || a.is::<TempExt>()
        || a.is::<LogitBias>()
        || a.is::<Empty>()
        || (a.is::<Penalties>() && n_outputs_max_per_seq <= 1)
}

/// Whether upstream reports `s` as `+name` / `-name` once prepared for sampling inside decode
/// (the samplers with a backend implementation; not the no-op ones).
pub fn reports_backend(s: &dyn Sampler) -> bool {
    let a = s.as_any();
    !a.is::<Empty>() && (supports(s, 1) || a.is::<Penalties>())
}

/// Prepares `s` for sampling inside decode with up to `n_outputs_max_per_seq` outputs per
/// sequence (upstream's `backend_init`).
pub fn init(s: &mut dyn Sampler, n_outputs_max_per_seq: u32) {
    let a = s.as_any_mut();
    if let Some(d) = a.downcast_mut::<Dist>() {
        d.backend_init(n_outputs_max_per_seq);
    } else if let Some(l) = a.downcast_mut::<LogitBias>() {
        l.reserve();
    }
}

/// Starts the sampling of one decode (upstream's `llama_sampler_backend_begin`).
pub fn begin(s: &mut dyn Sampler) {
    if let Some(d) = s.as_any_mut().downcast_mut::<Dist>() {
        d.backend_begin();
    }
}

/// Runs `s` over `row` (a no-op for samplers [`supports`] refuses).
pub fn apply(s: &mut dyn Sampler, row: &mut BackendRow<'_>) {
    if row.n == 0 {
        return;
    }
    let a = s.as_any_mut();
    if a.is::<Greedy>() {
        let i = row.argmax();
        row.sampled = Some(row.id_of(i));
    } else if let Some(d) = a.downcast_mut::<Dist>() {
        dist(d, row);
    } else if let Some(t) = a.downcast_mut::<TopK>() {
        let k = usize::try_from(t.k()).unwrap_or(0).min(row.n);
        if k > 0 {
            row.sort_desc(k);
            row.n = k;
        }
    } else if let Some(t) = a.downcast_mut::<TopP>() {
        top_p(t.p(), row);
    } else if let Some(m) = a.downcast_mut::<MinP>() {
        let l = &mut row.logits[..row.n];
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let thr = max + m.p().ln();
        for x in l.iter_mut() {
            let keep = *x - thr > 0.0;
            if !keep {
                *x = f32::NEG_INFINITY;
            }
        }
    } else if let Some(t) = a.downcast_mut::<Temp>() {
        temp(t.temp(), row);
    } else if let Some(t) = a.downcast_mut::<TempExt>() {
        temp_ext(t.params(), row);
    } else if a.is::<LogitBias>() || a.is::<Penalties>() {
        in_place(s, row);
    }
}

/// Temperature: divides the logits (`t <= 0`: keeps only the first maximum).
fn temp(t: f32, row: &mut BackendRow<'_>) {
    if t <= 0.0 {
        let i = row.argmax();
        let id = row.id_of(i);
        row.logits[0] = row.logits[i];
        row.candidates[0] = id;
        row.has_candidates = true;
        row.n = 1;
    } else {
        for x in row.logits[..row.n].iter_mut() {
            *x /= t;
        }
    }
}

/// Upstream's backend temp-ext: the temperature moves within `t ± delta` with the normalised
/// entropy of the row's softmax; the row keeps its order.
fn temp_ext((t, delta, exponent): (f32, f32, f32), row: &mut BackendRow<'_>) {
    if delta <= 0.0 || t <= 0.0 {
        temp(t, row);
        return;
    }
    let n = row.n;
    if n <= 1 {
        return;
    }
    let min_temp = (t - delta).max(0.0);
    let max_temp = t + delta;
    let max_entropy = (n as f32).ln();
    let l = &mut row.logits[..n];
    let max_l = l.iter().copied().fold(l[0], f32::max);
    let mut sum = 0.0f64;
    for &x in l.iter() {
        sum += f64::from((x - max_l).exp());
    }
    let inv = (1.0 / sum) as f32;
    let mut entropy = 0.0f32;
    for &x in l.iter() {
        let p = ((x - max_l).exp() * inv).clamp(1e-10, 1.0);
        entropy -= p * p.ln();
    }
    let norm = entropy / max_entropy;
    let dyn_temp = min_temp + (max_temp - min_temp) * norm.powf(exponent);
    for x in l.iter_mut() {
        *x /= dyn_temp;
    }
}

/// Runs a CPU sampler that only changes logits in place (same candidates, same order) over the
/// row.
fn in_place(s: &mut dyn Sampler, row: &mut BackendRow<'_>) {
    let n = row.n;
    for j in 0..n {
        row.scratch[j] = TokenData {
            id: row.id_of(j),
            logit: row.logits[j],
            p: 0.0,
        };
    }
    let mut arr = TokenDataArray::new(&mut row.scratch[..n]);
    s.apply(&mut arr);
    if arr.data.len() != n {
        return;
    }
    for (x, t) in row.logits[..n].iter_mut().zip(row.scratch.iter()) {
        *x = t.logit;
    }
}

/// Softmax into `probs` and one draw, exactly as the CPU `dist` sampler computes them.
fn dist(d: &mut Dist, row: &mut BackendRow<'_>) {
    let n = row.n;
    let u = d.backend_uniform();
    if n == 1 {
        row.probs[0] = 1.0;
        row.n_probs = 1;
        row.sampled = Some(row.id_of(0));
        return;
    }
    let l = &row.logits[..n];
    let max_l = l.iter().copied().fold(l[0], f32::max);
    let mut sum_cum = 0.0f64;
    for (p, &x) in row.probs[..n].iter_mut().zip(l) {
        *p = (x - max_l).exp();
        sum_cum += f64::from(*p);
    }
    let sum_tgt = sum_cum * u;
    let mut sum_run = 0.0f64;
    let mut selected = None;
    for (i, p) in row.probs[..n].iter_mut().enumerate() {
        if selected.is_none() {
            sum_run += f64::from(*p);
            if sum_run >= sum_tgt {
                selected = Some(i);
            }
        }
        *p = (f64::from(*p) / sum_cum) as f32;
    }
    row.n_probs = n;
    row.sampled = Some(row.id_of(selected.unwrap_or(n - 1)));
}

/// Upstream's backend top-p: sort best first, softmax, keep the entries up to the first whose
/// cumulative probability reaches `p`, set the rest to -inf.
fn top_p(p: f32, row: &mut BackendRow<'_>) {
    let n = row.n;
    row.sort_desc(n);
    let l = &mut row.logits[..n];
    let max_l = l[0];
    let mut sum = 0.0f64;
    for &x in l.iter() {
        sum += f64::from((x - max_l).exp());
    }
    let inv = (1.0 / sum) as f32;
    let mut cdf = 0.0f32;
    let mut below = 0usize;
    for &x in l.iter() {
        cdf += (x - max_l).exp() * inv;
        if p - cdf > 0.0 {
            below += 1;
        }
    }
    let keep = below.min(n - 1) + 1;
    for x in l[keep..].iter_mut() {
        *x = f32::NEG_INFINITY;
    }
}

//! Dist: softmax, then draw one candidate with `std::mt19937` — the same choice as upstream for
//! the same logits and seed.

use super::rng::{resolve_seed, Mt19937};
use super::{sampler_boilerplate, Sampler, TokenDataArray};

/// Samples from the softmax of the logits (in the array's current order).
#[derive(Clone, Debug)]
pub struct Dist {
    seed: u32,
    seed_cur: u32,
    rng: Mt19937,
    /// In-decode ("backend") sampling with several outputs per sequence draws from a copy of
    /// the generator, and accepting a token advances the real one by one draw (upstream's
    /// transactional mode), so outputs that are never accepted consume nothing.
    backend_transactional: bool,
    rng_backend: Mt19937,
    n_backend_draws_generated: usize,
    n_backend_draws_committed: usize,
}

impl Dist {
    /// `llama_sampler_init_dist(seed)`; [`super::LLAMA_DEFAULT_SEED`] picks a random seed.
    pub fn new(seed: u32) -> Self {
        let seed_cur = resolve_seed(seed);
        Dist {
            seed,
            seed_cur,
            rng: Mt19937::new(seed_cur),
            backend_transactional: false,
            rng_backend: Mt19937::new(seed_cur),
            n_backend_draws_generated: 0,
            n_backend_draws_committed: 0,
        }
    }

    /// Prepares in-decode sampling (upstream's `backend_init`): transactional when a sequence
    /// may have more than one output per decode.
    pub fn backend_init(&mut self, n_outputs_max_per_seq: u32) {
        self.backend_transactional = n_outputs_max_per_seq > 1;
        self.rng_backend = self.rng.clone();
        self.n_backend_draws_generated = 0;
        self.n_backend_draws_committed = 0;
    }

    /// Starts the draws of one decode (upstream's `llama_sampler_backend_begin`).
    pub fn backend_begin(&mut self) {
        if self.backend_transactional {
            self.rng_backend = self.rng.clone();
            self.n_backend_draws_generated = 0;
            self.n_backend_draws_committed = 0;
        }
    }

    /// The uniform number of one in-decode draw (upstream's `backend_set_input`).
    pub fn backend_uniform(&mut self) -> f64 {
        if self.backend_transactional {
            self.n_backend_draws_generated += 1;
            self.rng_backend.canonical_f64()
        } else {
            self.rng.canonical_f64()
        }
    }
}

impl Sampler for Dist {
    fn name(&self) -> &str {
        "dist"
    }

    fn accept(&mut self, _token: i32) {
        if !self.backend_transactional
            || self.n_backend_draws_committed >= self.n_backend_draws_generated
        {
            return;
        }
        self.rng.canonical_f64();
        self.n_backend_draws_committed += 1;
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if cur.data.is_empty() {
            cur.selected = -1;
            return;
        }
        cur.selected = 0;
        if cur.data.len() == 1 {
            // one draw per output even when there is no choice (keeps the stream aligned)
            self.rng.canonical_f64();
            cur.data[0].p = 1.0;
            return;
        }
        let mut max_l = cur.data[0].logit;
        if !cur.sorted {
            for t in cur.data.iter().skip(1) {
                max_l = max_l.max(t.logit);
            }
        }
        let mut sum_cum = 0.0f64;
        for t in cur.data.iter_mut() {
            let p = (t.logit - max_l).exp();
            t.p = p;
            sum_cum += f64::from(p);
        }
        let rnd = self.rng.canonical_f64();
        let sum_tgt = sum_cum * rnd;
        let mut sum_run = 0.0f64;
        let mut found = false;
        for (i, t) in cur.data.iter_mut().enumerate() {
            if !found {
                sum_run += f64::from(t.p);
                if sum_run >= sum_tgt {
                    cur.selected = i as i64;
                    found = true;
                }
            }
            t.p = (f64::from(t.p) / sum_cum) as f32;
        }
        if !found {
            cur.selected = cur.data.len() as i64 - 1;
        }
    }

    fn reset(&mut self) {
        self.seed_cur = resolve_seed(self.seed);
        self.rng.seed(self.seed_cur);
        self.rng_backend = self.rng.clone();
        self.n_backend_draws_generated = 0;
        self.n_backend_draws_committed = 0;
    }

    fn current_seed(&self) -> u32 {
        self.seed_cur
    }

    sampler_boilerplate!();
}

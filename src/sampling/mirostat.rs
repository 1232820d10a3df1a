//! Mirostat 1.0 and 2.0: adaptive truncation toward a target surprise `tau`, then a draw with
//! `std::discrete_distribution` over `std::mt19937`.

use super::rng::{discrete, resolve_seed, Mt19937};
use super::{sampler_boilerplate, softmax_impl, top_k_impl, Sampler, TokenDataArray};

/// Mirostat 1.0.
#[derive(Clone, Debug)]
pub struct Mirostat {
    n_vocab: i32,
    seed: u32,
    seed_cur: u32,
    tau: f32,
    eta: f32,
    m: i32,
    mu: f32,
    rng: Mt19937,
}

impl Mirostat {
    /// `llama_sampler_init_mirostat(n_vocab, seed, tau, eta, m)`.
    pub fn new(n_vocab: i32, seed: u32, tau: f32, eta: f32, m: i32) -> Self {
        let seed_cur = resolve_seed(seed);
        Mirostat {
            n_vocab,
            seed,
            seed_cur,
            tau,
            eta,
            m,
            mu: 2.0 * tau,
            rng: Mt19937::new(seed_cur),
        }
    }
}

impl Sampler for Mirostat {
    fn name(&self) -> &str {
        "mirostat"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if cur.data.is_empty() {
            return;
        }
        softmax_impl(cur, true);

        // estimate s_hat from the m most probable tokens
        let mut sum_ti_bi = 0.0f32;
        let mut sum_ti_sq = 0.0f32;
        // upstream's size_t(m - 1) wraps to "no limit" for m < 1
        let lim = if self.m < 1 {
            cur.data.len() - 1
        } else {
            ((self.m - 1) as usize).min(cur.data.len() - 1)
        };
        for i in 0..lim {
            let t_i = ((i + 2) as f32 / (i + 1) as f32).ln();
            let b_i = (cur.data[i].p / cur.data[i + 1].p).ln();
            sum_ti_bi += t_i * b_i;
            sum_ti_sq += t_i * t_i;
        }
        let s_hat = sum_ti_bi / sum_ti_sq;

        let epsilon_hat = s_hat - 1.0;
        let k = ((epsilon_hat * 2.0f32.powf(self.mu))
            / (1.0 - (self.n_vocab as f32).powf(-epsilon_hat)))
        .powf(1.0 / s_hat);

        top_k_impl(cur, (k as i32).max(1));
        softmax_impl(cur, true);

        let idx = discrete(cur.data.iter().map(|t| t.p), &mut self.rng);
        cur.selected = idx as i64;

        let observed_surprise = -cur.data[idx].p.log2();
        let e = observed_surprise - self.tau;
        self.mu -= self.eta * e;
    }

    fn reset(&mut self) {
        self.mu = 2.0 * self.tau;
        self.seed_cur = resolve_seed(self.seed);
        self.rng.seed(self.seed_cur);
    }

    fn current_seed(&self) -> u32 {
        self.seed_cur
    }

    sampler_boilerplate!();
}

/// Mirostat 2.0.
#[derive(Clone, Debug)]
pub struct MirostatV2 {
    seed: u32,
    seed_cur: u32,
    tau: f32,
    eta: f32,
    mu: f32,
    rng: Mt19937,
}

impl MirostatV2 {
    /// `llama_sampler_init_mirostat_v2(seed, tau, eta)`.
    pub fn new(seed: u32, tau: f32, eta: f32) -> Self {
        let seed_cur = resolve_seed(seed);
        MirostatV2 {
            seed,
            seed_cur,
            tau,
            eta,
            mu: 2.0 * tau,
            rng: Mt19937::new(seed_cur),
        }
    }
}

impl Sampler for MirostatV2 {
    fn name(&self) -> &str {
        "mirostat-v2"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if cur.data.is_empty() {
            return;
        }
        softmax_impl(cur, true);
        // truncate at the first token whose surprise exceeds mu
        let mu = self.mu;
        let n = cur
            .data
            .iter()
            .position(|t| -t.p.log2() > mu)
            .unwrap_or(cur.data.len());
        cur.truncate(n.max(1));
        softmax_impl(cur, true);

        let idx = discrete(cur.data.iter().map(|t| t.p), &mut self.rng);
        cur.selected = idx as i64;

        let observed_surprise = -cur.data[idx].p.log2();
        let e = observed_surprise - self.tau;
        self.mu -= self.eta * e;
    }

    fn reset(&mut self) {
        self.mu = 2.0 * self.tau;
        self.seed_cur = resolve_seed(self.seed);
        self.rng.seed(self.seed_cur);
    }

    fn current_seed(&self) -> u32 {
        self.seed_cur
    }

    sampler_boilerplate!();
}

//! Adaptive-p: reshape the distribution toward a target probability that adapts to the moving
//! average of the chosen tokens' original probabilities, then draw.

use super::rng::{discrete, resolve_seed, Mt19937};
use super::{softmax_impl, Sampler, TokenDataArray};

const DISTRIBUTION_WIDTH: f32 = 0.3;
const PEAK_LOGIT_VALUE: f32 = 5.0;
const SHARPNESS: f32 = 10.0;
const INV_WIDTH: f32 = 1.0 / DISTRIBUTION_WIDTH;

/// The adaptive-p sampler (selects a token; goes last in a chain).
#[derive(Clone, Debug)]
pub struct AdaptiveP {
    target: f32,
    decay: f32,
    seed: u32,
    seed_cur: u32,
    rng: Mt19937,
    weighted_sum: f32,
    total_weight: f32,
    original_probs: Vec<f32>,
    pending_token_id: i32,
    pending_token_idx: i32,
}

impl AdaptiveP {
    /// `llama_sampler_init_adaptive_p(target, decay, seed)`; `decay` is clamped to [0, 0.99].
    pub fn new(target: f32, decay: f32, seed: u32) -> Self {
        let seed_cur = resolve_seed(seed);
        let decay = decay.clamp(0.0, 0.99);
        AdaptiveP {
            target,
            decay,
            seed,
            seed_cur,
            rng: Mt19937::new(seed_cur),
            weighted_sum: target / (1.0 - decay),
            total_weight: 1.0 / (1.0 - decay),
            original_probs: Vec::new(),
            pending_token_id: -1,
            pending_token_idx: -1,
        }
    }
}

impl Sampler for AdaptiveP {
    fn name(&self) -> &str {
        "adaptive-p"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if cur.data.is_empty() {
            return;
        }
        softmax_impl(cur, false);
        if self.target < 0.0 {
            cur.selected = discrete(cur.data.iter().map(|t| t.p), &mut self.rng) as i64;
            return;
        }
        self.original_probs.clear();
        self.original_probs.extend(cur.data.iter().map(|t| t.p));

        let target = self.target.clamp(0.0, 1.0);
        let adapted = if self.total_weight == 0.0 {
            target
        } else {
            2.0 * target - (self.weighted_sum / self.total_weight)
        }
        .clamp(0.0, 1.0);

        for t in cur.data.iter_mut() {
            if t.logit == f32::NEG_INFINITY {
                continue;
            }
            let dist = ((t.p - adapted) * INV_WIDTH).abs();
            t.logit = PEAK_LOGIT_VALUE - SHARPNESS * dist * dist / (1.0 + dist);
        }
        softmax_impl(cur, false);
        let idx = discrete(cur.data.iter().map(|t| t.p), &mut self.rng);
        cur.selected = idx as i64;
        self.pending_token_id = cur.data[idx].id;
        self.pending_token_idx = idx as i32;
    }

    fn accept(&mut self, token: i32) {
        if self.pending_token_id == token && self.pending_token_id != -1 {
            if let Some(&p) = usize::try_from(self.pending_token_idx)
                .ok()
                .and_then(|i| self.original_probs.get(i))
            {
                self.weighted_sum = p + self.decay * self.weighted_sum;
                self.total_weight = 1.0 + self.decay * self.total_weight;
            }
        }
        self.pending_token_id = -1;
        self.pending_token_idx = -1;
    }

    fn reset(&mut self) {
        self.weighted_sum = self.target / (1.0 - self.decay);
        self.total_weight = 1.0 / (1.0 - self.decay);
        self.pending_token_id = -1;
        self.pending_token_idx = -1;
        self.seed_cur = resolve_seed(self.seed);
        self.rng.seed(self.seed_cur);
    }

    fn try_clone(&self) -> crate::error::Result<Box<dyn Sampler>> {
        // upstream's clone starts a fresh RNG from the seed and copies the EMA state
        let mut c = AdaptiveP::new(self.target, self.decay, self.seed);
        c.weighted_sum = self.weighted_sum;
        c.total_weight = self.total_weight;
        c.pending_token_id = self.pending_token_id;
        c.pending_token_idx = self.pending_token_idx;
        Ok(Box::new(c))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

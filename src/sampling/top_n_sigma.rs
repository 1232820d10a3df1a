//! Top-nσ: mask every logit below `max - n·σ` (σ over the finite logits).

use super::{sampler_boilerplate, Empty, Sampler, TokenDataArray};

/// The top-n-sigma sampler.
#[derive(Clone, Debug)]
pub struct TopNSigma {
    n: f32,
}

impl TopNSigma {
    /// `llama_sampler_init_top_n_sigma(n)`: `n <= 0` gives `"?top-n-sigma"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(n: f32) -> Box<dyn Sampler> {
        if n <= 0.0 {
            return Box::new(Empty::new("?top-n-sigma"));
        }
        Box::new(TopNSigma { n })
    }
}

impl Sampler for TopNSigma {
    fn name(&self) -> &str {
        "top-n-sigma"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.n <= 0.0 || cur.data.len() <= 1 {
            return;
        }
        let mut max = cur.data[0].logit;
        let mut logits_sum = 0.0f32;
        let mut valid = 0usize;
        for t in cur.data.iter() {
            if t.logit != f32::NEG_INFINITY {
                max = max.max(t.logit);
                logits_sum += t.logit;
                valid += 1;
            }
        }
        let mean = if valid > 0 {
            logits_sum / valid as f32
        } else {
            0.0
        };
        let mut acc = 0.0f32;
        for t in cur.data.iter() {
            if t.logit != f32::NEG_INFINITY {
                // pow(float, int) is computed in double, then added to a float
                acc = (f64::from(acc) + f64::from(t.logit - mean).powi(2)) as f32;
            }
        }
        let std = if valid > 0 {
            (acc / valid as f32).sqrt()
        } else {
            0.0
        };
        let cut = max - self.n * std;
        for t in cur.data.iter_mut() {
            if t.logit < cut {
                t.logit = f32::NEG_INFINITY;
            }
        }
    }

    sampler_boilerplate!();
}

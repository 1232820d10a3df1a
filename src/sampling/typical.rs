//! Locally typical sampling: keep the candidates whose surprisal is closest to the entropy.

use super::{sampler_boilerplate, softmax_impl, Empty, Sampler, TokenData, TokenDataArray};

/// Typical sampling with mass `p` and at least `min_keep` candidates.
#[derive(Clone, Debug)]
pub struct Typical {
    p: f32,
    min_keep: usize,
}

impl Typical {
    /// `llama_sampler_init_typical(p, min_keep)`: `p >= 1` gives the no-op `"?typical"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(p: f32, min_keep: usize) -> Box<dyn Sampler> {
        if p >= 1.0 {
            return Box::new(Empty::new("?typical"));
        }
        Box::new(Typical { p, min_keep })
    }
}

impl Sampler for Typical {
    fn name(&self) -> &str {
        "typical"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.p >= 1.0 || cur.data.is_empty() {
            return;
        }
        softmax_impl(cur, true);

        let mut entropy = 0.0f32;
        for t in cur.data.iter() {
            entropy += -t.p * t.p.ln();
        }
        let shifted: Vec<f32> = cur
            .data
            .iter()
            .map(|t| (-t.p.ln() - entropy).abs())
            .collect();

        let mut indices: Vec<usize> = (0..cur.data.len()).collect();
        super::sort::cxx_sort(&mut indices, &mut |&a: &usize, &b: &usize| {
            shifted[a] < shifted[b]
        });

        let mut cum_sum = 0.0f32;
        let mut last_idx = indices.len();
        for (i, &idx) in indices.iter().enumerate() {
            cum_sum += cur.data[idx].p;
            if cum_sum > self.p && (self.min_keep == 0 || i + 1 >= self.min_keep) {
                last_idx = i + 1;
                break;
            }
        }

        let new: Vec<TokenData> = indices[..last_idx].iter().map(|&i| cur.data[i]).collect();
        cur.data[..new.len()].copy_from_slice(&new);
        cur.truncate(new.len());
        cur.sorted = false;
    }

    sampler_boilerplate!();
}

//! Top-k: keep the `k` highest logits, sorted.

use super::{sampler_boilerplate, top_k_impl, Empty, Sampler, TokenDataArray};

/// Keeps the `k` most likely candidates.
#[derive(Clone, Debug)]
pub struct TopK {
    k: i32,
}

impl TopK {
    /// `llama_sampler_init_top_k(k)`: `k <= 0` gives the no-op `"?top-k"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(k: i32) -> Box<dyn Sampler> {
        if k <= 0 {
            return Box::new(Empty::new("?top-k"));
        }
        Box::new(TopK { k })
    }
}

impl TopK {
    /// The number of candidates kept.
    pub fn k(&self) -> i32 {
        self.k
    }
}

impl Sampler for TopK {
    fn name(&self) -> &str {
        "top-k"
    }
    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        top_k_impl(cur, self.k);
    }
    sampler_boilerplate!();
}

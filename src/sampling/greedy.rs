//! Greedy: select the first candidate with the highest logit.

use super::{sampler_boilerplate, Sampler, TokenDataArray};

/// Selects the (first) maximum logit. On an empty array selects index 0, as upstream.
#[derive(Clone, Debug, Default)]
pub struct Greedy;

impl Greedy {
    /// A greedy sampler.
    pub fn new() -> Self {
        Greedy
    }
}

impl Sampler for Greedy {
    fn name(&self) -> &str {
        "greedy"
    }
    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        let mut sel = 0usize;
        for i in 1..cur.data.len() {
            if cur.data[i].logit > cur.data[sel].logit {
                sel = i;
            }
        }
        cur.selected = sel as i64;
    }
    sampler_boilerplate!();
}

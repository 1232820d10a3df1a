//! Min-p: keep candidates whose probability is at least `p` times the best one's.

use super::sort::partial_sort_inplace;
use super::{sampler_boilerplate, Empty, Sampler, TokenData, TokenDataArray};

/// Min-p filtering with at least `min_keep` candidates kept.
#[derive(Clone, Debug)]
pub struct MinP {
    p: f32,
    min_keep: usize,
}

impl MinP {
    /// `llama_sampler_init_min_p(p, min_keep)`: `p <= 0` gives the no-op `"?min-p"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(p: f32, min_keep: usize) -> Box<dyn Sampler> {
        if p <= 0.0 {
            return Box::new(Empty::new("?min-p"));
        }
        Box::new(MinP { p, min_keep })
    }
}

impl MinP {
    /// The minimum probability relative to the best candidate.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl Sampler for MinP {
    fn name(&self) -> &str {
        "min-p"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.p <= 0.0 || cur.data.is_empty() {
            return;
        }
        let mut applied = false;
        if !cur.sorted {
            // unsorted path: filter by logit >= max + ln(p), keeping the order
            let mut max_logit = -f32::MAX;
            for t in cur.data.iter() {
                max_logit = max_logit.max(t.logit);
            }
            let min_logit = max_logit + self.p.ln();
            let filtered: Vec<TokenData> = cur
                .data
                .iter()
                .filter(|t| t.logit >= min_logit)
                .copied()
                .collect();
            if !filtered.is_empty() && filtered.len() >= self.min_keep {
                cur.data[..filtered.len()].copy_from_slice(&filtered);
                cur.truncate(filtered.len());
                applied = true;
            }
        }
        if !applied {
            if !cur.sorted {
                let n = cur.data.len();
                partial_sort_inplace(cur, n);
            }
            let min_logit = cur.data[0].logit + self.p.ln();
            let mut i = 1;
            while i < cur.data.len() {
                if cur.data[i].logit < min_logit && i >= self.min_keep {
                    break;
                }
                i += 1;
            }
            cur.truncate(i);
        }
    }

    sampler_boilerplate!();
}

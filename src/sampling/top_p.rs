//! Top-p (nucleus): keep the smallest prefix (by probability) whose mass reaches `p`.

use super::sort::{bucket_partial_sort, partial_sort_inplace};
use super::{softmax_impl, Empty, Sampler, TokenData, TokenDataArray};

/// Nucleus sampling with at least `min_keep` candidates kept.
#[derive(Clone, Debug)]
pub struct TopP {
    p: f32,
    min_keep: usize,
    buf_sort: Vec<TokenData>,
}

impl TopP {
    /// `llama_sampler_init_top_p(p, min_keep)`: `p >= 1` gives the no-op `"?top-p"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(p: f32, min_keep: usize) -> Box<dyn Sampler> {
        if p >= 1.0 {
            return Box::new(Empty::new("?top-p"));
        }
        Box::new(TopP {
            p,
            min_keep,
            buf_sort: Vec::new(),
        })
    }
}

impl TopP {
    /// The probability mass kept.
    pub fn p(&self) -> f32 {
        self.p
    }
}

impl Sampler for TopP {
    fn name(&self) -> &str {
        "top-p"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.p >= 1.0 || cur.data.is_empty() {
            return;
        }
        // probabilities in the current order (the sum's order matters for the last bit)
        softmax_impl(cur, false);

        let size = cur.data.len();
        let mut k = size;
        // `use_buf`: the sorted candidates live in buf_sort rather than in cur.data
        let mut use_buf = false;
        if !cur.sorted && size > 1024 {
            k = 256.min(size);
            bucket_partial_sort(cur.data, k, &mut self.buf_sort);
            use_buf = true;
        } else if !cur.sorted {
            partial_sort_inplace(cur, k);
        }

        let mut cum_sum = 0.0f32;
        let mut last_idx = size;
        for i in 0..size {
            let p = if use_buf {
                self.buf_sort[i].p
            } else {
                cur.data[i].p
            };
            cum_sum += p;
            if cum_sum >= self.p && i + 1 >= self.min_keep {
                last_idx = i + 1;
                break;
            }
            if use_buf && i == k - 1 {
                // the top-k guess was too small: sort everything
                k = size;
                bucket_partial_sort(cur.data, k, &mut self.buf_sort);
            }
        }

        if use_buf {
            cur.data[..last_idx].copy_from_slice(&self.buf_sort[..last_idx]);
            cur.sorted = true;
        }
        cur.truncate(last_idx);
    }

    fn try_clone(&self) -> crate::error::Result<Box<dyn Sampler>> {
        Ok(Box::new(TopP {
            p: self.p,
            min_keep: self.min_keep,
            buf_sort: Vec::new(),
        }))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

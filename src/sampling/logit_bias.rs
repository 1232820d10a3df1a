//! Logit bias: add a fixed bias to chosen tokens' logits.

use super::{sampler_boilerplate, Empty, Sampler, TokenDataArray};

/// One bias entry; the same layout as llama.h's `llama_logit_bias`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogitBiasEntry {
    /// The token.
    pub token: i32,
    /// Added to its logit.
    pub bias: f32,
}

/// The logit-bias sampler.
#[derive(Clone, Debug)]
pub struct LogitBias {
    logit_bias: Vec<LogitBiasEntry>,
    to_search: Vec<LogitBiasEntry>,
}

impl LogitBias {
    /// `llama_sampler_init_logit_bias(n_vocab, n, biases)`: no entries gives `"?logit-bias"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(_n_vocab: i32, biases: &[LogitBiasEntry]) -> Box<dyn Sampler> {
        if biases.is_empty() {
            return Box::new(Empty::new("?logit-bias"));
        }
        Box::new(LogitBias {
            logit_bias: biases.to_vec(),
            to_search: Vec::new(),
        })
    }
}

impl LogitBias {
    /// Reserves the search list so that applying allocates nothing (sampling inside decode).
    pub fn reserve(&mut self) {
        self.to_search.reserve(self.logit_bias.len());
    }
}

impl Sampler for LogitBias {
    fn name(&self) -> &str {
        "logit-bias"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.logit_bias.is_empty() {
            return;
        }
        self.to_search.clear();
        // fast path: candidates still in vocabulary order (index == id)
        for lb in &self.logit_bias {
            let idx = usize::try_from(lb.token)
                .ok()
                .filter(|&i| i < cur.data.len());
            match idx {
                Some(i) if cur.data[i].id == lb.token => cur.data[i].logit += lb.bias,
                _ => self.to_search.push(*lb),
            }
        }
        if self.to_search.is_empty() {
            return;
        }
        for t in cur.data.iter_mut() {
            if let Some(lb) = self.to_search.iter().find(|lb| lb.token == t.id) {
                t.logit += lb.bias;
            }
        }
    }

    sampler_boilerplate!();
}

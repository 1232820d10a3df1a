//! Infill (fill-in-the-middle): after top-k/top-p, prefer ending when EOG mass is high, merge
//! tokens that are prefixes of one another, and drop unlikely non-EOG tokens; if nothing but EOG
//! is left, the single candidate is EOT (or EOS).

use std::rc::Rc;

use super::grammar::SamplerVocab;
use super::{softmax_impl, Sampler, TokenDataArray};

/// The infill sampler (`llama_sampler_init_infill`).
#[derive(Clone)]
pub struct Infill {
    vocab: Rc<dyn SamplerVocab>,
}

impl std::fmt::Debug for Infill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Infill")
    }
}

impl Infill {
    /// An infill sampler over `vocab`.
    pub fn new(vocab: Rc<dyn SamplerVocab>) -> Self {
        Infill { vocab }
    }

    /// Keeps EOG tokens and non-EOG tokens with `p >= thold`, compacted; returns
    /// (kept, non-EOG kept, sum of kept p).
    fn keep_above(&self, cur: &mut TokenDataArray<'_>, thold: f32) -> (usize, usize, f32) {
        let mut n = 0;
        let mut n_non_eog = 0;
        let mut p_sum = 0.0f32;
        for i in 0..cur.data.len() {
            let t = cur.data[i];
            let eog = self.vocab.is_eog(t.id);
            if t.p < thold && !eog {
                continue;
            }
            if !eog {
                n_non_eog += 1;
            }
            p_sum += t.p;
            cur.data[n] = t;
            n += 1;
        }
        (n, n_non_eog, p_sum)
    }
}

impl Sampler for Infill {
    fn name(&self) -> &str {
        "infill"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if cur.data.is_empty() {
            return;
        }
        softmax_impl(cur, true);

        let (mut p_txt_sum, mut p_eog_sum) = (0.0f32, 0.0f32);
        for t in cur.data.iter() {
            if self.vocab.is_eog(t.id) {
                p_eog_sum += t.p;
            } else {
                p_txt_sum += t.p;
            }
        }

        if 3.0 * p_eog_sum * cur.data.len() as f32 > p_txt_sum {
            // keep just the EOG tokens
            let mut n = 0;
            let mut p_sum = 0.0f32;
            for i in 0..cur.data.len() {
                let t = cur.data[i];
                if self.vocab.is_eog(t.id) {
                    p_sum += t.p;
                    cur.data[n] = t;
                    n += 1;
                }
            }
            cur.truncate(n);
            for t in cur.data.iter_mut() {
                t.p /= p_sum;
            }
            return;
        }

        // merge tokens whose text is a prefix of another's into the more likely one
        let pieces: Vec<Vec<u8>> = cur
            .data
            .iter()
            .map(|t| self.vocab.piece_plain(t.id))
            .collect();
        let n = cur.data.len();
        for i0 in 0..n {
            for i1 in 0..n {
                if cur.data[i0].logit == f32::NEG_INFINITY {
                    break;
                }
                if i0 == i1 || cur.data[i1].logit == f32::NEG_INFINITY {
                    continue;
                }
                let (a, b) = (&pieces[i0], &pieces[i1]);
                if !a.is_empty() && a.len() <= b.len() && b[..a.len()] == a[..] {
                    let (mut dst, mut src) = (i0, i1);
                    if cur.data[i1].p > cur.data[i0].p {
                        std::mem::swap(&mut dst, &mut src);
                    }
                    cur.data[dst].p += cur.data[src].p;
                    cur.data[src].logit = f32::NEG_INFINITY;
                    cur.data[src].p = 0.0;
                }
            }
        }

        let (kept, n_non_eog, p_sum) = self.keep_above(cur, 0.2);
        if n_non_eog == 0 {
            let mut id = self.vocab.eot();
            if id == -1 {
                id = self.vocab.eos();
            }
            cur.truncate(1);
            cur.data[0].id = id;
            cur.data[0].logit = 1.0;
            return;
        }
        cur.truncate(kept);
        for t in cur.data.iter_mut() {
            t.p /= p_sum;
        }

        let thold = (1.0f64 / (n_non_eog as f64 + 1.0)) as f32;
        let (kept, _, p_sum) = self.keep_above(cur, thold);
        cur.truncate(kept);
        for t in cur.data.iter_mut() {
            t.p /= p_sum;
        }
    }

    fn try_clone(&self) -> crate::error::Result<Box<dyn Sampler>> {
        Ok(Box::new(self.clone()))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

//! XTC ("exclude top choices"): with probability `p`, drop every candidate above `threshold`
//! except the least likely of them.

use super::rng::{resolve_seed, Mt19937};
use super::{sampler_boilerplate, softmax_impl, Empty, Sampler, TokenDataArray};

/// The XTC sampler.
#[derive(Clone, Debug)]
pub struct Xtc {
    probability: f32,
    threshold: f32,
    min_keep: usize,
    seed: u32,
    seed_cur: u32,
    rng: Mt19937,
}

impl Xtc {
    /// `llama_sampler_init_xtc(p, t, min_keep, seed)`: `p <= 0 || t > 0.5` gives `"?xtc"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(p: f32, t: f32, min_keep: usize, seed: u32) -> Box<dyn Sampler> {
        if p <= 0.0 || t > 0.5 {
            return Box::new(Empty::new("?xtc"));
        }
        let seed_cur = resolve_seed(seed);
        Box::new(Xtc {
            probability: p,
            threshold: t,
            min_keep,
            seed,
            seed_cur,
            rng: Mt19937::new(seed_cur),
        })
    }
}

impl Sampler for Xtc {
    fn name(&self) -> &str {
        "xtc"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.probability <= 0.0 || self.threshold > 0.5 || cur.data.len() < 2 {
            return;
        }
        let chance = self.rng.canonical_f32();
        if chance > self.probability {
            return;
        }
        softmax_impl(cur, true);
        let mut pos_last = 0usize;
        for (i, t) in cur.data.iter().enumerate() {
            if t.p >= self.threshold {
                pos_last = i;
            } else {
                break;
            }
        }
        if cur.data.len() - pos_last >= self.min_keep && pos_last > 0 {
            cur.advance(pos_last);
        }
    }

    fn reset(&mut self) {
        self.seed_cur = resolve_seed(self.seed);
        self.rng.seed(self.seed_cur);
    }

    sampler_boilerplate!();
}

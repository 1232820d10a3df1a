//! Repetition, frequency and presence penalties over the last `penalty_last_n` accepted tokens.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::{sampler_boilerplate, Empty, Sampler, TokenDataArray};

/// A hasher for token ids: one multiply (token ids are small, dense integers).
#[derive(Default)]
struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_i32(&mut self, i: i32) {
        self.0 = u64::from(i as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TokenMap = HashMap<i32, i32, BuildHasherDefault<TokenHasher>>;

/// The penalties sampler.
#[derive(Clone, Debug)]
pub struct Penalties {
    penalty_last_n: usize,
    penalty_repeat: f32,
    penalty_freq: f32,
    penalty_present: f32,
    prev: VecDeque<i32>,
    token_count: TokenMap,
}

fn is_disabled(last_n: i32, repeat: f32, freq: f32, present: f32) -> bool {
    last_n == 0 || (repeat == 1.0 && freq == 0.0 && present == 0.0)
}

impl Penalties {
    /// `llama_sampler_init_penalties(n_vocab, last_n, repeat, freq, present)`; disabled settings
    /// give the no-op `"?penalties"`. A negative `last_n` counts as 0.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        _n_vocab: i32,
        penalty_last_n: i32,
        repeat: f32,
        freq: f32,
        present: f32,
    ) -> Box<dyn Sampler> {
        let last_n = penalty_last_n.max(0);
        if is_disabled(last_n, repeat, freq, present) {
            return Box::new(Empty::new("?penalties"));
        }
        Box::new(Penalties {
            penalty_last_n: last_n as usize,
            penalty_repeat: repeat,
            penalty_freq: freq,
            penalty_present: present,
            prev: VecDeque::with_capacity((last_n as usize).min(1 << 16)),
            token_count: TokenMap::default(),
        })
    }
}

impl Sampler for Penalties {
    fn name(&self) -> &str {
        "penalties"
    }

    fn accept(&mut self, token: i32) {
        if self.penalty_last_n == 0 {
            return;
        }
        *self.token_count.entry(token).or_insert(0) += 1;
        if self.prev.len() >= self.penalty_last_n {
            if let Some(old) = self.prev.pop_front() {
                if let Some(c) = self.token_count.get_mut(&old) {
                    *c -= 1;
                    if *c == 0 {
                        self.token_count.remove(&old);
                    }
                }
            }
        }
        self.prev.push_back(token);
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if is_disabled(
            self.penalty_last_n as i32,
            self.penalty_repeat,
            self.penalty_freq,
            self.penalty_present,
        ) {
            return;
        }
        if self.token_count.is_empty() {
            // nothing accepted yet: no logit changes (upstream still clears `sorted`)
            cur.sorted = false;
            return;
        }
        for t in cur.data.iter_mut() {
            let Some(&count) = self.token_count.get(&t.id) else {
                continue;
            };
            if t.logit <= 0.0 {
                t.logit *= self.penalty_repeat;
            } else {
                t.logit /= self.penalty_repeat;
            }
            t.logit -= count as f32 * self.penalty_freq
                + f32::from(u8::from(count > 0)) * self.penalty_present;
        }
        cur.sorted = false;
    }

    fn reset(&mut self) {
        self.prev.clear();
        self.token_count.clear();
    }

    sampler_boilerplate!();
}

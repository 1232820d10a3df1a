//! DRY ("don't repeat yourself"): penalise tokens that would extend a repetition of the recent
//! context, growing exponentially with the repeated length; sequence breakers (e.g. "\n", ":")
//! cut the repetition search.
//!
//! Sequence breakers are strings; [`process_breakers`] turns them into token sequences (head
//! token → tail tokens) with the vocabulary, exactly as upstream does (every token whose text
//! contains the breaker, or ends with a prefix of it followed by the tokenised rest).

use std::collections::{HashMap, VecDeque};

use super::{sampler_boilerplate, Empty, Sampler, TokenDataArray};

/// Longest breaker string kept (bytes).
pub const MAX_CHAR_LEN: usize = 40;
/// Longest tail kept (tokens).
pub const MAX_SEQ_LEN: usize = 20;

/// The DRY sampler.
#[derive(Clone, Debug)]
pub struct Dry {
    multiplier: f32,
    base: f32,
    allowed_length: i32,
    penalty_last_n: i32,
    /// head token → tails (a multimap)
    breakers: HashMap<i32, Vec<Vec<i32>>>,
    repeat_count: Vec<i32>,
    max_token_repeat: HashMap<i32, i32>,
    last_tokens: VecDeque<i32>,
}

impl Dry {
    /// `llama_sampler_init_dry` with breakers already processed into (head, tail) pairs.
    /// Disabled settings (multiplier 0, base < 1, last_n 0) give the no-op `"?dry"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        multiplier: f32,
        base: f32,
        allowed_length: i32,
        penalty_last_n: i32,
        breakers: Vec<(i32, Vec<i32>)>,
    ) -> Box<dyn Sampler> {
        let penalty_last_n = penalty_last_n.max(0);
        if !(multiplier != 0.0 && base >= 1.0 && penalty_last_n != 0) {
            return Box::new(Empty::new("?dry"));
        }
        let mut map: HashMap<i32, Vec<Vec<i32>>> = HashMap::new();
        for (head, tail) in breakers {
            map.entry(head).or_default().push(tail);
        }
        Box::new(Dry {
            multiplier,
            base,
            allowed_length,
            penalty_last_n,
            breakers: map,
            repeat_count: Vec::new(),
            max_token_repeat: HashMap::new(),
            last_tokens: VecDeque::new(),
        })
    }

    fn disabled(&self) -> bool {
        self.multiplier == 0.0 || self.base < 1.0 || self.penalty_last_n == 0
    }

    /// The `i`-th most recent token (0 = last accepted).
    fn rat(&self, i: usize) -> i32 {
        self.last_tokens[self.last_tokens.len() - 1 - i]
    }
}

/// Turns breaker strings into (head token, tail tokens) pairs as upstream's
/// `get_overlapping_token_sequences` does. `detokenize(t)` is the text of token `t` (special
/// tokens rendered), `tokenize(s)` tokenises without special handling.
pub fn process_breakers(
    n_tokens: i32,
    detokenize: impl Fn(i32) -> Vec<u8>,
    tokenize: impl Fn(&[u8]) -> Vec<i32>,
    breakers: &[&[u8]],
) -> Vec<(i32, Vec<i32>)> {
    let words: Vec<Vec<u8>> = (0..n_tokens.max(0)).map(&detokenize).collect();
    let mut out: Vec<(i32, Vec<i32>)> = Vec::new();
    for b in breakers {
        if b.is_empty() {
            continue;
        }
        let s = &b[..b.len().min(MAX_CHAR_LEN)];
        for (id, word) in words.iter().enumerate() {
            let id = id as i32;
            if word.windows(s.len()).any(|w| w == s) {
                out.push((id, Vec::new()));
                continue;
            }
            for pos in (0..word.len()).filter(|&p| word[p] == s[0]) {
                // does a prefix of `s` run to the end of the word?
                let mut i = 1;
                let mut matched = true;
                while i < s.len() && i + pos < word.len() {
                    if word[pos + i] != s[i] {
                        matched = false;
                        break;
                    }
                    i += 1;
                }
                if matched {
                    let mut tail = tokenize(&s[i..]);
                    tail.truncate(MAX_SEQ_LEN);
                    if !out.iter().any(|(h, t)| *h == id && *t == tail) {
                        out.push((id, tail));
                    }
                }
            }
        }
    }
    out
}

impl Sampler for Dry {
    fn name(&self) -> &str {
        "dry"
    }

    fn accept(&mut self, token: i32) {
        if self.disabled() {
            return;
        }
        if self.last_tokens.len() >= self.penalty_last_n as usize {
            self.last_tokens.pop_front();
        }
        self.last_tokens.push_back(token);
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.disabled() {
            return;
        }
        let last_n_repeat = (self.last_tokens.len() as i32).min(self.penalty_last_n);
        if last_n_repeat <= self.allowed_length {
            return;
        }
        let n = last_n_repeat as usize;
        self.repeat_count.clear();
        self.repeat_count.resize(n, 0);
        self.max_token_repeat.clear();

        // the most recent breaker limits how far back a repetition may reach
        let mut rep_limit = last_n_repeat;
        for i in 0..n {
            let Some(tails) = self.breakers.get(&self.rat(i)) else {
                continue;
            };
            let mut longest: i32 = -1;
            for tail in tails {
                let seq_len = tail.len() as i32;
                if seq_len > longest
                    && seq_len <= i as i32
                    && tail
                        .iter()
                        .enumerate()
                        .all(|(off, &t)| t == self.rat(i - off - 1))
                {
                    longest = seq_len;
                }
            }
            if longest >= 0 {
                rep_limit = i as i32 - longest;
                break;
            }
        }
        if rep_limit < self.allowed_length {
            return;
        }

        // Z-algorithm over the reversed context: repeat_count[last - k] is how long the suffix
        // ending k tokens back matches the end of the context
        let last = n - 1;
        let (mut rt, mut lt) = (0usize, 0usize);
        for k in 1..n {
            if k > rt {
                let mut m = 0;
                while m + k < n && self.rat(m) == self.rat(m + k) {
                    m += 1;
                }
                self.repeat_count[last - k] = (m as i32).min(rep_limit);
                if m > 0 {
                    lt = k;
                    rt = k + m - 1;
                }
            } else {
                let p = k - lt;
                let right_part_len = (rt - k + 1) as i32;
                if self.repeat_count[last - p] < right_part_len {
                    self.repeat_count[last - k] = self.repeat_count[last - p].min(rep_limit);
                } else {
                    let mut i = rt + 1;
                    while i < n && self.rat(i) == self.rat(i - k) {
                        i += 1;
                    }
                    self.repeat_count[last - k] = ((i - k) as i32).min(rep_limit);
                    lt = k;
                    rt = i - 1;
                }
            }
        }

        for i in 0..n - 1 {
            let repeat_len = self.repeat_count[i];
            if repeat_len >= self.allowed_length {
                let token = self.rat(n - 2 - i);
                let e = self.max_token_repeat.entry(token).or_insert(repeat_len);
                if *e < repeat_len {
                    *e = repeat_len;
                }
            }
        }

        #[allow(clippy::excessive_precision)]
        const FLOAT_MAX_LOG: f32 = 88.722_839_1;
        let mut max_exponent = 0i32;
        if self.base > 1.000_001 {
            max_exponent = (FLOAT_MAX_LOG / self.base.ln()) as i32;
        }
        for t in cur.data.iter_mut() {
            let Some(&rep) = self.max_token_repeat.get(&t.id) else {
                continue;
            };
            let single_token_breaker = self
                .breakers
                .get(&t.id)
                .is_some_and(|tails| tails.iter().any(Vec::is_empty));
            if single_token_breaker {
                continue;
            }
            let mut repeat_exp = rep - self.allowed_length;
            if max_exponent > 0 && repeat_exp > max_exponent {
                repeat_exp = max_exponent;
            }
            // std::pow(float, int) is computed in double
            let penalty = (f64::from(self.multiplier)
                * f64::from(self.base).powf(f64::from(repeat_exp)))
                as f32;
            t.logit -= penalty;
        }
        cur.sorted = false;
    }

    fn reset(&mut self) {
        self.last_tokens.clear();
        self.repeat_count.clear();
        self.max_token_repeat.clear();
    }

    sampler_boilerplate!();
}

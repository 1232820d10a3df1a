//! Unigram (T5), as upstream's `llm_tokenizer_ugm`: SentencePiece normalisation through the
//! precompiled character map (an XOR-compressed double array of prefix replacements), then a
//! Viterbi search over the token trie, unknown runs merged into one unknown token.

use super::hash::FxHashMap;
use super::unicode::{cpt_from_utf8, len_utf8};
use super::Vocab;
use crate::error::{Error, Result};

/// A byte trie (node 0 is the root).
#[derive(Debug, Default)]
pub(crate) struct Trie {
    edges: FxHashMap<(u32, u8), u32>,
    pub(crate) value: Vec<Option<i32>>,
}

impl Trie {
    pub(crate) fn new() -> Trie {
        Trie {
            edges: FxHashMap::default(),
            value: vec![None],
        }
    }
    pub(crate) fn insert(&mut self, key: &[u8], v: i32) {
        let mut node = 0u32;
        for &b in key {
            node = match self.edges.get(&(node, b)) {
                Some(&n) => n,
                None => {
                    let n = self.value.len() as u32;
                    self.value.push(None);
                    self.edges.insert((node, b), n);
                    n
                }
            };
        }
        self.value[node as usize] = Some(v);
    }
    #[inline]
    pub(crate) fn step(&self, node: u32, b: u8) -> Option<u32> {
        self.edges.get(&(node, b)).copied()
    }
    /// How far the trie follows `key` (upstream's `get_longest_prefix`: the walk depth, whether
    /// or not a key ends there).
    fn walk_depth(&self, key: &[u8]) -> usize {
        let mut node = 0;
        for (i, &b) in key.iter().enumerate() {
            match self.step(node, b) {
                Some(n) => node = n,
                None => return i,
            }
        }
        key.len()
    }
}

/// Per-vocabulary UGM data.
#[derive(Debug)]
pub(crate) struct Ugm {
    xcda: Vec<u32>,
    replacements: Vec<u8>,
    user_defined: Trie,
    tokens: Trie,
    unknown_score: f64,
}

impl Ugm {
    /// Build from the vocabulary and `tokenizer.ggml.precompiled_charsmap`.
    pub(crate) fn new(v: &Vocab, charsmap: &[u8]) -> Result<Ugm> {
        let (mut xcda, mut replacements) = (Vec::new(), Vec::new());
        if !charsmap.is_empty() {
            if charsmap.len() < 4 {
                return Err(Error::format(
                    "precompiled_charsmap too small for xcda_blob_size header",
                ));
            }
            let blob =
                u32::from_le_bytes([charsmap[0], charsmap[1], charsmap[2], charsmap[3]]) as usize;
            if blob + 4 >= charsmap.len() {
                return Err(Error::format(
                    "Index out of array bounds in precompiled charsmap",
                ));
            }
            xcda = charsmap[4..4 + blob]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            replacements = charsmap[4 + blob..].to_vec();
        }
        let (mut user_defined, mut tokens) = (Trie::new(), Trie::new());
        let (mut min_score, mut _max_score) = (f32::MAX, -f32::MAX);
        for id in 0..v.n_tokens() {
            let attr = v.token_attr(id);
            let text = v.token_text(id);
            if attr & super::ATTR_NORMAL != 0 {
                min_score = min_score.min(v.token_score(id));
                _max_score = _max_score.max(v.token_score(id));
            }
            if attr & (super::ATTR_NORMAL | super::ATTR_USER_DEFINED | super::ATTR_UNUSED) != 0 {
                tokens.insert(text, id);
            }
            if attr & super::ATTR_USER_DEFINED != 0 {
                user_defined.insert(text, 0);
            }
        }
        Ok(Ugm {
            xcda,
            replacements,
            user_defined,
            tokens,
            unknown_score: (min_score - 10.0) as f64,
        })
    }

    fn node(&self, i: usize) -> Option<u32> {
        self.xcda.get(i).copied()
    }

    /// Normalised bytes for the prefix of `s` at `off`, and how many input bytes they replace.
    fn normalize_prefix<'a>(&'a self, s: &'a [u8], off: usize) -> (&'a [u8], usize) {
        let rest = &s[off..];
        let ud = self.user_defined.walk_depth(rest);
        if ud > 0 {
            return (&rest[..ud], ud);
        }
        let (mut best_len, mut best_off) = (0usize, 0usize);
        if !self.xcda.is_empty() {
            let base = |n: u32| (n >> 10) << ((n & (1 << 9)) >> 6);
            let lcheck = |n: u32| n & ((1 << 31) | 0xFF);
            let leaf = |n: u32| (n >> 8) & 1 == 1;
            let value = |n: u32| n & ((1 << 31) - 1);
            let mut idx = match self.node(0) {
                Some(n) => base(n) as usize,
                None => 0,
            };
            for (k, &c) in rest.iter().enumerate() {
                if c == 0 {
                    break;
                }
                idx ^= c as usize;
                let Some(n) = self.node(idx) else { break };
                if lcheck(n) != c as u32 {
                    break;
                }
                let is_leaf = leaf(n);
                idx ^= base(n) as usize;
                if is_leaf {
                    let Some(vn) = self.node(idx) else { break };
                    best_len = k + 1;
                    best_off = value(vn) as usize;
                }
            }
        }
        if best_len > 0 {
            if let Some(r) = self.replacements.get(best_off..) {
                if let Some(end) = r.iter().position(|&b| b == 0) {
                    return (&r[..end], best_len);
                }
            }
        }
        let mut o = off;
        match cpt_from_utf8(s, &mut o) {
            Some(_) => (&s[off..o], o - off),
            None => ("\u{FFFD}".as_bytes(), 1),
        }
    }

    fn normalize(&self, v: &Vocab, input: &[u8]) -> Vec<u8> {
        let space: &[u8] = if v.escape_whitespaces {
            "\u{2581}".as_bytes()
        } else {
            b" "
        };
        let prepend = !v.treat_whitespace_as_suffix && v.add_space_prefix;
        let append = v.treat_whitespace_as_suffix && v.add_space_prefix;
        let merge = v.remove_extra_whitespaces;
        let mut out = Vec::with_capacity(input.len() * 3);
        let (mut prepended, mut non_ws) = (false, false);
        let mut off = 0;
        while off < input.len() {
            let (norm, consumed) = self.normalize_prefix(input, off);
            for &c in norm {
                if c != b' ' {
                    if !non_ws {
                        non_ws = true;
                        if (prepend && !prepended) || merge {
                            out.extend_from_slice(space);
                            prepended = true;
                        }
                    }
                    out.push(c);
                } else {
                    non_ws = false;
                    if !merge {
                        out.extend_from_slice(space);
                    }
                }
            }
            off += consumed.max(1);
        }
        if append {
            out.extend_from_slice(space);
        }
        out
    }

    /// Tokenize one raw-text fragment, appending to `out`.
    pub(crate) fn tokenize(&self, v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
        let norm = self.normalize(v, text);
        let n = norm.len();
        if n == 0 {
            return;
        }
        let unk = v.special_unk;
        // (token, start offset, score)
        let mut best: Vec<(i32, usize, f64)> = vec![(unk, 0, -f64::MAX); n + 1];
        best[0] = (unk, 0, 0.0);
        let mut off = 0;
        while off < n {
            let nchar = len_utf8(norm[off]).min(n - off);
            let cur = best[off].2;
            let mut single = false;
            let mut node = self.tokens.step(0, norm[off]);
            let mut p = off + 1;
            while let Some(nd) = node {
                if let Some(id) = self.tokens.value[nd as usize] {
                    if p - off == nchar {
                        single = true;
                    }
                    let score = if v.token_attr(id) & super::ATTR_USER_DEFINED != 0 {
                        0.0
                    } else {
                        v.token_score(id) as f64
                    };
                    let cand = cur + score;
                    if cand > best[p].2 {
                        best[p] = (id, off, cand);
                    }
                }
                if p >= n {
                    break;
                }
                node = self.tokens.step(nd, norm[p]);
                p += 1;
            }
            if !single {
                let cand = cur + self.unknown_score;
                let p = off + nchar;
                if cand > best[p].2 {
                    best[p] = (unk, off, cand);
                }
            }
            off += nchar;
        }
        let start = out.len();
        let mut prev_unk = false;
        let mut at = n;
        loop {
            let (tok, from, _) = best[at];
            let is_unk = tok == unk;
            if !(prev_unk && is_unk) {
                out.push(tok);
            }
            if from == 0 {
                break;
            }
            prev_unk = is_unk;
            at = from;
        }
        out[start..].reverse();
    }
}

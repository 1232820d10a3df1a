//! The [`Vocab`] type: token tables, queries, `tokenize`, `token_to_piece` and `detokenize`.

use std::collections::BTreeSet;
use std::ffi::CStr;

use super::hash::FxHashMap;
use super::pretokenize::{PreTokenizer, PreType};
use super::ugm::{Trie, Ugm};
use super::unicode::{self, cpts_from_utf8, push_utf8};
use super::{bpe, rwkv, spm, vocab_type, wpm, ATTR_BYTE, ATTR_CONTROL, ATTR_LSTRIP, ATTR_RSTRIP};
use super::{ATTR_UNKNOWN, TOKEN_NULL};

/// One vocabulary entry.
#[derive(Debug, Clone)]
pub(crate) struct TokenData {
    /// Token text followed by a NUL byte (so it can be lent out as a C string).
    pub(crate) text_nul: Vec<u8>,
    pub(crate) score: f32,
    pub(crate) attr: u32,
}

impl TokenData {
    pub(crate) fn text(&self) -> &[u8] {
        &self.text_nul[..self.text_nul.len() - 1]
    }
}

/// A model's vocabulary and tokenizer (upstream's `llama_vocab`).
#[derive(Debug)]
pub struct Vocab {
    pub(crate) vtype: i32,
    pub(crate) pre_type: PreType,
    pub(crate) tokenizer_model: String,
    pub(crate) tokenizer_pre: String,
    pub(crate) tokens: Vec<TokenData>,
    pub(crate) token_to_id: FxHashMap<Vec<u8>, i32>,
    pub(crate) bpe_ranks: FxHashMap<Vec<u8>, i32>,
    pub(crate) n_merges: usize,
    pub(crate) special_bos: i32,
    pub(crate) special_eos: i32,
    pub(crate) special_eot: i32,
    pub(crate) special_eom: i32,
    pub(crate) special_unk: i32,
    pub(crate) special_sep: i32,
    pub(crate) special_pad: i32,
    pub(crate) special_mask: i32,
    pub(crate) linefeed: i32,
    pub(crate) fim: [i32; 6],
    pub(crate) add_space_prefix: bool,
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    pub(crate) add_sep: bool,
    pub(crate) ignore_merges: bool,
    pub(crate) clean_spaces: bool,
    pub(crate) remove_extra_whitespaces: bool,
    pub(crate) escape_whitespaces: bool,
    pub(crate) treat_whitespace_as_suffix: bool,
    pub(crate) normalizer_lowercase: bool,
    pub(crate) normalizer_strip_accents: bool,
    pub(crate) max_token_len: usize,
    pub(crate) n_token_types: u32,
    pub(crate) eog: BTreeSet<i32>,
    pub(crate) cache_special: Vec<i32>,
    /// Trie of the special-token texts -> index in `cache_special`.
    pub(crate) special_trie: Trie,
    /// Bytes that start some special-token text.
    pub(crate) special_first: [bool; 256],
    pub(crate) piece_cache: Vec<Vec<u8>>,
    pub(crate) suppress_tokens: Vec<i32>,
    pub(crate) pretok: Option<PreTokenizer>,
    pub(crate) ugm: Option<Ugm>,
    pub(crate) rwkv: Option<Trie>,
    pub(crate) plamo2: Option<super::plamo2::Plamo2>,
    /// SPM: tokens with an inner U+2581 (see `spm::inner_space_tokens`).
    pub(crate) spm_inner_space: Option<Vec<(Vec<u8>, Vec<usize>)>>,
}

/// A piece of text being tokenized: raw text `[off, off+len)` or an already-decided token.
#[derive(Clone, Copy, Debug)]
enum Frag {
    Text(usize, usize),
    Token(i32),
}

fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

pub(crate) fn replace_all(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + s.len() / 2);
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// U+2581, the SentencePiece space.
pub(crate) const SPACE_ESC: &[u8] = "\u{2581}".as_bytes();

impl Vocab {
    /// Number of tokens.
    pub fn n_tokens(&self) -> i32 {
        self.tokens.len() as i32
    }
    /// `llama_vocab_type` number (see [`super::vocab_type`]).
    pub fn vocab_type(&self) -> i32 {
        self.vtype
    }
    /// Pre-tokenizer type (BPE only; `Default` otherwise).
    pub fn pre_type(&self) -> PreType {
        self.pre_type
    }
    /// `tokenizer.ggml.model` as read.
    pub fn tokenizer_model(&self) -> &str {
        &self.tokenizer_model
    }
    /// `tokenizer.ggml.pre` as read (or implied).
    pub fn tokenizer_pre(&self) -> &str {
        &self.tokenizer_pre
    }
    /// Number of BPE merges.
    pub fn n_merges(&self) -> usize {
        self.n_merges
    }
    /// Number of BERT token types.
    pub fn n_token_types(&self) -> u32 {
        self.n_token_types
    }

    pub(crate) fn data(&self, t: i32) -> Option<&TokenData> {
        usize::try_from(t).ok().and_then(|i| self.tokens.get(i))
    }
    /// The id of a token text.
    pub fn text_to_token(&self, text: &[u8]) -> Option<i32> {
        self.token_to_id.get(text).copied()
    }
    /// Raw token text (empty for an invalid id).
    pub fn token_text(&self, t: i32) -> &[u8] {
        self.data(t).map_or(&[], TokenData::text)
    }
    /// Token text as a C string (cut at an embedded NUL, as C sees it).
    pub fn token_text_cstr(&self, t: i32) -> Option<&CStr> {
        self.data(t)
            .and_then(|d| CStr::from_bytes_until_nul(&d.text_nul).ok())
    }
    /// Token score (0 for an invalid id).
    pub fn token_score(&self, t: i32) -> f32 {
        self.data(t).map_or(0.0, |d| d.score)
    }
    /// `llama_token_attr` bits (0 for an invalid id).
    pub fn token_attr(&self, t: i32) -> u32 {
        self.data(t).map_or(0, |d| d.attr)
    }
    /// End-of-generation token?
    pub fn is_eog(&self, t: i32) -> bool {
        t != TOKEN_NULL && self.eog.contains(&t)
    }
    /// Control token?
    pub fn is_control(&self, t: i32) -> bool {
        self.token_attr(t) & ATTR_CONTROL != 0
    }
    /// Byte token?
    pub fn is_byte(&self, t: i32) -> bool {
        self.token_attr(t) & ATTR_BYTE != 0
    }
    /// The end-of-generation set, ascending.
    pub fn eog_tokens(&self) -> Vec<i32> {
        self.eog.iter().copied().collect()
    }
    /// Token ids the model asks samplers to suppress.
    pub fn suppress_tokens(&self) -> &[i32] {
        &self.suppress_tokens
    }
    /// BOS id or -1.
    pub fn bos(&self) -> i32 {
        self.special_bos
    }
    /// EOS id or -1.
    pub fn eos(&self) -> i32 {
        self.special_eos
    }
    /// EOT id or -1.
    pub fn eot(&self) -> i32 {
        self.special_eot
    }
    /// EOM id or -1.
    pub fn eom(&self) -> i32 {
        self.special_eom
    }
    /// UNK id or -1.
    pub fn unk(&self) -> i32 {
        self.special_unk
    }
    /// SEP id or -1.
    pub fn sep(&self) -> i32 {
        self.special_sep
    }
    /// Newline token id or -1.
    pub fn nl(&self) -> i32 {
        self.linefeed
    }
    /// PAD id or -1.
    pub fn pad(&self) -> i32 {
        self.special_pad
    }
    /// MASK id or -1.
    pub fn mask(&self) -> i32 {
        self.special_mask
    }
    /// FIM prefix id or -1.
    pub fn fim_pre(&self) -> i32 {
        self.fim[0]
    }
    /// FIM suffix id or -1.
    pub fn fim_suf(&self) -> i32 {
        self.fim[1]
    }
    /// FIM middle id or -1.
    pub fn fim_mid(&self) -> i32 {
        self.fim[2]
    }
    /// FIM pad id or -1.
    pub fn fim_pad(&self) -> i32 {
        self.fim[3]
    }
    /// FIM repo id or -1.
    pub fn fim_rep(&self) -> i32 {
        self.fim[4]
    }
    /// FIM file-separator id or -1.
    pub fn fim_sep(&self) -> i32 {
        self.fim[5]
    }
    /// Add BOS when tokenizing with `add_special`?
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }
    /// Add EOS when tokenizing with `add_special`?
    pub fn add_eos(&self) -> bool {
        self.add_eos
    }
    /// Add SEP when tokenizing with `add_special`?
    pub fn add_sep(&self) -> bool {
        self.add_sep
    }
    /// Prefix text with a space (SPM)?
    pub fn add_space_prefix(&self) -> bool {
        self.add_space_prefix
    }

    /// Rank of the BPE merge `left right`, using `key` as scratch.
    pub(crate) fn bpe_rank_with(
        &self,
        key: &mut Vec<u8>,
        left: &[u8],
        right: &[u8],
    ) -> Option<i32> {
        key.clear();
        key.extend_from_slice(&(left.len() as u32).to_le_bytes());
        key.extend_from_slice(left);
        key.extend_from_slice(right);
        self.bpe_ranks.get(key.as_slice()).copied()
    }

    /// The token of one byte (byte-fallback), as upstream's `byte_to_token`.
    pub fn byte_to_token(&self, b: u8) -> Option<i32> {
        match self.vtype {
            vocab_type::SPM | vocab_type::UGM => self
                .text_to_token(&bpe::hex_byte_token(b))
                .or_else(|| self.text_to_token(&[b])),
            vocab_type::WPM | vocab_type::BPE => {
                let mut s = Vec::with_capacity(2);
                unicode::push_byte_encoded(&mut s, b);
                self.text_to_token(&s)
            }
            _ => None,
        }
    }

    /// The byte of a byte token (`<0xXX>`), as upstream's `token_to_byte` (strtol on 2 chars).
    pub(crate) fn token_to_byte(&self, t: i32) -> u8 {
        let text = self.token_text(t);
        let hex = text.get(3..text.len().min(5)).unwrap_or(&[]);
        let mut v: u32 = 0;
        for &c in hex {
            match (c as char).to_digit(16) {
                Some(d) => v = v * 16 + d,
                None => break,
            }
        }
        v as u8
    }

    /// Split `text` on special-token strings (upstream's `tokenizer_st_partition`): special
    /// tokens are taken longest first, each splitting the raw text left by the previous ones at
    /// its leftmost occurrences. Occurrences are found for all tokens in one pass over the text.
    fn partition(&self, text: &[u8], parse_special: bool) -> Vec<Frag> {
        let mut frags = vec![Frag::Text(0, text.len())];
        let allowed = |k: usize| {
            let a = self.token_attr(self.cache_special[k]);
            parse_special || a & (ATTR_CONTROL | ATTR_UNKNOWN) == 0
        };
        let mut occ: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
        for (i, &b) in text.iter().enumerate() {
            if !self.special_first[b as usize] {
                continue;
            }
            let mut node = 0u32;
            for &c in &text[i..] {
                let Some(n) = self.special_trie.step(node, c) else {
                    break;
                };
                node = n;
                if let Some(k) = self.special_trie.value[n as usize] {
                    if allowed(k as usize) {
                        occ.entry(k as usize).or_default().push(i);
                    }
                }
            }
        }
        if occ.is_empty() {
            return frags;
        }
        let mut keys: Vec<usize> = occ.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let sid = self.cache_special[k];
            let Some(d) = self.data(sid) else { continue };
            let tl = d.text().len();
            let pos = &occ[&k];
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                let Frag::Text(mut off, mut len) = f else {
                    next.push(f);
                    continue;
                };
                loop {
                    let i = pos.partition_point(|&p| p < off);
                    let m = match pos.get(i) {
                        Some(&m) if m + tl <= off + len => m,
                        _ => {
                            next.push(Frag::Text(off, len));
                            break;
                        }
                    };
                    if m > off {
                        let mut llen = m - off;
                        if d.attr & ATTR_LSTRIP != 0 {
                            while llen > 0 && c_isspace(text[off + llen - 1]) {
                                llen -= 1;
                            }
                        }
                        if llen > 0 {
                            next.push(Frag::Text(off, llen));
                        }
                    }
                    next.push(Frag::Token(sid));
                    let end = off + len;
                    if m + tl < end {
                        let mut roff = m + tl;
                        let mut rlen = end - roff;
                        if d.attr & ATTR_RSTRIP != 0 {
                            while rlen > 0 && c_isspace(text[roff]) {
                                roff += 1;
                                rlen -= 1;
                            }
                        }
                        if rlen == 0 {
                            break;
                        }
                        off = roff;
                        len = rlen;
                    } else {
                        break;
                    }
                }
            }
            frags = next;
        }
        frags
    }

    /// Tokenize `text` (upstream's `llama_tokenize` without the buffer handling).
    pub fn tokenize(&self, text: &[u8], add_special: bool, parse_special: bool) -> Vec<i32> {
        let mut out = Vec::new();
        let frags = if text.is_empty() {
            Vec::new()
        } else {
            self.partition(text, parse_special)
        };
        match self.vtype {
            vocab_type::SPM => {
                let mut prev_special = true;
                if add_special && self.add_bos && self.special_bos != TOKEN_NULL {
                    out.push(self.special_bos);
                }
                for f in frags {
                    match f {
                        Frag::Text(o, l) => {
                            let mut t = Vec::with_capacity(l + 1);
                            if self.add_space_prefix && prev_special {
                                t.push(b' ');
                            }
                            t.extend_from_slice(&text[o..o + l]);
                            let t = replace_all(&t, b" ", SPACE_ESC);
                            spm::tokenize(self, &t, &mut out);
                            prev_special = false;
                        }
                        Frag::Token(id) => {
                            out.push(id);
                            prev_special = true;
                        }
                    }
                }
                if add_special && self.add_eos && self.special_eos != TOKEN_NULL {
                    out.push(self.special_eos);
                }
            }
            vocab_type::BPE => {
                if add_special && self.add_bos && self.special_bos != TOKEN_NULL {
                    out.push(self.special_bos);
                }
                for f in frags {
                    match f {
                        Frag::Text(o, l) => {
                            let raw = &text[o..o + l];
                            let esc;
                            let t = if self.escape_whitespaces {
                                esc = replace_all(raw, b" ", SPACE_ESC);
                                &esc[..]
                            } else {
                                raw
                            };
                            if let Some(p) = &self.pretok {
                                if self.tokenizer_model == "hybriddna" {
                                    super::dna::tokenize(self, p, t, &mut out);
                                } else if self.tokenizer_model == "whitespace" {
                                    self.tokenize_whitespace_model(p, t, &mut out);
                                } else {
                                    bpe::tokenize(self, p, t, &mut out);
                                }
                            }
                        }
                        Frag::Token(id) => out.push(id),
                    }
                }
                if add_special && self.add_eos && self.special_eos != TOKEN_NULL {
                    out.push(self.special_eos);
                }
            }
            vocab_type::WPM => {
                if add_special && self.special_bos != TOKEN_NULL {
                    out.push(self.special_bos);
                }
                for f in frags {
                    match f {
                        Frag::Text(o, l) => wpm::tokenize(self, &text[o..o + l], &mut out),
                        Frag::Token(id) => out.push(id),
                    }
                }
                if add_special && self.special_sep != TOKEN_NULL {
                    out.push(self.special_sep);
                }
            }
            vocab_type::UGM => {
                if add_special && self.add_bos && self.special_bos != TOKEN_NULL {
                    out.push(self.special_bos);
                }
                for f in frags {
                    match f {
                        Frag::Text(o, l) => {
                            if let Some(u) = &self.ugm {
                                u.tokenize(self, &text[o..o + l], &mut out);
                            }
                        }
                        Frag::Token(id) => out.push(id),
                    }
                }
                if add_special && self.add_eos && self.special_eos != TOKEN_NULL {
                    out.push(self.special_eos);
                }
            }
            vocab_type::PLAMO2 => {
                for f in frags {
                    match f {
                        Frag::Text(o, l) => {
                            if let Some(p) = &self.plamo2 {
                                p.tokenize(&text[o..o + l], &mut out);
                            }
                        }
                        Frag::Token(id) => out.push(id),
                    }
                }
            }
            vocab_type::RWKV | vocab_type::TEST => {
                for f in frags {
                    match f {
                        Frag::Text(o, l) => match &self.rwkv {
                            Some(trie) => rwkv::tokenize(self, trie, &text[o..o + l], &mut out),
                            None => rwkv::tokenize_test(self, &text[o..o + l], &mut out),
                        },
                        Frag::Token(id) => out.push(id),
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// Upstream's whitespace-model session: drop whitespace, optionally lowercase, BPE the rest.
    fn tokenize_whitespace_model(&self, p: &PreTokenizer, text: &[u8], out: &mut Vec<i32>) {
        let mut seg = Vec::new();
        for c in cpts_from_utf8(text) {
            if unicode::cpt_flags(c).is_whitespace() {
                if !seg.is_empty() {
                    bpe::tokenize(self, p, &seg, out);
                    seg.clear();
                }
            } else {
                push_utf8(
                    &mut seg,
                    if self.normalizer_lowercase {
                        unicode::to_lower(c)
                    } else {
                        c
                    },
                );
            }
        }
        if !seg.is_empty() {
            bpe::tokenize(self, p, &seg, out);
        }
    }
}

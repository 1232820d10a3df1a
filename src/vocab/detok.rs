//! Tokens back to text: the per-token piece (`llama_token_to_piece`, served from a cache built at
//! load time as upstream does) and `llama_detokenize` with its clean-up passes.

use super::unicode::{self, cpts_from_utf8, push_utf8};
use super::vocab::{replace_all, Vocab, SPACE_ESC};
use super::{
    rwkv, vocab_type, ATTR_BYTE, ATTR_CONTROL, ATTR_NORMAL, ATTR_UNKNOWN, ATTR_USER_DEFINED,
};

impl Vocab {
    /// The text of a token for the piece cache (`special = true`, no lstrip).
    pub(crate) fn piece_uncached(&self, t: i32) -> Vec<u8> {
        let Some(d) = self.data(t) else {
            return Vec::new();
        };
        let attr = d.attr;
        let text = d.text();
        let special = ATTR_UNKNOWN | ATTR_CONTROL;
        match self.vtype {
            vocab_type::SPM | vocab_type::WPM | vocab_type::UGM | vocab_type::BPE => {
                if attr & (special | ATTR_USER_DEFINED) != 0 {
                    text.to_vec()
                } else if attr & ATTR_NORMAL != 0 {
                    if self.vtype != vocab_type::BPE || self.escape_whitespaces {
                        replace_all(text, SPACE_ESC, b" ")
                    } else {
                        decode_bpe_text(text)
                    }
                } else if attr & ATTR_BYTE != 0 {
                    vec![self.token_to_byte(t)]
                } else {
                    Vec::new()
                }
            }
            vocab_type::RWKV => rwkv::unescape(text),
            vocab_type::PLAMO2 => {
                let hex = text.len() == 6 && text.starts_with(b"<0x") && text[5] == b'>';
                match (
                    attr & ATTR_BYTE != 0 && hex,
                    std::str::from_utf8(text.get(3..5).unwrap_or(&[])),
                ) {
                    (true, Ok(h)) if h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        vec![u8::from_str_radix(h, 16).unwrap_or(0)]
                    }
                    _ => text.to_vec(),
                }
            }
            vocab_type::TEST => format!("{t:x}").into_bytes(),
            _ => Vec::new(),
        }
    }

    /// The text of one token (upstream's `llama_token_to_piece`): control and unknown tokens
    /// give nothing unless `special`; up to `lstrip` leading spaces are dropped.
    pub fn token_to_piece(&self, token: i32, lstrip: i32, special: bool) -> Vec<u8> {
        let attr = self.token_attr(token);
        if !special && attr & (ATTR_UNKNOWN | ATTR_CONTROL) != 0 {
            return Vec::new();
        }
        let Some(p) = usize::try_from(token)
            .ok()
            .and_then(|i| self.piece_cache.get(i))
        else {
            return Vec::new();
        };
        let mut s = &p[..];
        let mut k = 0;
        while k < lstrip && s.first() == Some(&b' ') {
            s = &s[1..];
            k += 1;
        }
        s.to_vec()
    }

    /// Tokens back to text (upstream's `llama_detokenize`).
    pub fn detokenize(
        &self,
        tokens: &[i32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Vec<u8> {
        self.detokenize_ex(tokens, remove_special, unparse_special)
            .0
    }

    /// As [`Vocab::detokenize`], also returning the length before space clean-up, which is the
    /// count upstream reports (negated) when the caller's buffer is too small.
    pub fn detokenize_ex(
        &self,
        tokens: &[i32],
        remove_special: bool,
        unparse_special: bool,
    ) -> (Vec<u8>, usize) {
        if self.vtype == vocab_type::NONE {
            return (Vec::new(), 0);
        }
        let mut toks = tokens;
        let mut remove_space = self.add_space_prefix;
        if remove_special && self.add_bos && toks.first() == Some(&self.special_bos) {
            remove_space = false;
            toks = &toks[1..];
        }
        if remove_special && self.add_eos && toks.last() == Some(&self.special_eos) {
            toks = &toks[..toks.len() - 1];
        }
        let mut text = Vec::new();
        for &t in toks {
            text.extend_from_slice(&self.token_to_piece(t, remove_space as i32, unparse_special));
            remove_space = false;
        }
        let raw = text.len();
        if self.clean_spaces {
            clean_spaces(&mut text);
        }
        (text, raw)
    }
}

/// GPT-2 byte decoding of a token text (upstream's `llama_decode_text`).
fn decode_bpe_text(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in cpts_from_utf8(text) {
        match unicode::cpt_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut u = Vec::new();
                push_utf8(&mut u, c);
                for b in u {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text);
                out.push(b']');
            }
        }
    }
    out
}

/// Upstream's three in-place clean-up passes (`clean_up_tokenization_spaces`).
fn clean_spaces(t: &mut Vec<u8>) {
    let n1 = t.len();
    let mut total = usize::from(n1 > 0);
    for i in 1..n1 {
        let x = t[i];
        if t[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            total -= 1;
        }
        t[total] = x;
        total += 1;
    }
    let n2 = total;
    total = usize::from(n2 > 0);
    let mut i = 1;
    while i < n2 {
        let x = t[i];
        if x == b'\'' && i + 1 < n2 && t[i - 1] == b' ' && t[i + 1] == b' ' {
            total -= 1;
            i += 1;
            t[i] = 0;
        }
        t[total] = x;
        total += 1;
        i += 1;
    }
    let n3 = total;
    total = usize::from(n3 > 0);
    for i in 1..n3 {
        let x = t[i];
        if t[i - 1] == b' ' && x == b'\'' && i + 1 < n3 {
            let x1 = t[i + 1];
            if x1 == b's' || x1 == b'm' {
                total -= 1;
            } else if x1 != b't' && x1 != b'd' && i + 2 < n3 {
                let x2 = t[i + 2];
                if x2 == b'e' && (x1 == b'r' || x1 == b'v') {
                    total -= 1;
                }
            }
        }
        t[total] = x;
        total += 1;
    }
    t.truncate(total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_spaces_passes() {
        let mut t = b"Hello , world ! it 's a ' b ' c".to_vec();
        clean_spaces(&mut t);
        assert_eq!(t, b"Hello, world! it's a'b'c".to_vec());
        let mut e = Vec::new();
        clean_spaces(&mut e);
        assert!(e.is_empty());
    }
}

//! The RWKV "world" tokenizer (greedy longest match over unescaped token bytes) and upstream's
//! TEST vocabulary type (a rolling hash of 5-byte chunks), as upstream implements them.

use super::ugm::Trie;
use super::Vocab;

/// Decode an RWKV token text: `\t \n \r \xHH` and `\c` escapes (upstream's own hex reading:
/// a digit below 'a' counts from '0', anything else from 'a').
pub(crate) fn unescape(escaped: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(escaped.len());
    let (mut escaping, mut hex_left, mut acc) = (false, 0u8, 0u8);
    for &c in escaped {
        if hex_left != 0 {
            let v = if c >= b'a' {
                c.wrapping_sub(b'a').wrapping_add(10)
            } else {
                c.wrapping_sub(b'0')
            };
            acc = (acc << 4).wrapping_add(v);
            hex_left -= 1;
            if hex_left == 0 {
                out.push(acc);
                acc = 0;
            }
            continue;
        }
        if escaping {
            match c {
                b't' => out.push(b'\t'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b'x' => hex_left = 2,
                _ => out.push(c),
            }
            escaping = false;
            continue;
        }
        if c == b'\\' {
            escaping = true;
            continue;
        }
        out.push(c);
    }
    out
}

/// The trie of unescaped token bytes.
pub(crate) fn build_trie(v: &Vocab) -> Trie {
    let mut t = Trie::new();
    for id in 0..v.n_tokens() {
        t.insert(&unescape(v.token_text(id)), id);
    }
    t
}

/// Greedy longest-match tokenization (upstream's `llm_tokenizer_rwkv_session`). Where upstream
/// would loop forever (a trie path without any token on it) we emit token 0 and move one byte on.
pub(crate) fn tokenize(v: &Vocab, trie: &Trie, text: &[u8], out: &mut Vec<i32>) {
    let mut pos = 0;
    while pos < text.len() {
        let start = pos;
        let Some(mut node) = trie.step(0, text[pos]) else {
            out.push(v.special_unk);
            pos += 1;
            continue;
        };
        let (mut id, mut end) = (0, 0);
        loop {
            if let Some(t) = trie.value[node as usize] {
                id = t;
                end = pos + 1;
            }
            if pos + 1 >= text.len() {
                break;
            }
            pos += 1;
            match trie.step(node, text[pos]) {
                Some(n) => node = n,
                None => break,
            }
        }
        out.push(id);
        pos = if end == 0 { start + 1 } else { end };
    }
}

/// Upstream's TEST tokenizer: each 5-byte chunk becomes `hash % n_vocab` (hash = hash*31 + byte).
pub(crate) fn tokenize_test(v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
    let n = v.n_tokens().max(1) as u64;
    for chunk in text.chunks(5) {
        let h = chunk
            .iter()
            .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64));
        out.push((h % n) as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_rwkv() {
        assert_eq!(unescape(b"a\\tb\\n\\x41\\\\"), b"a\tb\nA\\".to_vec());
    }
}

//! WordPiece (BERT), as upstream's `llm_tokenizer_wpm_session`: BERT-style normalisation and
//! word splitting, then greedy longest-prefix matching of "▁word" against the vocabulary; a
//! word that cannot be covered becomes one unknown token.

use super::unicode::{cpt_flags, cpts_from_utf8, normalize_nfd, push_utf8, to_lower};
use super::Vocab;

fn is_chinese_char(c: u32) -> bool {
    matches!(c,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F |
        0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Normalise and split into words (upstream's `preprocess`).
pub(crate) fn preprocess(text: &[u8], lowercase: bool, strip_accents: bool) -> Vec<Vec<u8>> {
    let mut cpts = cpts_from_utf8(text);
    if strip_accents {
        cpts = normalize_nfd(&cpts);
    }
    let mut words: Vec<Vec<u8>> = vec![Vec::new()];
    for c in cpts {
        let f = cpt_flags(c);
        if f.is_whitespace() {
            if words.last().is_some_and(|w| !w.is_empty()) {
                words.push(Vec::new());
            }
            continue;
        }
        if c == 0 || c == 0xFFFD || f.is_control() {
            continue;
        }
        if strip_accents && f.is_accent_mark() {
            continue;
        }
        let mut s = Vec::with_capacity(4);
        push_utf8(&mut s, if lowercase { to_lower(c) } else { c });
        if f.is_punctuation() || (c < 0x7F && f.is_symbol()) || is_chinese_char(c) {
            if words.last().is_some_and(|w| !w.is_empty()) {
                words.push(Vec::new());
            }
            if let Some(w) = words.last_mut() {
                *w = s;
            }
            words.push(Vec::new());
        } else if let Some(w) = words.last_mut() {
            w.extend_from_slice(&s);
        }
    }
    if words.last().is_some_and(|w| w.is_empty()) {
        words.pop();
    }
    words
}

/// Tokenize one raw-text fragment, appending to `out`.
pub(crate) fn tokenize(v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
    let words = preprocess(text, v.normalizer_lowercase, v.normalizer_strip_accents);
    for word in words {
        if word.is_empty() {
            continue;
        }
        let mut w1 = Vec::with_capacity(word.len() + 3);
        w1.extend_from_slice("\u{2581}".as_bytes());
        w1.extend_from_slice(&word);
        let n = w1.len();
        let before = out.len();
        let mut i = 0;
        while i < n {
            let mut matched = false;
            let mut j = n.min(i + v.max_token_len + 1);
            while j > i {
                if let Some(t) = v.text_to_token(&w1[i..j]) {
                    out.push(t);
                    matched = true;
                    i = j - 1;
                    break;
                }
                j -= 1;
            }
            if !matched {
                out.truncate(before);
                break;
            }
            i += 1;
        }
        if out.len() == before {
            out.push(v.special_unk);
        }
    }
}

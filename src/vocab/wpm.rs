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

/// Normalise and split into words (upstream's `preprocess`): the words' bytes in one buffer and
/// their `(start, end)` spans (no empty words).
pub(crate) fn preprocess(
    text: &[u8],
    lowercase: bool,
    strip_accents: bool,
) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut cpts = cpts_from_utf8(text);
    if strip_accents {
        cpts = normalize_nfd(&cpts);
    }
    let mut buf = Vec::with_capacity(text.len() + 8);
    let mut spans = Vec::new();
    let mut start = 0;
    let close = |buf: &Vec<u8>, start: &mut usize, spans: &mut Vec<(usize, usize)>| {
        if buf.len() > *start {
            spans.push((*start, buf.len()));
        }
        *start = buf.len();
    };
    for c in cpts {
        let f = cpt_flags(c);
        if f.is_whitespace() {
            close(&buf, &mut start, &mut spans);
            continue;
        }
        if c == 0 || c == 0xFFFD || f.is_control() {
            continue;
        }
        if strip_accents && f.is_accent_mark() {
            continue;
        }
        let c2 = if lowercase { to_lower(c) } else { c };
        if f.is_punctuation() || (c < 0x7F && f.is_symbol()) || is_chinese_char(c) {
            close(&buf, &mut start, &mut spans);
            push_utf8(&mut buf, c2);
            close(&buf, &mut start, &mut spans);
        } else {
            push_utf8(&mut buf, c2);
        }
    }
    close(&buf, &mut start, &mut spans);
    (buf, spans)
}

/// Tokenize one raw-text fragment, appending to `out`.
pub(crate) fn tokenize(v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
    let (buf, spans) = preprocess(text, v.normalizer_lowercase, v.normalizer_strip_accents);
    let mut w1 = Vec::with_capacity(64);
    for (ws, we) in spans {
        w1.clear();
        w1.extend_from_slice("\u{2581}".as_bytes());
        w1.extend_from_slice(&buf[ws..we]);
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

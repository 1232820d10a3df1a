//! The "hybriddna" tokenizer model, as upstream: BPE for text, and inside `<dna>…</dna>` the
//! uppercased sequence cut into 6-mers (the last one padded with `A`), each a token whose text
//! carries a reserved U+E000 marker (trimmed from the token texts at load, so k-mers detokenize
//! to bare bases); an unknown k-mer becomes `<oov>`.

use super::pretokenize::PreTokenizer;
use super::{bpe, Vocab};

const MARKER: &[u8] = "\u{E000}".as_bytes();
const K: usize = 6;

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Drop the marker from the texts of the tokens after `<oov>` (not from the lookup table).
pub(crate) fn trim_kmer_markers(v: &mut Vocab) {
    let Some(oov) = v.text_to_token(b"<oov>") else {
        return;
    };
    for t in v.tokens.iter_mut().skip(oov as usize + 1) {
        let text = t.text();
        if text.len() > MARKER.len() && text.ends_with(MARKER) {
            let keep = text.len() - MARKER.len();
            t.text_nul.truncate(keep);
            t.text_nul.push(0);
        }
    }
}

fn kmers(v: &Vocab, raw: &[u8], oov: i32, out: &mut Vec<i32>) {
    let seq: Vec<u8> = raw
        .iter()
        .map(|&c| if c.is_ascii_lowercase() { c - 32 } else { c })
        .collect();
    let token = |kmer: &[u8]| v.text_to_token(&[kmer, MARKER].concat()).unwrap_or(oov);
    let mut chunks = seq.chunks_exact(K);
    for c in &mut chunks {
        out.push(token(c));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut k = rest.to_vec();
        k.resize(K, b'A');
        out.push(token(&k));
    }
}

/// Tokenize one raw-text fragment (upstream's `llm_tokenizer_hybriddna_session`).
pub(crate) fn tokenize(v: &Vocab, pre: &PreTokenizer, text: &[u8], out: &mut Vec<i32>) {
    let (open, close) = (b"<dna>".as_slice(), b"</dna>".as_slice());
    let ids = (
        v.text_to_token(open),
        v.text_to_token(close),
        v.text_to_token(b"<oov>"),
    );
    let (Some(begin), Some(end_id), Some(oov)) = ids else {
        return bpe::tokenize(v, pre, text, out);
    };
    let mut pos = 0;
    while pos < text.len() {
        let Some(start) = find(text, open, pos) else {
            bpe::tokenize(v, pre, &text[pos..], out);
            break;
        };
        if start > pos {
            bpe::tokenize(v, pre, &text[pos..start], out);
        }
        out.push(begin);
        let content = start + open.len();
        let end = find(text, close, content);
        kmers(v, &text[content..end.unwrap_or(text.len())], oov, out);
        let Some(end) = end else { break };
        out.push(end_id);
        pos = end + close.len();
    }
}

//! SentencePiece-style BPE (upstream's `llm_tokenizer_spm_session`): start from UTF-8
//! characters, repeatedly merge the adjacent pair whose concatenation is the highest-scoring
//! token (ties: leftmost), then emit tokens, falling back to byte tokens for unknown pieces.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::unicode::len_utf8;
use super::Vocab;

#[derive(Clone, Copy)]
struct Sym {
    start: usize,
    n: usize,
    prev: isize,
    next: isize,
}

struct Bigram {
    score: f32,
    left: u32,
    right: u32,
    size: u32,
}

impl PartialEq for Bigram {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Bigram {
    /// Max-heap order: higher score first, then lower `left`.
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .partial_cmp(&o.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| o.left.cmp(&self.left))
    }
}

fn bigram(v: &Vocab, text: &[u8], syms: &[Sym], left: isize, right: isize) -> Option<Bigram> {
    if left < 0 || right < 0 {
        return None;
    }
    let (l, r) = (syms[left as usize], syms[right as usize]);
    let size = l.n + r.n;
    let piece = text.get(l.start..l.start + size)?;
    let t = v.text_to_token(piece)?;
    Some(Bigram {
        left: left as u32,
        right: right as u32,
        score: v.token_score(t),
        size: size as u32,
    })
}

const SPACE: &[u8] = "\u{2581}".as_bytes();

/// Tokens that hold U+2581 after their first byte, with those offsets (built at load). A merged
/// symbol is always a token made of whole characters, so a U+2581 in the text that none of these
/// can cover is a boundary no merge crosses: the text can be tokenized in independent pieces
/// there with the same result (smaller work queues, much faster on long inputs).
pub(crate) fn inner_space_tokens(v: &Vocab) -> Option<Vec<(Vec<u8>, Vec<usize>)>> {
    let mut out = Vec::new();
    for id in 0..v.n_tokens() {
        let t = v.token_text(id);
        let offs: Vec<usize> = (1..t.len())
            .filter(|&k| t[k..].starts_with(SPACE))
            .collect();
        if !offs.is_empty() {
            out.push((t.to_vec(), offs));
            if out.len() > 512 {
                return None;
            }
        }
    }
    Some(out)
}

fn safe_boundary(text: &[u8], p: usize, inner: &[(Vec<u8>, Vec<usize>)]) -> bool {
    !inner
        .iter()
        .any(|(s, offs)| offs.iter().any(|&k| p >= k && text[p - k..].starts_with(s)))
}

/// Tokenize already-escaped text (spaces replaced by U+2581), appending to `out`.
pub(crate) fn tokenize(v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
    const CHUNK: usize = 4096;
    let Some(inner) = v.spm_inner_space.as_deref() else {
        return tokenize_piece(v, text, out);
    };
    // walk the same character boundaries the symbol split uses, so a cut never splits a symbol
    let (mut start, mut p) = (0, 0);
    while p < text.len() {
        if p - start >= CHUNK && text[p..].starts_with(SPACE) && safe_boundary(text, p, inner) {
            tokenize_piece(v, &text[start..p], out);
            start = p;
        }
        p += len_utf8(text[p]);
    }
    tokenize_piece(v, &text[start..], out);
}

fn tokenize_piece(v: &Vocab, text: &[u8], out: &mut Vec<i32>) {
    let mut syms: Vec<Sym> = Vec::with_capacity(text.len());
    let mut off = 0;
    while off < text.len() {
        let n = len_utf8(text[off]).min(text.len() - off);
        let i = syms.len() as isize;
        off += n;
        let next = if off == text.len() { -1 } else { i + 1 };
        syms.push(Sym {
            start: off - n,
            n,
            prev: i - 1,
            next,
        });
    }
    let seed: Vec<Bigram> = (1..syms.len())
        .filter_map(|i| bigram(v, text, &syms, i as isize - 1, i as isize))
        .collect();
    let mut heap = BinaryHeap::from(seed);
    while let Some(b) = heap.pop() {
        let (bl, br) = (b.left as usize, b.right as usize);
        let (l, r) = (syms[bl], syms[br]);
        if l.n == 0 || r.n == 0 || l.n + r.n != b.size as usize {
            continue;
        }
        syms[bl].n += r.n;
        syms[br].n = 0;
        syms[bl].next = r.next;
        if r.next >= 0 {
            syms[r.next as usize].prev = bl as isize;
        }
        let (p, nx) = (syms[bl].prev, syms[bl].next);
        heap.extend(bigram(v, text, &syms, p, bl as isize));
        heap.extend(bigram(v, text, &syms, bl as isize, nx));
    }
    let mut i: isize = if syms.is_empty() { -1 } else { 0 };
    while i >= 0 {
        let s = syms[i as usize];
        let piece = &text[s.start..s.start + s.n];
        match v.text_to_token(piece) {
            Some(t) => out.push(t),
            None => {
                for &b in piece {
                    if let Some(t) = v.byte_to_token(b) {
                        out.push(t);
                    }
                }
            }
        }
        i = s.next;
    }
}

//! Byte-pair encoding of pre-tokenized words, as upstream's `llm_tokenizer_bpe_session`:
//! merges are applied lowest rank first (ties: leftmost), stale candidates are skipped, and
//! symbols that are not tokens fall back to per-byte tokens.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::pretokenize::{PreTokenizer, PreType};
use super::unicode::len_utf8;
use super::Vocab;

#[derive(Clone, Copy)]
struct Sym {
    start: usize,
    n: usize,
    prev: isize,
    next: isize,
}

/// A merge candidate: (rank, left, right, left length, right length).
type Cand = (i32, usize, usize, usize, usize);

/// Scratch space reused across words.
#[derive(Default)]
struct Scratch {
    syms: Vec<Sym>,
    heap: BinaryHeap<Reverse<Cand>>,
    key: Vec<u8>,
}

impl Scratch {
    fn push_bigram(&mut self, v: &Vocab, word: &[u8], left: isize, right: isize) {
        if left < 0 || right < 0 {
            return;
        }
        let (l, r) = (self.syms[left as usize], self.syms[right as usize]);
        let lt = &word[l.start..l.start + l.n];
        let rt = &word[r.start..r.start + r.n];
        if let Some(rank) = v.bpe_rank_with(&mut self.key, lt, rt) {
            self.heap
                .push(Reverse((rank, left as usize, right as usize, l.n, r.n)));
        }
    }
}

/// Tokenize one raw-text fragment with BPE, appending to `out`.
pub(crate) fn tokenize(v: &Vocab, pre: &PreTokenizer, text: &[u8], out: &mut Vec<i32>) {
    let words = pre.split(text);
    let mut sc = Scratch::default();
    for &(ws, we) in &words.spans {
        let word = &words.buf[ws..we];
        sc.syms.clear();
        sc.heap.clear();
        let whole = (v.ignore_merges && v.text_to_token(word).is_some())
            || (v.pre_type == PreType::Gemma4
                && word.iter().all(|&b| b == b'\n')
                && v.text_to_token(word).is_some());
        if whole {
            sc.syms.push(Sym {
                start: 0,
                n: word.len(),
                prev: -1,
                next: -1,
            });
        } else {
            let mut off = 0;
            while off < word.len() {
                let n = len_utf8(word[off]).min(word.len() - off);
                let i = sc.syms.len() as isize;
                off += n;
                let next = if off == word.len() { -1 } else { i + 1 };
                sc.syms.push(Sym {
                    start: off - n,
                    n,
                    prev: i - 1,
                    next,
                });
            }
        }
        for i in 1..sc.syms.len() {
            sc.push_bigram(v, word, i as isize - 1, i as isize);
        }
        while let Some(Reverse((_, left, right, ln, rn))) = sc.heap.pop() {
            let (l, r) = (sc.syms[left], sc.syms[right]);
            if l.n == 0 || r.n == 0 || l.n != ln || r.n != rn {
                continue;
            }
            sc.syms[left].n += r.n;
            sc.syms[right].n = 0;
            sc.syms[left].next = r.next;
            if r.next >= 0 {
                sc.syms[r.next as usize].prev = left as isize;
            }
            let lp = sc.syms[left].prev;
            let ln2 = sc.syms[left].next;
            sc.push_bigram(v, word, lp, left as isize);
            sc.push_bigram(v, word, left as isize, ln2);
        }
        for s in sc.syms.iter().filter(|s| s.n > 0) {
            let piece = &word[s.start..s.start + s.n];
            match v.text_to_token(piece) {
                Some(t) => out.push(t),
                None => {
                    for &b in piece {
                        let t = if pre.byte_encode {
                            v.text_to_token(&[b])
                        } else {
                            v.text_to_token(&hex_byte_token(b))
                        };
                        if let Some(t) = t {
                            out.push(t);
                        }
                    }
                }
            }
        }
    }
}

/// `<0xXX>` (uppercase hex), the SPM-style byte token text.
pub(crate) fn hex_byte_token(b: u8) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [
        b'<',
        b'0',
        b'x',
        HEX[(b >> 4) as usize],
        HEX[(b & 15) as usize],
        b'>',
    ]
}

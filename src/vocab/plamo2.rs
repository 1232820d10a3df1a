//! The PLaMo-2 tokenizer, as upstream's `llm_tokenizer_plamo2`: a table of every token and
//! token suffix (sorted by reversed text, so suffix links are table rows), a right-to-left
//! dynamic programme over code points with integer scores, and byte-token fallback.

use super::hash::FxHashMap;
use super::unicode::{cpts_from_utf8, push_utf8};
use super::{Vocab, ATTR_BYTE};
use crate::error::{Error, Result};

const INVALID_SCORE: i32 = -20_000_000;
const UNKNOWN_SCORE: i32 = -10_000_000;

/// One table row: piece length (code points), token id (-1 for none), score, piece id.
#[derive(Clone, Copy, Debug)]
struct Row {
    len: i32,
    token: i32,
    score: i32,
    piece: i32,
}

/// Per-vocabulary PLaMo-2 data.
#[derive(Debug)]
pub(crate) struct Plamo2 {
    bytes: [i32; 256],
    to_suffix_id: FxHashMap<i64, i32>,
    table: Vec<Row>,
}

fn utf8_of(cpts: &[u32]) -> Vec<u8> {
    let mut s = Vec::with_capacity(cpts.len() * 2);
    for &c in cpts {
        push_utf8(&mut s, c);
    }
    s
}

fn hex_byte(text: &[u8]) -> Option<usize> {
    if text.len() != 6 || !text.starts_with(b"<0x") || text[5] != b'>' {
        return None;
    }
    let h = std::str::from_utf8(&text[3..5]).ok()?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(h, 16).ok()
}

impl Plamo2 {
    /// Build the tables (upstream's `build`).
    pub(crate) fn new(v: &Vocab) -> Result<Plamo2> {
        let mut bytes = [0i32; 256];
        let mut score_of: FxHashMap<Vec<u8>, f32> = FxHashMap::default();
        let mut token_of: FxHashMap<Vec<u8>, i32> = FxHashMap::default();
        for id in 0..v.n_tokens() {
            let text = v.token_text(id);
            token_of.insert(text.to_vec(), id);
            if v.token_attr(id) & ATTR_BYTE != 0 {
                if let Some(b) = hex_byte(text) {
                    bytes[b] = id;
                }
                continue;
            }
            score_of.insert(text.to_vec(), v.token_score(id));
            let cpts = cpts_from_utf8(text);
            for i in 1..cpts.len() {
                score_of.entry(utf8_of(&cpts[i..])).or_insert(f32::NAN);
            }
        }
        if let Some(i) = bytes.iter().position(|&b| b == 0) {
            return Err(Error::format(format!("Byte token for <0x{i}> is not set")));
        }
        let mut suffixes: Vec<Vec<u8>> = score_of.keys().cloned().collect();
        suffixes.push(Vec::new());
        suffixes.sort_by(|a, b| a.iter().rev().cmp(b.iter().rev()));

        let mut suffix_id: FxHashMap<Vec<u8>, i32> = FxHashMap::default();
        let mut to_suffix_id: FxHashMap<i64, i32> = FxHashMap::default();
        let mut num_pieces: i32 = 0;
        let prefixes = |cpts: &[u32]| -> Vec<(i32, Vec<u8>)> {
            (1..=cpts.len())
                .rev()
                .map(|l| (l as i32, utf8_of(&cpts[..l])))
                .collect()
        };
        for s in &suffixes {
            suffix_id.insert(s.clone(), num_pieces);
            if s.is_empty() {
                num_pieces += 1;
                continue;
            }
            let cpts = cpts_from_utf8(s);
            let rest = utf8_of(&cpts[1..]);
            let rid = suffix_id.get(&rest).copied().unwrap_or(0);
            to_suffix_id.insert(((cpts[0] as i64) << 32) | rid as i64, num_pieces);
            let n = prefixes(&cpts)
                .iter()
                .filter(|(_, p)| score_of.contains_key(p))
                .count() as i32;
            num_pieces += 1 + n;
        }
        let mut table = Vec::with_capacity(num_pieces as usize);
        for s in &suffixes {
            let cpts = cpts_from_utf8(s);
            for (len, p) in prefixes(&cpts) {
                let Some(&score) = score_of.get(&p) else {
                    continue;
                };
                table.push(Row {
                    len,
                    token: token_of.get(&p).copied().unwrap_or(-1),
                    score: if score.is_finite() {
                        ((score as f64) * 1e4).round() as i32
                    } else {
                        INVALID_SCORE
                    },
                    piece: suffix_id.get(&p).copied().unwrap_or(0),
                });
            }
            table.push(Row {
                len: 1,
                token: -1,
                score: UNKNOWN_SCORE,
                piece: 0,
            });
        }
        Ok(Plamo2 {
            bytes,
            to_suffix_id,
            table,
        })
    }

    /// Tokenize one raw-text fragment, appending to `out` (upstream's `encode`).
    pub(crate) fn tokenize(&self, text: &[u8], out: &mut Vec<i32>) {
        let mut data = cpts_from_utf8(text);
        if data.first() == Some(&0xFEFF) {
            data.remove(0);
        }
        let n = data.len();
        if n == 0 {
            return;
        }
        let mut scores = vec![1i64 << 60; n + 1];
        scores[n] = 0;
        // (token length, token id, number of tokens)
        let mut path = vec![(0i32, 0i32, 0i32); n + 1];
        let mut suffix = 0usize;
        for i in (0..n).rev() {
            let c = data[i];
            // upstream scans from the previous suffix row and reassigns it inside the loop
            let start = suffix;
            for p in start..self.table.len() {
                let code = ((c as i64) << 32) | self.table[p].piece as i64;
                suffix = self.to_suffix_id.get(&code).map_or(0, |&s| s as usize);
                if suffix > 0 || self.table[p].score == UNKNOWN_SCORE {
                    break;
                }
            }
            for p in suffix..self.table.len() {
                let row = self.table[p];
                if row.score > INVALID_SCORE {
                    let end = i + row.len as usize;
                    let s = scores.get(end).map_or(i64::MAX, |&x| x - row.score as i64);
                    if s < scores[i] {
                        scores[i] = s;
                        let mut k = path[end].2 + 1;
                        if row.score == UNKNOWN_SCORE {
                            k += (c >= 0x80) as i32 + (c >= 0x800) as i32 + (c >= 0x10000) as i32;
                        }
                        path[i] = (row.len, row.token, k);
                    }
                }
                if row.score == UNKNOWN_SCORE {
                    break;
                }
            }
        }
        let mut pos = 0;
        while pos < n {
            let (len, tok, _) = path[pos];
            if tok >= 0 {
                out.push(tok);
            } else {
                let c = data[pos];
                let s = 1 + (c >= 0x80) as u32 + (c >= 0x800) as u32 + (c >= 0x10000) as u32;
                for i in 0..s {
                    let b = if s == 1 {
                        c
                    } else if i == 0 {
                        (0xF00 >> s) & 0xFF
                    } else {
                        0x80
                    };
                    let idx = (b | ((c >> ((s - i - 1) * 6)) & 0x3F)) as usize & 0xFF;
                    out.push(self.bytes[idx]);
                }
            }
            pos += len.max(1) as usize;
        }
    }
}

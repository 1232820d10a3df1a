//! Batches: validation, default positions and outputs, and the split into micro-batches.
//!
//! Pure integer logic (no tensors), as upstream's `llama_batch_allocr::init` + `split_simple`:
//! a batch is cut into consecutive runs of at most `n_ubatch` tokens, in batch order; outputs
//! keep batch order, so output row `r` belongs to the `r`-th token whose output flag is set.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::kv_cache::{SeqSet, MAX_SEQ};

/// A borrowed `llama_batch`. Absent arrays take upstream's defaults: positions continue each
/// sequence, every token belongs to sequence 0, only the last token has an output.
#[derive(Clone, Debug, Default)]
pub struct BatchView<'a> {
    /// Number of tokens.
    pub n_tokens: i32,
    /// Token ids (`n_tokens`), or
    pub token: Option<&'a [i32]>,
    /// embeddings (`n_tokens * n_embd`).
    pub embd: Option<&'a [f32]>,
    /// Positions.
    pub pos: Option<&'a [i32]>,
    /// Number of sequence ids per token.
    pub n_seq_id: Option<&'a [i32]>,
    /// Sequence ids per token.
    pub seq_id: Option<Vec<&'a [i32]>>,
    /// Output flags.
    pub logits: Option<&'a [i8]>,
}

/// A validated batch with every default filled in, in buffers reused across calls.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Positions per token.
    pub pos: Vec<i32>,
    /// Sequence set per token.
    pub seqs: Vec<SeqSet>,
    /// First sequence id per token (the one its attention mask uses).
    pub seq0: Vec<i32>,
    /// Output flag per token.
    pub output: Vec<bool>,
    /// Number of outputs.
    pub n_outputs: usize,
}

impl Prepared {
    /// Buffers with room for `n_batch` tokens (no growth afterwards).
    pub fn with_capacity(n_batch: usize) -> Prepared {
        Prepared {
            pos: Vec::with_capacity(n_batch),
            seqs: Vec::with_capacity(n_batch),
            seq0: Vec::with_capacity(n_batch),
            output: Vec::with_capacity(n_batch),
            n_outputs: 0,
        }
    }

    /// Validates `b` and fills the defaults. `n_vocab` bounds token ids, `n_seq_max` sequence
    /// ids; `pos_max(s)` is the largest position of sequence `s` in the cache (-1 if none);
    /// `all_outputs` forces an output for every token (embeddings mode).
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        &mut self,
        b: &BatchView<'_>,
        n_vocab: i32,
        n_embd: usize,
        n_seq_max: u32,
        n_batch: u32,
        all_outputs: bool,
        pos_max: &dyn Fn(i32) -> i32,
    ) -> Result<()> {
        let n = usize::try_from(b.n_tokens)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::invalid(format!("n_tokens = {} must be > 0", b.n_tokens)))?;
        if n > n_batch as usize {
            return Err(Error::invalid(format!(
                "n_tokens = {n} > n_batch = {n_batch}"
            )));
        }
        match (b.token, b.embd) {
            (Some(t), _) => {
                if t.len() < n {
                    return Err(Error::invalid("token array shorter than n_tokens"));
                }
                if let Some((i, &tok)) = t[..n]
                    .iter()
                    .enumerate()
                    .find(|(_, &x)| x < 0 || x >= n_vocab)
                {
                    return Err(Error::invalid(format!(
                        "token {i}: invalid token id {tok} (n_vocab = {n_vocab})"
                    )));
                }
            }
            (None, Some(e)) => {
                if e.len() < n * n_embd {
                    return Err(Error::invalid("embd array shorter than n_tokens * n_embd"));
                }
            }
            (None, None) => return Err(Error::invalid("batch has neither tokens nor embeddings")),
        }
        self.pos.clear();
        self.seqs.clear();
        self.seq0.clear();
        self.output.clear();
        for i in 0..n {
            let mut set = SeqSet::default();
            let mut first = 0;
            match (&b.seq_id, b.n_seq_id) {
                (Some(ids), Some(counts)) => {
                    let c = *counts
                        .get(i)
                        .ok_or_else(|| Error::invalid("n_seq_id shorter than n_tokens"))?;
                    let row = ids
                        .get(i)
                        .ok_or_else(|| Error::invalid("seq_id shorter than n_tokens"))?;
                    if c < 1 || c as usize > row.len() {
                        return Err(Error::invalid(format!("token {i}: n_seq_id = {c}")));
                    }
                    for (k, &s) in row[..c as usize].iter().enumerate() {
                        if s < 0 || s as u32 >= n_seq_max || s as usize >= MAX_SEQ {
                            return Err(Error::invalid(format!(
                                "token {i}: invalid seq_id {s} (n_seq_max = {n_seq_max})"
                            )));
                        }
                        if k == 0 {
                            first = s;
                        }
                        set.insert(s);
                    }
                }
                (None, _) | (_, None) => set.insert(0),
            }
            self.seqs.push(set);
            self.seq0.push(first);
        }
        match b.pos {
            Some(p) => {
                if p.len() < n {
                    return Err(Error::invalid("pos array shorter than n_tokens"));
                }
                if let Some(&bad) = p[..n].iter().find(|&&x| x < 0) {
                    return Err(Error::invalid(format!("negative position {bad}")));
                }
                self.pos.extend_from_slice(&p[..n]);
            }
            None => {
                // continue each sequence after its last cached (or batched) position
                let mut next = [i32::MIN; MAX_SEQ];
                for i in 0..n {
                    let s = self.seq0[i] as usize;
                    if next[s] == i32::MIN {
                        next[s] = pos_max(s as i32) + 1;
                    }
                    self.pos.push(next[s]);
                    next[s] += 1;
                }
            }
        }
        match b.logits {
            Some(l) if !all_outputs => {
                if l.len() < n {
                    return Err(Error::invalid("logits array shorter than n_tokens"));
                }
                self.output.extend(l[..n].iter().map(|&x| x != 0));
            }
            _ => {
                self.output
                    .extend((0..n).map(|i| all_outputs || i == n - 1));
            }
        }
        self.n_outputs = self.output.iter().filter(|&&o| o).count();
        Ok(())
    }

    /// Number of tokens.
    pub fn n_tokens(&self) -> usize {
        self.pos.len()
    }
}

/// The micro-batches of a batch of `n_tokens`: consecutive `[start, end)` runs of at most
/// `n_ubatch` tokens.
pub fn split_simple(n_tokens: usize, n_ubatch: usize) -> impl Iterator<Item = (usize, usize)> {
    let step = n_ubatch.max(1);
    (0..n_tokens)
        .step_by(step)
        .map(move |s| (s, (s + step).min(n_tokens)))
}

/// Maps `llama_get_logits_ith(i)` to an output row: `i >= 0` is a batch index (must have had
/// its output flag set), `i < 0` counts from the last output (`-1` = last).
pub fn output_row(i: i32, output_ids: &[i32], n_outputs: usize) -> Option<usize> {
    if i < 0 {
        let r = n_outputs as i64 + i as i64;
        if r < 0 {
            return None;
        }
        return Some(r as usize);
    }
    let r = *output_ids.get(i as usize)?;
    if r < 0 || r as usize >= n_outputs {
        return None;
    }
    Some(r as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_splits() {
        let toks = [1, 2, 3, 4, 5];
        let b = BatchView {
            n_tokens: 5,
            token: Some(&toks),
            ..Default::default()
        };
        let mut p = Prepared::with_capacity(8);
        p.prepare(&b, 10, 4, 1, 8, false, &|_| 6)
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(p.pos, vec![7, 8, 9, 10, 11]);
        assert_eq!(p.output, vec![false, false, false, false, true]);
        assert_eq!(
            split_simple(5, 2).collect::<Vec<_>>(),
            vec![(0, 2), (2, 4), (4, 5)]
        );
        let bad = [1, 2, 30];
        let b = BatchView {
            n_tokens: 3,
            token: Some(&bad),
            ..Default::default()
        };
        assert!(p.prepare(&b, 10, 4, 1, 8, false, &|_| -1).is_err());
        let b = BatchView {
            n_tokens: 9,
            token: Some(&[0; 9]),
            ..Default::default()
        };
        assert!(p.prepare(&b, 10, 4, 1, 8, false, &|_| -1).is_err());
    }

    #[test]
    fn output_rows() {
        let ids = [-1, 0, -1, 1];
        assert_eq!(output_row(1, &ids, 2), Some(0));
        assert_eq!(output_row(3, &ids, 2), Some(1));
        assert_eq!(output_row(0, &ids, 2), None);
        assert_eq!(output_row(-1, &ids, 2), Some(1));
        assert_eq!(output_row(-2, &ids, 2), Some(0));
        assert_eq!(output_row(-3, &ids, 2), None);
        assert_eq!(output_row(7, &ids, 2), None);
    }
}

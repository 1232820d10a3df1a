//! The extended batch API (`llama_batch_ext_*`, `llama_process`): the path upstream's own
//! frontends (`llama-simple`, ...) use instead of `llama_decode`. A `llama_batch_ext` is a
//! [`BatchExt`] behind an opaque pointer; `llama_process` turns it into the same
//! [`BatchView`] `llama_decode` builds, so both paths share one decode.

use crate::context::BatchView;

/// Token entries of one extended batch, at most the context's `n_batch` of them.
#[derive(Debug)]
pub(crate) struct BatchExt {
    n_max: usize,
    n_embd: usize,
    n_seq_max: i32,
    tokens: Vec<i32>,
    embd: Vec<f32>,
    has_embd: Vec<bool>,
    pos: Vec<Option<i32>>,
    seq_ids: Vec<Vec<i32>>,
    logits: Vec<i8>,
}

/// Why an entry could not be added (the llama.h return codes).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AddError {
    /// -1: the batch holds `n_batch` entries already.
    Full,
    /// -2: no token id and no valid embedding.
    InvalidToken,
    /// -3: the sequence id is outside `[0, n_seq_max)`.
    InvalidSeq,
}

impl AddError {
    /// The llama.h return value.
    pub(crate) fn code(&self) -> i32 {
        match self {
            AddError::Full => -1,
            AddError::InvalidToken => -2,
            AddError::InvalidSeq => -3,
        }
    }
}

impl BatchExt {
    /// An empty batch for a context with these limits.
    pub(crate) fn new(n_max: usize, n_embd: usize, n_seq_max: i32) -> Self {
        BatchExt {
            n_max,
            n_embd,
            n_seq_max,
            tokens: Vec::with_capacity(n_max),
            embd: Vec::new(),
            has_embd: Vec::with_capacity(n_max),
            pos: Vec::with_capacity(n_max),
            seq_ids: Vec::with_capacity(n_max),
            logits: Vec::with_capacity(n_max),
        }
    }

    /// Removes every entry (capacity is kept).
    pub(crate) fn clear(&mut self) {
        self.tokens.clear();
        self.embd.clear();
        self.has_embd.clear();
        self.pos.clear();
        self.seq_ids.clear();
        self.logits.clear();
    }

    fn check_seq(&self, seq_id: i32) -> Result<(), AddError> {
        if (0..self.n_seq_max).contains(&seq_id) {
            Ok(())
        } else {
            Err(AddError::InvalidSeq)
        }
    }

    /// Adds an entry with token `id` (or `-1`, none yet) in `seq_id`; returns its index.
    pub(crate) fn add(&mut self, seq_id: i32, id: i32) -> Result<i32, AddError> {
        self.check_seq(seq_id)?;
        if self.tokens.len() >= self.n_max {
            return Err(AddError::Full);
        }
        self.tokens.push(id);
        self.has_embd.push(false);
        self.pos.push(None);
        self.seq_ids.push(vec![seq_id]);
        self.logits.push(0);
        Ok((self.tokens.len() - 1) as i32)
    }

    /// Adds an entry carrying one embedding row.
    pub(crate) fn add_embd(&mut self, seq_id: i32, row: &[f32]) -> Result<i32, AddError> {
        if row.len() != self.n_embd {
            return Err(AddError::InvalidToken);
        }
        let idx = self.add(seq_id, -1)?;
        self.set_embd(idx, row);
        Ok(idx)
    }

    fn entry(&self, idx: i32) -> Option<usize> {
        usize::try_from(idx).ok().filter(|&i| i < self.tokens.len())
    }

    /// Gives entry `idx` an embedding row (its token id, if any, stays).
    pub(crate) fn set_embd(&mut self, idx: i32, row: &[f32]) -> bool {
        let Some(i) = self.entry(idx) else {
            return false;
        };
        if row.len() != self.n_embd {
            return false;
        }
        if self.embd.len() < self.tokens.len() * self.n_embd {
            self.embd.resize(self.tokens.len() * self.n_embd, 0.0);
        }
        self.embd[i * self.n_embd..(i + 1) * self.n_embd].copy_from_slice(row);
        self.has_embd[i] = true;
        true
    }

    /// Adds entry `idx` to one more sequence.
    pub(crate) fn add_seq(&mut self, idx: i32, seq_id: i32) -> bool {
        match (self.entry(idx), self.check_seq(seq_id)) {
            (Some(i), Ok(())) => {
                if !self.seq_ids[i].contains(&seq_id) {
                    self.seq_ids[i].push(seq_id);
                }
                true
            }
            _ => false,
        }
    }

    /// Sets whether entry `idx` produces an output row.
    pub(crate) fn set_output(&mut self, idx: i32, value: bool) -> bool {
        let Some(i) = self.entry(idx) else {
            return false;
        };
        self.logits[i] = value as i8;
        true
    }

    /// Sets the position of entry `idx`.
    pub(crate) fn set_pos(&mut self, idx: i32, pos: i32) -> bool {
        let Some(i) = self.entry(idx) else {
            return false;
        };
        self.pos[i] = Some(pos);
        true
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The batch as `llama_decode` sees it, written into `scratch`; `Err` says why it cannot
    /// be decoded (mixed token/embedding entries, positions set for some entries only).
    pub(crate) fn view<'a>(
        &'a self,
        pos_scratch: &'a mut Vec<i32>,
    ) -> Result<BatchView<'a>, String> {
        let n = self.tokens.len();
        let n_embd_rows = self.has_embd.iter().filter(|&&e| e).count();
        let (token, embd) = if n_embd_rows == 0 {
            if self.tokens.iter().any(|&t| t < 0) {
                return Err("an entry has neither a token id nor an embedding".into());
            }
            (Some(&self.tokens[..]), None)
        } else if n_embd_rows == n {
            (None, Some(&self.embd[..n * self.n_embd]))
        } else {
            return Err("entries mix token ids and embeddings (not supported yet)".into());
        };
        let n_set = self.pos.iter().filter(|p| p.is_some()).count();
        let pos = if n_set == 0 {
            None
        } else if n_set == n {
            pos_scratch.clear();
            pos_scratch.extend(self.pos.iter().map(|p| p.unwrap_or(0)));
            Some(&pos_scratch[..])
        } else {
            return Err(format!("positions set for {n_set} of {n} entries"));
        };
        Ok(BatchView {
            n_tokens: n as i32,
            token,
            embd,
            pos,
            n_seq_id: None,
            seq_id: Some(self.seq_ids.iter().map(Vec::as_slice).collect()),
            logits: Some(&self.logits[..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_set_and_view() {
        let mut b = BatchExt::new(3, 2, 2);
        assert_eq!(b.add(0, 5), Ok(0));
        assert_eq!(b.add(2, 5), Err(AddError::InvalidSeq));
        assert_eq!(b.add(1, 6), Ok(1));
        assert!(b.add_seq(1, 0));
        assert!(b.set_output(1, true));
        assert!(!b.set_output(7, true));
        let mut scratch = Vec::new();
        let v = b.view(&mut scratch).unwrap();
        assert_eq!(v.token, Some(&[5, 6][..]));
        assert!(v.pos.is_none());
        assert_eq!(v.seq_id.as_ref().unwrap()[1], &[1, 0][..]);
        assert!(b.set_pos(0, 4));
        assert!(
            b.view(&mut scratch).is_err(),
            "positions set for some entries only"
        );
        assert!(b.set_pos(1, 5));
        assert_eq!(b.view(&mut scratch).unwrap().pos, Some(&[4, 5][..]));
        assert_eq!(b.add(0, 1), Ok(2));
        assert_eq!(b.add(0, 1), Err(AddError::Full));
        assert!(b.set_embd(2, &[1.0, 2.0]));
        assert!(b.view(&mut scratch).is_err(), "mixed tokens and embeddings");
        b.clear();
        assert_eq!(b.len(), 0);
        assert_eq!(b.add_embd(0, &[1.0, 2.0]), Ok(0));
        assert!(b.view(&mut scratch).unwrap().embd.is_some());
    }
}

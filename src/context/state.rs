//! Context state save/load (`llama_state_get_size` / `_get_data` / `_set_data`): the outputs of
//! the last decode and the used KV cells (position, sequences, pending shift, K/V rows).
//!
//! Format (little-endian): magic `FLST`, version u32, n_vocab u32, n_embd u32, then
//! n_outputs u32, n_ids u32, output_ids (n_ids i32), logits (n_outputs * n_vocab f32), embeddings flag
//! u8 (+ n_outputs * n_embd f32), then per cache: size u32, cell bytes u32, n_used u32 and per
//! used cell: pos i32, shift i32, sequence bits (4 x u64), K/V rows. A state loads only into a
//! context of the same model with caches of the same shape.

use super::{Cache, Context};
use crate::error::{Error, Result};
use crate::kv_cache::SeqSet;

const MAGIC: &[u8; 4] = b"FLST";
const VERSION: u32 = 1;

/// Appends `v` little-endian.
pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A bounds-checked little-endian cursor over a state buffer.
pub(super) struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `b`.
    pub(super) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }
    /// Bytes consumed so far.
    pub(super) fn at(&self) -> usize {
        self.at
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::invalid("state: truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    pub(super) fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub(super) fn i32(&mut self) -> Result<i32> {
        Ok(self.u32()? as i32)
    }
    pub(super) fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    pub(super) fn f32s(&mut self, dst: &mut [f32]) -> Result<()> {
        let s = self.take(dst.len() * 4)?;
        for (d, c) in dst.iter_mut().zip(s.chunks_exact(4)) {
            *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
}

fn write_cache(c: &mut Cache, out: &mut Vec<u8>) {
    let size = c.cells.size();
    put_u32(out, size);
    put_u32(out, c.storage.cell_bytes() as u32);
    put_u32(out, c.cells.used());
    for i in 0..size {
        if c.cells.is_empty(i) {
            continue;
        }
        put_u32(out, c.cells.pos(i) as u32);
        put_u32(out, c.cells.shift(i) as u32);
        for w in c.cells.seqs(i).bits() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        // only a cache with no memory behind it (accounting-only device) fails here, and such
        // a cache has no used cell: decoding on it is refused
        if c.storage.read_cell(i, out).is_err() {
            break;
        }
    }
}

fn read_cache(c: &mut Cache, r: &mut Reader<'_>) -> Result<()> {
    let size = r.u32()?;
    let cell_bytes = r.u32()? as usize;
    if size != c.cells.size() || cell_bytes != c.storage.cell_bytes() {
        return Err(Error::invalid(format!(
            "state: cache of {size} cells x {cell_bytes} bytes does not fit this context ({} x {})",
            c.cells.size(),
            c.storage.cell_bytes()
        )));
    }
    let n_used = r.u32()?;
    if n_used > size {
        return Err(Error::invalid("state: more used cells than cells"));
    }
    c.cells.clear();
    for i in 0..n_used {
        let pos = r.i32()?;
        let shift = r.i32()?;
        let mut bits = [0u64; 4];
        for b in bits.iter_mut() {
            *b = r.u64()?;
        }
        if pos < 0 {
            return Err(Error::invalid("state: negative cell position"));
        }
        let data = r.take(cell_bytes)?;
        c.storage.write_cell(i, data)?;
        c.cells.restore(i, pos, SeqSet::from_bits(bits), shift);
    }
    Ok(())
}

impl Context {
    /// Serialises the state (outputs + KV cache).
    pub fn state_save(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        put_u32(&mut out, self.n_vocab as u32);
        put_u32(&mut out, self.n_embd as u32);
        put_u32(&mut out, self.n_outputs as u32);
        put_u32(&mut out, self.output_ids.len() as u32);
        for &id in &self.output_ids {
            put_u32(&mut out, id as u32);
        }
        for v in &self.logits[..self.n_outputs * self.n_vocab] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let has_embd = !self.embd.is_empty();
        out.push(has_embd as u8);
        if has_embd {
            for v in &self.embd[..self.n_outputs * self.n_embd] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        write_cache(&mut self.kv, &mut out);
        if let Some(c) = self.kv_swa.as_mut() {
            write_cache(c, &mut out);
        }
        out
    }

    /// Restores a state made by [`Context::state_save`]; returns the bytes read.
    pub fn state_load(&mut self, src: &[u8]) -> Result<usize> {
        let mut r = Reader { b: src, at: 0 };
        if r.take(4)? != MAGIC || r.u32()? != VERSION {
            return Err(Error::invalid(
                "state: not a ferrollama state (bad magic or version)",
            ));
        }
        if r.u32()? as usize != self.n_vocab || r.u32()? as usize != self.n_embd {
            return Err(Error::invalid("state: made with another model"));
        }
        let n_outputs = r.u32()? as usize;
        if n_outputs > self.output_ids.len() {
            return Err(Error::invalid(
                "state: more outputs than this context's n_batch",
            ));
        }
        let n_ids = r.u32()? as usize;
        self.output_ids.iter_mut().for_each(|id| *id = -1);
        for k in 0..n_ids {
            let id = r.i32()?;
            if let Some(slot) = self.output_ids.get_mut(k) {
                *slot = if (id as usize) < n_outputs { id } else { -1 };
            }
        }
        r.f32s(&mut self.logits[..n_outputs * self.n_vocab])?;
        let has_embd = r.take(1)?[0] != 0;
        if has_embd {
            if self.embd.is_empty() {
                let _ = r.take(n_outputs * self.n_embd * 4)?;
            } else {
                r.f32s(&mut self.embd[..n_outputs * self.n_embd])?;
            }
        }
        self.n_outputs = n_outputs;
        read_cache(&mut self.kv, &mut r)?;
        if let Some(c) = self.kv_swa.as_mut() {
            read_cache(c, &mut r)?;
        }
        Ok(r.at)
    }
}

/// Session files (`llama_state_save_file`): magic `FLSS`, token count u64, the tokens (i32),
/// then the state of [`Context::state_save`].
const SESSION_MAGIC: &[u8; 4] = b"FLSS";

impl Context {
    /// Writes the state and the tokens it was made from to `path`.
    pub fn state_save_file(&mut self, path: &std::path::Path, tokens: &[i32]) -> Result<()> {
        let mut out = Vec::new();
        out.extend_from_slice(SESSION_MAGIC);
        out.extend_from_slice(&(tokens.len() as u64).to_le_bytes());
        for t in tokens {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&self.state_save());
        std::fs::write(path, out).map_err(|e| Error::io(format!("{}: {e}", path.display())))
    }

    /// Loads a session file; returns its tokens (at most `capacity`, else an error).
    pub fn state_load_file(&mut self, path: &std::path::Path, capacity: usize) -> Result<Vec<i32>> {
        let b = std::fs::read(path).map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
        let mut r = Reader { b: &b, at: 0 };
        if r.take(4)? != SESSION_MAGIC {
            return Err(Error::invalid(format!(
                "{}: not a session file",
                path.display()
            )));
        }
        let n = r.u64()? as usize;
        if n > capacity {
            return Err(Error::invalid(format!(
                "session has {n} tokens, buffer holds {capacity}"
            )));
        }
        let mut tokens = Vec::with_capacity(n);
        for _ in 0..n {
            tokens.push(r.i32()?);
        }
        self.state_load(&b[r.at..])?;
        Ok(tokens)
    }
}

impl Context {
    /// The length of a state of [`Context::state_save`] whose bytes `peek(offset, len)` returns,
    /// found by walking its header fields: for the deprecated `llama_set_state_data`, which gets
    /// no size. It refuses (before reading further) a bad magic or version, another model, and
    /// counts this context could not hold, so the walk never runs past a state it would load.
    pub fn state_len(&self, peek: &mut dyn FnMut(usize, usize) -> Vec<u8>) -> Result<usize> {
        let bad = |what: &str| Error::invalid(format!("state: {what}"));
        let h = peek(0, 24);
        let mut r = Reader::new(&h);
        if r.take(4)? != MAGIC || r.u32()? != VERSION {
            return Err(bad("not a ferrollama state (bad magic or version)"));
        }
        if r.u32()? as usize != self.n_vocab || r.u32()? as usize != self.n_embd {
            return Err(bad("made with another model"));
        }
        let n_outputs = r.u32()? as usize;
        let n_ids = r.u32()? as usize;
        if n_outputs > self.output_ids.len() || n_ids > self.output_ids.len() {
            return Err(bad("more outputs than this context's n_batch"));
        }
        let mut at = 24 + n_ids * 4 + n_outputs * self.n_vocab * 4;
        let has_embd = peek(at, 1)[0] != 0;
        at += 1 + if has_embd {
            n_outputs * self.n_embd * 4
        } else {
            0
        };
        let seq_bytes = SeqSet::default().bits().len() * 8;
        for c in std::iter::once(&self.kv).chain(self.kv_swa.as_ref()) {
            let h = peek(at, 12);
            let mut r = Reader::new(&h);
            let (size, cell_bytes, n_used) = (r.u32()?, r.u32()? as usize, r.u32()?);
            if size != c.cells.size() || cell_bytes != c.storage.cell_bytes() || n_used > size {
                return Err(bad("cache shape does not fit this context"));
            }
            at += 12 + n_used as usize * (8 + seq_bytes + cell_bytes);
        }
        Ok(at)
    }
}

//! Per-sequence state (`llama_state_seq_*`): the KV cells of one sequence, to be copied into
//! another sequence of this or another context of the same model and cache shape.
//!
//! Format (little-endian): magic `FLSQ`, version u32, number of cache sections u32, then per
//! section: kind u8 (0 full-attention cache, 1 sliding-window cache), cell bytes u32, cell count
//! u32 and per cell: pos i32, pending shift i32, K/V rows. Upstream's flag
//! `LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY` (= `SWA_ONLY`) keeps only the sliding-window section when
//! the model has one; `ON_DEVICE` changes nothing here (there is no host staging copy).

use super::state::{put_u32, Reader};
use super::{Cache, Context};
use crate::error::{Error, Result};
use crate::kv_cache::SeqSet;

const MAGIC: &[u8; 4] = b"FLSQ";
const VERSION: u32 = 1;
/// `LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY` / `LLAMA_STATE_SEQ_FLAGS_SWA_ONLY`.
pub const FLAG_PARTIAL_ONLY: u32 = 1;

/// Session files of one sequence: magic `FLSF`, token count u64, the tokens (i32), then the
/// sequence state.
const FILE_MAGIC: &[u8; 4] = b"FLSF";

/// Appends one cache section holding the cells of `seq`.
fn write_section(c: &mut Cache, kind: u8, seq: i32, out: &mut Vec<u8>) -> Result<()> {
    let cells: Vec<u32> = (0..c.cells.size())
        .filter(|&i| !c.cells.is_empty(i) && c.cells.seq_has(i, seq))
        .collect();
    out.push(kind);
    put_u32(out, c.storage.cell_bytes() as u32);
    put_u32(out, cells.len() as u32);
    for i in cells {
        put_u32(out, c.cells.pos(i) as u32);
        put_u32(out, c.cells.shift(i) as u32);
        c.storage.read_cell(i, out)?;
    }
    Ok(())
}

/// Replaces `dest`'s cells in `c` with those of one section. On error `dest` is left empty.
fn read_section(c: &mut Cache, dest: i32, r: &mut Reader<'_>) -> Result<()> {
    c.cells.seq_rm(dest, -1, -1);
    let res = fill_section(c, dest, r);
    if res.is_err() {
        c.cells.seq_rm(dest, -1, -1);
    }
    res
}

fn fill_section(c: &mut Cache, dest: i32, r: &mut Reader<'_>) -> Result<()> {
    let cell_bytes = r.u32()? as usize;
    if cell_bytes != c.storage.cell_bytes() {
        return Err(Error::invalid(format!(
            "sequence state: cells of {cell_bytes} bytes, this context's cache has {}",
            c.storage.cell_bytes()
        )));
    }
    let n = r.u32()?;
    if n > c.cells.size() {
        return Err(Error::invalid(format!(
            "sequence state: {n} cells, the cache has {}",
            c.cells.size()
        )));
    }
    let mut slots = vec![0u32; n as usize];
    if !c.cells.find_slot(n, 0, &mut slots) {
        return Err(Error::invalid(format!(
            "sequence state: no room for {n} cells (the cache has {} free)",
            c.cells.size() - c.cells.used()
        )));
    }
    for &i in &slots {
        let pos = r.i32()?;
        let shift = r.i32()?;
        let data = r.take(cell_bytes)?;
        if pos < 0 {
            return Err(Error::invalid("sequence state: negative cell position"));
        }
        c.storage.write_cell(i, data)?;
        c.cells.restore(i, pos, SeqSet::single(dest), shift);
    }
    Ok(())
}

impl Context {
    fn check_seq(&self, seq: i32) -> Result<()> {
        if seq < 0 || seq as u32 >= self.cparams.n_seq_max {
            return Err(Error::invalid(format!(
                "seq_id {seq} out of range (n_seq_max = {})",
                self.cparams.n_seq_max
            )));
        }
        Ok(())
    }

    /// Serialises the KV cells of sequence `seq` (see the module doc for `flags`).
    pub fn state_seq_save(&mut self, seq: i32, flags: u32) -> Result<Vec<u8>> {
        self.check_seq(seq)?;
        let partial = flags & FLAG_PARTIAL_ONLY != 0 && self.kv_swa.is_some();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        put_u32(
            &mut out,
            if partial {
                1
            } else {
                1 + self.kv_swa.is_some() as u32
            },
        );
        if !partial {
            write_section(&mut self.kv, 0, seq, &mut out)?;
        }
        if let Some(c) = self.kv_swa.as_mut() {
            write_section(c, 1, seq, &mut out)?;
        }
        Ok(out)
    }

    /// Loads a state made by [`Context::state_seq_save`] into sequence `dest`, replacing its
    /// cells; returns the bytes read. On error `dest` is left empty in the caches touched.
    pub fn state_seq_load(&mut self, src: &[u8], dest: i32, flags: u32) -> Result<usize> {
        self.check_seq(dest)?;
        let mut r = Reader::new(src);
        if r.take(4)? != MAGIC || r.u32()? != VERSION {
            return Err(Error::invalid(
                "not a ferrollama sequence state (bad magic or version)",
            ));
        }
        let partial = flags & FLAG_PARTIAL_ONLY != 0 && self.kv_swa.is_some();
        let expect = if partial {
            1
        } else {
            1 + self.kv_swa.is_some() as u32
        };
        let n = r.u32()?;
        if n != expect {
            return Err(Error::invalid(format!(
                "sequence state has {n} cache sections, this context expects {expect} (flags {flags})"
            )));
        }
        for _ in 0..n {
            let kind = r.take(1)?[0];
            let cache = match (kind, self.kv_swa.as_mut()) {
                (0, _) if !partial => &mut self.kv,
                (1, Some(c)) => c,
                _ => {
                    return Err(Error::invalid(format!(
                        "sequence state: unexpected cache section kind {kind}"
                    )))
                }
            };
            read_section(cache, dest, &mut r)?;
        }
        Ok(r.at())
    }

    /// Writes the tokens and the state of sequence `seq` to `path`; returns the bytes written.
    pub fn state_seq_save_file(
        &mut self,
        path: &std::path::Path,
        seq: i32,
        tokens: &[i32],
    ) -> Result<usize> {
        let state = self.state_seq_save(seq, 0)?;
        let mut out = Vec::with_capacity(12 + tokens.len() * 4 + state.len());
        out.extend_from_slice(FILE_MAGIC);
        out.extend_from_slice(&(tokens.len() as u64).to_le_bytes());
        for t in tokens {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&state);
        std::fs::write(path, &out).map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
        Ok(out.len())
    }

    /// Loads a file of [`Context::state_seq_save_file`] into sequence `dest`; returns its tokens
    /// (at most `capacity`, else an error) and the file size.
    pub fn state_seq_load_file(
        &mut self,
        path: &std::path::Path,
        dest: i32,
        capacity: usize,
    ) -> Result<(Vec<i32>, usize)> {
        let b = std::fs::read(path).map_err(|e| Error::io(format!("{}: {e}", path.display())))?;
        let mut r = Reader::new(&b);
        if r.take(4)? != FILE_MAGIC {
            return Err(Error::invalid(format!(
                "{}: not a sequence state file",
                path.display()
            )));
        }
        let n = r.u64()?;
        if n > capacity as u64 {
            return Err(Error::invalid(format!(
                "sequence state file has {n} tokens, the buffer holds {capacity}"
            )));
        }
        let mut tokens = Vec::with_capacity(n as usize);
        for _ in 0..n {
            tokens.push(r.i32()?);
        }
        let used = self.state_seq_load(&b[r.at()..], dest, 0)?;
        if r.at() + used != b.len() {
            return Err(Error::invalid(format!(
                "{}: {} trailing bytes after the state",
                path.display(),
                b.len() - r.at() - used
            )));
        }
        Ok((tokens, b.len()))
    }
}

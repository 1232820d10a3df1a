//! Per-layer K/V storage: two host buffers (all layers' K, all layers' V), allocated once when the
//! context is created, counted by the context's allocator counter.
//!
//! Layout: layer `il`'s K is `[n_embd_k_gqa(il), size]` of `type_k` (one row per cell) at
//! `k_off[il]`; V likewise. For MLA models the cache holds only the latent K rows
//! (`kv_lora_rank + n_rot` per cell) and no V: attention reads V as a view of K.

use std::sync::Arc;

use crate::backend::buffer::{AllocCounter, HostBuffer};
use crate::error::{Error, Result};
use crate::model::{HParams, KvView};
use crate::quant::GgmlType;

/// The cache types upstream accepts for K and V.
pub fn check_cache_type(ty: GgmlType, what: &str) -> Result<()> {
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8_0 | GgmlType::Q4_0 => Ok(()),
        other => Err(Error::unsupported(format!(
            "{what} cache type {} is not supported",
            other.name()
        ))),
    }
}

/// K/V tensors of one cache (the main cache or the sliding-window cache).
pub struct KvStorage {
    k: HostBuffer,
    v: HostBuffer,
    k_off: Vec<Option<usize>>,
    v_off: Vec<Option<usize>>,
    k_row: Vec<usize>,
    v_row: Vec<usize>,
    type_k: GgmlType,
    type_v: GgmlType,
    size: u32,
}

const ALIGN: usize = 64;

fn align_up(x: usize) -> usize {
    (x + ALIGN - 1) & !(ALIGN - 1)
}

impl KvStorage {
    /// Bytes the storage of `size` cells needs for the layers selected by `keep`: `(k, v)`.
    pub fn bytes(
        hp: &HParams,
        size: u32,
        type_k: GgmlType,
        type_v: GgmlType,
        keep: &dyn Fn(usize) -> bool,
    ) -> Result<(usize, usize)> {
        let (mut k, mut v) = (0usize, 0usize);
        for il in 0..hp.n_layer as usize {
            if !keep(il) {
                continue;
            }
            k += align_up(type_k.row_size(hp.n_embd_k_gqa(il) as u64)? as usize * size as usize);
            if !hp.is_mla() {
                v +=
                    align_up(type_v.row_size(hp.n_embd_v_gqa(il) as u64)? as usize * size as usize);
            }
        }
        Ok((k, v))
    }

    /// Allocates zeroed storage of `size` cells for the layers selected by `keep`.
    pub fn new(
        counter: &Arc<AllocCounter>,
        hp: &HParams,
        size: u32,
        type_k: GgmlType,
        type_v: GgmlType,
        keep: &dyn Fn(usize) -> bool,
    ) -> Result<KvStorage> {
        check_cache_type(type_k, "K")?;
        check_cache_type(type_v, "V")?;
        let nl = hp.n_layer as usize;
        let (mut k_off, mut v_off) = (vec![None; nl], vec![None; nl]);
        let (mut k_row, mut v_row) = (vec![0usize; nl], vec![0usize; nl]);
        let (mut k, mut v) = (0usize, 0usize);
        for il in 0..nl {
            if !keep(il) {
                continue;
            }
            let kr = hp.n_embd_k_gqa(il) as u64;
            if !kr.is_multiple_of(type_k.block_size() as u64) {
                return Err(Error::unsupported(format!(
                    "K cache type {} needs rows that are a multiple of {} (have {kr})",
                    type_k.name(),
                    type_k.block_size()
                )));
            }
            k_off[il] = Some(k);
            k_row[il] = type_k.row_size(kr)? as usize;
            k += align_up(type_k.row_size(kr)? as usize * size as usize);
            if !hp.is_mla() {
                let vr = hp.n_embd_v_gqa(il) as u64;
                if !vr.is_multiple_of(type_v.block_size() as u64) {
                    return Err(Error::unsupported(format!(
                        "V cache type {} needs rows that are a multiple of {}",
                        type_v.name(),
                        type_v.block_size()
                    )));
                }
                v_off[il] = Some(v);
                v_row[il] = type_v.row_size(vr)? as usize;
                v += align_up(type_v.row_size(vr)? as usize * size as usize);
            }
        }
        let k = HostBuffer::new(counter, k, ALIGN)?;
        let v = HostBuffer::new(counter, v, ALIGN)?;
        Ok(KvStorage {
            k,
            v,
            k_off,
            v_off,
            k_row,
            v_row,
            type_k,
            type_v,
            size,
        })
    }

    /// Zeroes the tensors (`llama_memory_clear(mem, data = true)`).
    pub fn clear(&mut self) {
        self.k.as_mut_slice().fill(0);
        self.v.as_mut_slice().fill(0);
    }

    /// Number of cells.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Total bytes held.
    pub fn total_bytes(&self) -> usize {
        self.k.len() + self.v.len()
    }

    /// Bytes of one cell's K and V over all layers (the unit of state save/load).
    pub fn cell_bytes(&self) -> usize {
        self.k_row.iter().sum::<usize>() + self.v_row.iter().sum::<usize>()
    }

    /// Appends cell `i`'s K and V rows (layer by layer) to `out`.
    pub fn read_cell(&mut self, i: u32, out: &mut Vec<u8>) {
        let i = i as usize;
        let k = self.k.as_slice();
        for (off, &row) in self.k_off.iter().zip(&self.k_row) {
            if let Some(off) = off {
                out.extend_from_slice(&k[off + i * row..off + (i + 1) * row]);
            }
        }
        let v = self.v.as_slice();
        for (off, &row) in self.v_off.iter().zip(&self.v_row) {
            if let Some(off) = off {
                out.extend_from_slice(&v[off + i * row..off + (i + 1) * row]);
            }
        }
    }

    /// Writes cell `i`'s K and V rows from `src` (as [`KvStorage::read_cell`] laid them out);
    /// returns the bytes consumed.
    pub fn write_cell(&mut self, i: u32, src: &[u8]) -> Result<usize> {
        let need = self.cell_bytes();
        if src.len() < need || i >= self.size {
            return Err(Error::invalid("state: truncated KV cell data"));
        }
        let i = i as usize;
        let mut at = 0;
        let k = self.k.as_mut_slice();
        for (off, &row) in self.k_off.iter().zip(&self.k_row) {
            if let Some(off) = off {
                k[off + i * row..off + (i + 1) * row].copy_from_slice(&src[at..at + row]);
                at += row;
            }
        }
        let v = self.v.as_mut_slice();
        for (off, &row) in self.v_off.iter().zip(&self.v_row) {
            if let Some(off) = off {
                v[off + i * row..off + (i + 1) * row].copy_from_slice(&src[at..at + row]);
                at += row;
            }
        }
        Ok(at)
    }

    /// The graph-side view of this storage.
    pub fn view(&self) -> KvView<'_> {
        KvView {
            k_mem: &self.k,
            v_mem: &self.v,
            k_off: &self.k_off,
            v_off: &self.v_off,
            type_k: self.type_k,
            type_v: self.type_v,
            size: self.size as i64,
        }
    }
}

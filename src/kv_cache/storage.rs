//! Per-layer K/V storage, allocated once when the context is created. Host layers live in two
//! host buffers (all their K, all their V) counted by the context's allocator counter; the
//! layers of each simulated GPU (when the model's layers are placed there and `offload_kqv`)
//! live in one buffer on that device, K then V per layer, sized exactly as the memory plan's KV
//! column for the device.
//!
//! Layout: layer `il`'s K is `[n_embd_k_gqa(il), size]` of `type_k` (one row per cell) at
//! `k_off[il]` in its region; V likewise, or transposed (`[size, n_embd_v_gqa(il)]`, one row per
//! V component, as upstream's `v_trans` cache without flash attention) so that attention reads
//! V^T in place instead of copying it on every decode. For MLA models the cache holds only the latent K rows
//! (`kv_lora_rank + n_rot` per cell) and no V: attention reads V as a view of K. A region on an
//! accounting-only device has no memory: graphs over it can be planned, not computed.

use std::sync::Arc;

use crate::backend::buffer::{AllocCounter, HostBuffer};
use crate::backend::sim::{SimBuffer, SimDevice};
use crate::error::{Error, Result};
use crate::graph::ExternalMemory;
use crate::model::{HParams, KvView};
use crate::quant::GgmlType;
use crate::tensor::ExternalRef;

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

/// Memory of one KV region.
pub enum KvMem {
    /// Host memory.
    Host(HostBuffer),
    /// A simulated GPU's buffer.
    Device(SimBuffer),
}

impl KvMem {
    /// The bytes, when there is memory behind the region.
    fn bytes(&mut self) -> Option<&[u8]> {
        match self {
            KvMem::Host(b) => Some(b.as_slice()),
            KvMem::Device(b) => b.bytes(),
        }
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        match self {
            KvMem::Host(b) => Some(b.as_mut_slice()),
            KvMem::Device(b) => b.bytes_mut(),
        }
    }
    /// The region as graph memory (`None`: accounting-only, no memory).
    pub fn memory(&self) -> Option<&dyn ExternalMemory> {
        match self {
            KvMem::Host(b) => Some(b),
            KvMem::Device(b) if b.bytes().is_some() => Some(b),
            KvMem::Device(_) => None,
        }
    }
    /// Whether the region has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of the region.
    pub fn len(&self) -> usize {
        match self {
            KvMem::Host(b) => b.len(),
            KvMem::Device(b) => b.size() as usize,
        }
    }
}

// SAFETY: a backed SimBuffer owns `size` zeroed bytes at a fixed address until dropped; graphs
// borrow the buffer for their lifetime, so the region outlives every tensor over it.
unsafe impl ExternalMemory for SimBuffer {
    fn external_region(&self) -> ExternalRef {
        match self.bytes() {
            Some(b) => ExternalRef {
                ptr: b.as_ptr().cast_mut(),
                len: b.len(),
            },
            None => ExternalRef {
                ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(),
                len: 0,
            },
        }
    }
}

/// K/V tensors of one cache (the main cache or the sliding-window cache).
pub struct KvStorage {
    /// Region 0: host K; region 1: host V; then one region per device holding layers.
    mems: Vec<KvMem>,
    /// Per layer: `(region, offset)` of its K.
    k_off: Vec<Option<(usize, usize)>>,
    /// Per layer: `(region, offset)` of its V.
    v_off: Vec<Option<(usize, usize)>>,
    k_row: Vec<usize>,
    v_row: Vec<usize>,
    type_k: GgmlType,
    type_v: GgmlType,
    /// V stored transposed (see the module doc).
    v_trans: bool,
    size: u32,
}

const ALIGN: usize = 64;

fn align_up(x: usize) -> usize {
    (x + ALIGN - 1) & !(ALIGN - 1)
}

/// Bytes of one layer's K and V for `size` cells: `(k, v)`, each aligned; `v` is 0 for MLA.
fn layer_bytes(
    hp: &HParams,
    il: usize,
    size: u32,
    type_k: GgmlType,
    type_v: GgmlType,
) -> Result<(usize, usize)> {
    let kr = hp.n_embd_k_gqa(il) as u64;
    if !kr.is_multiple_of(type_k.block_size() as u64) {
        return Err(Error::unsupported(format!(
            "K cache type {} needs rows that are a multiple of {} (have {kr})",
            type_k.name(),
            type_k.block_size()
        )));
    }
    let k = align_up(type_k.row_size(kr)? as usize * size as usize);
    if hp.is_mla() {
        return Ok((k, 0));
    }
    let vr = hp.n_embd_v_gqa(il) as u64;
    if !vr.is_multiple_of(type_v.block_size() as u64) {
        return Err(Error::unsupported(format!(
            "V cache type {} needs rows that are a multiple of {}",
            type_v.name(),
            type_v.block_size()
        )));
    }
    Ok((k, align_up(type_v.row_size(vr)? as usize * size as usize)))
}

/// Where the layers of a cache go.
pub struct KvLayout<'d> {
    /// Layers this cache holds.
    pub keep: &'d dyn Fn(usize) -> bool,
    /// The simulated GPU holding a layer's cache (`None`: the host).
    pub device: &'d dyn Fn(usize) -> Option<usize>,
    /// The simulated GPUs.
    pub gpus: &'d [SimDevice],
}

impl KvStorage {
    /// Bytes of the layers selected by `keep` on each place: index 0 the host, `1 + d` GPU `d`.
    pub fn bytes_per_place(
        hp: &HParams,
        size: u32,
        type_k: GgmlType,
        type_v: GgmlType,
        layout: &KvLayout<'_>,
    ) -> Result<Vec<usize>> {
        let mut out = vec![0usize; 1 + layout.gpus.len()];
        for il in 0..hp.n_layer as usize {
            if !(layout.keep)(il) {
                continue;
            }
            let (k, v) = layer_bytes(hp, il, size, type_k, type_v)?;
            let at = (layout.device)(il).map_or(0, |d| 1 + d);
            let slot = out
                .get_mut(at)
                .ok_or_else(|| Error::internal(format!("layer {il}: no device {at}")))?;
            *slot += k + v;
        }
        Ok(out)
    }

    /// Allocates zeroed storage of `size` cells for the layers selected by `layout.keep`, each
    /// on its device. `v_trans` stores V transposed (attention without flash attention); it
    /// needs a V type with one element per block and is ignored for MLA (no V).
    pub fn new(
        counter: &Arc<AllocCounter>,
        hp: &HParams,
        size: u32,
        type_k: GgmlType,
        type_v: GgmlType,
        v_trans: bool,
        layout: &KvLayout<'_>,
    ) -> Result<KvStorage> {
        check_cache_type(type_k, "K")?;
        check_cache_type(type_v, "V")?;
        let v_trans = v_trans && !hp.is_mla();
        if v_trans && type_v.block_size() != 1 {
            return Err(Error::invalid(format!(
                "a transposed V cache needs an unquantized type, not {}",
                type_v.name()
            )));
        }
        let nl = hp.n_layer as usize;
        let n_gpu = layout.gpus.len();
        let (mut k_off, mut v_off) = (vec![None; nl], vec![None; nl]);
        let (mut k_row, mut v_row) = (vec![0usize; nl], vec![0usize; nl]);
        // regions: 0 host K, 1 host V, 2 + d device d
        let mut top = vec![0usize; 2 + n_gpu];
        for il in 0..nl {
            if !(layout.keep)(il) {
                continue;
            }
            let (kb, vb) = layer_bytes(hp, il, size, type_k, type_v)?;
            k_row[il] = type_k.row_size(hp.n_embd_k_gqa(il) as u64)? as usize;
            let (kr, vr) = match (layout.device)(il) {
                None => (0, 1),
                Some(d) if d < n_gpu => (2 + d, 2 + d),
                Some(d) => return Err(Error::internal(format!("layer {il}: no GPU {d}"))),
            };
            k_off[il] = Some((kr, top[kr]));
            top[kr] += kb;
            if !hp.is_mla() {
                v_row[il] = type_v.row_size(hp.n_embd_v_gqa(il) as u64)? as usize;
                v_off[il] = Some((vr, top[vr]));
                top[vr] += vb;
            }
        }
        let mut mems = vec![
            KvMem::Host(HostBuffer::new(counter, top[0], ALIGN)?),
            KvMem::Host(HostBuffer::new(counter, top[1], ALIGN)?),
        ];
        for (d, dev) in layout.gpus.iter().enumerate() {
            let need = top[2 + d] as u64;
            if need == 0 {
                mems.push(KvMem::Host(HostBuffer::new(counter, 0, ALIGN)?));
                continue;
            }
            mems.push(KvMem::Device(dev.alloc(need).map_err(|e| {
                e.within(format!(
                    "{}: allocating the KV cache ({need} bytes)",
                    dev.name()
                ))
            })?));
        }
        Ok(KvStorage {
            mems,
            k_off,
            v_off,
            k_row,
            v_row,
            type_k,
            type_v,
            v_trans,
            size,
        })
    }

    /// Whether V is stored transposed.
    pub fn v_trans(&self) -> bool {
        self.v_trans
    }

    /// Where cell `i`'s data of part `p` lies (parts: every layer's K, then every layer's V):
    /// `(region, start, run, stride, runs)`, i.e. `runs` runs of `run` bytes, `stride` apart (one
    /// row, or a transposed V's one element per component). `None` for a layer not held here.
    fn cell_part(&self, p: usize, i: usize) -> Option<(usize, usize, usize, usize, usize)> {
        let nl = self.k_off.len();
        let (off, row, trans) = if p < nl {
            (self.k_off[p], self.k_row[p], false)
        } else {
            (self.v_off[p - nl], self.v_row[p - nl], self.v_trans)
        };
        let (r, off) = off?;
        if trans {
            let es = self.type_v.type_size();
            Some((r, off + i * es, es, self.size as usize * es, row / es))
        } else {
            Some((r, off + i * row, row, row, 1))
        }
    }

    /// Zeroes the tensors (`llama_memory_clear(mem, data = true)`).
    pub fn clear(&mut self) {
        for m in &mut self.mems {
            if let Some(b) = m.bytes_mut() {
                b.fill(0);
            }
        }
    }

    /// Number of cells.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Total bytes held (host and devices).
    pub fn total_bytes(&self) -> usize {
        self.mems.iter().map(KvMem::len).sum()
    }

    /// Bytes held on simulated GPU `d`.
    pub fn device_bytes(&self, d: usize) -> u64 {
        match self.mems.get(2 + d) {
            Some(KvMem::Device(b)) => b.size(),
            _ => 0,
        }
    }

    /// Bytes of one cell's K and V over all layers (the unit of state save/load).
    pub fn cell_bytes(&self) -> usize {
        self.k_row.iter().sum::<usize>() + self.v_row.iter().sum::<usize>()
    }

    fn no_memory() -> Error {
        Error::invalid(
            "the KV cache is on an accounting-only simulated device: no data to read or write",
        )
    }

    /// Appends cell `i`'s K and V rows (layer by layer) to `out`; a transposed V row is
    /// gathered, so the bytes are the same whatever the layout.
    pub fn read_cell(&mut self, i: u32, out: &mut Vec<u8>) -> Result<()> {
        for p in 0..2 * self.k_off.len() {
            if let Some((r, start, run, stride, runs)) = self.cell_part(p, i as usize) {
                let m = self.mems[r].bytes().ok_or_else(Self::no_memory)?;
                for k in 0..runs {
                    let at = start + k * stride;
                    out.extend_from_slice(&m[at..at + run]);
                }
            }
        }
        Ok(())
    }

    /// Writes cell `i`'s K and V rows from `src` (as [`KvStorage::read_cell`] laid them out);
    /// returns the bytes consumed.
    pub fn write_cell(&mut self, i: u32, src: &[u8]) -> Result<usize> {
        let need = self.cell_bytes();
        if src.len() < need || i >= self.size {
            return Err(Error::invalid("state: truncated KV cell data"));
        }
        let mut at = 0;
        for p in 0..2 * self.k_off.len() {
            if let Some((r, start, run, stride, runs)) = self.cell_part(p, i as usize) {
                let m = self.mems[r].bytes_mut().ok_or_else(Self::no_memory)?;
                for k in 0..runs {
                    let to = start + k * stride;
                    m[to..to + run].copy_from_slice(&src[at..at + run]);
                    at += run;
                }
            }
        }
        Ok(at)
    }

    /// The graph-side view of this storage.
    pub fn view(&self) -> KvView<'_> {
        KvView {
            mems: &self.mems,
            k_off: &self.k_off,
            v_off: &self.v_off,
            type_k: self.type_k,
            type_v: self.type_v,
            v_trans: self.v_trans,
            size: self.size as i64,
        }
    }
}

//! Weights placed on simulated GPUs: the loader's part of the memory plan.
//!
//! [`PlacedWeights::load`] resolves the caller's placement (`n_gpu_layers`, split mode,
//! `tensor_split`, overrides) with [`crate::fit::placement::resolve`], sums each GPU's weight
//! bytes with [`weight_bytes_per_gpu`] (the same function [`crate::fit::plan::compute_plan`]
//! uses), refuses a placement that does not fit before touching memory (it never re-places
//! silently), then allocates one weights buffer per GPU — exactly the planned bytes. A failed
//! allocation frees everything (usage returns to its baseline), re-reads free memory and tries
//! once more; otherwise the error names the device, the bytes needed and the bytes free.
//!
//! On memory-backed devices the tensors are copied into their buffer and the graph reads them
//! there (the simulated GPU computes with the CPU kernels on its own memory). On
//! accounting-only devices nothing is copied and no tensor data is read: the model can be
//! planned and "loaded" from a sparse file, and decoding is refused.

use crate::backend::sim::SimDevice;
use crate::error::{Error, Result};
use crate::fit::placement::{self, Placement};
use crate::fit::plan::weight_bytes_per_gpu;
use crate::fit::{DeviceDesc, ModelDesc, PlaceParams};
use crate::gguf::GgufFile;

pub use crate::fit::plan::WEIGHT_ALIGNMENT;

/// The weights of one model on simulated GPUs.
pub struct PlacedWeights {
    /// The GPUs (index = device index of the placement).
    pub gpus: Vec<SimDevice>,
    /// Where every weight and layer lives.
    pub placement: Placement,
    /// The model as the plan sees it.
    pub desc: ModelDesc,
    /// Planned (= allocated) weight bytes per GPU.
    pub planned: Vec<u64>,
    buffers: Vec<Option<crate::backend::sim::SimBuffer>>,
    /// Per GGUF tensor: `(gpu, offset)` when it lives on a GPU.
    reloc: Vec<Option<(usize, usize)>>,
    /// Arena segment of each layer's intermediates: 0 the host, `1 + d` GPU `d`.
    layer_segs: Vec<u8>,
}

impl std::fmt::Debug for PlacedWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacedWeights")
            .field("gpus", &self.gpus.len())
            .field("planned", &self.planned)
            .finish()
    }
}

/// Describes GPUs as the plan sees them: free memory read now, no margin (a load that asks
/// for a placement gets exactly it, or an error).
pub fn describe(gpus: &[SimDevice]) -> Vec<DeviceDesc> {
    gpus.iter()
        .map(|d| {
            let mut desc = DeviceDesc::new(d.name(), d.budget()).with_margin(0);
            desc.free = d.free();
            desc
        })
        .collect()
}

fn align(x: u64) -> u64 {
    x.div_ceil(WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT
}

impl PlacedWeights {
    /// Places and allocates the weights of `g` on `gpus` as `place` asks.
    pub fn load(g: &GgufFile, place: &PlaceParams, gpus: &[SimDevice]) -> Result<PlacedWeights> {
        let desc = ModelDesc::from_gguf(g)?;
        let pl = placement::resolve(&desc, place, &describe(gpus))?;
        let planned = weight_bytes_per_gpu(&desc, &pl);
        let buffers = match Self::allocate(gpus, &planned) {
            Ok(b) => b,
            // the failed attempt freed everything it took: look at free memory again, once
            Err(_) => Self::allocate(gpus, &planned)?,
        };
        let host = pl.host();
        let layer_segs = (0..desc.n_layer as usize)
            .map(|il| match pl.layer_dev.get(il) {
                Some(&d) if d != host => u8::try_from(1 + d).unwrap_or(0),
                _ => 0,
            })
            .collect();
        let mut w = PlacedWeights {
            layer_segs,
            gpus: gpus.to_vec(),
            placement: pl,
            desc,
            planned,
            buffers,
            reloc: vec![None; g.tensors().len()],
        };
        w.copy_tensors(g)?;
        Ok(w)
    }

    /// One buffer per GPU with weights; all or nothing.
    fn allocate(
        gpus: &[SimDevice],
        planned: &[u64],
    ) -> Result<Vec<Option<crate::backend::sim::SimBuffer>>> {
        for (d, &need) in gpus.iter().zip(planned) {
            if need > d.free() {
                return Err(Error::oom(format!(
                    "{}: the weights placed there need {need} bytes ({} MiB), {} bytes ({} MiB) \
                     are free; lower n_gpu_layers or change the split",
                    d.name(),
                    need >> 20,
                    d.free(),
                    d.free() >> 20
                )));
            }
        }
        let mut out = Vec::with_capacity(gpus.len());
        for (d, &need) in gpus.iter().zip(planned) {
            if need == 0 {
                out.push(None);
                continue;
            }
            // on error `out` is dropped here, which returns every buffer taken so far
            let b = d.alloc(need).map_err(|e| {
                e.within(format!(
                    "{}: allocating {need} bytes of weights ({} bytes free)",
                    d.name(),
                    d.free()
                ))
            })?;
            out.push(Some(b));
        }
        Ok(out)
    }

    /// Lays the GPU tensors out in their buffers (offsets in file order, each aligned) and
    /// copies their data on memory-backed devices.
    fn copy_tensors(&mut self, g: &GgufFile) -> Result<()> {
        let host = self.placement.host();
        let mut top = vec![0u64; self.gpus.len()];
        for (i, t) in g.tensors().iter().enumerate() {
            let d = self.placement.weight_dev[i];
            if d == host {
                continue;
            }
            let off = top[d];
            top[d] = off + align(t.n_bytes);
            self.reloc[i] = Some((d, off as usize));
            let Some(buf) = self.buffers[d].as_mut() else {
                return Err(Error::internal(format!("no weights buffer on GPU {d}")));
            };
            if let Some(mem) = buf.bytes_mut() {
                let src = g.tensor_data(t);
                let dst = mem
                    .get_mut(off as usize..off as usize + src.len())
                    .ok_or_else(|| Error::internal("weights buffer smaller than planned"))?;
                dst.copy_from_slice(src);
            }
        }
        if top != self.planned {
            return Err(Error::internal(format!(
                "weights laid out {top:?} bytes per GPU, planned {:?}",
                self.planned
            )));
        }
        Ok(())
    }

    /// Where tensor `idx` lives: `None` on the host; `Some(None)` on an accounting-only GPU
    /// (no data); `Some(Some(bytes))` on a memory-backed GPU.
    pub fn tensor(&self, idx: usize, n_bytes: usize) -> Option<Option<&[u8]>> {
        let (d, off) = self.reloc.get(idx).copied().flatten()?;
        let buf = self.buffers.get(d)?.as_ref()?;
        Some(buf.bytes().and_then(|m| m.get(off..off + n_bytes)))
    }

    /// Whether every GPU holding weights has memory behind it (else decoding is refused).
    pub fn is_backed(&self) -> bool {
        self.gpus
            .iter()
            .zip(&self.planned)
            .all(|(d, &b)| b == 0 || d.is_backed())
    }

    /// Arena segment of each layer (0: the host arena; `1 + d`: GPU `d`'s compute buffer).
    pub fn layer_segments(&self) -> &[u8] {
        &self.layer_segs
    }

    /// The GPU of layer `il`'s dense part (and KV), or `None` for the host.
    pub fn layer_gpu(&self, il: usize) -> Option<usize> {
        let d = *self.placement.layer_dev.get(il)?;
        (d != self.placement.host()).then_some(d)
    }
}

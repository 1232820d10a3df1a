//! A context's share of the memory plan on simulated GPUs.
//!
//! When the model's weights were placed on simulated GPUs ([`crate::model::placed`]), context
//! creation computes the whole plan with [`crate::fit::plan::compute_plan`] — the same pure
//! function the fit search asks. The KV cache storage has already put each offloaded layer's
//! K/V in one buffer on its GPU (checked here to equal the plan's KV column to the byte, and
//! used by every graph); this module allocates the remaining categories (compute arena,
//! pipeline copies, scratch, staging), one buffer each, all or nothing: a failure frees what
//! was taken (usage back to baseline), re-reads free memory, re-plans once, and otherwise names
//! the device, the bytes needed and the bytes free. After that nothing is allocated on a GPU
//! for the life of the context.
//!
//! The compute column: the host's is the engine's worst-case host arena segment (exact); a
//! GPU's is the larger of the analytic bound (what the fit planned with) and the engine's
//! worst-case arena segment for the layers that GPU runs (the graph builders put each layer's
//! intermediates in its GPU's segment). Every micro-batch then computes those layers'
//! intermediates in the GPU's compute buffer, with the CPU kernels, as it reads their weights
//! and KV cache from the GPU's other buffers.

use crate::backend::sim::{SimBuffer, SimDevice};
use crate::error::{Error, Result};
use crate::fit::oracle::{AnalyticOracle, ArenaBytes, ArenaOracle, ArenaShape, DeviceWork};
use crate::fit::plan::{compute_plan, default_copies, Category, MemoryPlan, PlanInput};
use crate::fit::{CtxParams, DeviceDesc, ModelDesc};
use crate::model::placed::PlacedWeights;

use super::params::{CParams, ContextParams};

/// One row of the per-device memory table, in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryRow {
    /// Device name.
    pub name: String,
    /// The host.
    pub is_host: bool,
    /// Device total (0 when unknown).
    pub total: u64,
    /// Free when planned (0 when unknown).
    pub free: u64,
    /// Weights allocated there.
    pub weights: u64,
    /// KV cache.
    pub kv: u64,
    /// Compute arena.
    pub compute: u64,
    /// Every other category.
    pub other: u64,
    /// Margin left free.
    pub margin: u64,
}

impl MemoryRow {
    /// The row of one device of a plan.
    pub fn from_plan(d: &crate::fit::DevicePlan) -> MemoryRow {
        let (w, kv, c) = (
            d.get(Category::Weights),
            d.get(Category::Kv),
            d.get(Category::Compute),
        );
        MemoryRow {
            name: d.name.clone(),
            is_host: d.is_host,
            total: d.total,
            free: d.free,
            weights: w,
            kv,
            compute: c,
            other: d.total_bytes() - w - kv - c,
            margin: d.margin,
        }
    }
}

/// The GPU buffers a context holds, and the plan they came from.
pub struct DeviceMemory {
    /// The plan (GPUs in order, then the host).
    pub plan: MemoryPlan,
    buffers: Vec<(usize, Category, SimBuffer)>,
}

impl std::fmt::Debug for DeviceMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceMemory")
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

impl DeviceMemory {
    /// Each GPU's compute buffer (its arena segment), in GPU order; empty where a GPU has
    /// none or no memory behind it.
    pub fn compute_slices(&mut self, n_gpus: usize) -> Vec<&mut [u8]> {
        let mut out: Vec<&mut [u8]> = (0..n_gpus).map(|_| &mut [][..]).collect();
        for (i, c, b) in self.buffers.iter_mut() {
            if *c != Category::Compute {
                continue;
            }
            if let (Some(slot), Some(m)) = (out.get_mut(*i), b.bytes_mut()) {
                *slot = m;
            }
        }
        out
    }

    /// Bytes this context holds on GPU `d`.
    pub fn bytes_on(&self, d: usize) -> u64 {
        self.buffers
            .iter()
            .filter(|(i, _, _)| *i == d)
            .map(|(_, _, b)| b.size())
            .sum()
    }
}

/// The engine's host arena for the host's work; for a GPU, the analytic bound (what the fit
/// planned with) or the engine's arena for the GPU's layers, whichever is larger.
struct EngineOracle<'e> {
    host_arena: u64,
    gpu_arena: &'e [u64],
}

impl ArenaOracle for EngineOracle<'_> {
    fn arena_bytes(&self, model: &ModelDesc, work: &DeviceWork, shape: &ArenaShape) -> ArenaBytes {
        if work.is_host {
            return ArenaBytes {
                compute: self.host_arena,
                scratch: 0,
            };
        }
        let a = AnalyticOracle.arena_bytes(model, work, shape);
        let engine = self.gpu_arena.get(work.device).copied().unwrap_or(0);
        ArenaBytes {
            compute: a.compute.max(engine),
            scratch: a.scratch,
        }
    }
}

/// The plan's context parameters for a resolved context (`has_swa`: the model has
/// sliding-window layers).
pub fn ctx_params(p: &ContextParams, cp: &CParams, has_swa: bool) -> CtxParams {
    CtxParams {
        n_ctx: cp.n_ctx,
        n_batch: cp.n_batch,
        n_ubatch: cp.n_ubatch,
        n_seq_max: cp.n_seq_max,
        type_k: cp.type_k,
        type_v: cp.type_v,
        flash_attn: cp.flash_attn,
        offload_kqv: p.offload_kqv,
        // one KV stream per sequence or one for all: the same bytes for full-attention
        // layers; the sliding-window cache is one stream here, so SWA models plan it unified
        kv_unified: p.kv_unified || has_swa,
        swa_full: p.swa_full,
        embeddings: cp.embeddings,
        n_outputs_max: 0,
        // host weights are never staged on a simulated GPU (it does not run host ops)
        op_offload: false,
    }
}

/// GPUs as the plan sees them before this model and context: free now plus what the plan
/// counts again (the model's weights, the KV cache the context already holds).
fn describe(w: &PlacedWeights, kv_held: &[u64]) -> Vec<DeviceDesc> {
    w.gpus
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mine = w.planned[i].saturating_add(kv_held.get(i).copied().unwrap_or(0));
            let mut desc = DeviceDesc::new(d.name(), d.budget()).with_margin(0);
            desc.free = d.free().saturating_add(mine);
            desc
        })
        .collect()
}

fn plan(
    w: &PlacedWeights,
    p: &ContextParams,
    cp: &CParams,
    (host_arena, gpu_arena): (u64, &[u64]),
    kv_held: &[u64],
) -> Result<MemoryPlan> {
    let ctx = ctx_params(p, cp, w.desc.n_swa > 0);
    let gpus = describe(w, kv_held);
    let host = DeviceDesc::new("CPU", u64::MAX);
    let oracle = EngineOracle {
        host_arena,
        gpu_arena,
    };
    let inp = PlanInput {
        model: &w.desc,
        ctx: &ctx,
        gpus: &gpus,
        host: &host,
        use_mmap: true,
        oracle: &oracle,
        analytic: true,
    };
    let copies = default_copies(&w.desc, &w.placement, ctx.offload_kqv);
    let mut plan = compute_plan(&inp, &w.placement, copies)?;
    if copies > 1 && !plan.fits() {
        // pipeline-parallel copies are the first thing to give up, before anything is allocated
        plan = compute_plan(&inp, &w.placement, 1)?;
    }
    if let Some(e) = plan.overflow_error() {
        return Err(e);
    }
    Ok(plan)
}

fn allocate(plan: &MemoryPlan, gpus: &[SimDevice]) -> Result<Vec<(usize, Category, SimBuffer)>> {
    let mut out = Vec::new();
    for (i, d) in gpus.iter().enumerate() {
        let dp = &plan.devices[i];
        for c in Category::ALL {
            let size = dp.get(c);
            // weights: the loader's; KV: the cache storage's
            if c == Category::Weights || c == Category::Kv || size == 0 {
                continue;
            }
            let free = d.free();
            // on error `out` is dropped, which returns every buffer taken so far
            let b = d.alloc(size).map_err(|e| {
                Error::oom(format!(
                    "{}: allocating the {} buffer ({size} bytes) failed with {free} bytes free ({})",
                    d.name(),
                    c.name(),
                    e.context
                ))
            })?;
            out.push((i, c, b));
        }
    }
    Ok(out)
}

/// Plans and allocates a context's GPU buffers; `host_arena` is the engine's planned host
/// arena, `gpu_arena[d]` its arena segment for GPU `d`'s layers, `kv_held[d]` the KV bytes the
/// cache storage already holds on GPU `d` (they must be the plan's KV column exactly).
pub fn reserve(
    w: &PlacedWeights,
    p: &ContextParams,
    cp: &CParams,
    host_arena: u64,
    gpu_arena: &[u64],
    kv_held: &[u64],
) -> Result<DeviceMemory> {
    let arenas = (host_arena, gpu_arena);
    let first = plan(w, p, cp, arenas, kv_held)?;
    for (d, &held) in kv_held.iter().enumerate() {
        let planned = first.devices[d].get(Category::Kv);
        if held != planned {
            return Err(Error::internal(format!(
                "{}: the KV cache holds {held} bytes, the plan has {planned}",
                first.devices[d].name
            )));
        }
    }
    match allocate(&first, &w.gpus) {
        Ok(buffers) => Ok(DeviceMemory {
            plan: first,
            buffers,
        }),
        Err(e) => {
            let again = plan(w, p, cp, arenas, kv_held).map_err(|e2| e2.within(format!("{e}")))?;
            let buffers = allocate(&again, &w.gpus).map_err(|e2| e2.within("second attempt"))?;
            Ok(DeviceMemory {
                plan: again,
                buffers,
            })
        }
    }
}

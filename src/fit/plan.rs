//! The memory plan: every byte on every device, by category, as a pure function of the model
//! description, the context parameters, the placement and the device descriptors.

use super::model::{ModelDesc, WeightRole};
use super::oracle::{ArenaOracle, ArenaShape, DeviceWork};
use super::params::{CtxParams, CtxSizes, DeviceDesc};
use super::placement::Placement;
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// What a planned buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Model weights (on the host with mmap these are mapped, see [`DevicePlan::mapped`]).
    Weights,
    /// KV cache tensors.
    Kv,
    /// Compute arena (every graph shape's intermediates and inputs).
    Compute,
    /// Extra copies of split inputs for pipeline parallelism.
    PipelineCopies,
    /// Kernel scratch (activation conversion, expert row maps).
    KernelScratch,
    /// Library workspaces (cuBLAS and the like; 0 on the CPU and simulated devices).
    Workspace,
    /// Logits / embeddings output buffer (host).
    Output,
    /// Staging for weights copied to a GPU for large micro-batches (`op_offload`).
    Staging,
    /// Driver context overhead (measured per device).
    Driver,
}

/// Number of categories.
pub const N_CATEGORIES: usize = 9;

impl Category {
    /// All categories, in table order.
    pub const ALL: [Category; N_CATEGORIES] = [
        Category::Weights,
        Category::Kv,
        Category::Compute,
        Category::PipelineCopies,
        Category::KernelScratch,
        Category::Workspace,
        Category::Output,
        Category::Staging,
        Category::Driver,
    ];
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Category::Weights => "weights",
            Category::Kv => "kv",
            Category::Compute => "compute",
            Category::PipelineCopies => "pp_copies",
            Category::KernelScratch => "scratch",
            Category::Workspace => "workspace",
            Category::Output => "output",
            Category::Staging => "staging",
            Category::Driver => "driver",
        }
    }
}

/// The plan of one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePlan {
    /// Device name (`SIM0`, `CPU`).
    pub name: String,
    /// The host.
    pub is_host: bool,
    /// Total bytes of the device.
    pub total: u64,
    /// Free bytes when planned.
    pub free: u64,
    /// Margin to leave free.
    pub margin: u64,
    /// Bytes to allocate, by category ([`Category::ALL`] order).
    pub bytes: [u64; N_CATEGORIES],
    /// Host weights served from the file mapping (not allocated, not in `bytes`).
    pub mapped: u64,
}

impl DevicePlan {
    /// Bytes of one category.
    pub fn get(&self, c: Category) -> u64 {
        self.bytes[c as usize]
    }
    /// Bytes to allocate on this device.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().fold(0u64, |a, &b| a.saturating_add(b))
    }
    /// What may be used: free minus margin.
    pub fn budget(&self) -> u64 {
        self.free.saturating_sub(self.margin)
    }
    /// Whether the plan fits the budget.
    pub fn fits(&self) -> bool {
        self.total_bytes() <= self.budget()
    }
}

/// Every byte on every device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// GPUs in order, then the host (last).
    pub devices: Vec<DevicePlan>,
    /// Context sizes planned for.
    pub sizes: CtxSizes,
    /// Pipeline-parallel copies planned.
    pub n_copies: u32,
    /// Whether the compute column comes from the analytic bound (not the engine planner).
    pub analytic_compute: bool,
}

impl MemoryPlan {
    /// Whether every device's plan fits its budget.
    pub fn fits(&self) -> bool {
        self.devices.iter().all(DevicePlan::fits)
    }
    /// The first device that does not fit: `(name, bytes needed, bytes free)`.
    pub fn first_overflow(&self) -> Option<(&str, u64, u64)> {
        self.devices.iter().find(|d| !d.fits()).map(|d| {
            (
                d.name.as_str(),
                d.total_bytes().saturating_add(d.margin),
                d.free,
            )
        })
    }
    /// Bytes planned on GPUs (everything but the host).
    pub fn gpu_bytes(&self) -> u64 {
        self.devices
            .iter()
            .filter(|d| !d.is_host)
            .map(DevicePlan::total_bytes)
            .fold(0u64, u64::saturating_add)
    }
    /// Sum of GPU budgets (free − margin).
    pub fn gpu_budget(&self) -> u64 {
        self.devices
            .iter()
            .filter(|d| !d.is_host)
            .map(DevicePlan::budget)
            .fold(0u64, u64::saturating_add)
    }
    /// The error a loader returns when the plan does not fit.
    pub fn overflow_error(&self) -> Option<Error> {
        self.first_overflow().map(|(n, need, free)| {
            Error::oom(format!(
                "{n}: the plan needs {need} bytes ({} MiB, margin included), {free} bytes ({} MiB) \
                 are free: short by {} MiB",
                need >> 20,
                free >> 20,
                need.saturating_sub(free).div_ceil(1 << 20)
            ))
        })
    }
}

/// Everything the plan depends on besides the placement.
#[derive(Clone, Copy)]
pub struct PlanInput<'a> {
    /// The model.
    pub model: &'a ModelDesc,
    /// Context parameters.
    pub ctx: &'a CtxParams,
    /// GPUs (real or simulated).
    pub gpus: &'a [DeviceDesc],
    /// The host (RAM).
    pub host: &'a DeviceDesc,
    /// Host weights are mapped from the file rather than allocated.
    pub use_mmap: bool,
    /// Source of compute-arena sizes.
    pub oracle: &'a dyn ArenaOracle,
    /// Whether `oracle` is the analytic bound (recorded in the plan).
    pub analytic: bool,
}

/// KV cells per stream of sliding-window layers (upstream's iSWA sizing).
pub fn swa_cells(model: &ModelDesc, ctx: &CtxParams, s: &CtxSizes) -> u32 {
    if ctx.swa_full || model.n_swa == 0 {
        return s.n_ctx_seq;
    }
    let mult = if ctx.kv_unified {
        ctx.n_seq_max.max(1)
    } else {
        1
    };
    let want = model.n_swa.saturating_mul(mult).saturating_add(s.n_ubatch);
    s.n_ctx_seq.min(want).div_ceil(256) * 256
}

/// KV bytes of layer `il`: K `[n_embd_k_gqa, cells, n_stream]`, V likewise (no V for MLA).
pub fn kv_layer_bytes(model: &ModelDesc, ctx: &CtxParams, s: &CtxSizes, il: u32) -> Result<u64> {
    let cells = if model.is_swa(il) {
        swa_cells(model, ctx, s)
    } else {
        s.n_ctx_seq
    } as u64
        * s.n_stream as u64;
    let k = ctx
        .type_k
        .row_size(model.n_embd_k_gqa(il) as u64)
        .map_err(|e| e.within(format!("K cache of layer {il}")))?;
    let v = if model.is_mla {
        0
    } else {
        ctx.type_v
            .row_size(model.n_embd_v_gqa(il) as u64)
            .map_err(|e| e.within(format!("V cache of layer {il}")))?
    };
    (k + v)
        .checked_mul(cells)
        .ok_or_else(|| Error::oom(format!("KV cache of layer {il}: size overflows")))
}

/// Checks cache types upstream refuses.
pub fn check_ctx(ctx: &CtxParams) -> Result<()> {
    if ctx.type_v.is_quantized() && !ctx.flash_attn {
        return Err(Error::invalid(format!(
            "V cache quantization ({}) requires flash_attn",
            ctx.type_v.name()
        )));
    }
    Ok(())
}

/// The graph shapes of a context.
pub fn arena_shape(model: &ModelDesc, ctx: &CtxParams, s: &CtxSizes) -> ArenaShape {
    ArenaShape {
        max_ubatch: s.n_ubatch,
        n_kv: s.n_ctx_seq,
        n_kv_swa: swa_cells(model, ctx, s),
        n_outputs: s.n_outputs_max.min(s.n_ubatch),
        flash_attn: ctx.flash_attn,
        type_k: ctx.type_k,
        type_v: ctx.type_v,
    }
}

/// What each device (GPUs, then host) computes under placement `pl`.
pub fn device_works(model: &ModelDesc, pl: &Placement, offload_kqv: bool) -> Vec<DeviceWork> {
    let host = pl.host();
    let mut w: Vec<DeviceWork> = (0..=host)
        .map(|d| DeviceWork {
            device: d,
            is_host: d == host,
            ..Default::default()
        })
        .collect();
    for il in 0..model.n_layer {
        let d = pl.layer_dev[il as usize];
        w[d].dense.insert(il);
        w[if offload_kqv { d } else { host }].attn.insert(il);
    }
    for (i, wt) in model.weights.iter().enumerate() {
        if let WeightRole::Layer { il, expert: true } = wt.role {
            w[pl.weight_dev[i]].experts.insert(il);
        }
    }
    w[host].input = true;
    w[pl.output_dev].output = true;
    w
}

/// Bytes of the inputs of each device's graph splits (hidden state; KQ mask and positions for
/// splits that attend), as the scheduler copies them per pipeline copy.
pub fn split_inputs(
    model: &ModelDesc,
    pl: &Placement,
    offload_kqv: bool,
    sh: &ArenaShape,
) -> Vec<u64> {
    let t = sh.max_ubatch as u64;
    let hidden = (model.n_embd as u64).saturating_mul(t).saturating_mul(4);
    let host = pl.host();
    let mut expert_devs: Vec<Vec<usize>> = vec![Vec::new(); model.n_layer as usize];
    for (i, w) in model.weights.iter().enumerate() {
        if let WeightRole::Layer { il, expert: true } = w.role {
            let v = &mut expert_devs[il as usize];
            if !v.contains(&pl.weight_dev[i]) {
                v.push(pl.weight_dev[i]);
            }
        }
    }
    let mut out = vec![0u64; pl.n_gpus + 1];
    // The graph as a walk over segments (device, attention over the full or the sliding-window
    // cache). Each change of device starts a split whose input is the hidden state; the KQ mask
    // and positions are copied to a device once (the scheduler keys copies by tensor and
    // backend), whatever the number of splits there.
    let mut cur = host;
    let mut mask_on = vec![[false; 2]; pl.n_gpus + 1];
    let mut visit = |dev: usize, attn: Option<(usize, u64)>, out: &mut Vec<u64>| {
        if dev != cur {
            out[dev] = out[dev].saturating_add(hidden);
            cur = dev;
        }
        if let Some((kind, kv)) = attn {
            if !mask_on[dev][kind] {
                let mask = kv.saturating_mul(t).saturating_add(t).saturating_mul(4);
                out[dev] = out[dev].saturating_add(mask);
                mask_on[dev][kind] = true;
            }
        }
    };
    for il in 0..model.n_layer {
        let d = pl.layer_dev[il as usize];
        let attn = if model.is_swa(il) {
            (1, sh.n_kv_swa as u64)
        } else {
            (0, sh.n_kv as u64)
        };
        visit(d, None, &mut out);
        visit(if offload_kqv { d } else { host }, Some(attn), &mut out);
        visit(d, None, &mut out);
        for &x in &expert_devs[il as usize] {
            visit(x, None, &mut out);
        }
        visit(d, None, &mut out);
    }
    visit(pl.output_dev, None, &mut out);
    out
}

/// The upstream rule for pipeline copies: 4 with several GPUs holding layers, every layer and
/// the output offloaded, `offload_kqv`, and no overrides; else 1.
pub fn default_copies(model: &ModelDesc, pl: &Placement, offload_kqv: bool) -> u32 {
    let host = pl.host();
    let mut used: Vec<usize> = pl.layer_dev.clone();
    used.sort_unstable();
    used.dedup();
    let all_off = pl.layer_dev.iter().all(|&d| d != host) && pl.output_dev != host;
    if used.len() > 1 && all_off && offload_kqv && !pl.has_overrides && model.n_layer > 0 {
        4
    } else {
        1
    }
}

/// Alignment of each weight tensor in a GPU's weights buffer (the simulated devices' allocation
/// granularity, as CUDA's).
pub const WEIGHT_ALIGNMENT: u64 = crate::backend::sim::SIM_ALIGNMENT as u64;

/// Weight bytes on each GPU under `pl`: every tensor placed there, aligned to
/// [`WEIGHT_ALIGNMENT`] (the loader lays them out exactly so).
pub fn weight_bytes_per_gpu(m: &ModelDesc, pl: &Placement) -> Vec<u64> {
    let mut out = vec![0u64; pl.n_gpus];
    for (w, &d) in m.weights.iter().zip(&pl.weight_dev) {
        if let Some(slot) = out.get_mut(d) {
            *slot = slot.saturating_add(w.n_bytes.div_ceil(WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT);
        }
    }
    out
}

/// Computes the plan of `pl` with `n_copies` pipeline copies.
pub fn compute_plan(inp: &PlanInput<'_>, pl: &Placement, n_copies: u32) -> Result<MemoryPlan> {
    let m = inp.model;
    let ctx = inp.ctx;
    check_ctx(ctx)?;
    if pl.n_gpus != inp.gpus.len() || pl.weight_dev.len() != m.weights.len() {
        return Err(Error::internal(
            "placement does not match the model or devices",
        ));
    }
    let s = ctx.sizes(m.n_ctx_train)?;
    let host = pl.host();
    let mut devs: Vec<DevicePlan> = inp
        .gpus
        .iter()
        .chain(std::iter::once(inp.host))
        .enumerate()
        .map(|(i, d)| DevicePlan {
            name: d.name.clone(),
            is_host: i == host,
            total: d.total,
            free: d.free,
            margin: d.margin,
            bytes: [0; N_CATEGORIES],
            mapped: 0,
        })
        .collect();
    let add = |devs: &mut Vec<DevicePlan>, d: usize, c: Category, b: u64| {
        let slot = &mut devs[d].bytes[c as usize];
        *slot = slot.saturating_add(b);
    };
    for (i, w) in m.weights.iter().enumerate() {
        if pl.weight_dev[i] != host {
            continue;
        }
        if inp.use_mmap {
            devs[host].mapped = devs[host].mapped.saturating_add(w.n_bytes);
        } else {
            add(&mut devs, host, Category::Weights, w.n_bytes);
        }
    }
    for (d, b) in weight_bytes_per_gpu(m, pl).into_iter().enumerate() {
        add(&mut devs, d, Category::Weights, b);
    }
    for il in 0..m.n_layer {
        let d = if ctx.offload_kqv {
            pl.layer_dev[il as usize]
        } else {
            host
        };
        let b = kv_layer_bytes(m, ctx, &s, il)?;
        add(&mut devs, d, Category::Kv, b);
    }
    let sh = arena_shape(m, ctx, &s);
    let works = device_works(m, pl, ctx.offload_kqv);
    for w in &works {
        let a = inp.oracle.arena_bytes(m, w, &sh);
        add(&mut devs, w.device, Category::Compute, a.compute);
        add(&mut devs, w.device, Category::KernelScratch, a.scratch);
    }
    if n_copies > 1 {
        let inputs = split_inputs(m, pl, ctx.offload_kqv, &sh);
        for (d, b) in inputs.iter().enumerate().take(host) {
            add(
                &mut devs,
                d,
                Category::PipelineCopies,
                (n_copies as u64 - 1).saturating_mul(*b),
            );
        }
    }
    let out_rows = s.n_outputs_max as u64;
    let out_cols = m.n_vocab as u64 + if ctx.embeddings { m.n_embd as u64 } else { 0 };
    let out_bytes = out_rows.saturating_mul(out_cols).saturating_mul(4);
    add(&mut devs, host, Category::Output, out_bytes);
    if ctx.op_offload && s.n_ubatch >= 32 {
        let biggest = m
            .weights
            .iter()
            .zip(&pl.weight_dev)
            .filter(|(w, &d)| d == host && matches!(w.role, WeightRole::Layer { .. }))
            .map(|(w, _)| w.n_bytes)
            .max()
            .unwrap_or(0);
        if let Some(g) = (0..host).find(|&g| devs[g].total_bytes() > 0) {
            add(&mut devs, g, Category::Staging, biggest);
        }
    }
    for (g, d) in inp.gpus.iter().enumerate() {
        if devs[g].total_bytes() > 0 {
            add(&mut devs, g, Category::Driver, d.driver_overhead);
        }
    }
    Ok(MemoryPlan {
        devices: devs,
        sizes: s,
        n_copies,
        analytic_compute: inp.analytic,
    })
}

/// A cache type by its name (`f16`, `q8_0`, ...), as `-ctk`/`-ctv` take it.
pub fn cache_type(name: &str) -> Result<GgmlType> {
    (0..64)
        .filter_map(GgmlType::from_u32)
        .find(|t| t.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::invalid(format!("unknown cache type {name:?}")))
}

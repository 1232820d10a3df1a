//! Inputs of the plan: device descriptors, context parameters and placement parameters, with
//! upstream's meanings and defaults.

use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Default per-device margin of the fit: far below upstream's 1 GiB because nothing in our plan
/// is estimated; it covers memory other processes may take between the query and the load.
pub const DEFAULT_MARGIN: u64 = 128 << 20;

/// A device as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceDesc {
    /// Name (`SIM0`, `CUDA0`, `CPU`): also the buffer-type name overrides refer to.
    pub name: String,
    /// Total bytes.
    pub total: u64,
    /// Free bytes when queried.
    pub free: u64,
    /// Bytes the plan must leave free.
    pub margin: u64,
    /// Bytes the driver takes for a context on this device (measured; 0 for simulated devices).
    pub driver_overhead: u64,
}

impl DeviceDesc {
    /// A device with `total` bytes, all free, no margin, no overhead.
    pub fn new(name: impl Into<String>, total: u64) -> DeviceDesc {
        DeviceDesc {
            name: name.into(),
            total,
            free: total,
            margin: 0,
            driver_overhead: 0,
        }
    }
    /// Same device with a margin.
    pub fn with_margin(mut self, margin: u64) -> DeviceDesc {
        self.margin = margin;
        self
    }
    /// What the plan may use: free minus margin.
    pub fn budget(&self) -> u64 {
        self.free.saturating_sub(self.margin)
    }
}

/// `llama_split_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitMode {
    /// Everything on `main_gpu`.
    None,
    /// Whole layers spread over the devices.
    Layer,
    /// Rows of matrices split across devices (not supported).
    Row,
}

/// Context parameters the plan depends on (a subset of `llama_context_params`).
#[derive(Clone, Debug, PartialEq)]
pub struct CtxParams {
    /// Context size; 0: the model's training context.
    pub n_ctx: u32,
    /// Logical batch.
    pub n_batch: u32,
    /// Micro-batch; 0: `n_batch`.
    pub n_ubatch: u32,
    /// Sequences.
    pub n_seq_max: u32,
    /// K cache type.
    pub type_k: GgmlType,
    /// V cache type.
    pub type_v: GgmlType,
    /// Flash attention.
    pub flash_attn: bool,
    /// KV cache and attention on the layer's device.
    pub offload_kqv: bool,
    /// One KV stream shared by all sequences.
    pub kv_unified: bool,
    /// Full-size cache for sliding-window layers.
    pub swa_full: bool,
    /// Embeddings output buffer too.
    pub embeddings: bool,
    /// Most outputs one batch may request; 0: `n_batch` (never regrows).
    pub n_outputs_max: u32,
    /// Weights of host-resident tensors are copied to the GPU for large micro-batches
    /// (upstream's `op_offload`): the main GPU then stages the largest such tensor.
    pub op_offload: bool,
}

impl Default for CtxParams {
    fn default() -> Self {
        CtxParams {
            n_ctx: 4096,
            n_batch: 2048,
            n_ubatch: 512,
            n_seq_max: 1,
            type_k: GgmlType::F16,
            type_v: GgmlType::F16,
            flash_attn: false,
            offload_kqv: true,
            kv_unified: false,
            swa_full: false,
            embeddings: false,
            n_outputs_max: 0,
            op_offload: false,
        }
    }
}

/// The sizes upstream's context derives from [`CtxParams`] (`llama_context` constructor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxSizes {
    /// Cells over all streams (padded to 256).
    pub n_ctx: u32,
    /// Cells per stream (`n_ctx_seq`).
    pub n_ctx_seq: u32,
    /// KV streams (`n_seq_max` unless unified).
    pub n_stream: u32,
    /// Batch (at most `n_ctx` for causal attention).
    pub n_batch: u32,
    /// Micro-batch.
    pub n_ubatch: u32,
    /// Output rows planned for.
    pub n_outputs_max: u32,
}

fn pad(x: u32, n: u32) -> u32 {
    x.div_ceil(n).saturating_mul(n)
}

impl CtxParams {
    /// Resolves the sizes as upstream does for a model trained on `n_ctx_train`.
    pub fn sizes(&self, n_ctx_train: u32) -> Result<CtxSizes> {
        let n_seq = self.n_seq_max.max(1);
        if n_seq > 256 {
            return Err(Error::invalid(format!("n_seq_max {n_seq} > 256")));
        }
        let n_ctx = if self.n_ctx == 0 {
            n_ctx_train
        } else {
            self.n_ctx
        };
        // upstream clamps the batch to the requested context before padding it
        let n_batch = self.n_batch.max(1).min(n_ctx.max(1));
        let mut n_ctx = pad(n_ctx.max(1), 256);
        let n_ctx_seq = if self.kv_unified {
            n_ctx
        } else {
            let s = pad(n_ctx / n_seq, 256);
            if s == 0 {
                return Err(Error::invalid("n_ctx_seq == 0"));
            }
            n_ctx = s
                .checked_mul(n_seq)
                .ok_or_else(|| Error::invalid(format!("n_ctx {n_ctx}: too large")))?;
            s
        };
        let n_ubatch = if self.n_ubatch == 0 {
            n_batch
        } else {
            self.n_ubatch.min(n_batch)
        };
        let n_outputs_max = if self.n_outputs_max == 0 {
            n_batch
        } else {
            self.n_outputs_max.min(n_batch)
        }
        .max(n_seq);
        Ok(CtxSizes {
            n_ctx,
            n_ctx_seq,
            n_stream: if self.kv_unified { 1 } else { n_seq },
            n_batch,
            n_ubatch,
            n_outputs_max,
        })
    }
}

/// Placement parameters (a subset of `llama_model_params`).
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceParams {
    /// Layers on GPUs, counted from the end; `> n_layer` also offloads the output layer;
    /// negative: all.
    pub n_gpu_layers: i32,
    /// Split mode.
    pub split_mode: SplitMode,
    /// GPU for `SplitMode::None`.
    pub main_gpu: i32,
    /// Proportions per GPU; empty or all zero: by free memory.
    pub tensor_split: Vec<f32>,
    /// `(pattern, buffer type name)` pairs, searched in order (upstream's `-ot`).
    pub overrides: Vec<(String, String)>,
    /// Experts of the first `n_cpu_moe` layers stay on the host.
    pub n_cpu_moe: u32,
    /// Host weights come from the file mapping (not allocated).
    pub use_mmap: bool,
    /// Pipeline-parallel copies; `None`: upstream's rule (4 with several GPUs, all layers
    /// offloaded, layer split, `offload_kqv` and no overrides; else 1).
    pub n_copies: Option<u32>,
}

impl Default for PlaceParams {
    fn default() -> Self {
        PlaceParams {
            n_gpu_layers: -1,
            split_mode: SplitMode::Layer,
            main_gpu: 0,
            tensor_split: Vec::new(),
            overrides: Vec::new(),
            n_cpu_moe: 0,
            use_mmap: true,
            n_copies: None,
        }
    }
}

/// Parses a `-ot` style list: `pattern=BUFT[,pattern=BUFT...]`.
pub fn parse_overrides(s: &str) -> Result<Vec<(String, String)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (pat, buft) = p
                .rsplit_once('=')
                .ok_or_else(|| Error::invalid(format!("override {p:?}: expected pattern=buft")))?;
            Ok((pat.to_string(), buft.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctx_sizes_follow_upstream() {
        let p = CtxParams {
            n_ctx: 163840,
            n_seq_max: 4,
            ..Default::default()
        };
        let s = p.sizes(163840).unwrap();
        assert_eq!((s.n_ctx, s.n_ctx_seq, s.n_stream), (163840, 40960, 4));
        let p = CtxParams {
            n_ctx: 1000,
            n_seq_max: 3,
            n_batch: 4096,
            n_ubatch: 4096,
            ..Default::default()
        };
        let s = p.sizes(4096).unwrap();
        assert_eq!(
            (s.n_ctx, s.n_ctx_seq, s.n_batch, s.n_ubatch),
            (1536, 512, 1000, 1000)
        );
        assert_eq!(
            parse_overrides("exps=CPU,blk\\.1\\.=SIM0").unwrap(),
            vec![
                ("exps".into(), "CPU".into()),
                ("blk\\.1\\.".into(), "SIM0".into())
            ]
        );
    }
}

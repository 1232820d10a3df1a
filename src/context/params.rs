//! Context parameters and their resolution against the model (upstream's `llama_cparams`
//! computed in the `llama_context` constructor): context padding, per-sequence context, batch
//! limits, RoPE / YaRN factors, SWA cache size.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::model::hparams::RopeScaling;
use crate::model::{HParams, RopeCfg};
use crate::quant::GgmlType;

/// What a caller asks of a context (the fields of `llama_context_params` we honour).
#[derive(Clone, Debug)]
pub struct ContextParams {
    /// Context size (0: training context).
    pub n_ctx: u32,
    /// Largest batch `decode` accepts.
    pub n_batch: u32,
    /// Micro-batch size (0: n_batch).
    pub n_ubatch: u32,
    /// Sequences.
    pub n_seq_max: u32,
    /// Threads for single-token decode.
    pub n_threads: i32,
    /// Threads for batches.
    pub n_threads_batch: i32,
    /// -1 auto, 0 off, 1 on.
    pub flash_attn: i32,
    /// K cache type.
    pub type_k: GgmlType,
    /// V cache type.
    pub type_v: GgmlType,
    /// Produce embeddings (outputs for every token).
    pub embeddings: bool,
    /// `llama_pooling_type` (-1 unspecified).
    pub pooling_type: i32,
    /// `llama_attention_type` (-1 unspecified).
    pub attention_type: i32,
    /// One KV stream shared by all sequences.
    pub kv_unified: bool,
    /// `llama_rope_scaling_type` (-1 unspecified).
    pub rope_scaling_type: i32,
    /// RoPE base override (0: model's).
    pub rope_freq_base: f32,
    /// RoPE scale override (0: model's).
    pub rope_freq_scale: f32,
    /// YaRN overrides (negative: model's).
    pub yarn_ext_factor: f32,
    /// YaRN attention factor (negative: model's).
    pub yarn_attn_factor: f32,
    /// YaRN beta fast (negative: model's).
    pub yarn_beta_fast: f32,
    /// YaRN beta slow (negative: model's).
    pub yarn_beta_slow: f32,
    /// YaRN original context (0: model's).
    pub yarn_orig_ctx: u32,
    /// Full-size SWA cache.
    pub swa_full: bool,
    /// KV cache and attention on the layer's device (simulated GPUs).
    pub offload_kqv: bool,
    /// Host weights staged on a GPU for large micro-batches (planned on simulated GPUs).
    pub op_offload: bool,
}

impl Default for ContextParams {
    fn default() -> Self {
        ContextParams {
            n_ctx: 512,
            n_batch: 2048,
            n_ubatch: 512,
            n_seq_max: 1,
            n_threads: 4,
            n_threads_batch: 4,
            flash_attn: -1,
            type_k: GgmlType::F16,
            type_v: GgmlType::F16,
            embeddings: false,
            pooling_type: -1,
            attention_type: -1,
            kv_unified: false,
            rope_scaling_type: -1,
            rope_freq_base: 0.0,
            rope_freq_scale: 0.0,
            yarn_ext_factor: -1.0,
            yarn_attn_factor: -1.0,
            yarn_beta_fast: -1.0,
            yarn_beta_slow: -1.0,
            yarn_orig_ctx: 0,
            swa_full: true,
            offload_kqv: true,
            op_offload: true,
        }
    }
}

/// Resolved parameters.
#[derive(Clone, Debug)]
pub struct CParams {
    /// Context size (cells of the main cache).
    pub n_ctx: u32,
    /// Context per sequence.
    pub n_ctx_seq: u32,
    /// Batch limit.
    pub n_batch: u32,
    /// Micro-batch size.
    pub n_ubatch: u32,
    /// Sequences.
    pub n_seq_max: u32,
    /// Threads (single token / batch).
    pub n_threads: usize,
    /// Threads for batches.
    pub n_threads_batch: usize,
    /// Flash attention.
    pub flash_attn: bool,
    /// Embeddings.
    pub embeddings: bool,
    /// Pooling type (0 none, 1 mean, 2 cls, 3 last).
    pub pooling_type: i32,
    /// RoPE settings.
    pub rope: RopeCfg,
    /// Cells of the SWA cache (0: none).
    pub n_ctx_swa: u32,
    /// K type.
    pub type_k: GgmlType,
    /// V type.
    pub type_v: GgmlType,
}

fn pad(x: u32, n: u32) -> u32 {
    x.div_ceil(n) * n
}

/// Resolves `p` against the model.
pub fn resolve(hp: &HParams, p: &ContextParams) -> Result<CParams> {
    let n_seq_max = p.n_seq_max.max(1);
    if n_seq_max as usize > crate::kv_cache::MAX_SEQ {
        return Err(Error::invalid(format!(
            "n_seq_max must be <= {}",
            crate::kv_cache::MAX_SEQ
        )));
    }
    let mut n_ctx = if p.n_ctx == 0 {
        hp.n_ctx_train
    } else {
        p.n_ctx
    };
    n_ctx = pad(n_ctx.max(1), 256);
    let n_ctx_seq = if p.kv_unified {
        n_ctx
    } else {
        let s = pad((n_ctx / n_seq_max).max(1), 256);
        n_ctx = s * n_seq_max;
        s
    };
    let n_batch = if hp.causal_attn {
        n_ctx.min(p.n_batch.max(1))
    } else {
        p.n_batch.max(1)
    };
    let n_ubatch = n_batch.min(if p.n_ubatch == 0 { n_batch } else { p.n_ubatch });

    let scaling = match p.rope_scaling_type {
        -1 => hp.rope_scaling_type_train,
        0 => RopeScaling::None,
        1 => RopeScaling::Linear,
        2 => RopeScaling::Yarn,
        3 => RopeScaling::LongRope,
        o => return Err(Error::invalid(format!("rope_scaling_type {o}"))),
    };
    let freq_base = if p.rope_freq_base == 0.0 {
        hp.rope_freq_base_train
    } else {
        p.rope_freq_base
    };
    let mut freq_scale = if p.rope_freq_scale == 0.0 {
        hp.rope_freq_scale_train
    } else {
        p.rope_freq_scale
    };
    if scaling == RopeScaling::None {
        freq_scale = 1.0;
    }
    let n_ctx_orig = if p.yarn_orig_ctx != 0 {
        p.yarn_orig_ctx
    } else if hp.n_ctx_orig_yarn != 0 {
        hp.n_ctx_orig_yarn
    } else {
        hp.n_ctx_train
    };
    let pick = |v: f32, d: f32| if v >= 0.0 { v } else { d };
    let mut ext_factor = pick(p.yarn_ext_factor, hp.yarn_ext_factor);
    let mut attn_factor = pick(p.yarn_attn_factor, hp.yarn_attn_factor);
    let beta_fast = pick(p.yarn_beta_fast, hp.yarn_beta_fast);
    let beta_slow = pick(p.yarn_beta_slow, hp.yarn_beta_slow);
    if ext_factor < 0.0 {
        ext_factor = if scaling == RopeScaling::Yarn {
            1.0
        } else {
            0.0
        };
    }
    if ext_factor != 0.0 {
        let get_mscale = |scale: f32, mscale: f32| {
            if scale <= 1.0 {
                1.0
            } else {
                0.1 * mscale * scale.ln() + 1.0
            }
        };
        let factor = 1.0 / freq_scale;
        if hp.rope_yarn_log_mul != 0.0 {
            let all = hp.rope_yarn_log_mul;
            let mscale = if hp.arch == crate::model::Arch::Deepseek2 && all != 1.0 {
                all
            } else {
                1.0
            };
            attn_factor = get_mscale(factor, mscale) / get_mscale(factor, all);
        } else {
            attn_factor = get_mscale(factor, 1.0);
        }
        attn_factor *= 1.0 / (1.0 + 0.1 * factor.ln());
    }
    attn_factor *= hp.rope_attn_factor;

    let flash_attn = p.flash_attn != 0;
    if p.type_v.is_quantized() && !flash_attn {
        return Err(Error::invalid("V cache quantization requires flash_attn"));
    }
    let n_ctx_swa = if hp.has_swa() {
        if p.swa_full {
            n_ctx
        } else {
            n_ctx.min(pad(hp.n_swa * n_seq_max + n_ubatch, 256))
        }
    } else {
        0
    };
    let n_threads = p.n_threads.max(1) as usize;
    let n_threads_batch = p.n_threads_batch.max(1) as usize;
    let pooling_type = if p.pooling_type < 0 {
        hp.pooling_type.max(0)
    } else {
        p.pooling_type
    };
    Ok(CParams {
        n_ctx,
        n_ctx_seq,
        n_batch,
        n_ubatch,
        n_seq_max,
        n_threads,
        n_threads_batch,
        flash_attn,
        embeddings: p.embeddings,
        pooling_type,
        rope: RopeCfg {
            freq_base,
            freq_scale,
            n_ctx_orig: n_ctx_orig as i32,
            ext_factor,
            attn_factor,
            beta_fast,
            beta_slow,
            use_long_factors: n_ctx_seq > hp.n_ctx_orig_yarn,
        },
        n_ctx_swa,
        type_k: p.type_k,
        type_v: p.type_v,
    })
}

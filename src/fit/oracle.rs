//! The compute arena of a device, asked of an [`ArenaOracle`].
//!
//! The real answer comes from the engine's liveness planner run over every graph shape the
//! context can execute (micro-batch sizes up to `n_ubatch`, KV lengths up to `n_ctx`, output
//! counts up to `n_outputs_max`): the arena is the maximum. That needs the model's graph
//! builders; until they are wired in, [`AnalyticOracle`] answers with a closed-form bound for
//! llama-family and deepseek2 graphs (see its documentation).

use super::model::ModelDesc;
use crate::quant::GgmlType;

/// A set of layer indices (at most 512, upstream's `LLAMA_MAX_LAYERS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerSet([u64; 8]);

impl LayerSet {
    /// Adds layer `il` (ignored past 511).
    pub fn insert(&mut self, il: u32) {
        if let Some(w) = self.0.get_mut(il as usize / 64) {
            *w |= 1 << (il % 64);
        }
    }
    /// Whether layer `il` is in the set.
    pub fn contains(&self, il: u32) -> bool {
        self.0
            .get(il as usize / 64)
            .is_some_and(|w| w & (1 << (il % 64)) != 0)
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
    /// Union.
    pub fn union(&self, o: &LayerSet) -> LayerSet {
        let mut r = *self;
        for (a, b) in r.0.iter_mut().zip(o.0) {
            *a |= b;
        }
        r
    }
}

/// What one device computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceWork {
    /// Device index (`n_gpus` is the host).
    pub device: usize,
    /// The host.
    pub is_host: bool,
    /// Layers whose weight matmuls (attention projections, dense FFN, shared experts, router)
    /// run here.
    pub dense: LayerSet,
    /// Layers whose attention over the KV cache (KQ, softmax, KQV) runs here.
    pub attn: LayerSet,
    /// Layers whose routed experts run here.
    pub experts: LayerSet,
    /// Token embedding lookup.
    pub input: bool,
    /// Output norm and logits.
    pub output: bool,
}

/// The graph shapes the arena must cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaShape {
    /// Largest micro-batch (tokens over all streams).
    pub max_ubatch: u32,
    /// KV cells one stream attends over, full-attention layers.
    pub n_kv: u32,
    /// KV cells one stream attends over, sliding-window layers.
    pub n_kv_swa: u32,
    /// Most output rows.
    pub n_outputs: u32,
    /// Flash attention.
    pub flash_attn: bool,
    /// K cache type.
    pub type_k: GgmlType,
    /// V cache type.
    pub type_v: GgmlType,
}

/// Bytes of a device's arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaBytes {
    /// Tensors of the graph (intermediates and graph inputs).
    pub compute: u64,
    /// Kernel scratch (activation conversion for matmuls, expert row maps), when the oracle
    /// reports it apart; an oracle that plans workspaces inside the arena returns 0 here.
    pub scratch: u64,
}

/// Answers "how large must this device's arena be".
pub trait ArenaOracle {
    /// Arena of `work` on `model` for every shape up to `shape`.
    fn arena_bytes(&self, model: &ModelDesc, work: &DeviceWork, shape: &ArenaShape) -> ArenaBytes;
}

/// A closed-form bound on the arena of llama-family (llama, qwen2/3, qwen3moe, gemma3, phi3)
/// and deepseek2 (MLA) graphs, in f32 intermediates.
///
/// For each layer it adds up *every* intermediate of the layer's attention and FFN (not only
/// those alive at once), plus the residual stream, the graph inputs (KQ mask, positions) and
/// the output head; a device's arena is the largest layer it runs plus its input/output work.
/// A liveness planner that frees a layer's temporaries before the next layer needs at most
/// this much, so it is meant as an upper bound — it is checked against the engine planner once
/// the graph builders are plugged in, and numbers from it are labelled "analytic" in tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnalyticOracle;

const F32: u128 = 4;

impl AnalyticOracle {
    /// Bytes of layer `il`'s pieces: (dense matmuls, attention over the cache, routed experts),
    /// in u128 so that no shape a caller or a file can give overflows.
    pub fn layer_terms(m: &ModelDesc, il: u32, s: &ArenaShape) -> (u128, u128, u128) {
        let t = s.max_ubatch as u128;
        let e = m.n_embd as u128;
        let i = il as usize;
        let nh = m.n_head[i] as u128;
        let nkv = if m.is_swa(il) { s.n_kv_swa } else { s.n_kv } as u128;
        let hk = m.n_embd_head_k as u128;
        let hv = m.n_embd_head_v as u128;
        let k_gqa = m.n_embd_k_gqa(il) as u128;
        let v_gqa = m.n_embd_v_gqa(il) as u128;
        let moe = m.n_expert > 0 && m.layer_has_experts(il);
        // residual stream, norms, attention output
        let mut dense = 4 * e;
        if m.is_mla {
            let hk_mla = m.n_embd_head_k_mla as u128;
            let hv_mla = m.n_embd_head_v_mla as u128;
            // q_a, q (nope+rope), kv_a (latent + rope), absorbed q, decompressed v, merged
            dense += m.n_lora_q as u128
                + 2 * nh * hk_mla
                + 2 * k_gqa
                + nh * hk
                + 2 * nh * hv_mla
                + nh * hv;
        } else {
            dense += 2 * nh * hk + 2 * k_gqa + 2 * v_gqa + 2 * nh * hv;
        }
        if moe {
            let n_used = m.n_expert_used as u128;
            dense += 3 * m.n_ff_exp as u128 * m.n_expert_shared as u128
                + 3 * m.n_expert as u128
                + 2 * n_used;
        } else {
            dense += 3 * m.n_ff[i] as u128;
        }
        let dense = dense * t * F32;
        // attention over the cache: KQ mask input, KQ, softmax, KQV (+ f16 copies for FA)
        let mut attn = nkv * t * F32 + 2 * t * F32 + 2 * nh * hv * t * F32;
        if s.flash_attn {
            attn += nkv * t * 2;
            if s.type_k != GgmlType::F16 {
                attn += nkv * k_gqa * 2;
            }
            if s.type_v != GgmlType::F16 && !m.is_mla {
                attn += nkv * v_gqa * 2;
            }
        } else {
            attn += 2 * nkv * t * nh * F32;
            if m.is_mla {
                // the latent V is a transposed view of the K cache, made contiguous
                attn += nkv * hv * F32;
            }
        }
        let experts = if moe {
            let n_used = m.n_expert_used as u128;
            (3 * m.n_ff_exp as u128 * n_used + e * n_used + 2 * e) * t * F32
        } else {
            0
        };
        (dense, attn, experts)
    }
}

/// u128 → u64, saturating (absurd shapes give an absurd, not a wrapped, size).
fn sat(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

impl ArenaOracle for AnalyticOracle {
    fn arena_bytes(&self, m: &ModelDesc, w: &DeviceWork, s: &ArenaShape) -> ArenaBytes {
        let t = s.max_ubatch as u128;
        let e = m.n_embd as u128;
        let mut layer_max = 0u128;
        let mut max_in = e;
        let mut any = false;
        let mut any_exp = false;
        let all = w.dense.union(&w.attn).union(&w.experts);
        for il in 0..m.n_layer {
            if !all.contains(il) {
                continue;
            }
            any = true;
            let (d, a, x) = AnalyticOracle::layer_terms(m, il, s);
            let mut b = 0;
            if w.dense.contains(il) {
                b += d;
                let i = il as usize;
                max_in = max_in
                    .max(m.n_ff[i] as u128)
                    .max(m.n_head[i] as u128 * m.n_embd_head_v.max(m.n_embd_head_v_mla) as u128)
                    .max(m.n_lora_q as u128);
            }
            if w.attn.contains(il) {
                b += a;
            }
            if w.experts.contains(il) && x > 0 {
                b += x;
                any_exp = true;
                max_in = max_in.max(m.n_ff_exp as u128);
            }
            layer_max = layer_max.max(b);
        }
        let mut compute = layer_max;
        if any {
            // the residual carried in and out of each layer
            compute += 2 * e * t * F32;
        }
        if w.input {
            compute += e * t * F32 + t * F32;
        }
        if w.output {
            let o = s.n_outputs as u128;
            compute += o * (m.n_vocab as u128 + 2 * e) * F32 + o * F32;
            max_in = max_in.max(e);
        }
        let mut scratch = 0;
        if any || w.output {
            scratch = t * max_in * F32;
            if any_exp {
                scratch += m.n_expert as u128 * t * 8;
            }
        }
        ArenaBytes {
            compute: sat(compute),
            scratch: sat(scratch),
        }
    }
}

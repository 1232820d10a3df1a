//! Typed hyper-parameters, read once from GGUF metadata with upstream's keys and defaults
//! (`llama_model_base::load_hparams` + each architecture's `load_arch_hparams`).
//!
//! Model code reads `hparams.n_head_kv(il)`, never a metadata key. Reading goes through the
//! small [`Meta`] trait so that it can be tested on a plain map.

#![forbid(unsafe_code)]

use super::arch::{kv, Arch};
use crate::error::{Error, Result};

/// Upper bound on layers (upstream's `LLAMA_MAX_LAYERS`).
pub const MAX_LAYERS: usize = 512;

/// RoPE scaling types (`llama_rope_scaling_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeScaling {
    /// No scaling (`freq_scale` forced to 1).
    None,
    /// Linear position interpolation.
    Linear,
    /// YaRN.
    Yarn,
    /// LongRoPE (per-dimension factors from tensors).
    LongRope,
}

impl RopeScaling {
    /// Parses the `rope.scaling.type` string.
    pub fn from_name(s: &str) -> Result<RopeScaling> {
        Ok(match s {
            "none" => RopeScaling::None,
            "linear" => RopeScaling::Linear,
            "yarn" => RopeScaling::Yarn,
            "longrope" => RopeScaling::LongRope,
            o => return Err(Error::format(format!("unknown rope scaling type '{o}'"))),
        })
    }
    /// The `llama_rope_scaling_type` number.
    pub fn as_i32(self) -> i32 {
        match self {
            RopeScaling::None => 0,
            RopeScaling::Linear => 1,
            RopeScaling::Yarn => 2,
            RopeScaling::LongRope => 3,
        }
    }
}

/// Expert gating function (`llama_expert_gating_func_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gating {
    /// softmax over all experts, then top-k.
    Softmax,
    /// sigmoid per expert, then top-k (optionally on biased scores).
    Sigmoid,
}

/// Typed reads of metadata keys; `Ok(None)` when a key is absent, `Err` on a type mismatch.
pub trait Meta {
    /// A string value.
    fn meta_str(&self, key: &str) -> Result<Option<String>>;
    /// An unsigned integer (any integer type that fits).
    fn meta_u32(&self, key: &str) -> Result<Option<u32>>;
    /// A float.
    fn meta_f32(&self, key: &str) -> Result<Option<f32>>;
    /// A bool.
    fn meta_bool(&self, key: &str) -> Result<Option<bool>>;
    /// An integer array (`None` when absent or not an array).
    fn meta_u32_array(&self, key: &str) -> Result<Option<Vec<u32>>>;
    /// Length of an array value (`None` when absent or not an array).
    fn meta_array_len(&self, key: &str) -> Option<usize>;
}

/// Hyper-parameters of one model.
#[derive(Clone, Debug)]
pub struct HParams {
    /// The architecture.
    pub arch: Arch,
    /// `general.name`.
    pub name: Option<String>,
    /// Tokens in the vocabulary (from `vocab_size` or the tokenizer list; 0 when unknown).
    pub n_vocab: u32,
    /// Training context length.
    pub n_ctx_train: u32,
    /// Embedding width.
    pub n_embd: u32,
    /// Number of blocks.
    pub n_layer: u32,
    /// Query heads per layer.
    pub n_head_arr: Vec<u32>,
    /// KV heads per layer.
    pub n_head_kv_arr: Vec<u32>,
    /// FFN width per layer.
    pub n_ff_arr: Vec<u32>,
    /// Head size of K (for MLA: `kv_lora_rank + n_rot`, the cached row).
    pub n_embd_head_k: u32,
    /// Head size of V (for MLA: `kv_lora_rank`).
    pub n_embd_head_v: u32,
    /// Rotated dimensions per head.
    pub n_rot: u32,
    /// RMS norm epsilon.
    pub f_norm_rms_eps: f32,
    /// Routed experts (0: dense).
    pub n_expert: u32,
    /// Experts used per token.
    pub n_expert_used: u32,
    /// Routed-expert FFN width.
    pub n_ff_exp: u32,
    /// Shared experts (deepseek2).
    pub n_expert_shared: u32,
    /// Leading dense layers (deepseek2).
    pub n_layer_dense_lead: u32,
    /// Scale on the routing weights (0: none).
    pub expert_weights_scale: f32,
    /// Normalise the selected routing weights to sum 1.
    pub expert_weights_norm: bool,
    /// Gating function.
    pub expert_gating: Gating,
    /// q LoRA rank (deepseek2; 0 = plain `attn_q`).
    pub n_lora_q: u32,
    /// kv LoRA rank (deepseek2 latent width).
    pub n_lora_kv: u32,
    /// MLA decompressed K head size (0 when not MLA).
    pub n_embd_head_k_mla: u32,
    /// MLA decompressed V head size (0 when not MLA).
    pub n_embd_head_v_mla: u32,
    /// RoPE base frequency.
    pub rope_freq_base_train: f32,
    /// RoPE base frequency of sliding-window layers.
    pub rope_freq_base_train_swa: f32,
    /// RoPE frequency scale (1 / factor).
    pub rope_freq_scale_train: f32,
    /// RoPE scaling type.
    pub rope_scaling_type_train: RopeScaling,
    /// Original context of YaRN / LongRoPE.
    pub n_ctx_orig_yarn: u32,
    /// Extra attention factor applied on top of YaRN's.
    pub rope_attn_factor: f32,
    /// YaRN log multiplier (deepseek2, already divided by 0.1 as upstream does).
    pub rope_yarn_log_mul: f32,
    /// YaRN parameters from metadata (-1 / defaults when absent).
    pub yarn_ext_factor: f32,
    /// YaRN attention factor default.
    pub yarn_attn_factor: f32,
    /// YaRN beta fast.
    pub yarn_beta_fast: f32,
    /// YaRN beta slow.
    pub yarn_beta_slow: f32,
    /// Sliding window size (0: none).
    pub n_swa: u32,
    /// Per layer: is it a sliding-window layer.
    pub is_swa: Vec<bool>,
    /// Final logit soft-capping (0: off).
    pub f_final_logit_softcapping: f32,
    /// Explicit attention scale (0: 1/sqrt(head size)).
    pub f_attention_scale: f32,
    /// Causal attention.
    pub causal_attn: bool,
    /// Pooling type from metadata (-1 unspecified).
    pub pooling_type: i32,
}

fn key(arch: Arch, k: &str) -> String {
    format!("{}.{k}", arch.name())
}

/// Reads a key that is a scalar or a per-layer array into `n_layer` values.
fn key_or_arr<M: Meta>(m: &M, k: &str, n_layer: u32, dst: &mut [u32]) -> Result<bool> {
    if let Ok(Some(v)) = m.meta_u32(k) {
        dst.iter_mut().for_each(|x| *x = v);
        return Ok(true);
    }
    if let Some(a) = m.meta_u32_array(k)? {
        if a.len() != n_layer as usize {
            return Err(Error::format(format!(
                "{k}: array of {} values for {n_layer} layers",
                a.len()
            )));
        }
        dst.copy_from_slice(&a);
        return Ok(true);
    }
    Ok(false)
}

fn req<T>(v: Option<T>, k: &str) -> Result<T> {
    v.ok_or_else(|| Error::format(format!("key not found in model: {k}")))
}

impl HParams {
    /// Reads the hyper-parameters of `m` (its `general.architecture` must be supported).
    pub fn from_meta<M: Meta>(m: &M) -> Result<HParams> {
        let arch_name = req(
            m.meta_str(kv::GENERAL_ARCHITECTURE)?,
            kv::GENERAL_ARCHITECTURE,
        )?;
        let arch = Arch::from_name(&arch_name)?;
        let k = |s: &str| key(arch, s);
        let u32_opt = |s: &str| m.meta_u32(&k(s));
        let f32_opt = |s: &str| m.meta_f32(&k(s));

        let n_layer = req(u32_opt(kv::BLOCK_COUNT)?, &k(kv::BLOCK_COUNT))?;
        if n_layer == 0 || n_layer as usize > MAX_LAYERS {
            return Err(Error::format(format!("block_count {n_layer} out of range")));
        }
        let n_embd = req(u32_opt(kv::EMBEDDING_LENGTH)?, &k(kv::EMBEDDING_LENGTH))?;
        let n_ctx_train = req(u32_opt(kv::CONTEXT_LENGTH)?, &k(kv::CONTEXT_LENGTH))?;
        let nl = n_layer as usize;
        let mut n_head_arr = vec![0u32; nl];
        let mut n_ff_arr = vec![0u32; nl];
        key_or_arr(m, &k(kv::FEED_FORWARD_LENGTH), n_layer, &mut n_ff_arr)?;
        key_or_arr(m, &k(kv::ATTENTION_HEAD_COUNT), n_layer, &mut n_head_arr)?;
        let mut n_head_kv_arr = n_head_arr.clone();
        key_or_arr(
            m,
            &k(kv::ATTENTION_HEAD_COUNT_KV),
            n_layer,
            &mut n_head_kv_arr,
        )?;
        let n_head = n_head_arr[0];
        if n_head == 0 {
            return Err(Error::format(format!("{}: head_count is 0", arch.name())));
        }
        if n_head_kv_arr
            .iter()
            .zip(&n_head_arr)
            .any(|(&kv, &h)| kv == 0 || h % kv != 0)
        {
            return Err(Error::format(
                "head_count is not a multiple of head_count_kv",
            ));
        }
        let n_expert = u32_opt(kv::EXPERT_COUNT)?.unwrap_or(0);
        let n_expert_used = u32_opt(kv::EXPERT_USED_COUNT)?.unwrap_or(0);
        if n_expert_used > n_expert || (n_expert > 0 && n_expert_used == 0) || n_expert > 512 {
            return Err(Error::format(format!(
                "invalid expert counts: expert_count {n_expert}, expert_used_count {n_expert_used}"
            )));
        }

        let n_embd_head_k = u32_opt(kv::ATTENTION_KEY_LENGTH)?.unwrap_or(n_embd / n_head);
        let n_embd_head_v = u32_opt(kv::ATTENTION_VALUE_LENGTH)?.unwrap_or(n_embd / n_head);
        let n_rot = u32_opt(kv::ROPE_DIMENSION_COUNT)?.unwrap_or(n_embd_head_k);
        if arch == Arch::Llama && n_rot != n_embd_head_k {
            return Err(Error::format(format!(
                "invalid n_rot: {n_rot}, expected {n_embd_head_k}"
            )));
        }
        let n_ctx_orig_yarn = u32_opt(kv::ROPE_SCALING_ORIG_CTX_LEN)?.unwrap_or(n_ctx_train);
        let rope_freq_base_train = f32_opt(kv::ROPE_FREQ_BASE)?.unwrap_or(10000.0);
        let scaling = m
            .meta_str(&k(kv::ROPE_SCALING_TYPE))?
            .unwrap_or_else(|| "linear".into());
        let rope_scaling_type_train = RopeScaling::from_name(&scaling)?;
        let factor = match f32_opt(kv::ROPE_SCALING_FACTOR)? {
            Some(f) => f,
            None => f32_opt(kv::ROPE_SCALE_LINEAR)?.unwrap_or(0.0),
        };
        let rope_freq_scale_train = if factor == 0.0 { 1.0 } else { 1.0 / factor };

        let n_vocab = match u32_opt(kv::VOCAB_SIZE)? {
            Some(v) => v,
            None => m.meta_array_len("tokenizer.ggml.tokens").unwrap_or(0) as u32,
        };

        let mut hp = HParams {
            arch,
            name: m.meta_str(kv::GENERAL_NAME)?,
            n_vocab,
            n_ctx_train,
            n_embd,
            n_layer,
            n_head_arr,
            n_head_kv_arr,
            n_ff_arr,
            n_embd_head_k,
            n_embd_head_v,
            n_rot,
            f_norm_rms_eps: req(
                f32_opt(kv::ATTENTION_LAYERNORM_RMS_EPS)?,
                &k(kv::ATTENTION_LAYERNORM_RMS_EPS),
            )?,
            n_expert,
            n_expert_used,
            n_ff_exp: 0,
            n_expert_shared: 0,
            n_layer_dense_lead: 0,
            expert_weights_scale: 0.0,
            expert_weights_norm: false,
            expert_gating: Gating::Softmax,
            n_lora_q: 0,
            n_lora_kv: 0,
            n_embd_head_k_mla: 0,
            n_embd_head_v_mla: 0,
            rope_freq_base_train,
            rope_freq_base_train_swa: 10000.0,
            rope_freq_scale_train,
            rope_scaling_type_train,
            n_ctx_orig_yarn,
            rope_attn_factor: f32_opt(kv::ROPE_SCALING_ATTN_FACTOR)?.unwrap_or(1.0),
            rope_yarn_log_mul: 0.0,
            yarn_ext_factor: -1.0,
            yarn_attn_factor: 1.0,
            yarn_beta_fast: 32.0,
            yarn_beta_slow: 1.0,
            n_swa: 0,
            is_swa: vec![false; nl],
            f_final_logit_softcapping: 0.0,
            f_attention_scale: f32_opt(kv::ATTENTION_SCALE)?.unwrap_or(0.0),
            causal_attn: m.meta_bool(&k(kv::ATTENTION_CAUSAL))?.unwrap_or(true),
            pooling_type: u32_opt(kv::POOLING_TYPE)?.map_or(-1, |v| v as i32),
        };

        match arch {
            Arch::Qwen3Moe => {
                hp.n_ff_exp = u32_opt(kv::EXPERT_FEED_FORWARD_LENGTH)?.unwrap_or(0);
                if hp.n_ff_exp == 0 && n_expert_used > 0 {
                    hp.n_ff_exp = hp.n_ff_arr[0] / n_expert_used;
                }
            }
            Arch::Deepseek2 => {
                hp.n_layer_dense_lead = u32_opt(kv::LEADING_DENSE_BLOCK_COUNT)?.unwrap_or(0);
                let is_lite =
                    n_layer == 27 || n_layer == 26 || (n_layer == 48 && n_vocab == 128256);
                if !is_lite {
                    hp.n_lora_q = req(
                        u32_opt(kv::ATTENTION_Q_LORA_RANK)?,
                        &k(kv::ATTENTION_Q_LORA_RANK),
                    )?;
                }
                hp.n_lora_kv = req(
                    u32_opt(kv::ATTENTION_KV_LORA_RANK)?,
                    &k(kv::ATTENTION_KV_LORA_RANK),
                )?;
                hp.n_embd_head_k_mla = u32_opt(kv::ATTENTION_KEY_LENGTH_MLA)?.unwrap_or(0);
                hp.n_embd_head_v_mla = u32_opt(kv::ATTENTION_VALUE_LENGTH_MLA)?.unwrap_or(0);
                hp.n_ff_exp = req(
                    u32_opt(kv::EXPERT_FEED_FORWARD_LENGTH)?,
                    &k(kv::EXPERT_FEED_FORWARD_LENGTH),
                )?;
                hp.n_expert_shared = req(
                    u32_opt(kv::EXPERT_SHARED_COUNT)?,
                    &k(kv::EXPERT_SHARED_COUNT),
                )?;
                hp.expert_weights_scale = f32_opt(kv::EXPERT_WEIGHTS_SCALE)?.unwrap_or(0.0);
                hp.expert_weights_norm = m.meta_bool(&k(kv::EXPERT_WEIGHTS_NORM))?.unwrap_or(false);
                hp.expert_gating = match u32_opt(kv::EXPERT_GATING_FUNC)?.unwrap_or(0) {
                    0 | 1 => Gating::Softmax,
                    2 => Gating::Sigmoid,
                    g => {
                        return Err(Error::unsupported(format!("expert_gating_func {g}")));
                    }
                };
                if let Some(v) = f32_opt(kv::ROPE_SCALING_YARN_LOG_MUL)? {
                    hp.rope_yarn_log_mul = v / 0.1;
                }
                if hp.n_embd_head_k_mla == 0 || hp.n_embd_head_v_mla == 0 {
                    return Err(Error::unsupported(
                        "deepseek2 without split attn_k_b/attn_v_b (legacy wkv_b) is not supported",
                    ));
                }
                if n_rot >= hp.n_embd_head_k_mla {
                    return Err(Error::format("deepseek2: rope dimension >= key length"));
                }
            }
            Arch::Gemma3 => {
                let n_swa = u32_opt(kv::ATTENTION_SLIDING_WINDOW)?.unwrap_or(0);
                if n_swa > 0 {
                    hp.n_swa = n_swa;
                    let pat_key = k(kv::ATTENTION_SLIDING_WINDOW_PATTERN);
                    let mut pattern = 6u32;
                    match m.meta_u32(&pat_key) {
                        Ok(Some(p)) => pattern = p,
                        _ => {
                            if let Some(a) = m.meta_u32_array(&pat_key)? {
                                if a.len() < nl {
                                    return Err(Error::format(format!("{pat_key}: too short")));
                                }
                                pattern = 0;
                                for (s, &v) in hp.is_swa.iter_mut().zip(&a) {
                                    *s = v != 0;
                                }
                            }
                        }
                    }
                    if pattern != 0 || m.meta_u32_array(&pat_key)?.is_none() {
                        for (il, s) in hp.is_swa.iter_mut().enumerate() {
                            *s = pattern == 0 || (il as u32 % pattern) < pattern - 1;
                        }
                    }
                    hp.rope_freq_base_train_swa =
                        f32_opt(kv::ROPE_FREQ_BASE_SWA)?.unwrap_or(10000.0);
                }
                hp.f_final_logit_softcapping = f32_opt(kv::FINAL_LOGIT_SOFTCAPPING)?.unwrap_or(0.0);
                // 27B uses n_embd / n_head; the others 1/sqrt(head size)
                hp.f_attention_scale = if n_layer == 62 {
                    1.0 / ((n_embd / n_head) as f32).sqrt()
                } else {
                    1.0 / (n_embd_head_k as f32).sqrt()
                };
            }
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Phi3 => {}
        }
        if arch == Arch::Llama && n_expert > 0 {
            hp.n_ff_exp = hp.n_ff_arr[0];
        }
        Ok(hp)
    }

    /// Hyper-parameters of no layers at all: what a context of a vocab-only model is sized by
    /// (it can tokenize through its model but not decode).
    pub fn blank(arch: Arch) -> HParams {
        HParams {
            arch,
            name: None,
            n_vocab: 0,
            n_ctx_train: 0,
            n_embd: 0,
            n_layer: 0,
            n_head_arr: Vec::new(),
            n_head_kv_arr: Vec::new(),
            n_ff_arr: Vec::new(),
            n_embd_head_k: 0,
            n_embd_head_v: 0,
            n_rot: 0,
            f_norm_rms_eps: 0.0,
            n_expert: 0,
            n_expert_used: 0,
            n_ff_exp: 0,
            n_expert_shared: 0,
            n_layer_dense_lead: 0,
            expert_weights_scale: 0.0,
            expert_weights_norm: false,
            expert_gating: Gating::Softmax,
            n_lora_q: 0,
            n_lora_kv: 0,
            n_embd_head_k_mla: 0,
            n_embd_head_v_mla: 0,
            rope_freq_base_train: 10000.0,
            rope_freq_base_train_swa: 10000.0,
            rope_freq_scale_train: 1.0,
            rope_scaling_type_train: RopeScaling::Linear,
            n_ctx_orig_yarn: 0,
            rope_attn_factor: 1.0,
            rope_yarn_log_mul: 0.0,
            yarn_ext_factor: -1.0,
            yarn_attn_factor: 1.0,
            yarn_beta_fast: 32.0,
            yarn_beta_slow: 1.0,
            n_swa: 0,
            is_swa: Vec::new(),
            f_final_logit_softcapping: 0.0,
            f_attention_scale: 0.0,
            causal_attn: true,
            pooling_type: -1,
        }
    }

    /// Query heads of layer `il`.
    pub fn n_head(&self, il: usize) -> u32 {
        self.n_head_arr[il]
    }
    /// KV heads of layer `il`.
    pub fn n_head_kv(&self, il: usize) -> u32 {
        self.n_head_kv_arr[il]
    }
    /// FFN width of layer `il`.
    pub fn n_ff(&self, il: usize) -> u32 {
        self.n_ff_arr[il]
    }
    /// Row width of one cached K (all KV heads) of layer `il`.
    pub fn n_embd_k_gqa(&self, il: usize) -> u32 {
        self.n_embd_head_k * self.n_head_kv(il)
    }
    /// Row width of one cached V (all KV heads) of layer `il`.
    pub fn n_embd_v_gqa(&self, il: usize) -> u32 {
        self.n_embd_head_v * self.n_head_kv(il)
    }
    /// MLA (latent KV cache) model.
    pub fn is_mla(&self) -> bool {
        self.n_embd_head_k_mla != 0 && self.n_embd_head_v_mla != 0
    }
    /// Whether any layer uses the sliding window.
    pub fn has_swa(&self) -> bool {
        self.n_swa > 0 && self.is_swa.iter().any(|&s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Map(HashMap<String, String>);
    impl Meta for Map {
        fn meta_str(&self, k: &str) -> Result<Option<String>> {
            Ok(self.0.get(k).cloned())
        }
        fn meta_u32(&self, k: &str) -> Result<Option<u32>> {
            self.0
                .get(k)
                .map(|v| v.parse().map_err(|_| Error::format(k.to_string())))
                .transpose()
        }
        fn meta_f32(&self, k: &str) -> Result<Option<f32>> {
            self.0
                .get(k)
                .map(|v| v.parse().map_err(|_| Error::format(k.to_string())))
                .transpose()
        }
        fn meta_bool(&self, k: &str) -> Result<Option<bool>> {
            Ok(self.0.get(k).map(|v| v == "true"))
        }
        fn meta_u32_array(&self, _k: &str) -> Result<Option<Vec<u32>>> {
            Ok(None)
        }
        fn meta_array_len(&self, _k: &str) -> Option<usize> {
            None
        }
    }

    fn base(arch: &str) -> Map {
        let mut m = Map::default();
        let mut s = |k: &str, v: &str| {
            m.0.insert(
                if k.starts_with("general") {
                    k.into()
                } else {
                    format!("{arch}.{k}")
                },
                v.into(),
            );
        };
        s("general.architecture", arch);
        s("context_length", "4096");
        s("embedding_length", "256");
        s("block_count", "2");
        s("feed_forward_length", "256");
        s("attention.head_count", "4");
        s("attention.head_count_kv", "1");
        s("attention.layer_norm_rms_epsilon", "1e-6");
        m
    }

    #[test]
    fn llama_defaults() {
        let hp = HParams::from_meta(&base("llama"))
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!((hp.n_embd_head_k, hp.n_rot, hp.n_head_kv(1)), (64, 64, 1));
        assert_eq!(hp.rope_freq_base_train, 10000.0);
        assert_eq!(hp.rope_scaling_type_train, RopeScaling::Linear);
        assert_eq!(hp.n_ctx_orig_yarn, 4096);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = HParams::from_meta(&base("rwkv9"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("rwkv9"));
        let mut m = base("llama");
        m.0.remove("llama.block_count");
        let e = HParams::from_meta(&m)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("llama.block_count"), "{e}");
    }

    #[test]
    fn gemma3_swa_pattern() {
        let mut m = base("gemma3");
        m.0.insert("gemma3.attention.sliding_window".into(), "32".into());
        m.0.insert("gemma3.attention.sliding_window_pattern".into(), "2".into());
        let hp = HParams::from_meta(&m).map_err(|e| e.to_string()).unwrap();
        assert_eq!(hp.is_swa, vec![true, false]);
        assert!((hp.f_attention_scale - 0.125).abs() < 1e-7);
    }
}

//! Architectures, metadata keys and tensor names, spelled as llama.cpp spells them
//! (`src/llama-arch.cpp`): `general.architecture` values, `%s.`-prefixed hyper-parameter keys,
//! `blk.%d.`-prefixed tensor names.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};

/// The architectures this crate can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Llama 1/2/3, Mistral, Mixtral (merged `ffn_*_exps` experts).
    Llama,
    /// Qwen2 (q/k/v biases).
    Qwen2,
    /// Qwen3 (q/k RMS norms, explicit head size).
    Qwen3,
    /// Qwen3 MoE.
    Qwen3Moe,
    /// DeepSeek V2/V3 (MLA, shared experts, sigmoid/softmax routing).
    Deepseek2,
    /// Gemma 3 (sliding-window layers, post norms, GELU).
    Gemma3,
    /// Phi-3 (fused qkv / gate-up, LongRoPE).
    Phi3,
}

/// `llama_rope_type` values.
pub mod rope_type {
    /// No RoPE.
    pub const NONE: i32 = -1;
    /// Rotate pairs of consecutive values.
    pub const NORM: i32 = 0;
    /// Rotate pairs `(i, i + n_rot/2)` (GPT-NeoX style).
    pub const NEOX: i32 = 2;
}

impl Arch {
    /// Parses a `general.architecture` value.
    pub fn from_name(name: &str) -> Result<Arch> {
        Ok(match name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "qwen3moe" => Arch::Qwen3Moe,
            "deepseek2" => Arch::Deepseek2,
            "gemma3" => Arch::Gemma3,
            "phi3" => Arch::Phi3,
            other => {
                return Err(Error::unsupported(format!(
                    "unknown model architecture: '{other}'"
                )))
            }
        })
    }

    /// The `general.architecture` spelling (also the metadata key prefix).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Qwen3Moe => "qwen3moe",
            Arch::Deepseek2 => "deepseek2",
            Arch::Gemma3 => "gemma3",
            Arch::Phi3 => "phi3",
        }
    }

    /// The RoPE flavour (`llama_model_rope_type`).
    pub fn rope_type(self) -> i32 {
        match self {
            Arch::Llama | Arch::Deepseek2 => rope_type::NORM,
            Arch::Qwen2 | Arch::Qwen3 | Arch::Qwen3Moe | Arch::Gemma3 | Arch::Phi3 => {
                rope_type::NEOX
            }
        }
    }
}

/// Metadata key names (the part after `<arch>.`), as `LLM_KV_*` in upstream.
pub mod kv {
    /// `general.architecture`
    pub const GENERAL_ARCHITECTURE: &str = "general.architecture";
    /// `general.name`
    pub const GENERAL_NAME: &str = "general.name";
    /// `general.file_type`
    pub const GENERAL_FILE_TYPE: &str = "general.file_type";
    pub const VOCAB_SIZE: &str = "vocab_size";
    pub const CONTEXT_LENGTH: &str = "context_length";
    pub const EMBEDDING_LENGTH: &str = "embedding_length";
    pub const BLOCK_COUNT: &str = "block_count";
    pub const LEADING_DENSE_BLOCK_COUNT: &str = "leading_dense_block_count";
    pub const FEED_FORWARD_LENGTH: &str = "feed_forward_length";
    pub const EXPERT_FEED_FORWARD_LENGTH: &str = "expert_feed_forward_length";
    pub const EXPERT_SHARED_FEED_FORWARD_LENGTH: &str = "expert_shared_feed_forward_length";
    pub const EXPERT_COUNT: &str = "expert_count";
    pub const EXPERT_USED_COUNT: &str = "expert_used_count";
    pub const EXPERT_SHARED_COUNT: &str = "expert_shared_count";
    pub const EXPERT_WEIGHTS_SCALE: &str = "expert_weights_scale";
    pub const EXPERT_WEIGHTS_NORM: &str = "expert_weights_norm";
    pub const EXPERT_GATING_FUNC: &str = "expert_gating_func";
    pub const POOLING_TYPE: &str = "pooling_type";
    pub const FINAL_LOGIT_SOFTCAPPING: &str = "final_logit_softcapping";
    pub const ATTENTION_HEAD_COUNT: &str = "attention.head_count";
    pub const ATTENTION_HEAD_COUNT_KV: &str = "attention.head_count_kv";
    pub const ATTENTION_KEY_LENGTH: &str = "attention.key_length";
    pub const ATTENTION_VALUE_LENGTH: &str = "attention.value_length";
    pub const ATTENTION_KEY_LENGTH_MLA: &str = "attention.key_length_mla";
    pub const ATTENTION_VALUE_LENGTH_MLA: &str = "attention.value_length_mla";
    pub const ATTENTION_LAYERNORM_RMS_EPS: &str = "attention.layer_norm_rms_epsilon";
    pub const ATTENTION_CAUSAL: &str = "attention.causal";
    pub const ATTENTION_Q_LORA_RANK: &str = "attention.q_lora_rank";
    pub const ATTENTION_KV_LORA_RANK: &str = "attention.kv_lora_rank";
    pub const ATTENTION_SLIDING_WINDOW: &str = "attention.sliding_window";
    pub const ATTENTION_SLIDING_WINDOW_PATTERN: &str = "attention.sliding_window_pattern";
    pub const ATTENTION_SCALE: &str = "attention.scale";
    pub const ROPE_DIMENSION_COUNT: &str = "rope.dimension_count";
    pub const ROPE_FREQ_BASE: &str = "rope.freq_base";
    pub const ROPE_FREQ_BASE_SWA: &str = "rope.freq_base_swa";
    pub const ROPE_SCALE_LINEAR: &str = "rope.scale_linear";
    pub const ROPE_SCALING_TYPE: &str = "rope.scaling.type";
    pub const ROPE_SCALING_FACTOR: &str = "rope.scaling.factor";
    pub const ROPE_SCALING_ATTN_FACTOR: &str = "rope.scaling.attn_factor";
    pub const ROPE_SCALING_ORIG_CTX_LEN: &str = "rope.scaling.original_context_length";
    pub const ROPE_SCALING_FINETUNED: &str = "rope.scaling.finetuned";
    pub const ROPE_SCALING_YARN_LOG_MUL: &str = "rope.scaling.yarn_log_multiplier";
    pub const ROPE_SCALING_YARN_EXT_FACTOR: &str = "rope.scaling.yarn_ext_factor";
    pub const ROPE_SCALING_YARN_ATTN_FACTOR: &str = "rope.scaling.yarn_attn_factor";
    pub const ROPE_SCALING_YARN_BETA_FAST: &str = "rope.scaling.yarn_beta_fast";
    pub const ROPE_SCALING_YARN_BETA_SLOW: &str = "rope.scaling.yarn_beta_slow";
}

/// Tensor names (`LLM_TENSOR_*`); per-layer names take the block index.
pub mod tn {
    pub const TOKEN_EMBD: &str = "token_embd.weight";
    pub const OUTPUT_NORM: &str = "output_norm.weight";
    pub const OUTPUT: &str = "output.weight";
    pub const OUTPUT_BIAS: &str = "output.bias";
    pub const ROPE_FREQS: &str = "rope_freqs.weight";
    pub const ROPE_FACTORS_LONG: &str = "rope_factors_long.weight";
    pub const ROPE_FACTORS_SHORT: &str = "rope_factors_short.weight";

    /// `blk.{il}.{suffix}` (suffix like `attn_q.weight`).
    pub fn blk(il: usize, suffix: &str) -> String {
        format!("blk.{il}.{suffix}")
    }

    pub const ATTN_NORM: &str = "attn_norm.weight";
    pub const ATTN_Q: &str = "attn_q.weight";
    pub const ATTN_K: &str = "attn_k.weight";
    pub const ATTN_V: &str = "attn_v.weight";
    pub const ATTN_Q_BIAS: &str = "attn_q.bias";
    pub const ATTN_K_BIAS: &str = "attn_k.bias";
    pub const ATTN_V_BIAS: &str = "attn_v.bias";
    pub const ATTN_QKV: &str = "attn_qkv.weight";
    pub const ATTN_QKV_BIAS: &str = "attn_qkv.bias";
    pub const ATTN_OUT: &str = "attn_output.weight";
    pub const ATTN_OUT_BIAS: &str = "attn_output.bias";
    pub const ATTN_Q_NORM: &str = "attn_q_norm.weight";
    pub const ATTN_K_NORM: &str = "attn_k_norm.weight";
    pub const ATTN_POST_NORM: &str = "post_attention_norm.weight";
    pub const ATTN_Q_A: &str = "attn_q_a.weight";
    pub const ATTN_Q_B: &str = "attn_q_b.weight";
    pub const ATTN_Q_A_NORM: &str = "attn_q_a_norm.weight";
    pub const ATTN_KV_A_MQA: &str = "attn_kv_a_mqa.weight";
    pub const ATTN_KV_A_NORM: &str = "attn_kv_a_norm.weight";
    pub const ATTN_K_B: &str = "attn_k_b.weight";
    pub const ATTN_V_B: &str = "attn_v_b.weight";
    pub const FFN_NORM: &str = "ffn_norm.weight";
    pub const FFN_POST_NORM: &str = "post_ffw_norm.weight";
    pub const FFN_GATE: &str = "ffn_gate.weight";
    pub const FFN_UP: &str = "ffn_up.weight";
    pub const FFN_DOWN: &str = "ffn_down.weight";
    pub const FFN_GATE_INP: &str = "ffn_gate_inp.weight";
    pub const FFN_GATE_EXPS: &str = "ffn_gate_exps.weight";
    pub const FFN_UP_EXPS: &str = "ffn_up_exps.weight";
    pub const FFN_DOWN_EXPS: &str = "ffn_down_exps.weight";
    pub const FFN_EXP_PROBS_B: &str = "exp_probs_b.bias";
    pub const FFN_GATE_SHEXP: &str = "ffn_gate_shexp.weight";
    pub const FFN_UP_SHEXP: &str = "ffn_up_shexp.weight";
    pub const FFN_DOWN_SHEXP: &str = "ffn_down_shexp.weight";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [
            Arch::Llama,
            Arch::Qwen2,
            Arch::Qwen3,
            Arch::Qwen3Moe,
            Arch::Deepseek2,
            Arch::Gemma3,
            Arch::Phi3,
        ] {
            assert_eq!(Arch::from_name(a.name()).ok(), Some(a));
        }
        let e = Arch::from_name("mamba")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("mamba"), "{e}");
    }
}

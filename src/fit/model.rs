//! What the plan needs to know about a model: a few hyper-parameters and the weight list with
//! each tensor's size and role (input / output / layer `il`, dense part or routed experts).
//!
//! Read from GGUF metadata with upstream's keys (`%s.block_count`, `%s.attention.key_length`,
//! ...); no tensor data is touched, so a sparse 1 TB file is read in milliseconds.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// Where a weight belongs in upstream's layer assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightRole {
    /// `token_embd.*`: the input layer (always on the host, as upstream).
    Input,
    /// `output*`, `output_norm*` and other tensors outside `blk.*`: the output layer.
    Output,
    /// A tensor of block `il`; `expert` for routed experts (`ffn_*_exps`, `ffn_*_chexps`).
    Layer {
        /// Block index.
        il: u32,
        /// Routed-expert tensor (may be placed apart from the layer's dense part).
        expert: bool,
    },
}

/// One weight tensor.
#[derive(Clone, Debug)]
pub struct WeightDesc {
    /// Tensor name (`blk.3.ffn_up_exps.weight`).
    pub name: String,
    /// Bytes of data (`TensorInfo::n_bytes`).
    pub n_bytes: u64,
    /// Role.
    pub role: WeightRole,
}

/// Hyper-parameters and weights of a model, as the memory plan sees them.
#[derive(Clone, Debug)]
pub struct ModelDesc {
    /// `general.architecture`.
    pub arch: String,
    /// Number of blocks.
    pub n_layer: u32,
    /// Embedding width.
    pub n_embd: u32,
    /// Vocabulary size.
    pub n_vocab: u32,
    /// Training context.
    pub n_ctx_train: u32,
    /// Query heads per layer.
    pub n_head: Vec<u32>,
    /// KV heads per layer.
    pub n_head_kv: Vec<u32>,
    /// FFN width per layer.
    pub n_ff: Vec<u32>,
    /// Cached K head size (MLA: `kv_lora_rank + n_rot`).
    pub n_embd_head_k: u32,
    /// Cached V head size.
    pub n_embd_head_v: u32,
    /// MLA (latent cache, no V cache): `key_length_mla` and `value_length_mla` both present.
    pub is_mla: bool,
    /// MLA decompressed K / V head sizes (0 when not MLA).
    pub n_embd_head_k_mla: u32,
    /// See `n_embd_head_k_mla`.
    pub n_embd_head_v_mla: u32,
    /// q LoRA rank (deepseek2).
    pub n_lora_q: u32,
    /// kv LoRA rank (deepseek2).
    pub n_lora_kv: u32,
    /// Routed experts.
    pub n_expert: u32,
    /// Experts per token.
    pub n_expert_used: u32,
    /// Routed-expert FFN width.
    pub n_ff_exp: u32,
    /// Shared experts.
    pub n_expert_shared: u32,
    /// Sliding window (0: none).
    pub n_swa: u32,
    /// Per layer: sliding-window layer.
    pub is_swa: Vec<bool>,
    /// Per layer: has routed-expert tensors.
    pub expert_layers: Vec<bool>,
    /// Every weight, in file order.
    pub weights: Vec<WeightDesc>,
}

/// Classifies a tensor name as upstream's loader assigns it.
pub fn weight_role(name: &str) -> WeightRole {
    if let Some(rest) = name.strip_prefix("blk.") {
        if let Some((num, tail)) = rest.split_once('.') {
            if let Ok(il) = num.parse::<u32>() {
                let expert = tail.contains("_exps") || tail.contains("_chexps");
                return WeightRole::Layer { il, expert };
            }
        }
    }
    if name.starts_with("token_embd") {
        WeightRole::Input
    } else {
        WeightRole::Output
    }
}

fn per_layer(g: &GgufFile, key: &str, n_layer: u32, default: u32) -> Result<Vec<u32>> {
    if let Ok(Some(v)) = g.get_u32(key) {
        return Ok(vec![v; n_layer as usize]);
    }
    match g.get_u32_array(key) {
        Ok(Some(a)) if a.len() == n_layer as usize => Ok(a),
        Ok(Some(a)) => Err(Error::format(format!(
            "{key}: {} values for {n_layer} layers",
            a.len()
        ))),
        _ => Ok(vec![default; n_layer as usize]),
    }
}

impl ModelDesc {
    /// Reads the description from a GGUF file's metadata and tensor list.
    pub fn from_gguf(g: &GgufFile) -> Result<ModelDesc> {
        let arch = g
            .get_str("general.architecture")?
            .ok_or_else(|| Error::format("key not found in model: general.architecture"))?
            .to_string();
        let k = |s: &str| format!("{arch}.{s}");
        let req = |key: String| -> Result<u32> {
            g.get_u32(&key)?
                .ok_or_else(|| Error::format(format!("key not found in model: {key}")))
        };
        let n_layer = req(k("block_count"))?;
        if n_layer == 0 || n_layer > 512 {
            return Err(Error::format(format!("block_count {n_layer} out of range")));
        }
        let n_embd = req(k("embedding_length"))?;
        let n_ctx_train = req(k("context_length"))?;
        let n_head = per_layer(g, &k("attention.head_count"), n_layer, 0)?;
        if n_head.iter().all(|&h| h == 0) {
            return Err(Error::format(format!("{arch}: head_count is 0")));
        }
        let n_head_kv = match per_layer(g, &k("attention.head_count_kv"), n_layer, u32::MAX)? {
            v if v.iter().all(|&x| x == u32::MAX) => n_head.clone(),
            v => v,
        };
        let n_ff = per_layer(g, &k("feed_forward_length"), n_layer, 0)?;
        let h0 = n_head.iter().copied().find(|&h| h > 0).unwrap_or(1);
        let n_embd_head_k = g
            .get_u32(&k("attention.key_length"))?
            .unwrap_or(n_embd / h0);
        let n_embd_head_v = g
            .get_u32(&k("attention.value_length"))?
            .unwrap_or(n_embd / h0);
        let n_embd_head_k_mla = g.get_u32(&k("attention.key_length_mla"))?.unwrap_or(0);
        let n_embd_head_v_mla = g.get_u32(&k("attention.value_length_mla"))?.unwrap_or(0);
        let n_vocab = match g.get_u32(&k("vocab_size"))? {
            Some(v) => v,
            None => match g.get_array("tokenizer.ggml.tokens")? {
                Some(a) => a.len() as u32,
                None => 0,
            },
        };
        let n_expert = g.get_u32(&k("expert_count"))?.unwrap_or(0);
        let mut n_ff_exp = g.get_u32(&k("expert_feed_forward_length"))?.unwrap_or(0);
        if n_ff_exp == 0 && n_expert > 0 {
            n_ff_exp = n_ff.first().copied().unwrap_or(0);
        }
        // Sliding-window layers: gemma3's pattern (every n-th layer global, default 6).
        let mut n_swa = 0;
        let mut is_swa = vec![false; n_layer as usize];
        if arch == "gemma3" {
            n_swa = g.get_u32(&k("attention.sliding_window"))?.unwrap_or(0);
            if n_swa > 0 {
                let pat = g
                    .get_u32(&k("attention.sliding_window_pattern"))
                    .ok()
                    .flatten()
                    .unwrap_or(6);
                for (il, s) in is_swa.iter_mut().enumerate() {
                    *s = pat == 0 || (il as u32 % pat) < pat - 1;
                }
            }
        }
        let weights = g
            .tensors()
            .iter()
            .map(|t| WeightDesc {
                name: t.name.clone(),
                n_bytes: t.n_bytes,
                role: weight_role(&t.name),
            })
            .collect::<Vec<_>>();
        if let Some(w) = weights
            .iter()
            .find(|w| matches!(w.role, WeightRole::Layer { il, .. } if il >= n_layer))
        {
            return Err(Error::format(format!(
                "tensor {} is past block_count {n_layer}",
                w.name
            )));
        }
        let mut expert_layers = vec![false; n_layer as usize];
        for w in &weights {
            if let WeightRole::Layer { il, expert: true } = w.role {
                expert_layers[il as usize] = true;
            }
        }
        Ok(ModelDesc {
            expert_layers,
            n_layer,
            n_embd,
            n_vocab,
            n_ctx_train,
            n_head,
            n_head_kv,
            n_ff,
            n_embd_head_k,
            n_embd_head_v,
            is_mla: n_embd_head_k_mla != 0 && n_embd_head_v_mla != 0,
            n_embd_head_k_mla,
            n_embd_head_v_mla,
            n_lora_q: g.get_u32(&k("attention.q_lora_rank"))?.unwrap_or(0),
            n_lora_kv: g.get_u32(&k("attention.kv_lora_rank"))?.unwrap_or(0),
            n_expert,
            n_expert_used: g.get_u32(&k("expert_used_count"))?.unwrap_or(0),
            n_ff_exp,
            n_expert_shared: g.get_u32(&k("expert_shared_count"))?.unwrap_or(0),
            n_swa,
            is_swa,
            weights,
            arch,
        })
    }

    /// Opens a GGUF (header only) and describes it.
    pub fn open(path: &std::path::Path) -> Result<ModelDesc> {
        ModelDesc::from_gguf(&GgufFile::open(path)?)
    }

    /// Row width of one cached K (all KV heads) of layer `il`.
    pub fn n_embd_k_gqa(&self, il: u32) -> u32 {
        self.n_embd_head_k
            .saturating_mul(self.n_head_kv[il as usize])
    }
    /// Row width of one cached V of layer `il`.
    pub fn n_embd_v_gqa(&self, il: u32) -> u32 {
        self.n_embd_head_v
            .saturating_mul(self.n_head_kv[il as usize])
    }
    /// Whether layer `il` is a sliding-window layer.
    pub fn is_swa(&self, il: u32) -> bool {
        self.n_swa > 0 && self.is_swa.get(il as usize).copied().unwrap_or(false)
    }
    /// Whether layer `il` has routed experts (any `_exps` tensor).
    pub fn layer_has_experts(&self, il: u32) -> bool {
        self.expert_layers
            .get(il as usize)
            .copied()
            .unwrap_or(false)
    }
    /// Total bytes of all weights.
    pub fn total_bytes(&self) -> u64 {
        self.weights
            .iter()
            .map(|w| w.n_bytes)
            .fold(0, u64::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(weight_role("token_embd.weight"), WeightRole::Input);
        assert_eq!(weight_role("output.weight"), WeightRole::Output);
        assert_eq!(weight_role("output_norm.weight"), WeightRole::Output);
        assert_eq!(
            weight_role("blk.12.ffn_up_exps.weight"),
            WeightRole::Layer {
                il: 12,
                expert: true
            }
        );
        assert_eq!(
            weight_role("blk.0.ffn_up_shexp.weight"),
            WeightRole::Layer {
                il: 0,
                expert: false
            }
        );
        assert_eq!(weight_role("blk.x.y"), WeightRole::Output);
    }
}

//! The loader: finds every tensor an architecture needs in the GGUF file, checks its shape as
//! upstream's `create_tensor` does, and records a reference to it (an index into the file's
//! tensor list: the bytes stay in the read-only mapping, nothing is copied).
//!
//! A missing required tensor or a wrong shape is an error naming the tensor.

#![forbid(unsafe_code)]

use super::arch::{tn, Arch};
use super::hparams::{HParams, Meta, RopeScaling};
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, Value};
use crate::quant::GgmlType;

impl Meta for GgufFile {
    fn meta_str(&self, key: &str) -> Result<Option<String>> {
        Ok(self.get_str(key)?.map(str::to_owned))
    }
    fn meta_u32(&self, key: &str) -> Result<Option<u32>> {
        self.get_u32(key)
    }
    fn meta_f32(&self, key: &str) -> Result<Option<f32>> {
        self.get_f32(key)
    }
    fn meta_bool(&self, key: &str) -> Result<Option<bool>> {
        self.get_bool(key)
    }
    fn meta_u32_array(&self, key: &str) -> Result<Option<Vec<u32>>> {
        match self.get(key) {
            Some(Value::Array(_)) => self.get_u32_array(key),
            _ => Ok(None),
        }
    }
    fn meta_array_len(&self, key: &str) -> Option<usize> {
        match self.get(key) {
            Some(Value::Array(a)) => Some(a.len()),
            _ => None,
        }
    }
}

/// A weight: which tensor of the file, its type and shape (ggml order, 4 dims).
#[derive(Clone, Copy, Debug)]
pub struct Wt {
    /// Index in `GgufFile::tensors()`.
    pub idx: usize,
    /// Element type.
    pub ty: GgmlType,
    /// Shape, `ne[0]` = row length; missing dims are 1.
    pub ne: [i64; 4],
}

/// The weights of one block. `None` = not present in this architecture / file.
#[derive(Clone, Debug, Default)]
#[allow(missing_docs)]
pub struct Layer {
    /// [n_embd]
    pub attn_norm: Option<Wt>,
    /// [n_embd, n_head*head_k]
    pub wq: Option<Wt>,
    /// [n_embd, n_head_kv*head_k]
    pub wk: Option<Wt>,
    /// [n_embd, n_head_kv*head_v]
    pub wv: Option<Wt>,
    /// fused [n_embd, q+k+v]
    pub wqkv: Option<Wt>,
    pub bq: Option<Wt>,
    pub bk: Option<Wt>,
    pub bv: Option<Wt>,
    pub bqkv: Option<Wt>,
    /// [n_head*head_v, n_embd]
    pub wo: Option<Wt>,
    pub bo: Option<Wt>,
    /// [head_k]
    pub attn_q_norm: Option<Wt>,
    /// [head_k]
    pub attn_k_norm: Option<Wt>,
    /// [n_embd]
    pub attn_post_norm: Option<Wt>,
    /// MLA: [n_embd, q_lora_rank]
    pub wq_a: Option<Wt>,
    /// MLA: [q_lora_rank, n_head*head_k_mla]
    pub wq_b: Option<Wt>,
    pub attn_q_a_norm: Option<Wt>,
    /// MLA: [n_embd, kv_lora_rank + n_rot]
    pub wkv_a_mqa: Option<Wt>,
    pub attn_kv_a_norm: Option<Wt>,
    /// MLA: [qk_nope, kv_lora_rank, n_head]
    pub wk_b: Option<Wt>,
    /// MLA: [kv_lora_rank, head_v_mla, n_head]
    pub wv_b: Option<Wt>,
    /// [n_embd]
    pub ffn_norm: Option<Wt>,
    pub ffn_post_norm: Option<Wt>,
    /// [n_embd, n_ff]
    pub ffn_gate: Option<Wt>,
    /// [n_embd, n_ff] (phi3: [n_embd, 2*n_ff], gate and up fused)
    pub ffn_up: Option<Wt>,
    /// [n_ff, n_embd]
    pub ffn_down: Option<Wt>,
    /// [n_embd, n_expert]
    pub ffn_gate_inp: Option<Wt>,
    /// [n_embd, n_ff_exp, n_expert]
    pub ffn_gate_exps: Option<Wt>,
    pub ffn_up_exps: Option<Wt>,
    /// [n_ff_exp, n_embd, n_expert]
    pub ffn_down_exps: Option<Wt>,
    /// [n_expert]
    pub ffn_exp_probs_b: Option<Wt>,
    pub ffn_gate_shexp: Option<Wt>,
    pub ffn_up_shexp: Option<Wt>,
    pub ffn_down_shexp: Option<Wt>,
}

/// All weights of a model.
#[derive(Clone, Debug)]
pub struct Weights {
    /// [n_embd, n_vocab]
    pub tok_embd: Wt,
    /// [n_embd]
    pub output_norm: Wt,
    /// [n_embd, n_vocab] (the token embedding when tied)
    pub output: Wt,
    /// [n_vocab]
    pub output_b: Option<Wt>,
    /// llama3 frequency factors [n_rot/2]
    pub rope_freqs: Option<Wt>,
    /// LongRoPE long factors [n_rot/2]
    pub rope_long: Option<Wt>,
    /// LongRoPE short factors [n_rot/2]
    pub rope_short: Option<Wt>,
    /// Blocks.
    pub layers: Vec<Layer>,
}

struct Finder<'a> {
    g: &'a GgufFile,
    used: usize,
}

impl Finder<'_> {
    fn find(&mut self, name: &str, want: &[i64], required: bool) -> Result<Option<Wt>> {
        let Some(idx) = self.g.tensors().iter().position(|t| t.name == name) else {
            if required {
                return Err(Error::format(format!("missing tensor '{name}'")));
            }
            return Ok(None);
        };
        let t = &self.g.tensors()[idx];
        let mut ne = [1i64; 4];
        if t.ne.len() > 4 {
            return Err(Error::format(format!(
                "tensor '{name}': more than 4 dimensions"
            )));
        }
        for (d, &n) in t.ne.iter().enumerate() {
            ne[d] = i64::try_from(n)
                .map_err(|_| Error::format(format!("tensor '{name}': dimension too large")))?;
        }
        let mut w4 = [1i64; 4];
        w4[..want.len()].copy_from_slice(want);
        if ne != w4 {
            return Err(Error::format(format!(
                "tensor '{name}' has wrong shape; expected {want:?}, got {:?}",
                t.ne
            )));
        }
        self.used += 1;
        Ok(Some(Wt { idx, ty: t.ty, ne }))
    }
    fn req(&mut self, name: &str, want: &[i64]) -> Result<Wt> {
        self.find(name, want, true)?
            .ok_or_else(|| Error::format(format!("missing tensor '{name}'")))
    }
    fn opt(&mut self, name: &str, want: &[i64]) -> Result<Option<Wt>> {
        self.find(name, want, false)
    }
    fn blk_req(&mut self, il: usize, s: &str, want: &[i64]) -> Result<Option<Wt>> {
        self.find(&tn::blk(il, s), want, true)
    }
    fn blk_opt(&mut self, il: usize, s: &str, want: &[i64]) -> Result<Option<Wt>> {
        self.find(&tn::blk(il, s), want, false)
    }
}

/// Finds and checks every weight of the model described by `hp`.
pub fn load_weights(g: &GgufFile, hp: &HParams) -> Result<Weights> {
    let mut f = Finder { g, used: 0 };
    let n_embd = hp.n_embd as i64;
    let tok = g
        .tensor(tn::TOKEN_EMBD)
        .ok_or_else(|| Error::format(format!("missing tensor '{}'", tn::TOKEN_EMBD)))?;
    let n_vocab = tok.ne.get(1).copied().unwrap_or(0) as i64;
    let tok_embd = f.req(tn::TOKEN_EMBD, &[n_embd, n_vocab])?;
    let output_norm = f.req(tn::OUTPUT_NORM, &[n_embd])?;
    let output = f.opt(tn::OUTPUT, &[n_embd, n_vocab])?.unwrap_or(tok_embd);
    let output_b = if hp.arch == Arch::Qwen2 {
        f.opt(tn::OUTPUT_BIAS, &[n_vocab])?
    } else {
        None
    };
    let half_rot = (hp.n_rot / 2) as i64;
    let (mut rope_freqs, mut rope_long, mut rope_short) = (None, None, None);
    if hp.arch == Arch::Phi3
        || (hp.arch == Arch::Llama && hp.rope_scaling_type_train == RopeScaling::LongRope)
    {
        rope_long = f.opt(tn::ROPE_FACTORS_LONG, &[half_rot])?;
        rope_short = f.opt(tn::ROPE_FACTORS_SHORT, &[half_rot])?;
    } else if hp.arch == Arch::Llama {
        rope_freqs = f.opt(tn::ROPE_FREQS, &[half_rot])?;
    }

    let mut layers = Vec::with_capacity(hp.n_layer as usize);
    for il in 0..hp.n_layer as usize {
        let mut l = Layer::default();
        let n_head = hp.n_head(il) as i64;
        let n_head_kv = hp.n_head_kv(il) as i64;
        let hk = hp.n_embd_head_k as i64;
        let hv = hp.n_embd_head_v as i64;
        let n_ff = hp.n_ff(il) as i64;
        l.attn_norm = f.blk_req(il, tn::ATTN_NORM, &[n_embd])?;
        l.ffn_norm = f.blk_req(il, tn::FFN_NORM, &[n_embd])?;
        if hp.arch == Arch::Deepseek2 {
            load_mla(&mut f, hp, il, &mut l)?;
        } else {
            // q/k/v, fused or separate, with optional biases
            let (nq, nk, nv) = (hk * n_head, hk * n_head_kv, hv * n_head_kv);
            l.wqkv = f.blk_opt(il, tn::ATTN_QKV, &[n_embd, nq + nk + nv])?;
            if l.wqkv.is_some() {
                l.bqkv = f.blk_opt(il, tn::ATTN_QKV_BIAS, &[nq + nk + nv])?;
            } else {
                l.wq = f.blk_req(il, tn::ATTN_Q, &[n_embd, nq])?;
                l.wk = f.blk_req(il, tn::ATTN_K, &[n_embd, nk])?;
                l.wv = f.blk_req(il, tn::ATTN_V, &[n_embd, nv])?;
                let need_bias = hp.arch == Arch::Qwen2;
                l.bq = f.find(&tn::blk(il, tn::ATTN_Q_BIAS), &[nq], need_bias)?;
                l.bk = f.find(&tn::blk(il, tn::ATTN_K_BIAS), &[nk], need_bias)?;
                l.bv = f.find(&tn::blk(il, tn::ATTN_V_BIAS), &[nv], need_bias)?;
            }
            l.wo = f.blk_req(il, tn::ATTN_OUT, &[hv * n_head, n_embd])?;
            l.bo = f.blk_opt(il, tn::ATTN_OUT_BIAS, &[n_embd])?;
            if matches!(hp.arch, Arch::Qwen3 | Arch::Qwen3Moe | Arch::Gemma3) {
                l.attn_q_norm = f.blk_req(il, tn::ATTN_Q_NORM, &[hk])?;
                l.attn_k_norm = f.blk_req(il, tn::ATTN_K_NORM, &[hk])?;
            }
            if hp.arch == Arch::Gemma3 {
                l.attn_post_norm = f.blk_req(il, tn::ATTN_POST_NORM, &[n_embd])?;
                l.ffn_post_norm = f.blk_req(il, tn::FFN_POST_NORM, &[n_embd])?;
            }
            if hp.arch == Arch::Phi3 {
                l.ffn_up = f.blk_req(il, tn::FFN_UP, &[n_embd, 2 * n_ff])?;
                l.ffn_down = f.blk_req(il, tn::FFN_DOWN, &[n_ff, n_embd])?;
            } else if hp.n_expert == 0 {
                load_dense_ffn(&mut f, il, n_embd, n_ff, &mut l)?;
            } else {
                let ne = hp.n_expert as i64;
                let nfe = hp.n_ff_exp as i64;
                l.ffn_gate_inp = f.blk_req(il, tn::FFN_GATE_INP, &[n_embd, ne])?;
                l.ffn_gate_exps = f.blk_req(il, tn::FFN_GATE_EXPS, &[n_embd, nfe, ne])?;
                l.ffn_up_exps = f.blk_req(il, tn::FFN_UP_EXPS, &[n_embd, nfe, ne])?;
                l.ffn_down_exps = f.blk_req(il, tn::FFN_DOWN_EXPS, &[nfe, n_embd, ne])?;
            }
        }
        layers.push(l);
    }
    Ok(Weights {
        tok_embd,
        output_norm,
        output,
        output_b,
        rope_freqs,
        rope_long,
        rope_short,
        layers,
    })
}

fn load_dense_ffn(f: &mut Finder, il: usize, n_embd: i64, n_ff: i64, l: &mut Layer) -> Result<()> {
    l.ffn_gate = f.blk_req(il, tn::FFN_GATE, &[n_embd, n_ff])?;
    l.ffn_up = f.blk_req(il, tn::FFN_UP, &[n_embd, n_ff])?;
    l.ffn_down = f.blk_req(il, tn::FFN_DOWN, &[n_ff, n_embd])?;
    Ok(())
}

fn load_mla(f: &mut Finder, hp: &HParams, il: usize, l: &mut Layer) -> Result<()> {
    let n_embd = hp.n_embd as i64;
    let n_head = hp.n_head(il) as i64;
    let hk_mla = hp.n_embd_head_k_mla as i64;
    let hv_mla = hp.n_embd_head_v_mla as i64;
    let rope = hp.n_rot as i64;
    let nope = hk_mla - rope;
    let q_lora = hp.n_lora_q as i64;
    let kv_lora = hp.n_lora_kv as i64;
    if q_lora > 0 {
        l.attn_q_a_norm = f.blk_req(il, tn::ATTN_Q_A_NORM, &[q_lora])?;
        l.wq_a = f.blk_req(il, tn::ATTN_Q_A, &[n_embd, q_lora])?;
        l.wq_b = f.blk_req(il, tn::ATTN_Q_B, &[q_lora, n_head * hk_mla])?;
    } else {
        l.wq = f.blk_req(il, tn::ATTN_Q, &[n_embd, n_head * hk_mla])?;
    }
    l.attn_kv_a_norm = f.blk_req(il, tn::ATTN_KV_A_NORM, &[kv_lora])?;
    l.wkv_a_mqa = f.blk_req(il, tn::ATTN_KV_A_MQA, &[n_embd, kv_lora + rope])?;
    l.wk_b = f.blk_req(il, tn::ATTN_K_B, &[nope, kv_lora, n_head])?;
    l.wv_b = f.blk_req(il, tn::ATTN_V_B, &[kv_lora, hv_mla, n_head])?;
    l.wo = f.blk_req(il, tn::ATTN_OUT, &[n_head * hv_mla, n_embd])?;
    let n_ff = hp.n_ff(il) as i64;
    if (il as u32) < hp.n_layer_dense_lead {
        load_dense_ffn(f, il, n_embd, n_ff, l)?;
    } else {
        let ne = hp.n_expert as i64;
        let nfe = hp.n_ff_exp as i64;
        if ne == 0 || hp.n_expert_used == 0 {
            return Err(Error::format(
                "deepseek2: n_expert and n_expert_used must be > 0",
            ));
        }
        l.ffn_gate_inp = f.blk_req(il, tn::FFN_GATE_INP, &[n_embd, ne])?;
        l.ffn_exp_probs_b = f.blk_opt(il, tn::FFN_EXP_PROBS_B, &[ne])?;
        l.ffn_gate_exps = f.blk_req(il, tn::FFN_GATE_EXPS, &[n_embd, nfe, ne])?;
        l.ffn_up_exps = f.blk_req(il, tn::FFN_UP_EXPS, &[n_embd, nfe, ne])?;
        l.ffn_down_exps = f.blk_req(il, tn::FFN_DOWN_EXPS, &[nfe, n_embd, ne])?;
        let nsh = nfe * hp.n_expert_shared as i64;
        l.ffn_gate_shexp = f.blk_req(il, tn::FFN_GATE_SHEXP, &[n_embd, nsh])?;
        l.ffn_up_shexp = f.blk_req(il, tn::FFN_UP_SHEXP, &[n_embd, nsh])?;
        l.ffn_down_shexp = f.blk_req(il, tn::FFN_DOWN_SHEXP, &[nsh, n_embd])?;
    }
    Ok(())
}

//! The llama family graph (upstream `models/llama.cpp`, `qwen2.cpp`, `qwen3.cpp`,
//! `qwen3moe.cpp`): pre-norm blocks of GQA self-attention with RoPE and a SwiGLU FFN or a
//! softmax-routed MoE. Qwen2 adds q/k/v biases (loaded as optional biases), Qwen3 RMS-normalises
//! each q/k head before RoPE.

use super::builders::{Fwd, Outputs};
use super::Arch;
use crate::error::Result;

/// Builds the forward graph of a llama / qwen2 / qwen3 / qwen3moe model.
pub fn build(f: &mut Fwd<'_, '_>) -> Result<Outputs> {
    let hp = f.hp;
    let w = f.w;
    let head = hp.n_embd_head_k as i64;
    let n_tokens = f.shape.n_tokens;
    let kq_scale = if hp.arch == Arch::Llama && hp.f_attention_scale != 0.0 {
        hp.f_attention_scale
    } else {
        1.0 / (head as f32).sqrt()
    };
    let mut inp_l = f.inp_embd()?; // [n_embd, n_tokens]
    let pos = f.inp_pos()?;
    f.inp_attn()?;
    let out_ids = f.inp_out_ids()?;
    let n_layer = hp.n_layer as usize;
    for il in 0..n_layer {
        f.g.enter_layer(il);
        let l = &w.layers[il];
        let mut inp_sa = inp_l;
        // attn_norm
        let cur = f.norm(inp_l, &l.attn_norm, "attn_norm")?;
        // Q, K, V: [head, n_head(_kv), n_tokens]
        let (mut q, mut k, v) = f.qkv(l, cur, hp.n_head(il) as i64, hp.n_head_kv(il) as i64)?;
        if l.attn_q_norm.is_some() {
            q = f.norm(q, &l.attn_q_norm, "attn_q_norm")?;
            k = f.norm(k, &l.attn_k_norm, "attn_k_norm")?;
        }
        let factors = f.rope_factors()?;
        let (fb, fs) = (f.rope.freq_base, f.rope.freq_scale);
        q = f.rope(q, pos, factors, fb, fs)?;
        k = f.rope(k, pos, factors, fb, fs)?;
        let mut cur = f.attn(il, q, k, Some(v), None, kq_scale, &l.wo, &l.bo)?;
        if il == n_layer - 1 {
            if let Some(ids) = out_ids {
                cur = f.g.get_rows(cur, ids)?;
                inp_sa = f.g.get_rows(inp_sa, ids)?;
            }
        }
        // ffn_inp = attn_out + residual
        let ffn_inp = f.g.add(cur, inp_sa)?;
        let cur = f.norm(ffn_inp, &l.ffn_norm, "ffn_norm")?;
        let cur = if l.ffn_gate_inp.is_some() {
            f.moe_ffn(
                cur,
                &l.ffn_gate_inp,
                &l.ffn_up_exps,
                &l.ffn_gate_exps,
                &l.ffn_down_exps,
                &None,
                true,
                hp.expert_weights_scale,
                false,
            )?
        } else {
            f.ffn_par(cur, &l.ffn_up, &l.ffn_gate, &l.ffn_down, false)?
        };
        // l_out
        inp_l = f.g.add(cur, ffn_inp)?;
    }
    f.g.set_segment(0);
    let _ = n_tokens;
    f.head(inp_l)
}

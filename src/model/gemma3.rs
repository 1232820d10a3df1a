//! Gemma 3 (upstream `models/gemma3.cpp`): embeddings scaled by sqrt(n_embd), q/k head norms,
//! Q pre-scaled instead of the softmax, post-attention and post-FFN norms, GELU-gated FFN, and
//! sliding-window layers with their own cache and RoPE base.

use super::builders::{Fwd, Outputs};
use crate::error::Result;

/// Builds the forward graph of a gemma3 model.
pub fn build(f: &mut Fwd<'_, '_>) -> Result<Outputs> {
    let hp = f.hp;
    let w = f.w;
    let mut inp_l = f.inp_embd()?;
    if !f.shape.embd_input {
        inp_l = f.g.scale(inp_l, (hp.n_embd as f32).sqrt())?;
    }
    let pos = f.inp_pos()?;
    f.inp_attn()?;
    let out_ids = f.inp_out_ids()?;
    let n_layer = hp.n_layer as usize;
    for il in 0..n_layer {
        f.g.enter_layer(il);
        let l = &w.layers[il];
        let swa = hp.n_swa > 0 && hp.is_swa[il];
        let (fb, fs) = if swa {
            (hp.rope_freq_base_train_swa, 1.0)
        } else {
            (f.rope.freq_base, f.rope.freq_scale)
        };
        let cur = f.norm(inp_l, &l.attn_norm, "attn_norm")?;
        let (q, k, v) = f.qkv(l, cur, hp.n_head(il) as i64, hp.n_head_kv(il) as i64)?;
        let q = f.norm(q, &l.attn_q_norm, "attn_q_norm")?;
        let q = f.rope(q, pos, None, fb, fs)?;
        let k = f.norm(k, &l.attn_k_norm, "attn_k_norm")?;
        let k = f.rope(k, pos, None, fb, fs)?;
        let q = f.g.scale(q, hp.f_attention_scale)?;
        let mut cur = f.attn(il, q, k, Some(v), None, 1.0, &l.wo, &l.bo)?;
        if il == n_layer - 1 {
            if let Some(ids) = out_ids {
                cur = f.g.get_rows(cur, ids)?;
                inp_l = f.g.get_rows(inp_l, ids)?;
            }
        }
        let cur = f.norm(cur, &l.attn_post_norm, "post_attention_norm")?;
        let sa_out = f.g.add(cur, inp_l)?;
        let cur = f.norm(sa_out, &l.ffn_norm, "ffn_norm")?;
        let cur = f.ffn_par(cur, &l.ffn_up, &l.ffn_gate, &l.ffn_down, true)?;
        let cur = f.norm(cur, &l.ffn_post_norm, "post_ffw_norm")?;
        inp_l = f.g.add(cur, sa_out)?;
    }
    f.g.set_segment(0);
    f.head(inp_l)
}

//! Phi-3 (upstream `models/phi3.cpp`): fused or separate q/k/v, Q pre-scaled, LongRoPE factors,
//! and a fused gate/up projection (`ffn_up` is `[n_embd, 2*n_ff]`, SwiGLU over its halves).

use super::builders::{Fwd, Outputs};
use crate::error::Result;

/// Builds the forward graph of a phi3 model.
pub fn build(f: &mut Fwd<'_, '_>) -> Result<Outputs> {
    let hp = f.hp;
    let w = f.w;
    let head = hp.n_embd_head_k as f32;
    let mut inp_l = f.inp_embd()?;
    let pos = f.inp_pos()?;
    f.inp_attn()?;
    let out_ids = f.inp_out_ids()?;
    let n_layer = hp.n_layer as usize;
    for il in 0..n_layer {
        f.g.enter_layer(il);
        let l = &w.layers[il];
        let mut residual = inp_l;
        let factors = f.rope_factors()?;
        let cur = f.norm(inp_l, &l.attn_norm, "attn_norm")?;
        let (q, k, v) = f.qkv(l, cur, hp.n_head(il) as i64, hp.n_head_kv(il) as i64)?;
        let (fb, fs) = (f.rope.freq_base, f.rope.freq_scale);
        let q = f.rope(q, pos, factors, fb, fs)?;
        let k = f.rope(k, pos, factors, fb, fs)?;
        let q = f.g.scale(q, 1.0 / head.sqrt())?;
        let mut cur = f.attn(il, q, k, Some(v), None, 1.0, &l.wo, &l.bo)?;
        if il == n_layer - 1 {
            if let Some(ids) = out_ids {
                cur = f.g.get_rows(cur, ids)?;
                residual = f.g.get_rows(residual, ids)?;
            }
        }
        let cur = f.g.add(cur, residual)?;
        let residual = cur;
        let cur = f.norm(cur, &l.ffn_norm, "ffn_norm")?;
        // fused gate|up, SwiGLU over the two halves
        let up = f.mm(&l.ffn_up, cur, &None, "ffn_up")?;
        let act = f.g.swiglu(up)?;
        let cur = f.mm(&l.ffn_down, act, &None, "ffn_down")?;
        inp_l = f.g.add(residual, cur)?;
    }
    f.g.set_segment(0);
    f.head(inp_l)
}

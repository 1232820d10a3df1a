//! DeepSeek V2/V3 (upstream `models/deepseek2.cpp`) with multi-head latent attention in its
//! absorbed form: the cache holds one latent row per token (`kv_lora_rank` normalised latent +
//! `n_rot` rotated key dims), queries are projected into the latent space through `attn_k_b`,
//! attention runs as MQA over the latent rows, and `attn_v_b` decompresses the result per head.
//! Leading dense layers, then MoE layers with shared experts and softmax or sigmoid routing.

use super::builders::{Fwd, Outputs};
use super::hparams::Gating;
use crate::error::Result;

/// Builds the forward graph of a deepseek2 model.
pub fn build(f: &mut Fwd<'_, '_>) -> Result<Outputs> {
    let hp = f.hp;
    let w = f.w;
    let n_tokens = f.shape.n_tokens;
    let hk = hp.n_embd_head_k_mla as i64;
    let rope = hp.n_rot as i64;
    let nope = hk - rope;
    let kv_lora = hp.n_lora_kv as i64;
    // YaRN: undo the attn_factor adjustment, then pre-scale kq_scale with mscale^2
    let fs = f.rope.freq_scale;
    let attn_factor_org = f.rope.attn_factor * (1.0 + 0.1 * (1.0 / fs).ln());
    let mscale = attn_factor_org * (1.0 + 0.1 * hp.rope_yarn_log_mul * (1.0 / fs).ln());
    let kq_scale = mscale * mscale / (hk as f32).sqrt();

    let mut inp_l = f.inp_embd()?;
    let pos = f.inp_pos()?;
    f.inp_attn()?;
    let out_ids = f.inp_out_ids()?;
    let n_layer = hp.n_layer as usize;
    let fb = f.rope.freq_base;
    for il in 0..n_layer {
        f.g.enter_layer(il);
        let l = &w.layers[il];
        let n_head = hp.n_head(il) as i64;
        let mut inp_sa = inp_l;
        let cur = f.norm(inp_l, &l.attn_norm, "attn_norm")?;
        // q: [hk, n_head, n_tokens]
        let q = if l.wq.is_some() {
            f.mm(&l.wq, cur, &None, "attn_q")?
        } else {
            let qa = f.mm(&l.wq_a, cur, &None, "attn_q_a")?;
            let qa = f.norm(qa, &l.attn_q_a_norm, "attn_q_a_norm")?;
            f.mm(&l.wq_b, qa, &None, "attn_q_b")?
        };
        let q = f.g.reshape_3d(q, hk, n_head, n_tokens)?;
        // kv_cmpr_pe: [kv_lora + rope, n_tokens]
        let kv_cmpr_pe = f.mm(&l.wkv_a_mqa, cur, &None, "attn_kv_a_mqa")?;
        let nb1 = f.g.tensor(kv_cmpr_pe)?.nb[1];
        let kv_cmpr = f.g.view_2d(kv_cmpr_pe, kv_lora, n_tokens, nb1, 0)?;
        let k_pe = f.g.view_3d(
            kv_cmpr_pe,
            [rope, 1, n_tokens],
            nb1,
            nb1,
            kv_lora as usize * 4,
        )?;
        let k_pe = f.g.cont(k_pe)?;
        let k_pe = f.rope(k_pe, pos, None, fb, fs)?;
        let kv_cmpr = f.g.cont(kv_cmpr)?;
        let kv_cmpr = f.norm(kv_cmpr, &l.attn_kv_a_norm, "attn_kv_a_norm")?;
        let qt = f.g.tensor(q)?;
        let (qnb1, qnb2) = (qt.nb[1], qt.nb[2]);
        let q_nope = f.g.view_3d(q, [nope, n_head, n_tokens], qnb1, qnb2, 0)?;
        let q_pe =
            f.g.view_3d(q, [rope, n_head, n_tokens], qnb1, qnb2, nope as usize * 4)?;
        let q_pe = f.g.cont(q_pe)?;
        let q_pe = f.rope(q_pe, pos, None, fb, fs)?;
        // absorb attn_k_b: [nope, n_tokens, n_head] -> [kv_lora, n_tokens, n_head]
        let q_nope = f.g.permute(q_nope, [0, 2, 1, 3])?;
        let wk_b = f.wr(&l.wk_b, "attn_k_b")?;
        let q_abs = f.g.mul_mat(wk_b, q_nope)?;
        let q_abs = f.g.permute(q_abs, [0, 2, 1, 3])?; // [kv_lora, n_head, n_tokens]
        let q_abs = f.g.cont(q_abs)?;
        let q_cur = f.g.concat(q_abs, q_pe, 0)?; // [kv_lora + rope, n_head, n_tokens]
        let kv3 = f.g.reshape_3d(kv_cmpr, kv_lora, 1, n_tokens)?;
        let k_cur = f.g.concat(kv3, k_pe, 0)?; // [kv_lora + rope, 1, n_tokens]
        let wv_b = f.wr(&l.wv_b, "attn_v_b")?;
        let mut cur = f.attn(il, q_cur, k_cur, None, Some(wv_b), kq_scale, &l.wo, &None)?;
        if il == n_layer - 1 {
            if let Some(ids) = out_ids {
                cur = f.g.get_rows(cur, ids)?;
                inp_sa = f.g.get_rows(inp_sa, ids)?;
            }
        }
        let ffn_inp = f.g.add(cur, inp_sa)?;
        let cur = f.norm(ffn_inp, &l.ffn_norm, "ffn_norm")?;
        let cur = if (il as u32) < hp.n_layer_dense_lead {
            f.ffn_par(cur, &l.ffn_up, &l.ffn_gate, &l.ffn_down, false)?
        } else {
            let moe = f.moe_ffn(
                cur,
                &l.ffn_gate_inp,
                &l.ffn_up_exps,
                &l.ffn_gate_exps,
                &l.ffn_down_exps,
                &l.ffn_exp_probs_b,
                hp.expert_weights_norm,
                hp.expert_weights_scale,
                hp.expert_gating == Gating::Sigmoid,
            )?;
            let sh = f.ffn_par(
                cur,
                &l.ffn_up_shexp,
                &l.ffn_gate_shexp,
                &l.ffn_down_shexp,
                false,
            )?;
            f.g.add(moe, sh)?
        };
        inp_l = f.g.add(cur, ffn_inp)?;
    }
    f.g.set_segment(0);
    f.head(inp_l)
}

//! Op tests, part 2: attention ops and MoE — rope (normal / neox, partial rotation, frequency
//! factors, YaRN), soft_max_ext (mask F16/F32, scale, ALiBi, sinks), flash_attn_ext (K/V in
//! F16, BF16, Q8_0, Q4_0; GQA; mask; softcap; sinks) and mul_mat_id, against plain f64
//! references.
//!
//! Bounds (NMSE): rope and soft_max 1e-7 (f32 ops); flash attention 5e-4 (upstream's bound;
//! Q is rounded to K's dot type and F16 V accumulates in f16, as upstream's per-row CPU kernel;
//! the tiled path of 64+ query rows is tested in `ops_attn_tiled.rs` and `ops_attn_upstream.rs`);
//! mul_mat_id 1e-7 for F32 experts, 5e-4 for F16 / quantized experts.

mod ops_common;

use llama::graph::{Graph, RopeMode, RopeParams};
use llama::quant::{dequantize_row, quantize_row, GgmlType};
use llama::tensor::TensorId;
use ops_common::*;

const NTH: usize = 3;

fn bind(inputs: &[(TensorId, Vec<u8>)]) -> Vec<(TensorId, &[u8])> {
    inputs.iter().map(|(i, b)| (*i, b.as_slice())).collect()
}

fn rope_ref(x: &RefT, pos: &[i32], ff: Option<&[f32]>, p: &RopeParams) -> RefT {
    let nd = p.n_dims as usize;
    let base = p.freq_base as f64;
    let corr = |n_rot: f64| {
        nd as f64 * (p.n_ctx_orig as f64 / (n_rot * 2.0 * std::f64::consts::PI)).ln()
            / (2.0 * base.ln())
    };
    let lo = corr(p.beta_fast as f64).floor().max(0.0);
    let hi = corr(p.beta_slow as f64).ceil().min(nd as f64 - 1.0);
    let mut out = x.clone();
    for_each([1, x.ne[1], x.ne[2], x.ne[3]], |i| {
        let pp = pos[i[2]] as f64;
        for k in 0..nd / 2 {
            let i0 = 2 * k;
            let f = ff.map_or(1.0, |f| f[k] as f64);
            let extrap = pp * base.powf(-(i0 as f64) / nd as f64) / f;
            let interp = p.freq_scale as f64 * extrap;
            let mut th = interp;
            let mut ms = p.attn_factor as f64;
            if p.ext_factor != 0.0 {
                let y = ((i0 / 2) as f64 - lo) / (hi - lo).max(0.001);
                let ramp = (1.0 - y.clamp(0.0, 1.0)) * p.ext_factor as f64;
                th = interp * (1.0 - ramp) + extrap * ramp;
                ms *= 1.0 + 0.1 * (1.0 / p.freq_scale as f64).ln();
            }
            let (a, b) = match p.mode {
                RopeMode::Normal => (i0, i0 + 1),
                RopeMode::Neox => (k, k + nd / 2),
            };
            let (x0, x1) = (x.at([a, i[1], i[2], i[3]]), x.at([b, i[1], i[2], i[3]]));
            out.set([a, i[1], i[2], i[3]], (x0 * th.cos() - x1 * th.sin()) * ms);
            out.set([b, i[1], i[2], i[3]], (x0 * th.sin() + x1 * th.cos()) * ms);
        }
    });
    out
}

#[test]
fn rope_modes_partial_factors_yarn() {
    let mut rng = Rng::new(21);
    let (hd, nh, nt) = (40usize, 3usize, 5usize);
    for mode in [RopeMode::Normal, RopeMode::Neox] {
        for (n_dims, yarn, with_ff) in [
            (40, false, false),
            (24, false, false),
            (40, false, true),
            (32, true, false),
            (40, true, true),
        ] {
            let mut p = RopeParams::simple(n_dims, mode, 10000.0);
            if yarn {
                p.freq_scale = 0.25;
                p.ext_factor = 1.0;
                p.n_ctx_orig = 4096;
                p.attn_factor = 1.0;
            }
            let x = rng.vec(hd * nh * nt, -1.0, 1.0);
            let pos: Vec<i32> = (0..nt).map(|_| rng.below(5000) as i32).collect();
            let ff: Vec<f32> = (0..n_dims / 2).map(|_| rng.uniform(1.0, 8.0)).collect();
            let mut g = Graph::new();
            let xi = g
                .input("x", GgmlType::F32, &[hd as i64, nh as i64, nt as i64])
                .unwrap();
            let pi = g.input("pos", GgmlType::I32, &[nt as i64]).unwrap();
            let ffw = llama::backend::cpu::as_bytes(&ff);
            let fi = if with_ff {
                Some(
                    g.weight("rope_freqs", GgmlType::F32, &[ff.len() as i64], ffw)
                        .unwrap(),
                )
            } else {
                None
            };
            let y = g.rope_ext(xi, pi, fi, p).unwrap();
            let got = run(
                &mut g,
                &[y],
                &[
                    (xi, &f32_bytes(&x)),
                    (pi, llama::backend::cpu::as_bytes(&pos)),
                ],
                NTH,
            );
            let r = rope_ref(
                &RefT::from_f32([hd, nh, nt, 1], &x),
                &pos,
                if with_ff { Some(&ff) } else { None },
                &p,
            );
            check(
                &format!("rope {mode:?} n_dims {n_dims} yarn {yarn} ff {with_ff}"),
                &got[0],
                &r.d,
                1e-7,
            );
        }
    }
}

fn alibi(max_bias: f64, h: usize, n_head: usize) -> f64 {
    if max_bias <= 0.0 {
        return 1.0;
    }
    let n_log2 = 1usize << (n_head as f64).log2().floor() as u32;
    let m0 = 2f64.powf(-max_bias / n_log2 as f64);
    let m1 = 2f64.powf(-(max_bias / 2.0) / n_log2 as f64);
    if h < n_log2 {
        m0.powi(h as i32 + 1)
    } else {
        m1.powi(2 * (h - n_log2) as i32 + 1)
    }
}

#[test]
fn soft_max_mask_scale_alibi_sinks() {
    let mut rng = Rng::new(22);
    let (n_kv, n_q, nh) = (37usize, 6usize, 5usize);
    for mask_ty in [None, Some(GgmlType::F16), Some(GgmlType::F32)] {
        for (max_bias, sinks) in [(0.0f32, false), (8.0, false), (0.0, true)] {
            if mask_ty.is_none() && max_bias > 0.0 {
                continue;
            }
            let x = rng.vec(n_kv * n_q * nh, -4.0, 4.0);
            let mut mv = rng.vec(n_kv * (n_q + 2), -1.0, 1.0);
            for (i, v) in mv.iter_mut().enumerate() {
                if i % 7 == 3 {
                    *v = f32::NEG_INFINITY;
                }
            }
            let sk = rng.vec(nh, -2.0, 2.0);
            let mut g = Graph::new();
            let xi = g
                .input("kq", GgmlType::F32, &[n_kv as i64, n_q as i64, nh as i64])
                .unwrap();
            let mut inp = vec![(xi, f32_bytes(&x))];
            let mut mstored = mv.clone();
            let mi = mask_ty.map(|t| {
                let id = g
                    .input("kq_mask", t, &[n_kv as i64, (n_q + 2) as i64])
                    .unwrap();
                let (b, s) = encode(t, &mv);
                mstored = s;
                inp.push((id, b));
                id
            });
            let si = sinks.then(|| {
                let id = g.input("sinks", GgmlType::F32, &[nh as i64]).unwrap();
                inp.push((id, f32_bytes(&sk)));
                id
            });
            let y = g.soft_max_ext(xi, mi, si, 0.3, max_bias).unwrap();
            let got = run(&mut g, &[y], &bind(&inp), NTH);
            let mut r = Vec::new();
            for h in 0..nh {
                let slope = alibi(max_bias as f64, h, nh);
                for q in 0..n_q {
                    let row: Vec<f64> = (0..n_kv)
                        .map(|k| {
                            let m = if mask_ty.is_some() {
                                mstored[q * n_kv + k] as f64
                            } else {
                                0.0
                            };
                            x[(h * n_q + q) * n_kv + k] as f64 * 0.3f32 as f64 + slope * m
                        })
                        .collect();
                    let mut mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    if sinks {
                        mx = mx.max(sk[h] as f64);
                    }
                    let mut sum: f64 = row.iter().map(|v| (v - mx).exp()).sum();
                    if sinks {
                        sum += (sk[h] as f64 - mx).exp();
                    }
                    r.extend(row.iter().map(|v| (v - mx).exp() / sum));
                }
            }
            check(
                &format!("soft_max mask {mask_ty:?} max_bias {max_bias} sinks {sinks}"),
                &got[0],
                &r,
                1e-7,
            );
        }
    }
}

/// Encodes values as `ty` (plain or quantized rows of `row` elements); returns bytes and the
/// stored values.
fn encode_any(ty: GgmlType, v: &[f32], row: usize) -> (Vec<u8>, Vec<f32>) {
    if !ty.is_quantized() {
        return encode(ty, v);
    }
    let rs = ty.row_size(row as u64).unwrap() as usize;
    let mut bytes = vec![0u8; rs * v.len() / row];
    let mut back = vec![0f32; v.len()];
    for (i, chunk) in v.chunks(row).enumerate() {
        quantize_row(ty, chunk, &mut bytes[i * rs..(i + 1) * rs]).unwrap();
        dequantize_row(
            ty,
            &bytes[i * rs..(i + 1) * rs],
            &mut back[i * row..(i + 1) * row],
        )
        .unwrap();
    }
    (bytes, back)
}

#[test]
fn flash_attn_ext_types_gqa_mask_softcap_sinks() {
    let mut rng = Rng::new(23);
    let (d, dv, n_q, n_kv, nh, nh_kv) = (64usize, 64usize, 5usize, 45usize, 4usize, 2usize);
    for ty in [
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
    ] {
        for (softcap, sinks, max_bias) in [
            (0.0f32, false, 0.0f32),
            (30.0, false, 0.0),
            (0.0, true, 0.0),
            (0.0, false, 4.0),
        ] {
            let q = rng.vec(d * n_q * nh, -1.0, 1.0);
            let (kb, ks) = encode_any(ty, &rng.vec(d * n_kv * nh_kv, -1.0, 1.0), d);
            let (vb, vs) = encode_any(ty, &rng.vec(dv * n_kv * nh_kv, -1.0, 1.0), dv);
            let mut mask = vec![0f32; n_kv * n_q];
            for qi in 0..n_q {
                for k in 0..n_kv {
                    if k > 40 + qi || (k * 7 + qi) % 11 == 0 {
                        mask[qi * n_kv + k] = f32::NEG_INFINITY;
                    }
                }
            }
            let sk = rng.vec(nh, -1.0, 1.0);
            let mut g = Graph::new();
            let qi = g
                .input("q", GgmlType::F32, &[d as i64, n_q as i64, nh as i64])
                .unwrap();
            let ki = g
                .input("k", ty, &[d as i64, n_kv as i64, nh_kv as i64])
                .unwrap();
            let vi = g
                .input("v", ty, &[dv as i64, n_kv as i64, nh_kv as i64])
                .unwrap();
            let mi = g
                .input("mask", GgmlType::F16, &[n_kv as i64, n_q as i64])
                .unwrap();
            let mut inp = vec![
                (qi, f32_bytes(&q)),
                (ki, kb),
                (vi, vb),
                (mi, f16_bytes(&mask)),
            ];
            let si = sinks.then(|| {
                let id = g.input("sinks", GgmlType::F32, &[nh as i64]).unwrap();
                inp.push((id, f32_bytes(&sk)));
                id
            });
            let scale = 1.0 / (d as f32).sqrt();
            let y = g
                .flash_attn_ext(qi, ki, vi, Some(mi), si, scale, max_bias, softcap)
                .unwrap();
            assert_eq!(g.ne(y).unwrap(), [dv as i64, nh as i64, n_q as i64, 1]);
            let got = run(&mut g, &[y], &bind(&inp), NTH);
            // Reference: result [dv, nh, n_q].
            let mut r = vec![0f64; dv * nh * n_q];
            for h in 0..nh {
                let hk = h / (nh / nh_kv);
                let slope = alibi(max_bias as f64, h, nh);
                for qq in 0..n_q {
                    let mut s: Vec<f64> = (0..n_kv)
                        .map(|k| {
                            let dotv: f64 = (0..d)
                                .map(|c| {
                                    q[(h * n_q + qq) * d + c] as f64
                                        * ks[(hk * n_kv + k) * d + c] as f64
                                })
                                .sum();
                            let mut x = dotv * scale as f64;
                            if softcap != 0.0 {
                                x = softcap as f64 * (x / softcap as f64).tanh();
                            }
                            x + slope * mask[qq * n_kv + k] as f64
                        })
                        .collect();
                    let mut mx = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    if sinks {
                        mx = mx.max(sk[h] as f64);
                    }
                    for x in &mut s {
                        *x = (*x - mx).exp();
                    }
                    let mut sum: f64 = s.iter().sum();
                    if sinks {
                        sum += (sk[h] as f64 - mx).exp();
                    }
                    for c in 0..dv {
                        let o: f64 = (0..n_kv)
                            .map(|k| s[k] * vs[(hk * n_kv + k) * dv + c] as f64)
                            .sum();
                        r[(qq * nh + h) * dv + c] = o / sum;
                    }
                }
            }
            check(
                &format!(
                    "flash_attn {} softcap {softcap} sinks {sinks} max_bias {max_bias}",
                    ty.name()
                ),
                &got[0],
                &r,
                5e-4,
            );
        }
    }
}

#[test]
fn mul_mat_id_experts() {
    let mut rng = Rng::new(24);
    let (k, m, n_expert, n_used, n_tok) = (64usize, 19usize, 6usize, 2usize, 7usize);
    for (ty, bound) in [
        (GgmlType::F32, 1e-7),
        (GgmlType::F16, 5e-4),
        (GgmlType::Q4_0, 5e-4),
        (GgmlType::Q4_K, 5e-4),
    ] {
        let k = if ty == GgmlType::Q4_K { 256 } else { k };
        for n_b in [1usize, n_used] {
            let (wb, ws) = encode_any(ty, &rng.vec(k * m * n_expert, -1.0, 1.0), k);
            let x = rng.vec(k * n_b * n_tok, -1.0, 1.0);
            let mut ids = Vec::new();
            for _ in 0..n_tok {
                let a = rng.below(n_expert);
                let b = (a + 1 + rng.below(n_expert - 1)) % n_expert;
                ids.extend([a as i32, b as i32]);
            }
            let mut g = Graph::new();
            let w = g
                .weight(
                    "ffn_up_exps",
                    ty,
                    &[k as i64, m as i64, n_expert as i64],
                    &wb,
                )
                .unwrap();
            let xi = g
                .input("x", GgmlType::F32, &[k as i64, n_b as i64, n_tok as i64])
                .unwrap();
            let ii = g
                .input("ids", GgmlType::I32, &[n_used as i64, n_tok as i64])
                .unwrap();
            let y = g.mul_mat_id(w, xi, ii).unwrap();
            let got = run(
                &mut g,
                &[y],
                &[
                    (xi, f32_bytes(&x)),
                    (ii, llama::backend::cpu::as_bytes(&ids).to_vec()),
                ]
                .iter()
                .map(|(a, b)| (*a, b.as_slice()))
                .collect::<Vec<_>>(),
                NTH,
            );
            let mut r = vec![0f64; m * n_used * n_tok];
            for t in 0..n_tok {
                for u in 0..n_used {
                    let e = ids[t * n_used + u] as usize;
                    for i in 0..m {
                        r[(t * n_used + u) * m + i] = (0..k)
                            .map(|c| {
                                ws[(e * m + i) * k + c] as f64
                                    * x[(t * n_b + u % n_b) * k + c] as f64
                            })
                            .sum();
                    }
                }
            }
            check(
                &format!("mul_mat_id {} n_b {n_b}", ty.name()),
                &got[0],
                &r,
                bound,
            );
        }
    }
}

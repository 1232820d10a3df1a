//! Quantization with an importance matrix (`quant_weights != NULL` in ggml's
//! `quantize_q*` functions): the `quantize_row_*_impl` paths of Q4_0, Q4_1, Q5_0, Q5_1 and
//! Q2_K .. Q6_K, plus the weighted IQ4_NL, IQ4_XS and IQ3_S. Every other type ignores the
//! weights upstream, and here too.
//!
//! The importance weights `qw` are one value per column of the row. The legacy types weight
//! value `j` by `qw[j] * sqrt(sigma2 + x[j]^2)` with `sigma2` the mean square of the whole
//! row, so they are quantized a row at a time; the k-quants use their super-block's.

use super::iq3s::quantize_iq3_s;
use super::iq4::{quantize_iq4_nl, quantize_iq4_xs};
use super::kfit::{make_qkx2_quants, make_qp_quants, make_qx_quants};
use super::kquants::{
    finish_q2_k, finish_q3_k, pack_levels_k4, pack_q4_k, pack_q5_k, pack_scales_q3_k,
    quantize_q6_k, requant_k4,
};
use super::put_f16;
use crate::quant::types::GgmlType;

/// Quantizes one row `x` with importance weights `qw` (same length) into `y`. Returns false,
/// writing nothing, for the types whose upstream quantizer ignores the weights.
pub(super) fn quantize_row_weighted(ty: GgmlType, x: &[f32], qw: &[f32], y: &mut [u8]) -> bool {
    let per_block =
        |qk: usize, size: usize, y: &mut [u8], f: fn(&[f32], Option<&[f32]>, &mut [u8])| {
            for ((xb, wb), yb) in x
                .chunks_exact(qk)
                .zip(qw.chunks_exact(qk))
                .zip(y.chunks_exact_mut(size))
            {
                f(xb, Some(wb), yb);
            }
        };
    match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => {
            legacy_row(ty, x, qw, y)
        }
        GgmlType::Q2_K => per_block(256, 84, y, |x, w, y| q2_k(x, w.unwrap_or(&[]), y)),
        GgmlType::Q3_K => per_block(256, 110, y, |x, w, y| q3_k(x, w.unwrap_or(&[]), y)),
        GgmlType::Q4_K => per_block(256, 144, y, |x, w, y| q4_k(x, w.unwrap_or(&[]), y, 15)),
        GgmlType::Q5_K => per_block(256, 176, y, |x, w, y| q4_k(x, w.unwrap_or(&[]), y, 31)),
        GgmlType::Q6_K => per_block(256, 210, y, quantize_q6_k),
        GgmlType::IQ4_NL => per_block(32, 18, y, quantize_iq4_nl),
        GgmlType::IQ4_XS => per_block(256, 136, y, quantize_iq4_xs),
        GgmlType::IQ3_S => per_block(256, 110, y, quantize_iq3_s),
        _ => return false,
    }
    true
}

/// Mean of `x^2` over `x` (a row for the legacy types).
fn mean_square(x: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for &v in x {
        s += v * v;
    }
    s / x.len() as f32
}

/// `qw * sqrt(sigma2 + x^2)` for 16 or 32 values.
fn weights<const N: usize>(x: &[f32], qw: &[f32], sigma2: f32) -> [f32; N] {
    let mut w = [0.0f32; N];
    for j in 0..N {
        w[j] = qw[j] * (sigma2 + x[j] * x[j]).sqrt();
    }
    w
}

/// Bit 4 of 32 levels gathered into Q5's `qh`, and their low nibbles into `qs[16]`.
fn pack_q5(levels: &[u8; 32], qh_out: &mut [u8], qs: &mut [u8]) {
    let mut qh = 0u32;
    for j in 0..16 {
        let (a, b) = (levels[j], levels[j + 16]);
        qs[j] = (a & 0x0f) | ((b & 0x0f) << 4);
        qh |= (((a & 0x10) >> 4) as u32) << j;
        qh |= (((b & 0x10) >> 4) as u32) << (j + 16);
    }
    qh_out.copy_from_slice(&qh.to_le_bytes());
}

fn legacy_row(ty: GgmlType, x: &[f32], qw: &[f32], y: &mut [u8]) {
    let sigma2 = mean_square(x);
    let size = ty.type_size();
    for ((xb, wb), yb) in x
        .chunks_exact(32)
        .zip(qw.chunks_exact(32))
        .zip(y.chunks_exact_mut(size))
    {
        let weight = weights::<32>(xb, wb, sigma2);
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 => {
                let nmax = if ty == GgmlType::Q4_0 { 8 } else { 16 };
                let mut l = [0i8; 32];
                let d = make_qx_quants(nmax, xb, &mut l, 1, Some(&weight));
                put_f16(&mut yb[0..2], d);
                let lu = l.map(|v| v as u8);
                if ty == GgmlType::Q4_0 {
                    for j in 0..16 {
                        yb[2 + j] = lu[j] | (lu[j + 16] << 4);
                    }
                } else {
                    let (qh, qs) = yb[2..].split_at_mut(4);
                    pack_q5(&lu, qh, qs);
                }
            }
            _ => {
                let nmax = if ty == GgmlType::Q4_1 { 15 } else { 31 };
                let mut l = [0u8; 32];
                let mut laux = [0u8; 32];
                let mut min = 0.0f32;
                let d = make_qkx2_quants(
                    nmax, xb, &weight, &mut l, &mut min, &mut laux, -0.9, 0.05, 36, false,
                );
                put_f16(&mut yb[0..2], d);
                put_f16(&mut yb[2..4], -min);
                if ty == GgmlType::Q4_1 {
                    for j in 0..16 {
                        yb[4 + j] = l[j] | (l[j + 16] << 4);
                    }
                } else {
                    let (qh, qs) = yb[4..].split_at_mut(4);
                    pack_q5(&l, qh, qs);
                }
            }
        }
    }
}

fn q2_k(x: &[f32], qw: &[f32], y: &mut [u8]) {
    let mut levels = [0u8; 256];
    let mut laux = [0u8; 16];
    let mut mins = [0.0f32; 16];
    let mut scales = [0.0f32; 16];
    let mut sw = [0.0f32; 16];
    let sigma2 = mean_square(x);
    for j in 0..16 {
        let xg = &x[16 * j..16 * j + 16];
        let weight = weights::<16>(xg, &qw[16 * j..], sigma2);
        for &w in &weight {
            sw[j] += w;
        }
        let lg = &mut levels[16 * j..16 * j + 16];
        scales[j] = make_qkx2_quants(
            3,
            xg,
            &weight,
            lg,
            &mut mins[j],
            &mut laux,
            -0.9,
            0.05,
            36,
            false,
        );
    }
    let mut ls = [0u8; 16];
    let mut lm = [0u8; 16];
    let dm = make_qp_quants(15, &scales, &mut ls, &sw);
    let mm = make_qp_quants(15, &mins, &mut lm, &sw);
    put_f16(&mut y[80..82], dm);
    put_f16(&mut y[82..84], mm);
    for j in 0..16 {
        y[j] = ls[j] | (lm[j] << 4);
    }
    finish_q2_k(x, &mut levels, y);
}

fn q3_k(x: &[f32], qw: &[f32], y: &mut [u8]) {
    let mut levels = [0i8; 256];
    let mut scales = [0.0f32; 16];
    let mut sw = [0.0f32; 16];
    let mut sumx2 = 0.0f32;
    for &v in x {
        sumx2 += v * v;
    }
    let sigma2 = 2.0 * sumx2 / 256.0;
    for j in 0..16 {
        let xg = &x[16 * j..16 * j + 16];
        let weight = weights::<16>(xg, &qw[16 * j..], sigma2);
        let mut sumw = 0.0f32;
        for &w in &weight {
            sumw += w;
        }
        sw[j] = sumw;
        scales[j] = make_qx_quants(4, xg, &mut levels[16 * j..16 * j + 16], 1, Some(&weight));
    }
    let mut ls = [0i8; 16];
    let d_block = make_qx_quants(32, &scales, &mut ls, 1, Some(&sw));
    pack_scales_q3_k(&ls, &mut y[96..108]);
    put_f16(&mut y[108..110], d_block);
    finish_q3_k(x, &mut levels, y);
}

/// Q4_K (`nmax` 15) and Q5_K (`nmax` 31).
fn q4_k(x: &[f32], qw: &[f32], y: &mut [u8], nmax: i32) {
    let mut levels = [0u8; 256];
    let mut laux = [0u8; 32];
    let mut mins = [0.0f32; 8];
    let mut scales = [0.0f32; 8];
    let mut sw = [0.0f32; 8];
    let mut sum_x2 = 0.0f32;
    for &v in x {
        sum_x2 += v * v;
    }
    let sigma2 = 2.0 * sum_x2 / 256.0;
    for j in 0..8 {
        let xg = &x[32 * j..32 * j + 32];
        let weight = weights::<32>(xg, &qw[32 * j..], sigma2);
        let mut sumw = 0.0f32;
        for &w in &weight {
            sumw += w;
        }
        sw[j] = sumw;
        let lg = &mut levels[32 * j..32 * j + 32];
        scales[j] = make_qkx2_quants(
            nmax,
            xg,
            &weight,
            lg,
            &mut mins[j],
            &mut laux,
            -0.9,
            0.05,
            36,
            false,
        );
    }
    let mut ls = [0u8; 8];
    let mut lm = [0u8; 8];
    let d_block = make_qp_quants(63, &scales, &mut ls, &sw);
    let m_block = make_qp_quants(63, &mins, &mut lm, &sw);
    if nmax == 31 {
        // Q5_K clamps the levels to 6 bits; Q4_K packs them as they are.
        ls = ls.map(|v| v.min(63));
        lm = lm.map(|v| v.min(63));
    }
    let (head, rest) = y.split_at_mut(16);
    pack_levels_k4(&ls, &lm, &mut head[4..16]);
    put_f16(&mut head[0..2], d_block);
    put_f16(&mut head[2..4], m_block);
    requant_k4(x, nmax, head, &mut levels);
    if nmax == 15 {
        pack_q4_k(&levels, rest);
    } else {
        pack_q5_k(&levels, rest);
    }
}

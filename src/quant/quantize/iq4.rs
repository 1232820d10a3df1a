//! IQ4_NL and IQ4_XS: 4-bit indices into the non-linear table `KVALUES_IQ4NL`, with a scale
//! per 32 values chosen by a small search (ggml's `quantize_iq4_nl` / `quantize_iq4_xs`
//! with no importance matrix: weights `x^2`, 7 tries on each side).
//!
//! Byte layouts: IQ4_NL (18) `d` (f16), `qs[16]`; IQ4_XS (136) `d` (f16), `scales_h` (u16),
//! `scales_l[4]`, `qs[128]`. Nibbles: byte `j` of each 16-byte run holds values `j` (low)
//! and `j + 16` (high) of its 32-value block.

use super::kfit::GROUP_MAX_EPS;
use super::{nearest_int, put_f16};
use crate::quant::iq_tables::KVALUES_IQ4NL;

/// Tries on each side of the initial scale (upstream's `ntry` for whole tensors; its
/// `quantize_row_iq4_nl_ref`, ggml-cpu's `from_float`, uses -1: no search, no final pass).
const NTRY: i32 = 7;

/// Index of the table value nearest to `x` (ties go to the upper one unless strictly closer
/// to the lower), by bisection as ggml's `best_index_int8`.
#[inline]
fn best_index(values: &[i8; 16], x: f32) -> u8 {
    if x <= values[0] as f32 {
        return 0;
    }
    if x >= values[15] as f32 {
        return 15;
    }
    let (mut ml, mut mu) = (0usize, 15usize);
    while mu - ml > 1 {
        let mav = (ml + mu) / 2;
        if x < values[mav] as f32 {
            mu = mav;
        } else {
            ml = mav;
        }
    }
    if x - (values[mu - 1] as f32) < (values[mu] as f32) - x {
        (mu - 1) as u8
    } else {
        mu as u8
    }
}

/// Weights of one 32-value block: `x^2`, or with importance weights `qw`,
/// `qw * sqrt(sigma2 + x^2)` (`sigma2` from the whole super-block).
fn block_weights(xb: &[f32], qw: Option<&[f32]>, sigma2: f32) -> [f32; 32] {
    let mut weight = [0.0f32; 32];
    for j in 0..32 {
        weight[j] = match qw {
            Some(qw) => qw[j] * (sigma2 + xb[j] * xb[j]).sqrt(),
            None => xb[j] * xb[j],
        };
    }
    weight
}

/// `2 / n * sum(x^2)` over a super-block, in upstream's order.
fn sigma2(x: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for &v in x {
        s += v * v;
    }
    s * (2.0 / x.len() as f32)
}

/// Best scale for one 32-value block `xb`, writing its first-pass levels into `lb`.
/// `None` when the block is (nearly) all zero.
fn fit_block(xb: &[f32], weight: &[f32; 32], lb: &mut [u8], ntry: i32) -> Option<f32> {
    let values = &KVALUES_IQ4NL;
    let v0 = values[0] as f32;
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in xb.iter() {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        return None;
    }
    let mut d = if ntry > 0 { -max / v0 } else { max / v0 };
    let mut id = 1.0 / d;
    let mut sumqx = 0.0f32;
    let mut sumq2 = 0.0f32;
    for j in 0..32 {
        let l = best_index(values, id * xb[j]);
        lb[j] = l;
        let q = values[l as usize] as f32;
        let w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
    }
    d = if sumq2 > 0.0 { sumqx / sumq2 } else { 0.0 };
    let mut best = d * sumqx;
    for itry in -ntry..=ntry {
        id = (itry + values[0] as i32) as f32 / max;
        sumqx = 0.0;
        sumq2 = 0.0;
        for j in 0..32 {
            let l = best_index(values, id * xb[j]);
            let q = values[l as usize] as f32;
            let w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    Some(d)
}

/// Packs 32 levels per 16 bytes.
fn pack_nibbles(levels: &[u8], qs: &mut [u8]) {
    for (lv, q) in levels.chunks_exact(32).zip(qs.chunks_exact_mut(16)) {
        for j in 0..16 {
            q[j] = lv[j] | (lv[16 + j] << 4);
        }
    }
}

pub(super) fn quantize_block_iq4_nl(x: &[f32], y: &mut [u8]) {
    quantize_iq4_nl(x, None, y);
}

/// One IQ4_NL block, with importance weights `qw` (32 values) when given.
pub(super) fn quantize_iq4_nl(x: &[f32], qw: Option<&[f32]>, y: &mut [u8]) {
    iq4_nl_block(x, qw, y, NTRY, &mut [0u8; 32]);
}

/// IQ4_NL as ggml-cpu's `from_float` (`quantize_row_iq4_nl_ref`, `ntry` -1) for a whole row.
/// Upstream leaves the levels of an all-zero block as they were in its scratch buffer (the
/// previous block's, or uninitialised memory for the first); here the previous block's, or
/// zeros. Such a block has `d = 0`, so the values it stands for are zero either way.
pub(super) fn quantize_row_iq4_nl_ref(x: &[f32], y: &mut [u8]) {
    let mut levels = [0u8; 32];
    for (xb, yb) in x.chunks_exact(32).zip(y.chunks_exact_mut(18)) {
        iq4_nl_block(xb, None, yb, -1, &mut levels);
    }
}

/// One IQ4_NL block with `ntry` tries; `levels` is the scratch buffer that upstream reuses
/// from block to block.
fn iq4_nl_block(x: &[f32], qw: Option<&[f32]>, y: &mut [u8], ntry: i32, levels: &mut [u8; 32]) {
    let weight = block_weights(x, qw, if qw.is_some() { sigma2(x) } else { 0.0 });
    let scale = fit_block(x, &weight, levels, ntry).unwrap_or(0.0);
    put_f16(&mut y[0..2], scale);
    if ntry > 0 {
        let id = if scale != 0.0 { 1.0 / scale } else { 0.0 };
        for j in 0..32 {
            levels[j] = best_index(&KVALUES_IQ4NL, id * x[j]);
        }
    }
    pack_nibbles(levels, &mut y[2..18]);
}

pub(super) fn quantize_block_iq4_xs(x: &[f32], y: &mut [u8]) {
    quantize_iq4_xs(x, None, y);
}

/// One IQ4_XS super-block, with importance weights `qw` (256 values) when given.
pub(super) fn quantize_iq4_xs(x: &[f32], qw: Option<&[f32]>, y: &mut [u8]) {
    let mut levels = [0u8; 256];
    let s2 = if qw.is_some() { sigma2(x) } else { 0.0 };
    let mut scales = [0.0f32; 8];
    let mut max_scale = 0.0f32;
    let mut amax_scale = 0.0f32;
    for ib in 0..8 {
        let xb = &x[32 * ib..32 * ib + 32];
        let weight = block_weights(xb, qw.map(|w| &w[32 * ib..32 * ib + 32]), s2);
        match fit_block(xb, &weight, &mut levels[32 * ib..32 * ib + 32], NTRY) {
            None => scales[ib] = 0.0,
            Some(d) => {
                scales[ib] = d;
                if d.abs() > amax_scale {
                    amax_scale = d.abs();
                    max_scale = d;
                }
            }
        }
    }

    let (head, qs) = y.split_at_mut(8);
    let mut scales_h = 0u16;
    let mut scales_l = [0u8; 4];
    let d = -max_scale / 32.0;
    put_f16(&mut head[0..2], d);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for ib in 0..8 {
        let l = nearest_int(id * scales[ib]).clamp(-32, 31);
        let dl = d * l as f32;
        let idl = if dl != 0.0 { 1.0 / dl } else { 0.0 };
        let xb = &x[32 * ib..32 * ib + 32];
        for j in 0..32 {
            levels[32 * ib + j] = best_index(&KVALUES_IQ4NL, idl * xb[j]);
        }
        let l = (l + 32) as u8;
        let (l_l, l_h) = (l & 0xf, l >> 4);
        if ib % 2 == 0 {
            scales_l[ib / 2] = l_l;
        } else {
            scales_l[ib / 2] |= l_l << 4;
        }
        scales_h |= (l_h as u16) << (2 * (ib % 8));
    }
    head[2..4].copy_from_slice(&scales_h.to_le_bytes());
    head[4..8].copy_from_slice(&scales_l);
    pack_nibbles(&levels, qs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_index_picks_nearest() {
        let v = &KVALUES_IQ4NL;
        assert_eq!(best_index(v, -200.0), 0);
        assert_eq!(best_index(v, 200.0), 15);
        assert_eq!(best_index(v, 0.0), 8); // -10 vs 1: 1 is nearer
        assert_eq!(best_index(v, -5.0), 7);
        assert_eq!(best_index(v, -4.5), 8); // tie between -10 and 1 -> upper
        assert_eq!(best_index(v, 14.0), 9);
    }
}

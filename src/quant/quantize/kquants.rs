//! The k-quants (256-value super-blocks): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K, as ggml's
//! `quantize_row_*_ref` write them (the no-imatrix path of `quantize_q*_K`).
//!
//! Byte layouts (f16 little-endian unless noted):
//! - Q2_K (84): `scales[16]` (low nibble scale, high nibble min), `qs[64]`, `d`, `dmin`.
//! - Q3_K (110): `hmask[32]`, `qs[64]`, `scales[12]` (6-bit, packed), `d`.
//! - Q4_K (144): `d`, `dmin`, `scales[12]` (6-bit scales and mins, packed), `qs[128]`.
//! - Q5_K (176): `d`, `dmin`, `scales[12]`, `qh[32]`, `qs[128]`.
//! - Q6_K (210): `ql[128]`, `qh[64]`, `scales[16]` (i8), `d`.
//! - Q8_K (292): `d` (f32), `qs[256]` (i8), `bsums[16]` (i16).

use super::kfit::{make_q3_quants, make_qkx2_quants, make_qx_quants, GROUP_MAX_EPS};
use super::{get_f16, nearest_int, put_f16};

/// Packs 2-bit levels: byte `l` of each 32-byte run holds values `l`, `l+32`, `l+64`, `l+96`
/// of a 128-value half.
fn pack_2bit(levels: &[u8; 256], qs: &mut [u8]) {
    for j in (0..256).step_by(128) {
        for l in 0..32 {
            qs[j / 4 + l] = levels[j + l]
                | (levels[j + l + 32] << 2)
                | (levels[j + l + 64] << 4)
                | (levels[j + l + 96] << 6);
        }
    }
}

pub(super) fn quantize_block_q2_k(x: &[f32], y: &mut [u8]) {
    const Q4SCALE: f32 = 15.0;
    let mut levels = [0u8; 256];
    let mut laux = [0u8; 16];
    let mut weights = [0.0f32; 16];
    let mut mins = [0.0f32; 16];
    let mut scales = [0.0f32; 16];

    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for j in 0..16 {
        let xg = &x[16 * j..16 * j + 16];
        for l in 0..16 {
            weights[l] = xg[l].abs();
        }
        let lg = &mut levels[16 * j..16 * j + 16];
        scales[j] = make_qkx2_quants(
            3,
            xg,
            &weights,
            lg,
            &mut mins[j],
            &mut laux,
            -0.5,
            0.1,
            15,
            true,
        );
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }

    let (sc, rest) = y.split_at_mut(16);
    let dd = &mut rest[64..];
    if max_scale > 0.0 {
        let iscale = Q4SCALE / max_scale;
        for j in 0..16 {
            sc[j] = nearest_int(iscale * scales[j]) as u8;
        }
        put_f16(&mut dd[0..2], max_scale / Q4SCALE);
    } else {
        sc.fill(0);
        put_f16(&mut dd[0..2], 0.0);
    }
    if max_min > 0.0 {
        let iscale = Q4SCALE / max_min;
        for j in 0..16 {
            let l = nearest_int(iscale * mins[j]);
            sc[j] |= (l << 4) as u8;
        }
        put_f16(&mut dd[2..4], max_min / Q4SCALE);
    } else {
        put_f16(&mut dd[2..4], 0.0);
    }
    finish_q2_k(x, &mut levels, y);
}

/// Q2_K's tail, shared with the weighted path: with `scales[16]`, `d` and `dmin` already in
/// `y`, requantizes every group against the stored (rounded) scales and packs the levels.
pub(super) fn finish_q2_k(x: &[f32], levels: &mut [u8; 256], y: &mut [u8]) {
    let (sc, rest) = y.split_at_mut(16);
    let (qs, dd) = rest.split_at_mut(64);
    let d_all = get_f16(&dd[0..2]);
    let m_all = get_f16(&dd[2..4]);
    for j in 0..16 {
        let d = d_all * (sc[j] & 0xf) as f32;
        if d == 0.0 {
            continue;
        }
        let dm = m_all * (sc[j] >> 4) as f32;
        for ii in 0..16 {
            let l = nearest_int((x[16 * j + ii] + dm) / d);
            levels[16 * j + ii] = l.clamp(0, 3) as u8;
        }
    }
    pack_2bit(levels, qs);
}

pub(super) fn quantize_block_q3_k(x: &[f32], y: &mut [u8]) {
    let mut levels = [0i8; 256];
    let mut scales = [0.0f32; 16];

    let mut max_scale = 0.0f32;
    let mut amax = 0.0f32;
    for j in 0..16 {
        scales[j] = make_q3_quants(
            4,
            &x[16 * j..16 * j + 16],
            &mut levels[16 * j..16 * j + 16],
            true,
        );
        let scale = scales[j].abs();
        if scale > amax {
            amax = scale;
            max_scale = scales[j];
        }
    }

    let (sc, dd) = y[96..].split_at_mut(12);
    if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        let mut ls = [0i8; 16];
        for j in 0..16 {
            let l = nearest_int(iscale * scales[j]) as i8;
            ls[j] = ((l as i32).clamp(-32, 31) + 32) as i8;
        }
        pack_scales_q3_k(&ls, sc);
        put_f16(dd, 1.0 / iscale);
    } else {
        sc.fill(0);
        put_f16(dd, 0.0);
    }

    finish_q3_k(x, &mut levels, y);
}

/// Q3_K's tail, shared with the weighted path: with the packed `scales[12]` and `d` in `y`,
/// requantizes against the stored scales and writes `hmask` and `qs`.
pub(super) fn finish_q3_k(x: &[f32], levels: &mut [i8; 256], y: &mut [u8]) {
    let (hmask, rest) = y.split_at_mut(32);
    let (qs, rest) = rest.split_at_mut(64);
    let (sc, dd) = rest.split_at_mut(12);
    let d_all = get_f16(dd);
    for j in 0..16 {
        let low = if j < 8 { sc[j] & 0xf } else { sc[j - 8] >> 4 } as i32;
        let high = ((sc[8 + j % 4] >> (2 * (j / 4))) & 3) as i32;
        let s = ((low | (high << 4)) - 32) as i8;
        let d = d_all * s as f32;
        if d == 0.0 {
            continue;
        }
        for ii in 0..16 {
            let l = nearest_int(x[16 * j + ii] / d).clamp(-4, 3);
            levels[16 * j + ii] = (l + 4) as i8;
        }
    }

    // The high bit of value j goes to bit (j / 32) of hmask[j % 32].
    hmask.fill(0);
    let mut low = [0u8; 256];
    for j in 0..256 {
        let mut l = levels[j];
        if l > 3 {
            hmask[j % 32] |= 1 << (j / 32);
            l -= 4;
        }
        low[j] = l as u8;
    }
    pack_2bit(&low, qs);
}

/// Packs sixteen 6-bit Q3_K scales (already offset by 32, in 0..63) into 12 bytes.
pub(super) fn pack_scales_q3_k(ls: &[i8; 16], sc: &mut [u8]) {
    sc[..12].fill(0);
    for (j, &l) in ls.iter().enumerate() {
        if j < 8 {
            sc[j] = (l & 0xf) as u8;
        } else {
            sc[j - 8] |= ((l & 0xf) << 4) as u8;
        }
        let hi = (l >> 4) as i32;
        sc[j % 4 + 8] |= (hi << (2 * (j / 4))) as u8;
    }
}

/// Packs the eight 6-bit scales and mins of Q4_K / Q5_K into 12 bytes.
fn pack_scales_k4(scales: &[f32; 8], mins: &[f32; 8], max_scale: f32, max_min: f32, sc: &mut [u8]) {
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let mut ls = [0u8; 8];
    let mut lm = [0u8; 8];
    for j in 0..8 {
        ls[j] = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        lm[j] = (nearest_int(inv_min * mins[j]) as u8).min(63);
    }
    pack_levels_k4(&ls, &lm, sc);
}

/// The 6-bit scale and min of sub-block `j` from the packed 12 bytes.
fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// The shared first half of Q4_K and Q5_K: per-32 asymmetric fits, the packed scales, and
/// the final levels (in `[0, nmax]`) against the stored, rounded scales.
fn quantize_k4_common(
    x: &[f32],
    nmax: i32,
    rmin: f32,
    nstep: i32,
    head: &mut [u8],
    levels: &mut [u8; 256],
) {
    let mut laux = [0u8; 32];
    let mut weights = [0.0f32; 32];
    let mut mins = [0.0f32; 8];
    let mut scales = [0.0f32; 8];
    let mut max_scale = 0.0f32;
    let mut max_min = 0.0f32;
    for j in 0..8 {
        let xg = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xg {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        for l in 0..32 {
            weights[l] = av_x + xg[l].abs();
        }
        let lg = &mut levels[32 * j..32 * j + 32];
        scales[j] = make_qkx2_quants(
            nmax,
            xg,
            &weights,
            lg,
            &mut mins[j],
            &mut laux,
            rmin,
            0.1,
            nstep,
            false,
        );
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let (dd, sc) = head.split_at_mut(4);
    pack_scales_k4(&scales, &mins, max_scale, max_min, sc);
    put_f16(&mut dd[0..2], max_scale / 63.0);
    put_f16(&mut dd[2..4], max_min / 63.0);
    requant_k4(x, nmax, head, levels);
}

/// Packs eight 6-bit scale and min levels of Q4_K / Q5_K into 12 bytes.
pub(super) fn pack_levels_k4(ls: &[u8; 8], lm: &[u8; 8], sc: &mut [u8]) {
    for j in 0..8 {
        let (ls, lm) = (ls[j], lm[j]);
        if j < 4 {
            sc[j] = ls;
            sc[j + 4] = lm;
        } else {
            sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
            sc[j - 4] |= (ls >> 4) << 6;
            sc[j] |= (lm >> 4) << 6;
        }
    }
}

/// The Q4_K / Q5_K levels (in `[0, nmax]`) against the scales stored in the 16-byte `head`
/// (`d`, `dmin`, `scales[12]`); groups whose scale rounds to zero keep their levels.
pub(super) fn requant_k4(x: &[f32], nmax: i32, head: &[u8], levels: &mut [u8; 256]) {
    let (dd, sc) = head.split_at(4);
    let d_all = get_f16(&dd[0..2]);
    let m_all = get_f16(&dd[2..4]);
    for j in 0..8 {
        let (s, m) = scale_min_k4(j, sc);
        let d = d_all * s as f32;
        if d == 0.0 {
            continue;
        }
        let dm = m_all * m as f32;
        for ii in 0..32 {
            let l = nearest_int((x[32 * j + ii] + dm) / d);
            levels[32 * j + ii] = l.clamp(0, nmax) as u8;
        }
    }
}

pub(super) fn quantize_block_q4_k(x: &[f32], y: &mut [u8]) {
    let mut levels = [0u8; 256];
    let (head, qs) = y.split_at_mut(16);
    quantize_k4_common(x, 15, -1.0, 20, head, &mut levels);
    pack_q4_k(&levels, qs);
}

/// Q4_K nibbles: byte `l` of run `n` holds values `64 n + l` and `64 n + l + 32`.
pub(super) fn pack_q4_k(levels: &[u8; 256], qs: &mut [u8]) {
    for (n, q) in qs.chunks_exact_mut(32).enumerate() {
        let j = 64 * n;
        for l in 0..32 {
            q[l] = levels[j + l] | (levels[j + l + 32] << 4);
        }
    }
}

pub(super) fn quantize_block_q5_k(x: &[f32], y: &mut [u8]) {
    let mut levels = [0u8; 256];
    let (head, rest) = y.split_at_mut(16);
    quantize_k4_common(x, 31, -0.5, 15, head, &mut levels);
    pack_q5_k(&levels, rest);
}

/// Q5_K `qh[32]` and `qs[128]` from levels in 0..31.
pub(super) fn pack_q5_k(levels: &[u8; 256], rest: &mut [u8]) {
    let (qh, ql) = rest.split_at_mut(32);
    qh.fill(0);
    let mut m1 = 1u8;
    let mut m2 = 2u8;
    for (n, q) in ql.chunks_exact_mut(32).enumerate() {
        let base = 64 * n;
        for j in 0..32 {
            let mut l1 = levels[base + j];
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= m1;
            }
            let mut l2 = levels[base + j + 32];
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= m2;
            }
            q[j] = l1 | (l2 << 4);
        }
        m1 <<= 2;
        m2 <<= 2;
    }
}

pub(super) fn quantize_block_q6_k(x: &[f32], y: &mut [u8]) {
    quantize_q6_k(x, None, y);
}

/// Q6_K, with the importance weights `qw` (256 values) handed to the group fits when given.
pub(super) fn quantize_q6_k(x: &[f32], qw: Option<&[f32]>, y: &mut [u8]) {
    let mut levels = [0i8; 256];
    let mut scales = [0.0f32; 16];
    let mut max_scale = 0.0f32;
    let mut max_abs_scale = 0.0f32;
    for ib in 0..16 {
        let scale = make_qx_quants(
            32,
            &x[16 * ib..16 * ib + 16],
            &mut levels[16 * ib..16 * ib + 16],
            1,
            qw.map(|w| &w[16 * ib..16 * ib + 16]),
        );
        scales[ib] = scale;
        let abs_scale = scale.abs();
        if abs_scale > max_abs_scale {
            max_abs_scale = abs_scale;
            max_scale = scale;
        }
    }

    if max_abs_scale < GROUP_MAX_EPS {
        y.fill(0);
        return;
    }

    let (ql, rest) = y.split_at_mut(128);
    let (qh, rest) = rest.split_at_mut(64);
    let (sc, dd) = rest.split_at_mut(16);
    let iscale = -128.0 / max_scale;
    put_f16(dd, 1.0 / iscale);
    for ib in 0..16 {
        sc[ib] = nearest_int(iscale * scales[ib]).min(127) as i8 as u8;
    }
    let d_all = get_f16(dd);
    for j in 0..16 {
        let d = d_all * (sc[j] as i8) as f32;
        if d == 0.0 {
            continue;
        }
        for ii in 0..16 {
            let l = nearest_int(x[16 * j + ii] / d).clamp(-32, 31);
            levels[16 * j + ii] = (l + 32) as i8;
        }
    }

    let lv = |i: usize| levels[i] as u8;
    for (half, (ql, qh)) in ql
        .chunks_exact_mut(64)
        .zip(qh.chunks_exact_mut(32))
        .enumerate()
    {
        let j = 128 * half;
        for l in 0..32 {
            let q1 = lv(j + l) & 0xf;
            let q2 = lv(j + l + 32) & 0xf;
            let q3 = lv(j + l + 64) & 0xf;
            let q4 = lv(j + l + 96) & 0xf;
            ql[l] = q1 | (q3 << 4);
            ql[l + 32] = q2 | (q4 << 4);
            qh[l] = (lv(j + l) >> 4)
                | ((lv(j + l + 32) >> 4) << 2)
                | ((lv(j + l + 64) >> 4) << 4)
                | ((lv(j + l + 96) >> 4) << 6);
        }
    }
}

pub(super) fn quantize_block_q8_k(x: &[f32], y: &mut [u8]) {
    let mut max = 0.0f32;
    let mut amax = 0.0f32;
    for &v in x {
        let ax = v.abs();
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    let (dd, rest) = y.split_at_mut(4);
    let (qs, bsums) = rest.split_at_mut(256);
    if amax == 0.0 {
        dd.copy_from_slice(&0.0f32.to_le_bytes());
        qs.fill(0);
        // Upstream leaves bsums untouched here; a fresh buffer of zeros is what it writes
        // in practice, and zeros are the only consistent value.
        bsums.fill(0);
        return;
    }
    let iscale = -127.0 / max;
    for j in 0..256 {
        let v = nearest_int(iscale * x[j]);
        qs[j] = v.min(127) as i8 as u8;
    }
    for (j, b) in bsums.chunks_exact_mut(2).enumerate() {
        let sum: i32 = qs[16 * j..16 * j + 16]
            .iter()
            .map(|&q| q as i8 as i32)
            .sum();
        b.copy_from_slice(&(sum as i16).to_le_bytes());
    }
    dd.copy_from_slice(&(1.0 / iscale).to_le_bytes());
}

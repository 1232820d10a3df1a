//! The k-quants: 256-element super-blocks with per-sub-block scales (Q2_K .. Q6_K) and the
//! activation format Q8_K.

use super::super::blocks::*;
use super::super::types::QK_K;
use super::{f16_at, for_blocks};
use core::mem::{offset_of, size_of};

/// Scale and min of sub-block `j` (0..8) from the 12 packed bytes of Q4_K / Q5_K:
/// sub-blocks 0..4 use the low 6 bits of bytes j and j + 4; sub-blocks 4..8 combine a
/// nibble of byte j + 4 with the top 2 bits of bytes j - 4 and j.
#[inline(always)]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Q2_K: `(d * sc) * q - (dmin * m)` per 16 elements.
pub fn q2_k(src: &[u8], dst: &mut [f32]) {
    const SC: usize = offset_of!(BlockQ2_K, scales);
    const QS: usize = offset_of!(BlockQ2_K, qs);
    for_blocks::<{ size_of::<BlockQ2_K>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ2_K, d));
        let min = f16_at(b, offset_of!(BlockQ2_K, dmin));
        // element e = 128 n + 32 j + l: bits 2j of qs[32 n + l], scale byte e / 16
        for n in 0..QK_K / 128 {
            for j in 0..4 {
                for h in 0..2 {
                    let base = 128 * n + 32 * j + 16 * h;
                    let sc = b[SC + base / 16];
                    let dl = d * (sc & 0x0f) as f32;
                    let ml = min * (sc >> 4) as f32;
                    let q = &b[QS + 32 * n + 16 * h..QS + 32 * n + 16 * h + 16];
                    for (l, y) in y[base..base + 16].iter_mut().enumerate() {
                        *y = dl * ((q[l] >> (2 * j)) & 3) as f32 - ml;
                    }
                }
            }
        }
    });
}

/// The 16 signed 6-bit scales of a Q3_K block.
#[inline(always)]
fn q3_k_scales(s: &[u8]) -> [i32; 16] {
    let mut out = [0i32; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let low = if i < 8 { s[i] & 0x0f } else { s[i - 8] >> 4 };
        let high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        *o = (low | (high << 4)) as i32 - 32;
    }
    out
}

/// Q3_K: `(d * (sc - 32)) * (q - (hbit ? 0 : 4))` per 16 elements.
pub fn q3_k(src: &[u8], dst: &mut [f32]) {
    const HM: usize = offset_of!(BlockQ3_K, hmask);
    const QS: usize = offset_of!(BlockQ3_K, qs);
    const SC: usize = offset_of!(BlockQ3_K, scales);
    for_blocks::<{ size_of::<BlockQ3_K>() }, QK_K>(src, dst, |b, y| {
        let d_all = f16_at(b, offset_of!(BlockQ3_K, d));
        let scales = q3_k_scales(&b[SC..SC + 12]);
        // element e = 128 n + 32 j + l: low bits 2j of qs[32 n + l], high bit (4 n + j) of hmask[l]
        for n in 0..QK_K / 128 {
            for j in 0..4 {
                for h in 0..2 {
                    let base = 128 * n + 32 * j + 16 * h;
                    let dl = d_all * scales[base / 16] as f32;
                    for (i, y) in y[base..base + 16].iter_mut().enumerate() {
                        let l = 16 * h + i;
                        let low = ((b[QS + 32 * n + l] >> (2 * j)) & 3) as i32;
                        let high = (b[HM + l] >> (4 * n + j)) & 1;
                        let q = low - if high != 0 { 0 } else { 4 };
                        *y = dl * q as f32;
                    }
                }
            }
        }
    });
}

/// Q4_K: `(d * sc) * q - (dmin * m)` per 32 elements.
pub fn q4_k(src: &[u8], dst: &mut [f32]) {
    const SC: usize = offset_of!(BlockQ4_K, scales);
    const QS: usize = offset_of!(BlockQ4_K, qs);
    for_blocks::<{ size_of::<BlockQ4_K>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ4_K, d));
        let min = f16_at(b, offset_of!(BlockQ4_K, dmin));
        let scales = &b[SC..SC + K_SCALE_SIZE];
        for j in 0..QK_K / 64 {
            let (sc1, m1) = scale_min_k4(2 * j, scales);
            let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            let q = &b[QS + 32 * j..QS + 32 * j + 32];
            for l in 0..32 {
                y[64 * j + l] = d1 * (q[l] & 0x0f) as f32 - m1;
                y[64 * j + 32 + l] = d2 * (q[l] >> 4) as f32 - m2;
            }
        }
    });
}

/// Q5_K: Q4_K with a fifth bit from `qh`.
pub fn q5_k(src: &[u8], dst: &mut [f32]) {
    const SC: usize = offset_of!(BlockQ5_K, scales);
    const QH: usize = offset_of!(BlockQ5_K, qh);
    const QS: usize = offset_of!(BlockQ5_K, qs);
    for_blocks::<{ size_of::<BlockQ5_K>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ5_K, d));
        let min = f16_at(b, offset_of!(BlockQ5_K, dmin));
        let scales = &b[SC..SC + K_SCALE_SIZE];
        for j in 0..QK_K / 64 {
            let (sc1, m1) = scale_min_k4(2 * j, scales);
            let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
            let ql = &b[QS + 32 * j..QS + 32 * j + 32];
            for l in 0..32 {
                let qh = b[QH + l];
                let h1 = if qh & u1 != 0 { 16 } else { 0 };
                let h2 = if qh & u2 != 0 { 16 } else { 0 };
                y[64 * j + l] = d1 * ((ql[l] & 0x0f) + h1) as f32 - m1;
                y[64 * j + 32 + l] = d2 * ((ql[l] >> 4) + h2) as f32 - m2;
            }
        }
    });
}

/// Q6_K: `(d * sc) * (q - 32)` per 16 elements.
pub fn q6_k(src: &[u8], dst: &mut [f32]) {
    const QL: usize = offset_of!(BlockQ6_K, ql);
    const QH: usize = offset_of!(BlockQ6_K, qh);
    const SC: usize = offset_of!(BlockQ6_K, scales);
    for_blocks::<{ size_of::<BlockQ6_K>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ6_K, d));
        for n in 0..QK_K / 128 {
            let ql = &b[QL + 64 * n..QL + 64 * n + 64];
            let qh = &b[QH + 32 * n..QH + 32 * n + 32];
            let sc = &b[SC + 8 * n..SC + 8 * n + 8];
            let y = &mut y[128 * n..128 * n + 128];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
            }
        }
    });
}

/// Q8_K: `d * q` with an f32 `d`.
pub fn q8_k(src: &[u8], dst: &mut [f32]) {
    const D: usize = offset_of!(BlockQ8_K, d);
    const QS: usize = offset_of!(BlockQ8_K, qs);
    for_blocks::<{ size_of::<BlockQ8_K>() }, QK_K>(src, dst, |b, y| {
        let d = f32::from_le_bytes([b[D], b[D + 1], b[D + 2], b[D + 3]]);
        for (j, y) in y.iter_mut().enumerate() {
            *y = d * (b[QS + j] as i8) as f32;
        }
    });
}

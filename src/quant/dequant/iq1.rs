//! The 1.56/1.75-bit i-quants IQ1_S and IQ1_M: 11-bit indices into a ternary codebook,
//! shifted by ±delta and scaled by `d * (2 s + 1)`.

use super::super::blocks::*;
use super::super::float::fp16_to_f32;
use super::super::iq_tables::{IQ1M_DELTA, IQ1S_DELTA, IQ1S_GRID};
use super::super::types::QK_K;
use super::{f16_at, for_blocks, u16_at};
use core::mem::{offset_of, size_of};

/// Writes `dl * (grid[j] + delta)` for the 8 signed bytes of codebook point `idx`.
#[inline(always)]
fn put8(y: &mut [f32], dl: f32, idx: usize, delta: f32) {
    let grid = IQ1S_GRID[idx];
    for (j, y) in y[..8].iter_mut().enumerate() {
        let g = ((grid >> (8 * j)) & 0xff) as u8 as i8;
        *y = dl * (g as f32 + delta);
    }
}

/// IQ1_S: per 32 elements a u16 with 4 x 3 high index bits, a 3-bit scale and a delta sign.
pub fn iq1_s(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq1_S, qs);
    const QH: usize = offset_of!(BlockIq1_S, qh);
    for_blocks::<{ size_of::<BlockIq1_S>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq1_S, d));
        for ib in 0..QK_K / 32 {
            let qh = u16_at(b, QH + 2 * ib) as usize;
            let dl = d * (2 * ((qh >> 12) & 7) + 1) as f32;
            let delta = if qh & 0x8000 != 0 {
                -IQ1S_DELTA
            } else {
                IQ1S_DELTA
            };
            for l in 0..4 {
                let idx = b[QS + 4 * ib + l] as usize | (((qh >> (3 * l)) & 7) << 8);
                put8(&mut y[32 * ib + 8 * l..], dl, idx, delta);
            }
        }
    });
}

/// IQ1_M: per 8 elements a nibble of 3 high index bits + delta sign; 3-bit scales per 16;
/// the f16 super-block scale is assembled from the top nibbles of the 4 scale words.
pub fn iq1_m(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq1_M, qs);
    const QH: usize = offset_of!(BlockIq1_M, qh);
    const SC: usize = offset_of!(BlockIq1_M, scales);
    for_blocks::<{ size_of::<BlockIq1_M>() }, QK_K>(src, dst, |b, y| {
        let sc = [
            u16_at(b, SC),
            u16_at(b, SC + 2),
            u16_at(b, SC + 4),
            u16_at(b, SC + 6),
        ];
        let d_bits =
            (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
        let d = fp16_to_f32(d_bits);
        for ib in 0..QK_K / 32 {
            let w = sc[ib / 2] as usize;
            let dl1 = d * (2 * ((w >> (6 * (ib % 2))) & 7) + 1) as f32;
            let dl2 = d * (2 * ((w >> (6 * (ib % 2) + 3)) & 7) + 1) as f32;
            let qh = [b[QH + 2 * ib] as usize, b[QH + 2 * ib + 1] as usize];
            for l in 0..4 {
                let h = qh[l / 2] >> (4 * (l % 2)); // nibble: 3 index bits, then the delta sign
                let idx = b[QS + 4 * ib + l] as usize | ((h & 7) << 8);
                let delta = if h & 8 != 0 { -IQ1M_DELTA } else { IQ1M_DELTA };
                let dl = if l < 2 { dl1 } else { dl2 };
                put8(&mut y[32 * ib + 8 * l..], dl, idx, delta);
            }
        }
    });
}

//! Formats with a 16-entry value table: IQ4_NL and IQ4_XS (non-linear int levels) and the
//! FP4 formats MXFP4 (E8M0 block exponent) and NVFP4 (E4M3 scale per 16).

use super::super::blocks::*;
use super::super::float::{e8m0_to_f32_half, ue4m3_to_f32_half};
use super::super::iq_tables::{KVALUES_IQ4NL, KVALUES_MXFP4};
use super::super::types::QK_K;
use super::{f16_at, for_blocks, u16_at};
use core::mem::{offset_of, size_of};

/// IQ4_NL: `d * kvalues[q]`.
pub fn iq4_nl(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq4_Nl, qs);
    for_blocks::<{ size_of::<BlockIq4_Nl>() }, QK4_NL>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq4_Nl, d));
        for j in 0..QK4_NL / 2 {
            y[j] = d * KVALUES_IQ4NL[(b[QS + j] & 0x0f) as usize] as f32;
            y[j + QK4_NL / 2] = d * KVALUES_IQ4NL[(b[QS + j] >> 4) as usize] as f32;
        }
    });
}

/// IQ4_XS: `(d * (ls - 32)) * kvalues[q]` with a 6-bit scale `ls` per 32 elements.
pub fn iq4_xs(src: &[u8], dst: &mut [f32]) {
    const SL: usize = offset_of!(BlockIq4_Xs, scales_l);
    const QS: usize = offset_of!(BlockIq4_Xs, qs);
    for_blocks::<{ size_of::<BlockIq4_Xs>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq4_Xs, d));
        let scales_h = u16_at(b, offset_of!(BlockIq4_Xs, scales_h)) as i32;
        for ib in 0..QK_K / 32 {
            let lo = ((b[SL + ib / 2] >> (4 * (ib % 2))) & 0x0f) as i32;
            let ls = lo | (((scales_h >> (2 * ib)) & 3) << 4);
            let dl = d * (ls - 32) as f32;
            let q = &b[QS + 16 * ib..QS + 16 * ib + 16];
            for j in 0..16 {
                y[32 * ib + j] = dl * KVALUES_IQ4NL[(q[j] & 0x0f) as usize] as f32;
                y[32 * ib + 16 + j] = dl * KVALUES_IQ4NL[(q[j] >> 4) as usize] as f32;
            }
        }
    });
}

/// MXFP4: `kvalues[q] * 2^(e - 128)` (values stored doubled, scale halved).
pub fn mxfp4(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockMxfp4, qs);
    for_blocks::<{ size_of::<BlockMxfp4>() }, QK_MXFP4>(src, dst, |b, y| {
        let d = e8m0_to_f32_half(b[offset_of!(BlockMxfp4, e)]);
        for j in 0..QK_MXFP4 / 2 {
            y[j] = KVALUES_MXFP4[(b[QS + j] & 0x0f) as usize] as f32 * d;
            y[j + QK_MXFP4 / 2] = KVALUES_MXFP4[(b[QS + j] >> 4) as usize] as f32 * d;
        }
    });
}

/// NVFP4: four sub-blocks of 16, each `kvalues[q] * ue4m3(d[s]) / 2`.
pub fn nvfp4(src: &[u8], dst: &mut [f32]) {
    const D: usize = offset_of!(BlockNvfp4, d);
    const QS: usize = offset_of!(BlockNvfp4, qs);
    const HALF: usize = QK_NVFP4_SUB / 2;
    for_blocks::<{ size_of::<BlockNvfp4>() }, QK_NVFP4>(src, dst, |b, y| {
        for s in 0..QK_NVFP4 / QK_NVFP4_SUB {
            let d = ue4m3_to_f32_half(b[D + s]);
            for j in 0..HALF {
                let q = b[QS + HALF * s + j];
                y[QK_NVFP4_SUB * s + j] = KVALUES_MXFP4[(q & 0x0f) as usize] as f32 * d;
                y[QK_NVFP4_SUB * s + HALF + j] = KVALUES_MXFP4[(q >> 4) as usize] as f32 * d;
            }
        }
    });
}

//! The codebook i-quants IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S: each group of 8 (or 4)
//! magnitudes is a grid point, signs come from a 7-bit parity-completed index or explicit
//! bits, and a 4-bit scale applies per 16 or 32 elements.

use super::super::blocks::*;
use super::super::iq_tables::{
    IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, KMASK_IQ2XS, KSIGNS_IQ2XS,
};
use super::super::types::QK_K;
use super::{f16_at, for_blocks, u16_at, u32_at};
use core::mem::{offset_of, size_of};

/// Writes `db * grid[j] * ±1` for the 8 bytes of `grid`, sign j from bit j of `signs`.
#[inline(always)]
fn put8(y: &mut [f32], db: f32, grid: u64, signs: u8) {
    for (j, y) in y[..8].iter_mut().enumerate() {
        let g = ((grid >> (8 * j)) & 0xff) as f32;
        let s = if signs & KMASK_IQ2XS[j] != 0 {
            -1.0f32
        } else {
            1.0
        };
        *y = db * g * s;
    }
}

/// IQ2_XXS: per 32 elements, 4 grid bytes and a u32 of 4 sign indices + a 4-bit scale.
pub fn iq2_xxs(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq2_Xxs, qs);
    for_blocks::<{ size_of::<BlockIq2_Xxs>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq2_Xxs, d));
        for ib32 in 0..QK_K / 32 {
            let grid_idx = &b[QS + 8 * ib32..QS + 8 * ib32 + 4];
            let aux1 = u32_at(b, QS + 8 * ib32 + 4);
            let db = d * (0.5 + (aux1 >> 28) as f32) * 0.25;
            for l in 0..4 {
                let signs = KSIGNS_IQ2XS[((aux1 >> (7 * l)) & 127) as usize];
                let grid = IQ2XXS_GRID[grid_idx[l] as usize];
                put8(&mut y[32 * ib32 + 8 * l..], db, grid, signs);
            }
        }
    });
}

/// IQ2_XS: 9-bit grid index + 7-bit sign index per 8 elements, 4-bit scale per 16.
pub fn iq2_xs(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq2_Xs, qs);
    const SC: usize = offset_of!(BlockIq2_Xs, scales);
    for_blocks::<{ size_of::<BlockIq2_Xs>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq2_Xs, d));
        for ib32 in 0..QK_K / 32 {
            let sc = b[SC + ib32];
            let db = [
                d * (0.5 + (sc & 0x0f) as f32) * 0.25,
                d * (0.5 + (sc >> 4) as f32) * 0.25,
            ];
            for l in 0..4 {
                let q = u16_at(b, QS + 2 * (4 * ib32 + l));
                let grid = IQ2XS_GRID[(q & 511) as usize];
                let signs = KSIGNS_IQ2XS[(q >> 9) as usize];
                put8(&mut y[32 * ib32 + 8 * l..], db[l / 2], grid, signs);
            }
        }
    });
}

/// IQ2_S: 10-bit grid index (8 + 2 high bits) per 8 elements, explicit sign bytes.
pub fn iq2_s(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq2_S, qs);
    const SIGNS: usize = QS + QK_K / 8;
    const QH: usize = offset_of!(BlockIq2_S, qh);
    const SC: usize = offset_of!(BlockIq2_S, scales);
    for_blocks::<{ size_of::<BlockIq2_S>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq2_S, d));
        for ib32 in 0..QK_K / 32 {
            let sc = b[SC + ib32];
            let db = [
                d * (0.5 + (sc & 0x0f) as f32) * 0.25,
                d * (0.5 + (sc >> 4) as f32) * 0.25,
            ];
            let qh = b[QH + ib32] as usize;
            for l in 0..4 {
                let idx = b[QS + 4 * ib32 + l] as usize | ((qh << (8 - 2 * l)) & 0x300);
                let signs = b[SIGNS + 4 * ib32 + l];
                put8(
                    &mut y[32 * ib32 + 8 * l..],
                    db[l / 2],
                    IQ2S_GRID[idx],
                    signs,
                );
            }
        }
    });
}

/// IQ3_XXS: two 4-wide grid points per 8 elements, sign index + 4-bit scale per 32.
pub fn iq3_xxs(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq3_Xxs, qs);
    const SS: usize = QS + QK_K / 4;
    for_blocks::<{ size_of::<BlockIq3_Xxs>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq3_Xxs, d));
        for ib32 in 0..QK_K / 32 {
            let aux = u32_at(b, SS + 4 * ib32);
            let db = d * (0.5 + (aux >> 28) as f32) * 0.5;
            for l in 0..4 {
                let signs = KSIGNS_IQ2XS[((aux >> (7 * l)) & 127) as usize];
                let g1 = IQ3XXS_GRID[b[QS + 8 * ib32 + 2 * l] as usize] as u64;
                let g2 = IQ3XXS_GRID[b[QS + 8 * ib32 + 2 * l + 1] as usize] as u64;
                put8(&mut y[32 * ib32 + 8 * l..], db, g1 | (g2 << 32), signs);
            }
        }
    });
}

/// IQ3_S: two 4-wide grid points (9-bit indices) per 8 elements, explicit signs,
/// scale `1 + 2 * s` per 32.
pub fn iq3_s(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockIq3_S, qs);
    const QH: usize = offset_of!(BlockIq3_S, qh);
    const SIGNS: usize = offset_of!(BlockIq3_S, signs);
    const SC: usize = offset_of!(BlockIq3_S, scales);
    for_blocks::<{ size_of::<BlockIq3_S>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockIq3_S, d));
        for ib32 in 0..QK_K / 32 {
            let sc = b[SC + ib32 / 2];
            let s = if ib32 % 2 == 0 { sc & 0x0f } else { sc >> 4 };
            let db = d * (1 + 2 * s as i32) as f32;
            let qh = b[QH + ib32] as usize;
            for l in 0..4 {
                let i1 = b[QS + 8 * ib32 + 2 * l] as usize | ((qh << (8 - 2 * l)) & 256);
                let i2 = b[QS + 8 * ib32 + 2 * l + 1] as usize | ((qh << (7 - 2 * l)) & 256);
                let grid = IQ3S_GRID[i1] as u64 | ((IQ3S_GRID[i2] as u64) << 32);
                put8(
                    &mut y[32 * ib32 + 8 * l..],
                    db,
                    grid,
                    b[SIGNS + 4 * ib32 + l],
                );
            }
        }
    });
}

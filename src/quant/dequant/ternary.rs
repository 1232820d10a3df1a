//! The ternary formats TQ1_0 (base-3 packing, 1.6875 bpw) and TQ2_0 (2 bits per value):
//! values in {-1, 0, 1} times an f16 scale.

use super::super::blocks::*;
use super::super::types::QK_K;
use super::{f16_at, for_blocks};
use core::mem::{offset_of, size_of};

/// The trit in position `n` of a base-3 fixed-point byte: multiplying by 3^n (mod 256)
/// brings it to the top, and `(q * 3) >> 8` reads it out.
#[inline(always)]
fn trit(byte: u8, pow3: u8) -> f32 {
    let q = byte.wrapping_mul(pow3);
    let xi = ((q as u16 * 3) >> 8) as i16;
    (xi - 1) as f32
}

/// TQ1_0: 5 trits per byte for the first 240 elements, 4 per byte for the last 16.
pub fn tq1_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockTq1_0, qs);
    const QH: usize = offset_of!(BlockTq1_0, qh);
    const N_QS: usize = (QK_K - 4 * QK_K / 64) / 5; // 48
    const N_QS32: usize = N_QS - N_QS % 32; // 32
    const POW3: [u8; 5] = [1, 3, 9, 27, 81];
    for_blocks::<{ size_of::<BlockTq1_0>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockTq1_0, d));
        let mut k = 0;
        for (start, width) in [(0, 32), (N_QS32, 16)] {
            for &p in &POW3 {
                for m in 0..width {
                    y[k] = trit(b[QS + start + m], p) * d;
                    k += 1;
                }
            }
        }
        for &p in &POW3[..4] {
            for j in 0..QK_K / 64 {
                y[k] = trit(b[QH + j], p) * d;
                k += 1;
            }
        }
    });
}

/// TQ2_0: `(q - 1) * d`, four 2-bit values per byte, in groups of 32 bytes.
pub fn tq2_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockTq2_0, qs);
    for_blocks::<{ size_of::<BlockTq2_0>() }, QK_K>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockTq2_0, d));
        for j in 0..QK_K / 128 {
            for l in 0..4 {
                for m in 0..32 {
                    let q = ((b[QS + 32 * j + m] >> (2 * l)) & 3) as i32;
                    y[128 * j + 32 * l + m] = (q - 1) as f32 * d;
                }
            }
        }
    });
}

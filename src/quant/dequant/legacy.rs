//! The 32-element ("legacy") formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and the
//! sign/two-bit formats Q1_0 and Q2_0.

use super::super::blocks::*;
use super::{f16_at, for_blocks, u32_at};
use core::mem::{offset_of, size_of};

/// Q1_0: `bit ? d : -d`.
pub fn q1_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ1_0, qs);
    for_blocks::<{ size_of::<BlockQ1_0>() }, QK1_0>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ1_0, d));
        let neg_d = -d;
        for (j, y) in y.iter_mut().enumerate() {
            let bit = (b[QS + j / 8] >> (j % 8)) & 1;
            *y = if bit != 0 { d } else { neg_d };
        }
    });
}

/// Q2_0: `(q - 1) * d` with q in 0..=3.
pub fn q2_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ2_0, qs);
    for_blocks::<{ size_of::<BlockQ2_0>() }, QK2_0>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ2_0, d));
        for (j, y) in y.iter_mut().enumerate() {
            let q = (b[QS + j / 4] >> ((j % 4) * 2)) & 3;
            *y = (q as i32 - 1) as f32 * d;
        }
    });
}

/// Q4_0: `(q - 8) * d`.
pub fn q4_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ4_0, qs);
    for_blocks::<{ size_of::<BlockQ4_0>() }, QK4_0>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ4_0, d));
        for j in 0..QK4_0 / 2 {
            let x0 = (b[QS + j] & 0x0f) as i32 - 8;
            let x1 = (b[QS + j] >> 4) as i32 - 8;
            y[j] = x0 as f32 * d;
            y[j + QK4_0 / 2] = x1 as f32 * d;
        }
    });
}

/// Q4_1: `q * d + m`.
pub fn q4_1(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ4_1, qs);
    for_blocks::<{ size_of::<BlockQ4_1>() }, QK4_1>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ4_1, d));
        let m = f16_at(b, offset_of!(BlockQ4_1, m));
        for j in 0..QK4_1 / 2 {
            let x0 = (b[QS + j] & 0x0f) as i32;
            let x1 = (b[QS + j] >> 4) as i32;
            y[j] = x0 as f32 * d + m;
            y[j + QK4_1 / 2] = x1 as f32 * d + m;
        }
    });
}

/// The 5-bit values of a Q5 block: element j gets its fifth bit from bit j of `qh`.
#[inline(always)]
fn q5_pair(qs: u8, qh: u32, j: usize) -> (i32, i32) {
    let xh0 = (((qh >> j) << 4) & 0x10) as u8;
    let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
    (((qs & 0x0f) | xh0) as i32, ((qs >> 4) | xh1) as i32)
}

/// Q5_0: `(q - 16) * d`.
pub fn q5_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ5_0, qs);
    for_blocks::<{ size_of::<BlockQ5_0>() }, QK5_0>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ5_0, d));
        let qh = u32_at(b, offset_of!(BlockQ5_0, qh));
        for j in 0..QK5_0 / 2 {
            let (x0, x1) = q5_pair(b[QS + j], qh, j);
            y[j] = (x0 - 16) as f32 * d;
            y[j + QK5_0 / 2] = (x1 - 16) as f32 * d;
        }
    });
}

/// Q5_1: `q * d + m`.
pub fn q5_1(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ5_1, qs);
    for_blocks::<{ size_of::<BlockQ5_1>() }, QK5_1>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ5_1, d));
        let m = f16_at(b, offset_of!(BlockQ5_1, m));
        let qh = u32_at(b, offset_of!(BlockQ5_1, qh));
        for j in 0..QK5_1 / 2 {
            let (x0, x1) = q5_pair(b[QS + j], qh, j);
            y[j] = x0 as f32 * d + m;
            y[j + QK5_1 / 2] = x1 as f32 * d + m;
        }
    });
}

/// Q8_0: `q * d`.
pub fn q8_0(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ8_0, qs);
    for_blocks::<{ size_of::<BlockQ8_0>() }, QK8_0>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ8_0, d));
        for (j, y) in y.iter_mut().enumerate() {
            *y = (b[QS + j] as i8) as f32 * d;
        }
    });
}

/// Q8_1: `q * d` (the stored sum `s` is not needed). Upstream has no `to_float` for Q8_1;
/// this is the obvious one, consistent with Q8_0.
pub fn q8_1(src: &[u8], dst: &mut [f32]) {
    const QS: usize = offset_of!(BlockQ8_1, qs);
    for_blocks::<{ size_of::<BlockQ8_1>() }, QK8_1>(src, dst, |b, y| {
        let d = f16_at(b, offset_of!(BlockQ8_1, d));
        for (j, y) in y.iter_mut().enumerate() {
            *y = (b[QS + j] as i8) as f32 * d;
        }
    });
}

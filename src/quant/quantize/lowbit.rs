//! The 1- and 2-bit formats with no scale search: Q1_0 (sign bits), Q2_0 (levels -1..2),
//! TQ1_0 and TQ2_0 (ternary, BitNet b1.58 style), as ggml's `quantize_row_*_ref`.
//!
//! Byte layouts (f16 `d` little-endian):
//! - Q1_0 (18 bytes per 128): `d` (mean |x|), `qs[16]`: bit `j` set when `x[j] >= 0`.
//! - Q2_0 (18 bytes per 64): `d` (max |x|), `qs[16]`: 2-bit `round(x/d) + 1` clamped to 0..3,
//!   value `j` in bits `2 (j % 4)` of byte `j / 4`.
//! - TQ1_0 (54 bytes per 256): `qs[48]`, `qh[4]`, `d`; five trits per byte (four in `qh`,
//!   times 3), stored as `ceil(t * 256 / 243)`.
//! - TQ2_0 (66 bytes per 256): `qs[64]`, `d`; four 2-bit trits + 1 per byte.

use super::{c_f32_to_i32, put_f16};

/// `lroundf(v)` as glibc on x86-64 computes it: round half away from zero, and the 64-bit
/// C cast (`i64::MIN`) for NaN and out-of-range values.
#[inline]
fn c_lroundf(v: f32) -> i64 {
    const TWO_63: f32 = (1u64 << 63) as f32;
    let r = v.round();
    if !(-TWO_63..TWO_63).contains(&r) {
        i64::MIN
    } else {
        r as i64
    }
}

/// The trit of `v * id` shifted to 0..2 (`lroundf(..) + 1`, narrowed to `int` as in C).
#[inline]
fn trit(v: f32, id: f32) -> i32 {
    c_lroundf(v * id).wrapping_add(1) as i32
}

/// Largest magnitude by `MAX(amax, fabsf(v))`.
#[inline]
fn absmax(x: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    for &v in x {
        let a = v.abs();
        amax = if amax > a { amax } else { a };
    }
    amax
}

pub(super) fn quantize_block_q1_0(x: &[f32], y: &mut [u8]) {
    let mut sum_abs = 0.0f32;
    for &v in x {
        sum_abs += v.abs();
    }
    put_f16(&mut y[0..2], sum_abs / 128.0);
    let qs = &mut y[2..18];
    qs.fill(0);
    for (j, &v) in x.iter().enumerate() {
        if v >= 0.0 {
            qs[j / 8] |= 1 << (j % 8);
        }
    }
}

pub(super) fn quantize_block_q2_0(x: &[f32], y: &mut [u8]) {
    let mut amax = 0.0f32;
    for &v in x {
        let a = v.abs();
        if a > amax {
            amax = a;
        }
    }
    let d = amax;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    put_f16(&mut y[0..2], d);
    let qs = &mut y[2..18];
    qs.fill(0);
    for (j, &w) in x.iter().enumerate() {
        let q = c_f32_to_i32((w * id).round()).wrapping_add(1).clamp(0, 3);
        qs[j / 4] |= (q as u8) << ((j % 4) * 2);
    }
}

/// Packs trits base 3 (first value most significant) into a byte scaled by 256/243, with
/// upstream's `uint8_t` wrap-around for out-of-range trits.
#[inline]
fn pack_trits(trits: impl Iterator<Item = i32>, extra_shift: bool) -> u8 {
    let mut q = 0u8;
    for t in trits {
        q = q.wrapping_mul(3);
        q = (q as i32).wrapping_add(t) as u8;
    }
    if extra_shift {
        q = q.wrapping_mul(3);
    }
    ((q as i32 * 256 + (243 - 1)) / 243) as u8
}

pub(super) fn quantize_block_tq1_0(x: &[f32], y: &mut [u8]) {
    let d = absmax(x);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (qs, rest) = y.split_at_mut(48);
    let (qh, dd) = rest.split_at_mut(4);
    put_f16(dd, d);
    // qs[0..32]: values m + 32 n of x[0..160]; qs[32..48]: values m + 16 n of x[160..240].
    for m in 0..32 {
        qs[m] = pack_trits((0..5).map(|n| trit(x[m + 32 * n], id)), false);
    }
    let x2 = &x[160..240];
    for m in 0..16 {
        qs[32 + m] = pack_trits((0..5).map(|n| trit(x2[m + 16 * n], id)), false);
    }
    // qh[j]: values j + 4 m of x[240..256], shifted one trit up.
    let x3 = &x[240..256];
    for j in 0..4 {
        qh[j] = pack_trits((0..4).map(|m| trit(x3[j + 4 * m], id)), true);
    }
}

pub(super) fn quantize_block_tq2_0(x: &[f32], y: &mut [u8]) {
    let d = absmax(x);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (qs, dd) = y.split_at_mut(64);
    put_f16(dd, d);
    for (half, q) in qs.chunks_exact_mut(32).enumerate() {
        let xh = &x[128 * half..128 * half + 128];
        for m in 0..32 {
            let mut b = 0u8;
            for n in 0..4 {
                let t = trit(xh[m + 32 * n], id);
                b = (b as i32).wrapping_add((t & 3) << (2 * n)) as u8;
            }
            q[m] = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tq2_0_levels() {
        let mut x = [0.0f32; 256];
        x[0] = -2.0; // -1 -> 0
        x[32] = 2.0; // +1 -> 2, n = 1
        x[1] = 0.4; // 0 -> 1
        let mut y = [0u8; 66];
        quantize_block_tq2_0(&x, &mut y);
        assert_eq!(y[0], 0b01_01_10_00);
        assert_eq!(y[1], 0b01_01_01_01);
    }

    #[test]
    fn tq1_0_packs_five_trits() {
        let mut x = [0.0f32; 256];
        x[0] = 1.0; // first trit of qs[0] = 2, the rest 1: 2*81 + 1*27 + 9 + 3 + 1 = 202
        let mut y = [0u8; 54];
        quantize_block_tq1_0(&x, &mut y);
        assert_eq!(y[0], ((202 * 256 + 242) / 243) as u8);
        assert_eq!(y[1], ((121 * 256 + 242) / 243) as u8);
    }
}

//! The legacy 32-value blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 (round to nearest against
//! the block's absolute maximum, or its min/max range for the `_1` kinds).
//!
//! Byte layouts (little-endian f16 `d`, `m`, `s`):
//! Q4_0 `d, qs[16]`; Q4_1 `d, m, qs[16]`; Q5_0 `d, qh[4], qs[16]`; Q5_1 `d, m, qh[4], qs[16]`;
//! Q8_0 `d, qs[32]`; Q8_1 `d, s, qs[32]`. Nibble `j` of `qs` holds value `j` (low) and
//! `j + 16` (high); bit `j` of `qh` is bit 4 of value `j`.

use super::{c_f32_to_i32, put_f16};

/// The value of largest magnitude (the first one on ties) and that magnitude.
#[inline]
fn signed_absmax(x: &[f32]) -> (f32, f32) {
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    (max, amax)
}

#[inline]
fn min_max(x: &[f32]) -> (f32, f32) {
    let mut min = f32::MAX;
    let mut max = -f32::MAX;
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

#[inline]
fn inverse_or_zero(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

/// `MIN(top, (int8_t)v)` as upstream writes it, stored as a byte.
#[inline]
fn trunc_i8_min(v: f32, top: i32) -> u8 {
    (c_f32_to_i32(v) as i8 as i32).min(top) as u8
}

pub(super) fn quantize_block_q4_0(x: &[f32], y: &mut [u8]) {
    let (max, _) = signed_absmax(x);
    let d = max / -8.0;
    let id = inverse_or_zero(d);
    put_f16(&mut y[0..2], d);
    for j in 0..16 {
        let x0 = x[j] * id;
        let x1 = x[16 + j] * id;
        let q0 = trunc_i8_min(x0 + 8.5, 15);
        let q1 = trunc_i8_min(x1 + 8.5, 15);
        y[2 + j] = q0 | (q1 << 4);
    }
}

pub(super) fn quantize_block_q4_1(x: &[f32], y: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 15.0;
    let id = inverse_or_zero(d);
    put_f16(&mut y[0..2], d);
    put_f16(&mut y[2..4], min);
    for j in 0..16 {
        let x0 = (x[j] - min) * id;
        let x1 = (x[16 + j] - min) * id;
        let q0 = trunc_i8_min(x0 + 0.5, 15);
        let q1 = trunc_i8_min(x1 + 0.5, 15);
        y[4 + j] = q0 | (q1 << 4);
    }
}

pub(super) fn quantize_block_q5_0(x: &[f32], y: &mut [u8]) {
    let (max, _) = signed_absmax(x);
    let d = max / -16.0;
    let id = inverse_or_zero(d);
    put_f16(&mut y[0..2], d);
    let mut qh = 0u32;
    for j in 0..16 {
        let x0 = x[j] * id;
        let x1 = x[16 + j] * id;
        let q0 = trunc_i8_min(x0 + 16.5, 31);
        let q1 = trunc_i8_min(x1 + 16.5, 31);
        y[6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
        qh |= (((q0 & 0x10) >> 4) as u32) << j;
        qh |= (((q1 & 0x10) >> 4) as u32) << (j + 16);
    }
    y[2..6].copy_from_slice(&qh.to_le_bytes());
}

pub(super) fn quantize_block_q5_1(x: &[f32], y: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 31.0;
    let id = inverse_or_zero(d);
    put_f16(&mut y[0..2], d);
    put_f16(&mut y[2..4], min);
    let mut qh = 0u32;
    for j in 0..16 {
        let x0 = (x[j] - min) * id;
        let x1 = (x[16 + j] - min) * id;
        // `(uint8_t)(v + 0.5f)`: no clamp upstream, the low byte of the truncation.
        let q0 = c_f32_to_i32(x0 + 0.5) as u8;
        let q1 = c_f32_to_i32(x1 + 0.5) as u8;
        y[8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
        qh |= (((q0 & 0x10) >> 4) as u32) << j;
        qh |= (((q1 & 0x10) >> 4) as u32) << (j + 16);
    }
    y[4..8].copy_from_slice(&qh.to_le_bytes());
}

/// Scale of a Q8_0 / Q8_1 block and its inverse (zero for an all-zero block).
#[inline]
fn q8_scale(x: &[f32]) -> (f32, f32) {
    let mut amax = 0.0f32;
    for &v in x {
        // MAX(amax, fabsf(v)) = (amax > |v|) ? amax : |v|
        let a = v.abs();
        amax = if amax > a { amax } else { a };
    }
    let d = amax / 127.0;
    (d, inverse_or_zero(d))
}

pub(super) fn quantize_block_q8_0(x: &[f32], y: &mut [u8]) {
    let (d, id) = q8_scale(x);
    put_f16(&mut y[0..2], d);
    for j in 0..32 {
        y[2 + j] = c_f32_to_i32((x[j] * id).round()) as u8;
    }
}

pub(super) fn quantize_block_q8_1(x: &[f32], y: &mut [u8]) {
    let (d, id) = q8_scale(x);
    put_f16(&mut y[0..2], d);
    let mut sum = 0i32;
    for j in 0..16 {
        let q0 = c_f32_to_i32((x[j] * id).round()) as i8;
        let q1 = c_f32_to_i32((x[16 + j] * id).round()) as i8;
        y[4 + j] = q0 as u8;
        y[4 + 16 + j] = q1 as u8;
        sum += q0 as i32 + q1 as i32;
    }
    put_f16(&mut y[2..4], sum as f32 * d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_known_block() {
        // max = -4 at index 3: d = 0.5, id = 2, value v -> trunc(2 v + 8.5).
        let mut x = [0.0f32; 32];
        x[3] = -4.0;
        x[20] = 1.0;
        let mut y = [0u8; 18];
        quantize_block_q4_0(&x, &mut y);
        assert_eq!(u16::from_le_bytes([y[0], y[1]]), 0x3800); // 0.5
        assert_eq!(y[2 + 3] & 0x0f, 0); // -4 * 2 + 8.5 -> 0
        assert_eq!(y[2 + 4] >> 4, 10); // 1 * 2 + 8.5 -> 10
        assert_eq!(y[2] & 0x0f, 8);
    }

    #[test]
    fn q8_1_sum_is_d_times_quant_sum() {
        let x: Vec<f32> = (0..32).map(|i| i as f32 - 10.0).collect();
        let mut y = [0u8; 36];
        quantize_block_q8_1(&x, &mut y);
        let d = super::super::get_f16(&y[0..2]);
        let s = super::super::get_f16(&y[2..4]);
        let qsum: i32 = y[4..].iter().map(|&b| b as i8 as i32).sum();
        assert_eq!(s, super::super::f16_round(qsum as f32 * (21.0f32 / 127.0)));
        assert_eq!(d, super::super::f16_round(21.0f32 / 127.0));
    }
}

//! Scalar dot products of the float types (F32 · F32, F16 · F16, BF16 · BF16), accumulated in
//! f64 like upstream's scalar `ggml_vec_dot_f16` / `_bf16` (`ggml_float`).

use half::f16;

#[inline(always)]
fn f32_at(b: &[u8], i: usize) -> f32 {
    f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

#[inline(always)]
fn f16_el(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[2 * i], b[2 * i + 1]])).to_f32()
}

#[inline(always)]
fn bf16_el(b: &[u8], i: usize) -> f32 {
    f32::from_bits((u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as u32) << 16)
}

/// F32 · F32.
pub fn vec_dot_f32(k: usize, x: &[u8], y: &[u8]) -> f32 {
    (0..k)
        .map(|i| f32_at(x, i) as f64 * f32_at(y, i) as f64)
        .sum::<f64>() as f32
}

/// F16 · F16.
pub fn vec_dot_f16(k: usize, x: &[u8], y: &[u8]) -> f32 {
    (0..k)
        .map(|i| f16_el(x, i) as f64 * f16_el(y, i) as f64)
        .sum::<f64>() as f32
}

/// BF16 · BF16.
pub fn vec_dot_bf16(k: usize, x: &[u8], y: &[u8]) -> f32 {
    (0..k)
        .map(|i| bf16_el(x, i) as f64 * bf16_el(y, i) as f64)
        .sum::<f64>() as f32
}

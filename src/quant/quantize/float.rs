//! F16 and BF16 rows, converted element by element as ggml converts them (with the shared
//! conversions of `quant::float`).

use crate::quant::float::{f32_to_bf16, f32_to_fp16};

/// One F16 element (block size 1).
pub(super) fn quantize_block_f16(x: &[f32], y: &mut [u8]) {
    y[..2].copy_from_slice(&f32_to_fp16(x[0]).to_le_bytes());
}

/// One BF16 element (block size 1).
pub(super) fn quantize_block_bf16(x: &[f32], y: &mut [u8]) {
    y[..2].copy_from_slice(&f32_to_bf16(x[0]).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    // What the F16 / BF16 rows rely on (the conversions have their own tests in
    // `quant::float`; these pin ggml's rounding and NaN rules from the quantizer's side).

    #[test]
    fn fp16_rounds_to_even_and_quiets_nan() {
        assert_eq!(f32_to_fp16(1.0), 0x3c00);
        // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1.0).
        assert_eq!(f32_to_fp16(1.0 + f32::EPSILON * 1024.0), 0x3c00);
        assert_eq!(f32_to_fp16(65520.0), 0x7c00);
        assert_eq!(f32_to_fp16(-0.0), 0x8000);
        assert_eq!(f32_to_fp16(f32::from_bits(0xffc1_2345)), 0xfe00);
        // Smallest half subnormal, and half of it (ties to even: zero).
        assert_eq!(f32_to_fp16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_fp16(2f32.powi(-25)), 0x0000);
    }

    #[test]
    fn bf16_rounds_to_even_and_quiets_nan() {
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(f32_to_bf16(f32::from_bits(0x7f80_0001)), 0x7fc0);
        assert_eq!(f32_to_bf16(f32::MAX), 0x7f80);
    }
}

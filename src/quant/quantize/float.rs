//! F16 and BF16 rows, converted element by element as ggml converts them.

/// f32 to IEEE half bits, rounding to nearest even; overflow gives infinity, and every NaN
/// becomes the quiet NaN `0x7e00` with the input's sign (ggml's `GGML_FP32_TO_FP16`).
#[inline]
pub fn fp32_to_fp16_bits(v: f32) -> u16 {
    if v.is_nan() {
        let sign = ((v.to_bits() >> 16) & 0x8000) as u16;
        return sign | 0x7e00;
    }
    half::f16::from_f32(v).to_bits()
}

/// f32 to bfloat16 bits, rounding to nearest even; a NaN keeps its top 16 bits with the
/// quiet bit forced on (ggml's `ggml_compute_fp32_to_bf16`, subnormals kept).
#[inline]
pub fn fp32_to_bf16_bits(v: f32) -> u16 {
    let u = v.to_bits();
    if u & 0x7fff_ffff > 0x7f80_0000 {
        return ((u >> 16) | 0x40) as u16;
    }
    let rounding = 0x7fff + ((u >> 16) & 1);
    (u.wrapping_add(rounding) >> 16) as u16
}

/// One F16 element (block size 1).
pub(super) fn quantize_block_f16(x: &[f32], y: &mut [u8]) {
    y[..2].copy_from_slice(&fp32_to_fp16_bits(x[0]).to_le_bytes());
}

/// One BF16 element (block size 1).
pub(super) fn quantize_block_bf16(x: &[f32], y: &mut [u8]) {
    y[..2].copy_from_slice(&fp32_to_bf16_bits(x[0]).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp16_rounds_to_even_and_quiets_nan() {
        assert_eq!(fp32_to_fp16_bits(1.0), 0x3c00);
        // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1.0).
        assert_eq!(fp32_to_fp16_bits(1.0 + f32::EPSILON * 1024.0), 0x3c00);
        assert_eq!(fp32_to_fp16_bits(65520.0), 0x7c00);
        assert_eq!(fp32_to_fp16_bits(-0.0), 0x8000);
        assert_eq!(fp32_to_fp16_bits(f32::from_bits(0xffc1_2345)), 0xfe00);
        // Smallest half subnormal, and half of it (ties to even: zero).
        assert_eq!(fp32_to_fp16_bits(2f32.powi(-24)), 0x0001);
        assert_eq!(fp32_to_fp16_bits(2f32.powi(-25)), 0x0000);
    }

    #[test]
    fn bf16_rounds_to_even_and_quiets_nan() {
        assert_eq!(fp32_to_bf16_bits(1.0), 0x3f80);
        assert_eq!(fp32_to_bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(fp32_to_bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(fp32_to_bf16_bits(f32::from_bits(0x7f80_0001)), 0x7fc0);
        assert_eq!(fp32_to_bf16_bits(f32::MAX), 0x7f80);
    }
}

//! Scalar conversions between `f32` and the small float formats ggml stores: IEEE half
//! (`f16`), bfloat16, the E8M0 block exponent of MXFP4 and the unsigned E4M3 scale of NVFP4.
//!
//! All conversions are pure integer bit manipulation, so they give the same answer on every
//! machine (no dependence on F16C or on the rounding mode). Half values are passed around as
//! their raw `u16` bits, the way ggml's `ggml_half` is stored in blocks.

/// Converts IEEE binary16 bits to `f32`, exactly. NaN payloads are kept bit for bit (shifted
/// into the f32 mantissa), as numpy's `float16 → float32` cast does.
#[inline]
pub fn fp16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    // exponent and mantissa bits
    let em = h & 0x7fff;
    // Normal numbers: rebias the exponent by 127 - 15; inf/NaN get a second rebias to 255.
    let mut normal = (em << 13) + (112 << 23);
    if em >= 0x7c00 {
        normal += 112 << 23;
    }
    // Subnormals: 0.5 with the mantissa in the low bits is 0.5 + m * 2^-24; subtracting 0.5
    // is exact (Sterbenz) and leaves m * 2^-24 (0.0 for m = 0).
    let sub = (f32::from_bits((126 << 23) | em) - 0.5).to_bits();
    f32::from_bits(sign | if em < 0x0400 { sub } else { normal })
}

/// Converts `f32` to IEEE binary16 bits with round-to-nearest-even, as ggml's
/// `GGML_FP32_TO_FP16` does: overflow gives ±inf, every NaN gives the quiet NaN `0x7e00`
/// (with the input's sign).
#[inline]
pub fn f32_to_fp16(f: f32) -> u16 {
    let w = f.to_bits();
    let sign = ((w >> 16) & 0x8000) as u16;
    let abs = w & 0x7fff_ffff;
    if abs > 0x7f80_0000 {
        return sign | 0x7e00;
    }
    if abs >= 0x4780_0000 {
        // >= 65536 (or inf): too large even before rounding.
        return sign | 0x7c00;
    }
    let exp = (abs >> 23) as i32; // biased f32 exponent
    if exp >= 113 {
        // Normal half (possibly rounding up into the next binade or to inf).
        let man = abs & 0x007f_ffff;
        let mut h = (((exp - 112) as u32) << 10) | (man >> 13);
        let rest = man & 0x1fff;
        if rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1) {
            h += 1; // carries into the exponent correctly; 0x7bff + 1 = inf
        }
        return sign | h as u16;
    }
    if exp < 102 {
        // Below half of the smallest subnormal (2^-25): rounds to zero.
        return sign;
    }
    // Subnormal half: value = m * 2^-24 with m = full mantissa >> (126 - exp).
    let full = (abs & 0x007f_ffff) | 0x0080_0000;
    let shift = (126 - exp) as u32; // 14..=24
    let mut h = full >> shift;
    let rest = full & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    if rest > half || (rest == half && (h & 1) == 1) {
        h += 1;
    }
    sign | h as u16
}

/// Converts bfloat16 bits to `f32` (exact: the bits become the top half of the f32).
#[inline]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// Converts `f32` to bfloat16 bits as ggml's `GGML_FP32_TO_BF16`: round-to-nearest-even,
/// NaNs forced quiet (bit 6 of the result set), the upper 16 bits of the NaN kept.
#[inline]
pub fn f32_to_bf16(f: f32) -> u16 {
    let u = f.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    (((u as u64) + 0x7fff + ((u as u64 >> 16) & 1)) >> 16) as u16
}

/// Half of the E8M0 scale `2^(e - 127)`, i.e. `2^(e - 128)`, as ggml's
/// `GGML_E8M0_TO_FP32_HALF` (MXFP4 stores its values doubled, so this is the factor the
/// doubled values are multiplied with). `e = 0` and `1` give f32 subnormals; no NaN case.
#[inline]
pub fn e8m0_to_f32_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000u32 << e
    } else {
        ((e as u32) - 1) << 23
    };
    f32::from_bits(bits)
}

/// Half of an unsigned E4M3 scale (4 exponent bits, bias 7, 3 mantissa bits; bit 7
/// ignored), as ggml's `ggml_ue4m3_to_fp32` for NVFP4. `0x00` and `0x7f` decode to 0.
/// Every result is exactly representable, so the computation order does not matter.
#[inline]
pub fn ue4m3_to_f32_half(x: u8) -> f32 {
    if x == 0 || x == 0x7f {
        return 0.0;
    }
    let exp = ((x >> 3) & 0x0f) as i32;
    let man = (x & 0x07) as u32;
    let raw = if exp == 0 {
        // man * 2^-9
        man as f32 * f32::from_bits(((127 - 9) as u32) << 23)
    } else {
        // (1 + man/8) * 2^(exp-7) = (8 + man) * 2^(exp-10)
        (8 + man) as f32 * f32::from_bits(((127 + exp - 10) as u32) << 23)
    };
    raw * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};

    #[test]
    fn fp16_to_f32_matches_half_for_all_non_nan() {
        for h in 0..=u16::MAX {
            let ours = fp16_to_f32(h);
            let theirs = f16::from_bits(h).to_f32();
            if theirs.is_nan() {
                assert!(ours.is_nan());
                assert_eq!(ours.to_bits() & 0x003f_ffff, ((h & 0x1ff) as u32) << 13);
            } else {
                assert_eq!(ours.to_bits(), theirs.to_bits(), "h = {h:#06x}");
            }
        }
    }

    #[test]
    fn f32_to_fp16_is_round_to_nearest_even() {
        // Every half value, every midpoint between neighbours, and points just around them.
        for h in 0..0x7c00u16 {
            let lo = fp16_to_f32(h) as f64;
            let hi = fp16_to_f32(h + 1) as f64;
            for x in [lo, (lo + hi) / 2.0, hi] {
                let x = x as f32;
                for v in [
                    x,
                    f32::from_bits(x.to_bits() + 1),
                    f32::from_bits(x.to_bits().saturating_sub(1)),
                ] {
                    for s in [v, -v] {
                        let want = f16::from_f32(s).to_bits();
                        assert_eq!(f32_to_fp16(s), want, "x = {s:e} ({:#010x})", s.to_bits());
                    }
                }
            }
        }
        assert_eq!(f32_to_fp16(f32::INFINITY), 0x7c00);
        assert_eq!(f32_to_fp16(f32::NEG_INFINITY), 0xfc00);
        assert_eq!(f32_to_fp16(1e10), 0x7c00);
        assert_eq!(f32_to_fp16(f32::NAN), 0x7e00);
        assert_eq!(f32_to_fp16(f32::from_bits(0xff80_0001)), 0xfe00);
    }

    #[test]
    fn bf16_round_trip_and_rounding() {
        for h in 0..=u16::MAX {
            let f = bf16_to_f32(h);
            assert_eq!(f.to_bits(), (h as u32) << 16);
            if !f.is_nan() {
                assert_eq!(f.to_bits(), bf16::from_bits(h).to_f32().to_bits());
                assert_eq!(f32_to_bf16(f), h);
            }
        }
        // Ties go to even; NaN is quieted.
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(f32_to_bf16(f32::from_bits(0x7f80_0001)), 0x7fc0);
    }

    #[test]
    fn e8m0_and_ue4m3() {
        assert_eq!(e8m0_to_f32_half(127), 0.5);
        assert_eq!(e8m0_to_f32_half(128), 1.0);
        assert_eq!(e8m0_to_f32_half(0), 2f32.powi(-128));
        assert_eq!(e8m0_to_f32_half(1), 2f32.powi(-127));
        assert_eq!(ue4m3_to_f32_half(0x38), 0.5); // exp 7, man 0 -> 1.0
        assert_eq!(ue4m3_to_f32_half(0x01), 2f32.powi(-10));
        assert_eq!(ue4m3_to_f32_half(0x7e), 448.0 / 2.0);
        assert_eq!(ue4m3_to_f32_half(0x7f), 0.0);
    }
}

//! The FP4 formats, as ggml's `quantize_row_mxfp4_ref` / `quantize_row_nvfp4_ref` write them:
//! E2M1 values (code book `KVALUES_MXFP4`, doubled) with a shared scale.
//!
//! - MXFP4 (17 bytes per 32): `e` (E8M0 exponent), `qs[16]`; byte `j` holds value `j` (low
//!   nibble) and `j + 16` (high nibble).
//! - NVFP4 (36 bytes per 64): `d[4]` (UE4M3 scale per 16 values), `qs[32]`; byte `8 s + j`
//!   holds values `j` and `j + 8` of sub-block `s`.

use super::c_f32_to_i32;
use crate::quant::float::{e8m0_to_f32_half, ue4m3_to_f32_half};
use crate::quant::iq_tables::KVALUES_MXFP4;

/// The first code whose scaled value is nearest to `x` (linear scan, strict improvement).
#[inline]
fn best_index(x: f32, d: f32) -> u8 {
    let mut best = 0u8;
    let mut best_err = (KVALUES_MXFP4[0] as f32 * d - x).abs();
    for (i, &k) in KVALUES_MXFP4.iter().enumerate().skip(1) {
        let err = (k as f32 * d - x).abs();
        if err < best_err {
            best = i as u8;
            best_err = err;
        }
    }
    best
}

pub(super) fn quantize_block_mxfp4(x: &[f32], y: &mut [u8]) {
    let mut amax = 0.0f32;
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
        }
    }
    // `(uint8_t)(floorf(log2f(amax)) - 2 + 127)`: the low byte of the C conversion.
    let e = if amax > 0.0 {
        c_f32_to_i32(amax.log2().floor() - 2.0 + 127.0) as u8
    } else {
        0
    };
    let d = e8m0_to_f32_half(e);
    y[0] = e;
    for j in 0..16 {
        let q0 = best_index(x[j], d);
        let q1 = best_index(x[16 + j], d);
        y[1 + j] = q0 | (q1 << 4);
    }
}

/// f32 to an unsigned E4M3 byte (bias 7, 3 mantissa bits) as ggml's `ggml_fp32_to_ue4m3`:
/// non-positive and NaN give 0, values clamp at 448 (`0x7e`), the mantissa is rounded half
/// up on the first dropped bit, subnormals round to the nearest multiple of 2^-9.
fn fp32_to_ue4m3(x: f32) -> u8 {
    // Not greater than zero, NaN included.
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let x = if x > 448.0 { 448.0 } else { x };
    let bits = x.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 7;
    let man = ((bits >> 20) & 0x7) as i32;
    if exp <= 0 {
        let m = c_f32_to_i32(x * 512.0 + 0.5).min(7);
        return if m < 1 { 0 } else { m as u8 };
    }
    if exp >= 15 {
        return 0x7e;
    }
    let (mut exp, mut man) = (exp, man + ((bits >> 19) & 1) as i32);
    if man > 7 {
        man = 0;
        exp += 1;
        if exp >= 15 {
            return 0x7e;
        }
    }
    ((exp << 3) | man) as u8
}

pub(super) fn quantize_block_nvfp4(x: &[f32], y: &mut [u8]) {
    let (d, qs) = y.split_at_mut(4);
    for (s, (xb, q)) in x.chunks_exact(16).zip(qs.chunks_exact_mut(8)).enumerate() {
        let mut amax = 0.0f32;
        for &v in xb {
            if amax < v.abs() {
                amax = v.abs();
            }
        }
        let ue = fp32_to_ue4m3(amax / 6.0);
        d[s] = ue;
        let scale = ue4m3_to_f32_half(ue);
        for j in 0..8 {
            q[j] = best_index(xb[j], scale) | (best_index(xb[8 + j], scale) << 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ue4m3_encoding() {
        assert_eq!(fp32_to_ue4m3(1.0), 0x38);
        assert_eq!(fp32_to_ue4m3(1000.0), 0x7e);
        assert_eq!(fp32_to_ue4m3(f32::NAN), 0);
        assert_eq!(fp32_to_ue4m3(-1.0), 0);
        assert_eq!(fp32_to_ue4m3(2f32.powi(-9)), 0x01);
        assert_eq!(fp32_to_ue4m3(1.0625), 0x39); // half-way mantissa rounds up
    }

    #[test]
    fn e8m0_half() {
        assert_eq!(e8m0_to_f32_half(127), 0.5);
        assert_eq!(e8m0_to_f32_half(128), 1.0);
        assert_eq!(e8m0_to_f32_half(1), 2f32.powi(-127));
        assert_eq!(e8m0_to_f32_half(0), 2f32.powi(-128));
    }

    #[test]
    fn power_of_two_block() {
        // amax = 6: e = floor(log2 6) - 2 + 127 = 127, d = 0.5, so 6 -> code 12 (index 7).
        let mut x = [0.0f32; 32];
        x[0] = 6.0;
        x[17] = -1.0;
        let mut y = [0u8; 17];
        quantize_block_mxfp4(&x, &mut y);
        assert_eq!(y[0], 127);
        assert_eq!(y[1] & 0xf, 7);
        assert_eq!(y[2] >> 4, 10); // -1 = -2 * 0.5 -> index 10
    }
}

//! MXFP4 (OCP microscaling FP4): 32 E2M1 values sharing one E8M0 exponent, as ggml's
//! `quantize_row_mxfp4_ref` writes them. Layout (17 bytes): `e` (u8), `qs[16]`; byte `j` of
//! `qs` holds value `j` (low nibble) and `j + 16` (high nibble).

use super::c_f32_to_i32;

/// The E2M1 code book, doubled so that it is integral (ggml's `kvalues_mxfp4`).
const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// Half of the E8M0 value `2^(e - 127)`, i.e. `2^(e - 128)` as an f32 (subnormal for e < 2).
#[inline]
fn e8m0_to_fp32_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000u32 << e
    } else {
        ((e as u32) - 1) << 23
    };
    f32::from_bits(bits)
}

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
    let d = e8m0_to_fp32_half(e);
    y[0] = e;
    for j in 0..16 {
        let q0 = best_index(x[j], d);
        let q1 = best_index(x[16 + j], d);
        y[1 + j] = q0 | (q1 << 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e8m0_half() {
        assert_eq!(e8m0_to_fp32_half(127), 0.5);
        assert_eq!(e8m0_to_fp32_half(128), 1.0);
        assert_eq!(e8m0_to_fp32_half(1), 2f32.powi(-127));
        assert_eq!(e8m0_to_fp32_half(0), 2f32.powi(-128));
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

//! Scalar dot products of the 32-element block types with Q8_0 / Q8_1 activations
//! (x4 layout, see `quantize.rs`). Integer sums per block, then `sumf += d_x·d_y·Σ` in block
//! order, as upstream's `*_generic` functions do; Q4_1 / Q5_1 add `m · s` with `s = d_y · Σq`.

use super::{f16_at, i8_at};
use crate::backend::cpu::kernels::quantize::q8_offsets;

/// The 16 values of IQ4_NL / IQ4_XS (`kvalues_iq4nl`).
pub(crate) const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];
/// The 16 doubled e2m1 values of MXFP4 (`kvalues_mxfp4`).
pub(crate) const KVALUES_MXFP4: [i8; 16] =
    [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// Half of the e8m0 scale (`ggml_e8m0_to_fp32_half`).
#[inline(always)]
pub(crate) fn e8m0_half(x: u8) -> f32 {
    let bits = if x < 2 {
        0x0020_0000u32 << x
    } else {
        ((x as u32) - 1) << 23
    };
    f32::from_bits(bits)
}

/// Σ over one block of `w(j) · y.qs[j]` for a nibble-packed weight: element j < 16 is the low
/// nibble of byte j, element j + 16 the high nibble.
#[inline(always)]
fn nibble_block(
    qs: &[u8],
    y: &[u8],
    yq: usize,
    lo: impl Fn(u8) -> i32,
    hi: impl Fn(u8) -> i32,
) -> i32 {
    let mut s0 = 0i32;
    let mut s1 = 0i32;
    for j in 0..16 {
        s0 += lo(qs[j]) * i8_at(y, yq + j);
        s1 += hi(qs[j]) * i8_at(y, yq + j + 16);
    }
    s0 + s1
}

/// Q4_0 · Q8_0.
pub fn vec_dot_q4_0(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    for ib in 0..nb {
        let b = &x[ib * 18..ib * 18 + 18];
        let (yd, _, yq) = q8_offsets(nb, ib);
        let s = nibble_block(
            &b[2..],
            y,
            yq,
            |q| (q & 15) as i32 - 8,
            |q| (q >> 4) as i32 - 8,
        );
        sumf += s as f32 * f16_at(b, 0) * f16_at(y, yd);
    }
    sumf
}

/// Q4_1 · Q8_1.
pub fn vec_dot_q4_1(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    for ib in 0..nb {
        let b = &x[ib * 20..ib * 20 + 20];
        let (yd, ys, yq) = q8_offsets(nb, ib);
        let sy = f16_at(y, yd) * i16::from_le_bytes([y[ys], y[ys + 1]]) as f32;
        let s = nibble_block(&b[4..], y, yq, |q| (q & 15) as i32, |q| (q >> 4) as i32);
        sumf += (f16_at(b, 0) * f16_at(y, yd)) * s as f32 + f16_at(b, 2) * sy;
    }
    sumf
}

#[inline(always)]
fn q5_high(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Q5_0 · Q8_0.
pub fn vec_dot_q5_0(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    for ib in 0..nb {
        let b = &x[ib * 22..ib * 22 + 22];
        let qh = q5_high(&b[2..]);
        let (yd, _, yq) = q8_offsets(nb, ib);
        let mut s0 = 0i32;
        let mut s1 = 0i32;
        for j in 0..16 {
            let h0 = ((qh >> j) & 1) as i32;
            let h1 = ((qh >> (j + 16)) & 1) as i32;
            let x0 = ((b[6 + j] & 15) as i32 | (h0 << 4)) - 16;
            let x1 = ((b[6 + j] >> 4) as i32 | (h1 << 4)) - 16;
            s0 += x0 * i8_at(y, yq + j);
            s1 += x1 * i8_at(y, yq + j + 16);
        }
        sumf += (f16_at(b, 0) * f16_at(y, yd)) * (s0 + s1) as f32;
    }
    sumf
}

/// Q5_1 · Q8_1.
pub fn vec_dot_q5_1(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    for ib in 0..nb {
        let b = &x[ib * 24..ib * 24 + 24];
        let qh = q5_high(&b[4..]);
        let (yd, ys, yq) = q8_offsets(nb, ib);
        let sy = f16_at(y, yd) * i16::from_le_bytes([y[ys], y[ys + 1]]) as f32;
        let mut s0 = 0i32;
        let mut s1 = 0i32;
        for j in 0..16 {
            let h0 = ((qh >> j) & 1) as i32;
            let h1 = ((qh >> (j + 16)) & 1) as i32;
            let x0 = (b[8 + j] & 15) as i32 | (h0 << 4);
            let x1 = (b[8 + j] >> 4) as i32 | (h1 << 4);
            s0 += x0 * i8_at(y, yq + j);
            s1 += x1 * i8_at(y, yq + j + 16);
        }
        sumf += (f16_at(b, 0) * f16_at(y, yd)) * (s0 + s1) as f32 + f16_at(b, 2) * sy;
    }
    sumf
}

/// Q8_0 · Q8_0.
pub fn vec_dot_q8_0(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    for ib in 0..nb {
        let b = &x[ib * 34..ib * 34 + 34];
        let (yd, _, yq) = q8_offsets(nb, ib);
        let mut s = 0i32;
        for j in 0..32 {
            s += (b[2 + j] as i8 as i32) * i8_at(y, yq + j);
        }
        sumf += s as f32 * (f16_at(b, 0) * f16_at(y, yd));
    }
    sumf
}

/// IQ4_NL · Q8_0.
pub fn vec_dot_iq4_nl(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    let lut = |q: u8| KVALUES_IQ4NL[q as usize] as i32;
    for ib in 0..nb {
        let b = &x[ib * 18..ib * 18 + 18];
        let (yd, _, yq) = q8_offsets(nb, ib);
        let d = f16_at(y, yd) * f16_at(b, 0);
        sumf += d * nibble_block(&b[2..], y, yq, |q| lut(q & 15), |q| lut(q >> 4)) as f32;
    }
    sumf
}

/// MXFP4 · Q8_0.
pub fn vec_dot_mxfp4(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let nb = k / 32;
    let mut sumf = 0.0f32;
    let lut = |q: u8| KVALUES_MXFP4[q as usize] as i32;
    for ib in 0..nb {
        let b = &x[ib * 17..ib * 17 + 17];
        let (yd, _, yq) = q8_offsets(nb, ib);
        let d = f16_at(y, yd) * e8m0_half(b[0]);
        sumf += d * nibble_block(&b[1..], y, yq, |q| lut(q & 15), |q| lut(q >> 4)) as f32;
    }
    sumf
}

//! Scalar dot products of the 256-element super-block types with Q8_K activations. Each weight
//! super-block is first expanded to its 256 small integers (and its sub-block scales), then
//! combined with the Q8_K quants; the float accumulation follows upstream's `*_generic`
//! functions (8 lanes of `d · Σ` for Q3_K..Q6_K, a running sum for the others).

use super::{f16_at, i8_at};
use crate::backend::cpu::kernels::generic::legacy::KVALUES_IQ4NL;

/// Q8_K block size in bytes.
pub(crate) const Q8K: usize = 292;

#[inline(always)]
pub(crate) fn q8k_d(y: &[u8], ib: usize) -> f32 {
    let o = ib * Q8K;
    f32::from_le_bytes([y[o], y[o + 1], y[o + 2], y[o + 3]])
}

#[inline(always)]
pub(crate) fn q8k_bsum(y: &[u8], ib: usize, j: usize) -> i32 {
    let o = ib * Q8K + 260 + 2 * j;
    i16::from_le_bytes([y[o], y[o + 1]]) as i32
}

/// Unpacks the 8 6-bit scales and 8 6-bit mins of Q4_K / Q5_K (`get_scale_min_k4`).
#[inline(always)]
pub(crate) fn scale_min_k4(q: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..8 {
        if j < 4 {
            sc[j] = q[j] & 63;
            m[j] = q[j + 4] & 63;
        } else {
            sc[j] = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }
    (sc, m)
}

/// [`scale_min_k4`] with whole-word arithmetic (same result): 8 scales then 8 mins.
#[inline(always)]
pub(crate) fn scale_min_k4_words(q: &[u8]) -> [u8; 16] {
    const M1: u32 = 0x3f3f_3f3f;
    const M2: u32 = 0x0f0f_0f0f;
    const M3: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3]]);
    let (u0, u1, u2) = (word(0), word(1), word(2));
    let sc_lo = u0 & M1;
    let sc_hi = (u2 & M2) | (((u0 >> 6) & M3) << 4);
    let mn_lo = u1 & M1;
    let mn_hi = ((u2 >> 4) & M2) | (((u1 >> 6) & M3) << 4);
    let mut out = [0u8; 16];
    for (i, w) in [sc_lo, sc_hi, mn_lo, mn_hi].iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// Unpacks the 16 6-bit scales of Q3_K (still biased by 32).
#[inline(always)]
pub(crate) fn scales_q3k(s: &[u8]) -> [i8; 16] {
    let mut out = [0i8; 16];
    for j in 0..16 {
        let lo = if j < 8 { s[j] & 0xF } else { s[j - 8] >> 4 };
        let hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (lo | (hi << 4)) as i8;
    }
    out
}

/// [`scales_q3k`] with whole-word arithmetic (same result, as unsigned bytes).
#[inline(always)]
pub(crate) fn scales_q3k_words(s: &[u8]) -> [u8; 16] {
    const M2: u32 = 0x0f0f_0f0f;
    const M1: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (a0, a1, t) = (word(0), word(1), word(2));
    let w = [
        (a0 & M2) | ((t & M1) << 4),
        (a1 & M2) | (((t >> 2) & M1) << 4),
        ((a0 >> 4) & M2) | (((t >> 4) & M1) << 4),
        ((a1 >> 4) & M2) | (((t >> 6) & M1) << 4),
    ];
    let mut out = [0u8; 16];
    for (i, v) in w.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// Shared tail of Q3_K..Q6_K: `aux32[l] += scale(j/16) · a[j] · q8[j]` over 8 lanes.
#[inline(always)]
fn lanes(a: &[i8; 256], y: &[u8], ib: usize, scale: impl Fn(usize) -> i32) -> [i32; 8] {
    let mut aux = [0i32; 8];
    let yq = ib * Q8K + 4;
    for j in 0..256 {
        aux[j % 8] += scale(j / 16) * (a[j] as i32 * i8_at(y, yq + j));
    }
    aux
}

/// Q2_K · Q8_K.
pub fn vec_dot_q2_k(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sumf = 0.0f32;
    for ib in 0..k / 256 {
        let b = &x[ib * 84..ib * 84 + 84];
        let (sc, qs) = (&b[0..16], &b[16..80]);
        let summs: i32 = (0..16)
            .map(|j| q8k_bsum(y, ib, j) * (sc[j] >> 4) as i32)
            .sum();
        let dy = q8k_d(y, ib);
        let dall = dy * f16_at(b, 80);
        let dmin = dy * f16_at(b, 82);
        let mut isum = 0i32;
        for j in 0..256 {
            let (half, r) = (j / 128, j % 128);
            let q = (qs[half * 32 + r % 32] >> (2 * (r / 32))) & 3;
            isum += (sc[j / 16] & 0xF) as i32 * (q as i32 * i8_at(y, ib * Q8K + 4 + j));
        }
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// Q3_K · Q8_K.
pub fn vec_dot_q3_k(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sums = [0.0f32; 8];
    for ib in 0..k / 256 {
        let b = &x[ib * 110..ib * 110 + 110];
        let (hm, qs) = (&b[0..32], &b[32..96]);
        let mut a = [0i8; 256];
        for (j, v) in a.iter_mut().enumerate() {
            let (half, r) = (j / 128, j % 128);
            let q = (qs[half * 32 + r % 32] >> (2 * (r / 32))) & 3;
            let h = hm[j % 32] & (1 << (j / 32)) != 0;
            *v = q as i8 - if h { 0 } else { 4 };
        }
        let sc = scales_q3k(&b[96..108]);
        let aux = lanes(&a, y, ib, |g| sc[g] as i32 - 32);
        let d = f16_at(b, 108) * q8k_d(y, ib);
        for l in 0..8 {
            sums[l] += d * aux[l] as f32;
        }
    }
    sums.iter().fold(0.0f32, |s, &v| s + v)
}

/// Q4_K · Q8_K.
pub fn vec_dot_q4_k(k: usize, x: &[u8], y: &[u8]) -> f32 {
    q45_k(k, x, y, false)
}

/// Q5_K · Q8_K.
pub fn vec_dot_q5_k(k: usize, x: &[u8], y: &[u8]) -> f32 {
    q45_k(k, x, y, true)
}

fn q45_k(k: usize, x: &[u8], y: &[u8], five: bool) -> f32 {
    let bs = if five { 176 } else { 144 };
    let mut sums = [0.0f32; 8];
    let mut sumf = 0.0f32;
    for ib in 0..k / 256 {
        let b = &x[ib * bs..ib * bs + bs];
        let (sc, m) = scale_min_k4(&b[4..16]);
        let qs = if five { &b[48..176] } else { &b[16..144] };
        let mut a = [0i8; 256];
        for (j, v) in a.iter_mut().enumerate() {
            let (c, r) = (j / 64, j % 64);
            let byte = qs[c * 32 + r % 32];
            let mut q = if r < 32 { byte & 0xF } else { byte >> 4 };
            if five && b[16 + j % 32] & (1 << (j / 32)) != 0 {
                q += 16;
            }
            *v = q as i8;
        }
        let sumi: i32 = (0..16).map(|j| q8k_bsum(y, ib, j) * m[j / 2] as i32).sum();
        let aux = lanes(&a, y, ib, |g| sc[g / 2] as i32);
        let dy = q8k_d(y, ib);
        let d = f16_at(b, 0) * dy;
        for l in 0..8 {
            sums[l] += d * aux[l] as f32;
        }
        sumf -= f16_at(b, 2) * dy * sumi as f32;
    }
    sums.iter().fold(sumf, |s, &v| s + v)
}

/// Q6_K · Q8_K.
pub fn vec_dot_q6_k(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sums = [0.0f32; 8];
    for ib in 0..k / 256 {
        let b = &x[ib * 210..ib * 210 + 210];
        let (ql, qh, sc) = (&b[0..128], &b[128..192], &b[192..208]);
        let mut a = [0i8; 256];
        for (j, v) in a.iter_mut().enumerate() {
            let (half, r) = (j / 128, j % 128);
            let (quarter, l) = (r / 32, r % 32);
            let low = ql[half * 64 + l + 32 * (quarter % 2)];
            let low = if quarter < 2 { low & 0xF } else { low >> 4 };
            let high = (qh[half * 32 + l] >> (2 * quarter)) & 3;
            *v = (low | (high << 4)) as i8 - 32;
        }
        let aux = lanes(&a, y, ib, |g| sc[g] as i8 as i32);
        let d = f16_at(b, 208) * q8k_d(y, ib);
        for l in 0..8 {
            sums[l] += d * aux[l] as f32;
        }
    }
    sums.iter().fold(0.0f32, |s, &v| s + v)
}

/// IQ4_XS · Q8_K.
pub fn vec_dot_iq4_xs(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sumf = 0.0f32;
    for ibl in 0..k / 256 {
        let b = &x[ibl * 136..ibl * 136 + 136];
        let d4d8 = f16_at(b, 0) * q8k_d(y, ibl);
        let h = u16::from_le_bytes([b[2], b[3]]);
        for ib in 0..8 {
            let ls =
                ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | ((((h >> (2 * ib)) & 3) as u8) << 4);
            let dl = d4d8 * (ls as i32 - 32) as f32;
            let qs = &b[8 + 16 * ib..8 + 16 * ib + 16];
            let yq = ibl * Q8K + 4 + 32 * ib;
            let (mut s1, mut s2) = (0i32, 0i32);
            for j in 0..16 {
                s1 += i8_at(y, yq + j) * KVALUES_IQ4NL[(qs[j] & 0xF) as usize] as i32;
                s2 += i8_at(y, yq + j + 16) * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as i32;
            }
            sumf += dl * (s1 + s2) as f32;
        }
    }
    sumf
}

/// The ternary digit `l` (0..5) of a TQ1_0 byte, as 0, 1 or 2 (`(q·3^l mod 256)·3 >> 8`).
#[inline(always)]
pub(crate) fn trit(q: u8, l: usize) -> i32 {
    const POW3: [u8; 6] = [1, 3, 9, 27, 81, 243];
    let q = q.wrapping_mul(POW3[l]);
    ((q as u16 * 3) >> 8) as i32
}

/// TQ1_0 · Q8_K.
pub fn vec_dot_tq1_0(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sumf = 0.0f32;
    for ib in 0..k / 256 {
        let b = &x[ib * 54..ib * 54 + 54];
        let (qs, qh) = (&b[0..48], &b[48..52]);
        let yq = ib * Q8K + 4;
        let mut sum = 0i32;
        for l in 0..5 {
            for m in 0..32 {
                sum += (trit(qs[m], l) - 1) * i8_at(y, yq + l * 32 + m);
            }
        }
        for l in 0..5 {
            for m in 0..16 {
                sum += (trit(qs[32 + m], l) - 1) * i8_at(y, yq + 160 + l * 16 + m);
            }
        }
        for l in 0..4 {
            for (j, &q) in qh.iter().enumerate() {
                sum += (trit(q, l) - 1) * i8_at(y, yq + 240 + l * 4 + j);
            }
        }
        sumf += sum as f32 * (f16_at(b, 52) * q8k_d(y, ib));
    }
    sumf
}

/// TQ2_0 · Q8_K.
pub fn vec_dot_tq2_0(k: usize, x: &[u8], y: &[u8]) -> f32 {
    let mut sumf = 0.0f32;
    for ib in 0..k / 256 {
        let b = &x[ib * 66..ib * 66 + 66];
        let yq = ib * Q8K + 4;
        let mut sumi = 0i32;
        for j in (0..64).step_by(32) {
            for l in 0..4 {
                for m in 0..32 {
                    let q = ((b[j + m] >> (2 * l)) & 3) as i32 - 1;
                    sumi += i8_at(y, yq + j * 4 + l * 32 + m) * q;
                }
            }
        }
        sumf += sumi as f32 * (q8k_d(y, ib) * f16_at(b, 64));
    }
    sumf
}

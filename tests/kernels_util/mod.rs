//! Shared helpers of the kernel tests: a small deterministic RNG and random weight rows whose
//! scale fields hold sane values (the quant bits are random bytes).

#![allow(dead_code)]

use llama::quant::GgmlType;

/// xorshift64* generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal (sum of uniforms), mean 0, sd 1.
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.uniform()).sum::<f32>() * 1.732 - 3.464
    }
}

/// Byte offsets of the f16 scale fields in one block of `ty`.
fn f16_fields(ty: GgmlType) -> &'static [usize] {
    use GgmlType::*;
    match ty {
        Q4_0 | Q5_0 | Q8_0 | IQ4_NL | IQ4_XS => &[0],
        Q4_1 | Q5_1 | Q4_K | Q5_K => &[0, 2],
        Q2_K => &[80, 82],
        Q3_K => &[108],
        Q6_K => &[208],
        TQ1_0 => &[52],
        TQ2_0 => &[64],
        _ => &[],
    }
}

/// `m` random rows of `k` elements of `ty`, with a row stride a little above the row size.
/// Returns (bytes, stride).
pub fn random_weights(ty: GgmlType, m: usize, k: usize, rng: &mut Rng) -> (Vec<u8>, usize) {
    let row = ty.row_size(k as u64).expect("row size") as usize;
    let stride = row + 16;
    let mut w = vec![0u8; stride * m];
    for r in 0..m {
        let dst = &mut w[r * stride..r * stride + row];
        match ty {
            GgmlType::F32 => {
                for c in dst.chunks_exact_mut(4) {
                    c.copy_from_slice(&rng.normal().to_le_bytes());
                }
            }
            GgmlType::F16 => {
                for c in dst.chunks_exact_mut(2) {
                    c.copy_from_slice(&half::f16::from_f32(rng.normal()).to_bits().to_le_bytes());
                }
            }
            GgmlType::BF16 => {
                for c in dst.chunks_exact_mut(2) {
                    c.copy_from_slice(&half::bf16::from_f32(rng.normal()).to_bits().to_le_bytes());
                }
            }
            _ => {
                for b in dst.iter_mut() {
                    *b = rng.next_u64() as u8;
                }
                let bs = ty.type_size();
                for blk in dst.chunks_exact_mut(bs) {
                    for &o in f16_fields(ty) {
                        let v = 0.002 + 0.02 * rng.uniform();
                        blk[o..o + 2]
                            .copy_from_slice(&half::f16::from_f32(v).to_bits().to_le_bytes());
                    }
                    if ty == GgmlType::MXFP4 {
                        blk[0] = 118 + (rng.next_u64() % 12) as u8;
                    }
                }
            }
        }
    }
    (w, stride)
}

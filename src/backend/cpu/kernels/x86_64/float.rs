//! AVX2 + FMA (+ F16C) float kernels: each 8-element weight chunk is widened to f32 once and
//! fused-multiply-added into one accumulator per activation row; a scalar loop takes `k % 8`.

use std::arch::x86_64::*;

use super::{hsum_ps, prefetch_ahead, rows_wrapper};
use crate::backend::cpu::kernels::TypeKernels;
use crate::quant::GgmlType;

/// How a float type widens 8 elements at `p` (element index `i`) to f32.
trait Widen {
    const BYTES: usize;
    unsafe fn load8(p: *const u8, i: usize) -> __m256;
    unsafe fn load1(p: *const u8, i: usize) -> f32;
}

struct F32;
impl Widen for F32 {
    const BYTES: usize = 4;
    #[inline(always)]
    unsafe fn load8(p: *const u8, i: usize) -> __m256 {
        _mm256_loadu_ps(p.add(4 * i) as *const f32)
    }
    #[inline(always)]
    unsafe fn load1(p: *const u8, i: usize) -> f32 {
        (p.add(4 * i) as *const f32).read_unaligned()
    }
}

struct F16;
impl Widen for F16 {
    const BYTES: usize = 2;
    #[inline(always)]
    unsafe fn load8(p: *const u8, i: usize) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * i) as *const __m128i))
    }
    #[inline(always)]
    unsafe fn load1(p: *const u8, i: usize) -> f32 {
        super::f16_load(p.add(2 * i))
    }
}

struct Bf16;
impl Widen for Bf16 {
    const BYTES: usize = 2;
    #[inline(always)]
    unsafe fn load8(p: *const u8, i: usize) -> __m256 {
        let h = _mm_loadu_si128(p.add(2 * i) as *const __m128i);
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
    }
    #[inline(always)]
    unsafe fn load1(p: *const u8, i: usize) -> f32 {
        f32::from_bits(((p.add(2 * i) as *const u16).read_unaligned() as u32) << 16)
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_float<T: Widen, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    // Four accumulation chains per row (element chunk c goes to chain c % 4), the same for
    // every NY, so a dot product does not depend on how the rows were tiled.
    let mut acc4 = [[_mm256_setzero_ps(); 4]; NY];
    let k8 = k / 8 * 8;
    let mut i = 0;
    while i + 32 <= k8 {
        prefetch_ahead(w.add(i * T::BYTES), 32 * T::BYTES);
        for u in 0..4 {
            let x = T::load8(w, i + 8 * u);
            for (j, a) in acc4.iter_mut().enumerate() {
                a[u] = _mm256_fmadd_ps(x, T::load8(y.add(j * ys), i + 8 * u), a[u]);
            }
        }
        i += 32;
    }
    let mut u = 0;
    while i < k8 {
        let x = T::load8(w, i);
        for (j, a) in acc4.iter_mut().enumerate() {
            a[u] = _mm256_fmadd_ps(x, T::load8(y.add(j * ys), i), a[u]);
        }
        i += 8;
        u += 1;
    }
    let mut acc = [_mm256_setzero_ps(); NY];
    for (a, c) in acc.iter_mut().zip(&acc4) {
        *a = _mm256_add_ps(_mm256_add_ps(c[0], c[1]), _mm256_add_ps(c[2], c[3]));
    }
    for (j, a) in acc.iter().enumerate() {
        let mut s = hsum_ps(*a);
        for t in k8..k {
            s += T::load1(w, t) * T::load1(y.add(j * ys), t);
        }
        *out.add(j) = s;
    }
}

rows_wrapper!(f32_rows, rows_float[F32,], GgmlType::F32, GgmlType::F32, [1, 2]);
rows_wrapper!(f16_rows, rows_float[F16,], GgmlType::F16, GgmlType::F16, [1, 2]);
rows_wrapper!(bf16_rows, rows_float[Bf16,], GgmlType::BF16, GgmlType::BF16, [1, 2]);

pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::F32, f32_rows());
    set(GgmlType::F16, f16_rows());
    set(GgmlType::BF16, bf16_rows());
}

//! x86-64 kernels of [`super::softmax`]: the score preparation and upstream's 16- and 8-lane
//! exponential rows.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;

use crate::backend::cpu::convert::f16_to_f32;
use crate::backend::cpu::ops::vexp_x86::{v_expf16, v_expf8};

/// [`super::softmax::prep_row`] after the softcap (if any): `· scale` when given, `+ slope · mask`, -inf
/// padding, maximum. Lanes past `kv` in a partial group take the scalar steps.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn prep8(
    kq: &mut [f32; 64],
    kv: usize,
    mask: Option<*const u16>,
    scale: Option<f32>,
    slope: f32,
) -> f32 {
    let (sv, mv) = (_mm256_set1_ps(scale.unwrap_or(1.0)), _mm256_set1_ps(slope));
    let mut mx = _mm256_set1_ps(f32::NEG_INFINITY);
    for j in (0..64).step_by(8) {
        let p = kq.as_mut_ptr().add(j);
        if j + 8 <= kv {
            let mut s = _mm256_loadu_ps(p);
            if scale.is_some() {
                s = _mm256_mul_ps(s, sv);
            }
            if let Some(m) = mask {
                let h = _mm256_cvtph_ps(_mm_loadu_si128(m.add(j) as *const __m128i));
                s = _mm256_add_ps(s, _mm256_mul_ps(mv, h));
            }
            _mm256_storeu_ps(p, s);
            mx = _mm256_max_ps(mx, s);
            continue;
        }
        for (t, x) in kq[j..j + 8].iter_mut().enumerate().map(|(t, x)| (j + t, x)) {
            if t >= kv {
                *x = f32::NEG_INFINITY;
                continue;
            }
            if let Some(sc) = scale {
                *x *= sc;
            }
            if let Some(m) = mask {
                *x += slope * f16_to_f32(*m.add(t));
            }
        }
        mx = _mm256_max_ps(mx, _mm256_loadu_ps(p));
    }
    let x = _mm_max_ps(_mm256_extractf128_ps::<1>(mx), _mm256_castps256_ps128(mx));
    let x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)))
}

/// `hi256 + lo256`, `hi128 + lo128`, then pairs two apart, then the last two.
#[inline(always)]
unsafe fn hsum8(v: __m256) -> f32 {
    let x = _mm_add_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
    let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)))
}

#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn exp_row16(kq: &mut [f32; 64], max: f32) -> f64 {
    let mv = _mm512_set1_ps(max);
    let mut sum = 0.0f64;
    for j in (0..64).step_by(16) {
        let p = v_expf16(_mm512_sub_ps(_mm512_loadu_ps(kq.as_ptr().add(j)), mv));
        _mm512_storeu_ps(kq.as_mut_ptr().add(j), p);
        let h = _mm256_add_ps(
            _mm512_castps512_ps256(p),
            _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(p))),
        );
        sum += hsum8(h) as f64;
    }
    sum
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn exp_row8(kq: &mut [f32; 64], max: f32) -> f64 {
    let mv = _mm256_set1_ps(max);
    let mut sum = 0.0f64;
    for j in (0..64).step_by(8) {
        let p = v_expf8(_mm256_sub_ps(_mm256_loadu_ps(kq.as_ptr().add(j)), mv));
        _mm256_storeu_ps(kq.as_mut_ptr().add(j), p);
        sum += hsum8(p) as f64;
    }
    sum
}

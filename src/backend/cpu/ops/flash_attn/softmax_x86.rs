//! x86-64 kernels of [`super::softmax`]: the score preparation and upstream's 16- and 8-lane
//! exponential rows.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;

use super::softmax::{C1, C2, C3, C4, C5, LN2_HI, LN2_LO, LOG2E, SHIFT};
use crate::backend::cpu::convert::f16_to_f32;

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

/// Upstream's 16-lane approximation (see [`super::softmax::expf_16`]).
#[inline(always)]
unsafe fn v_expf16(x: __m512) -> __m512 {
    let k = |b: u32| _mm512_set1_ps(f32::from_bits(b));
    let r = _mm512_set1_ps(SHIFT);
    let z = _mm512_fmadd_ps(x, k(LOG2E), r);
    let n = _mm512_sub_ps(z, r);
    let b = _mm512_fnmadd_ps(n, k(LN2_LO), _mm512_fnmadd_ps(n, k(LN2_HI), x));
    let big = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_abs_ps(n), _mm512_set1_ps(192.0));
    let u = _mm512_mul_ps(b, b);
    let hi = _mm512_fmadd_ps(
        _mm512_fmadd_ps(k(C5), b, k(C4)),
        u,
        _mm512_fmadd_ps(k(C3), b, k(C2)),
    );
    let j = _mm512_fmadd_ps(hi, u, _mm512_fmadd_ps(k(C1), b, _mm512_set1_ps(1.0)));
    let res = _mm512_scalef_ps(j, n);
    if big == 0 {
        return res;
    }
    let zero = _mm512_setzero_ps();
    let le0 = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(n, zero);
    let alt = _mm512_mask_blend_ps(le0, _mm512_set1_ps(f32::INFINITY), zero);
    _mm512_mask_blend_ps(big, res, alt)
}

/// Upstream's 8-lane approximation (see [`super::softmax::expf_8`]).
#[inline(always)]
unsafe fn v_expf8(x: __m256) -> __m256 {
    let k = |b: u32| _mm256_set1_ps(f32::from_bits(b));
    let r = _mm256_set1_ps(SHIFT);
    let z = _mm256_fmadd_ps(x, k(LOG2E), r);
    let n = _mm256_sub_ps(z, r);
    let b = _mm256_fnmadd_ps(n, k(LN2_LO), _mm256_fnmadd_ps(n, k(LN2_HI), x));
    let e = _mm256_slli_epi32::<23>(_mm256_castps_si256(z));
    let kk = _mm256_castsi256_ps(_mm256_add_epi32(
        e,
        _mm256_castps_si256(_mm256_set1_ps(1.0)),
    ));
    let absn = _mm256_andnot_ps(_mm256_set1_ps(-0.0), n);
    let cbig = _mm256_cmp_ps::<_CMP_GT_OQ>(absn, _mm256_set1_ps(126.0));
    let u = _mm256_mul_ps(b, b);
    let hi = _mm256_fmadd_ps(
        _mm256_fmadd_ps(k(C5), b, k(C4)),
        u,
        _mm256_fmadd_ps(k(C3), b, k(C2)),
    );
    let j = _mm256_fmadd_ps(hi, u, _mm256_mul_ps(k(C1), b));
    if _mm256_movemask_ps(cbig) == 0 {
        return _mm256_fmadd_ps(j, kk, kk);
    }
    let le0 = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(n, _mm256_setzero_ps()));
    let g = _mm256_and_si256(le0, _mm256_set1_epi32(0x8200_0000u32 as i32));
    let s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f00_0000)));
    let s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    let dbig = _mm256_cmp_ps::<_CMP_GT_OQ>(absn, _mm256_set1_ps(192.0));
    let near = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
    let small = _mm256_fmadd_ps(kk, j, kk);
    let mid = _mm256_blendv_ps(small, near, cbig);
    _mm256_blendv_ps(mid, _mm256_mul_ps(s1, s1), dbig)
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

//! x86-64 forms of [`super::vexp`]: upstream's 16- and 8-lane exponentials and SiLU rows.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;

use super::vexp::{ExpFlavor, C1, C2, C3, C4, C5, LN2_HI, LN2_LO, LOG2E, SHIFT};

/// Upstream's 16-lane approximation (see [`super::vexp::expf_16`]).
#[inline(always)]
pub(crate) unsafe fn v_expf16(x: __m512) -> __m512 {
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

/// Upstream's 8-lane approximation (see [`super::vexp::expf_8`]).
#[inline(always)]
pub(crate) unsafe fn v_expf8(x: __m256) -> __m256 {
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

/// The vector part of [`super::vexp::silu_row`] for this CPU's flavor; returns how many
/// elements it wrote (a multiple of the lane count).
pub(super) fn silu_row(x: &[f32], g: Option<&[f32]>, y: &mut [f32]) -> usize {
    let n = y.len().min(x.len()).min(g.map_or(usize::MAX, |g| g.len()));
    match ExpFlavor::detect() {
        // SAFETY: `detect` saw AVX-512F + DQ; the rows hold `n` elements.
        ExpFlavor::Lanes16 => unsafe {
            silu16(x.as_ptr(), g.map(|g| g.as_ptr()), y.as_mut_ptr(), n)
        },
        ExpFlavor::Lanes8
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") =>
        {
            // SAFETY: AVX2 + FMA present; the rows hold `n` elements.
            unsafe { silu8(x.as_ptr(), g.map(|g| g.as_ptr()), y.as_mut_ptr(), n) }
        }
        ExpFlavor::Lanes8 => 0,
    }
}

/// # Safety
/// AVX-512F present; `x`, `g` (if any) and `y` hold `n` floats.
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn silu16(x: *const f32, g: Option<*const f32>, y: *mut f32, n: usize) -> usize {
    let one = _mm512_set1_ps(1.0);
    let mut i = 0;
    while i + 16 <= n {
        let v = _mm512_loadu_ps(x.add(i));
        let e = v_expf16(_mm512_sub_ps(_mm512_setzero_ps(), v));
        let mut s = _mm512_div_ps(v, _mm512_add_ps(one, e));
        if let Some(g) = g {
            s = _mm512_mul_ps(s, _mm512_loadu_ps(g.add(i)));
        }
        _mm512_storeu_ps(y.add(i), s);
        i += 16;
    }
    i
}

/// # Safety
/// AVX2 + FMA present; `x`, `g` (if any) and `y` hold `n` floats.
#[target_feature(enable = "avx2,fma")]
unsafe fn silu8(x: *const f32, g: Option<*const f32>, y: *mut f32, n: usize) -> usize {
    let one = _mm256_set1_ps(1.0);
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_loadu_ps(x.add(i));
        let e = v_expf8(_mm256_sub_ps(_mm256_setzero_ps(), v));
        let mut s = _mm256_div_ps(v, _mm256_add_ps(one, e));
        if let Some(g) = g {
            s = _mm256_mul_ps(s, _mm256_loadu_ps(g.add(i)));
        }
        _mm256_storeu_ps(y.add(i), s);
        i += 8;
    }
    i
}

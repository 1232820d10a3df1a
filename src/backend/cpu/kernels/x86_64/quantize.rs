//! AVX2 activation quantizers. They produce exactly the bytes of the scalar versions in
//! `kernels/quantize.rs` (same products, round-half-even, saturating packs), just faster.

use std::arch::x86_64::*;

use crate::backend::cpu::kernels::quantize::q8_offsets;

/// Maximum of the 8 lanes.
#[inline(always)]
unsafe fn hmax(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_movehdup_ps(m));
    _mm_cvtss_f32(m)
}

#[inline(always)]
unsafe fn abs(v: __m256) -> __m256 {
    _mm256_andnot_ps(_mm256_set1_ps(-0.0), v)
}

/// Rounds `x · s` half-to-even into i32.
#[inline(always)]
unsafe fn q32(x: *const f32, s: __m256) -> __m256i {
    let v = _mm256_mul_ps(_mm256_loadu_ps(x), s);
    _mm256_cvtps_epi32(_mm256_round_ps(
        v,
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
    ))
}

/// Packs 4 × 8 i32 into 32 saturated i8 in order.
#[inline(always)]
unsafe fn pack32(i0: __m256i, i1: __m256i, i2: __m256i, i3: __m256i) -> __m256i {
    let a = _mm256_packs_epi32(i0, i1);
    let b = _mm256_packs_epi32(i2, i3);
    let p = _mm256_packs_epi16(a, b);
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

#[inline(always)]
unsafe fn store_f16(p: *mut u8, v: f32) {
    let h = _mm_cvtsi128_si32(_mm_cvtps_ph(_mm_set_ss(v), _MM_FROUND_TO_NEAREST_INT)) as u16;
    (p as *mut u16).write_unaligned(h);
}

/// Q8_0 / Q8_1 rows in the x4 layout (d, Σq, quants).
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_rows(x: *const f32, k: usize, y: *mut u8) {
    let nb = k / 32;
    for ib in 0..nb {
        let xb = x.add(32 * ib);
        let mut m = abs(_mm256_loadu_ps(xb));
        for i in 1..4 {
            m = _mm256_max_ps(m, abs(_mm256_loadu_ps(xb.add(8 * i))));
        }
        let amax = hmax(m);
        let d = amax / 127.0;
        let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
        let (i0, i1, i2, i3) = (
            q32(xb, id),
            q32(xb.add(8), id),
            q32(xb.add(16), id),
            q32(xb.add(24), id),
        );
        let (od, os, oq) = q8_offsets(nb, ib);
        let s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        store_f16(y.add(od), d);
        (y.add(os) as *mut i16).write_unaligned(super::hsum_epi32(s) as i16);
        _mm256_storeu_si256(y.add(oq) as *mut __m256i, pack32(i0, i1, i2, i3));
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8_k_rows(x: *const f32, k: usize, y: *mut u8) {
    for ib in 0..k / 256 {
        let xb = x.add(256 * ib);
        let yb = y.add(292 * ib);
        let mut m = _mm256_setzero_ps();
        for i in 0..32 {
            m = _mm256_max_ps(m, abs(_mm256_loadu_ps(xb.add(8 * i))));
        }
        let amax = hmax(m);
        if amax == 0.0 {
            std::ptr::write_bytes(yb, 0, 292);
            continue;
        }
        // The signed value of the first element of largest magnitude.
        let av = _mm256_set1_ps(amax);
        let mut max = 0.0;
        for i in 0..32 {
            let hit = _mm256_movemask_ps(_mm256_cmp_ps(
                abs(_mm256_loadu_ps(xb.add(8 * i))),
                av,
                _CMP_EQ_OQ,
            ));
            if hit != 0 {
                max = *xb.add(8 * i + hit.trailing_zeros() as usize);
                break;
            }
        }
        let iscale = -127.0 / max;
        let s = _mm256_set1_ps(iscale);
        let cap = _mm256_set1_epi32(127);
        for c in 0..8 {
            let xc = xb.add(32 * c);
            let i0 = _mm256_min_epi32(q32(xc, s), cap);
            let i1 = _mm256_min_epi32(q32(xc.add(8), s), cap);
            let i2 = _mm256_min_epi32(q32(xc.add(16), s), cap);
            let i3 = _mm256_min_epi32(q32(xc.add(24), s), cap);
            _mm256_storeu_si256(yb.add(4 + 32 * c) as *mut __m256i, pack32(i0, i1, i2, i3));
            let s0 = super::hsum_epi32(_mm256_add_epi32(i0, i1)) as i16;
            let s1 = super::hsum_epi32(_mm256_add_epi32(i2, i3)) as i16;
            (yb.add(260 + 4 * c) as *mut i16).write_unaligned(s0);
            (yb.add(262 + 4 * c) as *mut i16).write_unaligned(s1);
        }
        (yb as *mut f32).write_unaligned(1.0 / iscale);
    }
}

/// Checks `src`/`dst` for a row of `block`-element blocks of `bytes` bytes each.
fn fits(src: &[f32], dst: &[u8], block: usize, bytes: usize) {
    assert!(
        src.len().is_multiple_of(block) && dst.len() >= src.len() / block * bytes,
        "quantizer called with a ragged row or a short buffer"
    );
}

/// AVX2 Q8_0 / Q8_1 (x4 layout).
pub(crate) fn quantize_row_q8_x4(src: &[f32], dst: &mut [u8]) {
    fits(src, dst, 32, 36);
    // SAFETY: installed only after avx2/fma/f16c were detected; `fits` proves the reads
    // (src.len() floats) and the writes (src.len()/32 blocks of 36 bytes) are in bounds.
    unsafe { q8_rows(src.as_ptr(), src.len(), dst.as_mut_ptr()) }
}

/// AVX2 Q8_K.
pub(crate) fn quantize_row_q8_k(src: &[f32], dst: &mut [u8]) {
    fits(src, dst, 256, 292);
    // SAFETY: installed only after avx2/fma/f16c were detected; `fits` proves the reads and
    // the writes (256-element, 292-byte blocks) are in bounds.
    unsafe { q8_k_rows(src.as_ptr(), src.len(), dst.as_mut_ptr()) }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_rows(x: *const f32, k: usize, y: *mut u8) {
    let k8 = k / 8 * 8;
    for i in (0..k8).step_by(8) {
        let h = _mm256_cvtps_ph(_mm256_loadu_ps(x.add(i)), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128(y.add(2 * i) as *mut __m128i, h);
    }
    for i in k8..k {
        store_f16(y.add(2 * i), *x.add(i));
    }
}

/// AVX2 + F16C f32 → f16 (round to nearest even, as the scalar `half` conversion).
pub(crate) fn convert_row_f16(src: &[f32], dst: &mut [u8]) {
    assert!(
        dst.len() >= 2 * src.len(),
        "f16 conversion into a short buffer"
    );
    // SAFETY: installed only after avx2/fma/f16c were detected; the assert proves the
    // 2·len-byte write fits, and the reads are exactly `src`.
    unsafe { f16_rows(src.as_ptr(), src.len(), dst.as_mut_ptr()) }
}

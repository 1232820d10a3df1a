//! AVX-512 VNNI row kernels (GEMV and small batches) for Q2_K..Q6_K. A super-block
//! is unpacked into four 64-value vectors of unsigned bytes; each costs one `vpdpbusd` per
//! activation row, then a lane-wise multiply by the sub-block scales (permuted once per
//! super-block); the mins / −32 offset come from the Q8_K `bsums` as in the AVX2 kernels.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89
#![allow(clippy::needless_range_loop)] // per-row accumulator arrays

use std::arch::x86_64::*;

use super::{f16_load, prefetch_ahead, rows_wrapper};
use crate::backend::cpu::kernels::generic::kquants::{scale_min_k4_words, scales_q3k_words, Q8K};
use crate::backend::cpu::kernels::TypeKernels;
use crate::quant::GgmlType;

#[inline(always)]
unsafe fn join(lo: __m256i, hi: __m256i) -> __m512i {
    _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
}

#[inline(always)]
unsafe fn load256(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

/// Q4_K (`FIVE == false`) and Q5_K.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn rows_q45<const FIVE: bool, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let bs = if FIVE { 176 } else { 144 };
    let m4 = _mm256_set1_epi8(0x0F);
    let one = _mm256_set1_epi8(1);
    let mut acc = [_mm512_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * bs);
        prefetch_ahead(b, bs);
        let (d, dmin) = (f16_load(b), f16_load(b.add(2)));
        let sm = scale_min_k4_words(std::slice::from_raw_parts(b.add(4), 12));
        let smv = _mm_loadu_si128(sm.as_ptr() as *const __m128i);
        let sc32 = _mm512_cvtepu8_epi32(smv);
        let mn8 = _mm_unpackhi_epi64(smv, smv);
        let mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));
        let qs = if FIVE { b.add(48) } else { b.add(16) };
        let hv = if FIVE {
            load256(b.add(16))
        } else {
            _mm256_setzero_si256()
        };
        let mut x = [_mm512_setzero_si512(); 4];
        let mut s = [_mm512_setzero_si512(); 4];
        for c in 0..4 {
            let q = load256(qs.add(32 * c));
            let mut lo = _mm256_and_si256(q, m4);
            let mut hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if FIVE {
                let h = _mm256_srlv_epi64(hv, _mm256_set1_epi64x(2 * c as i64));
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
                hi = _mm256_or_si256(
                    hi,
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4),
                );
            }
            x[c] = join(lo, hi);
            let (a, b2) = (2 * c as i32, 2 * c as i32 + 1);
            s[c] = _mm512_permutexvar_epi32(
                _mm512_setr_epi32(a, a, a, a, a, a, a, a, b2, b2, b2, b2, b2, b2, b2, b2),
                sc32,
            );
        }
        for j in 0..NY {
            let yb = y.add(j * ys + ib * Q8K);
            let mut sumi = _mm512_setzero_si512();
            for c in 0..4 {
                let yv = _mm512_loadu_si512(yb.add(4 + 64 * c) as *const __m512i);
                let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[c], yv);
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, s[c]));
            }
            let dy = (yb as *const f32).read_unaligned();
            let mm = _mm256_madd_epi16(load256(yb.add(260)), mins);
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(d * dy), _mm512_cvtepi32_ps(sumi), acc[j]);
            acc[j] = _mm512_fnmadd_ps(
                _mm512_set1_ps(dmin * dy),
                _mm512_cvtepi32_ps(_mm512_zextsi256_si512(mm)),
                acc[j],
            );
        }
    }
    for j in 0..NY {
        *out.add(j) = _mm512_reduce_add_ps(acc[j]);
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn rows_q6<const NY: usize>(k: usize, w: *const u8, y: *const u8, ys: usize, out: *mut f32) {
    let m4 = _mm256_set1_epi8(0x0F);
    let m3 = _mm256_set1_epi8(0x03);
    let mut acc = [_mm512_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * 210);
        prefetch_ahead(b, 210);
        let d = f16_load(b.add(208));
        let sc8 = _mm_loadu_si128(b.add(192) as *const __m128i);
        let sc32 = _mm512_cvtepi8_epi32(sc8);
        let corr = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(sc8), _mm256_set1_epi16(-32));
        let mut x = [_mm512_setzero_si512(); 4];
        let mut s = [_mm512_setzero_si512(); 4];
        for half in 0..2 {
            let ql = b.add(64 * half);
            let qh = load256(b.add(128 + 32 * half));
            let (l0, l1) = (load256(ql), load256(ql.add(32)));
            let hb = |h: __m256i| _mm256_slli_epi16(_mm256_and_si256(h, m3), 4);
            let q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), hb(qh));
            let q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), hb(_mm256_srli_epi16(qh, 2)));
            let q2 = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                hb(_mm256_srli_epi16(qh, 4)),
            );
            let q3 = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                hb(_mm256_srli_epi16(qh, 6)),
            );
            x[2 * half] = join(q0, q1);
            x[2 * half + 1] = join(q2, q3);
        }
        for (t, st) in s.iter_mut().enumerate() {
            let g = 4 * t as i32;
            let idx = _mm512_setr_epi32(
                g,
                g,
                g,
                g,
                g + 1,
                g + 1,
                g + 1,
                g + 1,
                g + 2,
                g + 2,
                g + 2,
                g + 2,
                g + 3,
                g + 3,
                g + 3,
                g + 3,
            );
            *st = _mm512_permutexvar_epi32(idx, sc32);
        }
        for j in 0..NY {
            let yb = y.add(j * ys + ib * Q8K);
            let mut sumi = _mm512_zextsi256_si512(_mm256_madd_epi16(load256(yb.add(260)), corr));
            for t in 0..4 {
                let yv = _mm512_loadu_si512(yb.add(4 + 64 * t) as *const __m512i);
                let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[t], yv);
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, s[t]));
            }
            let dy = (yb as *const f32).read_unaligned();
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(d * dy), _mm512_cvtepi32_ps(sumi), acc[j]);
        }
    }
    for j in 0..NY {
        *out.add(j) = _mm512_reduce_add_ps(acc[j]);
    }
}

/// Q3_K (`THREE`) and Q2_K: 2-bit fields at shifts 0, 2, 4, 6 of two 32-byte rows.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn rows_q23<const THREE: bool, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let bs = if THREE { 110 } else { 84 };
    let m3 = _mm256_set1_epi8(0x03);
    let one = _mm256_set1_epi8(1);
    let mut acc = [_mm512_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * bs);
        prefetch_ahead(b, bs);
        // 16 group scales (i32) and the i16 multipliers of the bsums term.
        let (d, fb, sc32, extra) = if THREE {
            let sc = scales_q3k_words(std::slice::from_raw_parts(b.add(96), 12));
            let v = _mm_sub_epi8(
                _mm_loadu_si128(sc.as_ptr() as *const __m128i),
                _mm_set1_epi8(32),
            );
            let e = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(v), _mm256_set1_epi16(-4));
            let d = f16_load(b.add(108));
            (d, d, _mm512_cvtepi8_epi32(v), e)
        } else {
            let raw = _mm_loadu_si128(b as *const __m128i);
            let lo = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
            let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F));
            (
                f16_load(b.add(80)),
                -f16_load(b.add(82)),
                _mm512_cvtepu8_epi32(lo),
                _mm256_cvtepu8_epi16(hi),
            )
        };
        let qs = if THREE { b.add(32) } else { b.add(16) };
        let hm = if THREE {
            load256(b)
        } else {
            _mm256_setzero_si256()
        };
        let mut x = [_mm512_setzero_si512(); 4];
        let mut s = [_mm512_setzero_si512(); 4];
        let mut chunk = [_mm256_setzero_si256(); 8];
        for half in 0..2 {
            let qv = load256(qs.add(32 * half));
            for sh in 0..4 {
                let t = 4 * half + sh;
                let mut q =
                    _mm256_and_si256(_mm256_srlv_epi64(qv, _mm256_set1_epi64x(2 * sh as i64)), m3);
                if THREE {
                    let h =
                        _mm256_and_si256(_mm256_srlv_epi64(hm, _mm256_set1_epi64x(t as i64)), one);
                    q = _mm256_or_si256(q, _mm256_slli_epi16(h, 2));
                }
                chunk[t] = q;
            }
        }
        for u in 0..4 {
            x[u] = join(chunk[2 * u], chunk[2 * u + 1]);
            let g = 4 * u as i32;
            let idx = _mm512_setr_epi32(
                g,
                g,
                g,
                g,
                g + 1,
                g + 1,
                g + 1,
                g + 1,
                g + 2,
                g + 2,
                g + 2,
                g + 2,
                g + 3,
                g + 3,
                g + 3,
                g + 3,
            );
            s[u] = _mm512_permutexvar_epi32(idx, sc32);
        }
        for j in 0..NY {
            let yb = y.add(j * ys + ib * Q8K);
            let mut sumi = _mm512_setzero_si512();
            for u in 0..4 {
                let yv = _mm512_loadu_si512(yb.add(4 + 64 * u) as *const __m512i);
                let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[u], yv);
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, s[u]));
            }
            let bias = _mm512_zextsi256_si512(_mm256_madd_epi16(load256(yb.add(260)), extra));
            let dy = (yb as *const f32).read_unaligned();
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(d * dy), _mm512_cvtepi32_ps(sumi), acc[j]);
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(fb * dy), _mm512_cvtepi32_ps(bias), acc[j]);
        }
    }
    for j in 0..NY {
        *out.add(j) = _mm512_reduce_add_ps(acc[j]);
    }
}

rows_wrapper!(q3_k, rows_q23[true,], GgmlType::Q3_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q2_k, rows_q23[false,], GgmlType::Q2_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q4_k, rows_q45[false,], GgmlType::Q4_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q5_k, rows_q45[true,], GgmlType::Q5_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q6_k, rows_q6[], GgmlType::Q6_K, GgmlType::Q8_K, [1, 2, 3, 4]);

/// Replaces the AVX2 row kernels of Q4_K, Q5_K and Q6_K (keeping any tiled GEMM).
pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::Q4_K, q4_k());
    set(GgmlType::Q5_K, q5_k());
    set(GgmlType::Q6_K, q6_k());
    set(GgmlType::Q3_K, q3_k());
    set(GgmlType::Q2_K, q2_k());
}

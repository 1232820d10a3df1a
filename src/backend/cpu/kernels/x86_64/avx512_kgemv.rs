//! AVX-512 VNNI row kernels (GEMV and small batches) for Q2_K..Q6_K. A super-block
//! is unpacked into four 64-value vectors of unsigned bytes; each costs one `vpdpbusd` per
//! activation row, then a lane-wise multiply by the sub-block scales (permuted once per
//! super-block); the mins / −32 offset come from the Q8_K `bsums` as in the AVX2 kernels.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89
#![allow(clippy::needless_range_loop)] // per-row accumulator arrays

use std::arch::x86_64::*;

use super::{f16_load, gemv_prepared, hsum_ps, prefetch_ahead, rows_wrapper};
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

/// Lane indices `[g ×4, g + 1 ×4, g + 2 ×4, g + 3 ×4]`: four 16-value scale groups over the
/// sixteen i32 lanes of one `vpdpbusd` (four lanes per group).
#[inline(always)]
unsafe fn quad(g: i32) -> __m512i {
    _mm512_setr_epi32(
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
    )
}

/// The eight 6-bit scales of a Q4_K / Q5_K super-block at `b` as i32 lanes 0..8 (lanes 8..16
/// hold the mins), and the mins as sixteen i16 (each twice, for the Q8_K 16-value `bsums`).
#[inline(always)]
unsafe fn scales_mins_k4(b: *const u8) -> (__m512i, __m256i) {
    let sm = scale_min_k4_words(std::slice::from_raw_parts(b.add(4), 12));
    let smv = _mm_loadu_si128(sm.as_ptr() as *const __m128i);
    let mn8 = _mm_unpackhi_epi64(smv, smv);
    (
        _mm512_cvtepu8_epi32(smv),
        _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)),
    )
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
        let (sc32, mins) = scales_mins_k4(b);
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

/// Q6_K with the AVX2 kernel's arithmetic (`kquants.rs`), bit for bit: the integer part runs
/// two 32-value chunks per 512-bit vector, and its two halves are added into the same eight
/// i32 lane sums the AVX2 kernel forms (integer addition is exact, so the grouping does not
/// matter); the per-super-block float FMA into eight lanes and the final sum are the AVX2
/// ones. It can therefore replace the AVX2 kernel, which follows upstream's summation order.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn rows_q6<const NY: usize>(k: usize, w: *const u8, y: *const u8, ys: usize, out: *mut f32) {
    let m4 = _mm512_set1_epi8(0x0F);
    let m3 = _mm512_set1_epi8(0x03);
    // Per 16-bit word: shift the high-bit bytes by 0 / 2 (chunks 0, 1) or 4 / 6 (chunks 2, 3).
    let sh01 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    let sh23 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
    // Lane scales: chunk t of a half has scales 2t (lanes 0..4) and 2t + 1 (lanes 4..8).
    let idx = [quad(0), quad(4), quad(8), quad(12)];
    let mut acc = [_mm256_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * 210);
        prefetch_ahead(b, 210);
        let d = f16_load(b.add(208));
        let sc = _mm_loadu_si128(b.add(192) as *const __m128i);
        let sc32 = _mm512_cvtepi8_epi32(sc);
        let corr = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(sc), _mm256_set1_epi16(-32));
        let mut x = [_mm512_setzero_si512(); 4];
        for half in 0..2 {
            let l = _mm512_loadu_si512(b.add(64 * half) as *const __m512i);
            let qh = _mm512_broadcast_i64x4(load256(b.add(128 + 32 * half)));
            let hb =
                |sh: __m512i| _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh), m3), 4);
            x[2 * half] = _mm512_or_si512(_mm512_and_si512(l, m4), hb(sh01));
            x[2 * half + 1] =
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), hb(sh23));
        }
        let s: [__m512i; 4] = std::array::from_fn(|t| _mm512_permutexvar_epi32(idx[t], sc32));
        for j in 0..NY {
            let yb = y.add(j * ys + ib * Q8K);
            let mut sumi = _mm512_setzero_si512();
            for t in 0..4 {
                let yv = _mm512_loadu_si512(yb.add(4 + 64 * t) as *const __m512i);
                let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[t], yv);
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, s[t]));
            }
            let lanes = _mm256_add_epi32(
                _mm256_madd_epi16(load256(yb.add(260)), corr),
                _mm256_add_epi32(
                    _mm512_castsi512_si256(sumi),
                    _mm512_extracti64x4_epi64::<1>(sumi),
                ),
            );
            let dy = (yb as *const f32).read_unaligned();
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(lanes), acc[j]);
        }
    }
    for j in 0..NY {
        *out.add(j) = hsum_ps(acc[j]);
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
            s[u] = _mm512_permutexvar_epi32(quad(g), sc32);
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

/// Copies a Q8_K activation row with each super-block's eight 32-value sub-blocks reordered
/// 0, 2, 1, 3, 4, 6, 5, 7 (d and bsums stay where they are). A 64-byte load of Q4_K nibbles
/// holds sub-blocks 2c and 2c + 2 in its low nibbles and 2c + 1, 2c + 3 in its high ones, so
/// with this order each unpacked vector meets its activations in one aligned load.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
unsafe fn prepare_q8k_for_q4k(y: *const u8, nsb: usize, out: *mut u8) {
    const ORDER: [usize; 8] = [0, 2, 1, 3, 4, 6, 5, 7];
    for ib in 0..nsb {
        let (src, dst) = (y.add(ib * Q8K), out.add(ib * Q8K));
        std::ptr::copy_nonoverlapping(src, dst, 4);
        for (slot, &sb) in ORDER.iter().enumerate() {
            _mm256_storeu_si256(
                dst.add(4 + 32 * slot) as *mut __m256i,
                load256(src.add(4 + 32 * sb)),
            );
        }
        std::ptr::copy_nonoverlapping(src.add(260), dst.add(260), Q8K - 260);
    }
}

/// One Q4_K row against an activation row prepared by [`prepare_q8k_for_q4k`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn gemv_row_q4k(nsb: usize, w: *const u8, y: *const u8) -> f32 {
    let m4 = _mm512_set1_epi8(0x0F);
    // Lane scales of the four products: sub-blocks (0, 2), (1, 3), (4, 6), (5, 7).
    let pick = |a: i32, b: i32| _mm512_setr_epi32(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b);
    let idx = [pick(0, 2), pick(1, 3), pick(4, 6), pick(5, 7)];
    let mut acc = _mm512_setzero_ps();
    for ib in 0..nsb {
        let b = w.add(ib * 144);
        prefetch_ahead(b, 144);
        let (d, dmin) = (f16_load(b), f16_load(b.add(2)));
        let (sc32, mins) = scales_mins_k4(b);
        let l0 = _mm512_loadu_si512(b.add(16) as *const __m512i);
        let l1 = _mm512_loadu_si512(b.add(80) as *const __m512i);
        let x = [
            _mm512_and_si512(l0, m4),
            _mm512_and_si512(_mm512_srli_epi16(l0, 4), m4),
            _mm512_and_si512(l1, m4),
            _mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
        ];
        let yb = y.add(ib * Q8K);
        let mut sumi = _mm512_setzero_si512();
        for c in 0..4 {
            let yv = _mm512_loadu_si512(yb.add(4 + 64 * c) as *const __m512i);
            let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), x[c], yv);
            sumi = _mm512_add_epi32(
                sumi,
                _mm512_mullo_epi32(p, _mm512_permutexvar_epi32(idx[c], sc32)),
            );
        }
        let dy = (yb as *const f32).read_unaligned();
        let mm = _mm256_madd_epi16(load256(yb.add(260)), mins);
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d * dy), _mm512_cvtepi32_ps(sumi), acc);
        acc = _mm512_fnmadd_ps(
            _mm512_set1_ps(dmin * dy),
            _mm512_cvtepi32_ps(_mm512_zextsi256_si512(mm)),
            acc,
        );
    }
    _mm512_reduce_add_ps(acc)
}

/// [`crate::backend::cpu::kernels::GemvFn`] for Q4_K: prepares the activation row once, then
/// takes the weight rows one after another in memory order.
///
/// # Safety
/// That of `GemvFn`; the table holds it only on a CPU with the AVX-512 VNNI set.
unsafe fn gemv_q4k(
    k: usize,
    w: *const u8,
    ws: usize,
    rows: std::ops::Range<usize>,
    y: *const u8,
    dst: *mut f32,
) {
    let nsb = k / 256;
    gemv_prepared(
        rows,
        dst,
        nsb * Q8K,
        |prep| prepare_q8k_for_q4k(y, nsb, prep),
        |i, prep| gemv_row_q4k(nsb, w.add(i * ws), prep),
        |i| {
            let mut out = 0.0f32;
            rows_q45::<false, 1>(k, w.add(i * ws), y, 0, &mut out);
            out
        },
    );
}

/// Q4_K's row kernels with the GEMV above.
pub(super) fn q4_k_gemv() -> TypeKernels {
    TypeKernels {
        gemv: Some(gemv_q4k),
        ..q4_k()
    }
}

rows_wrapper!(q3_k, rows_q23[true,], GgmlType::Q3_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q2_k, rows_q23[false,], GgmlType::Q2_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q4_k, rows_q45[false,], GgmlType::Q4_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q5_k, rows_q45[true,], GgmlType::Q5_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q6_k, rows_q6[], GgmlType::Q6_K, GgmlType::Q8_K, [1, 2, 3, 4]);

/// Replaces the AVX2 row kernels of Q4_K, Q5_K and Q6_K (keeping any tiled GEMM).
pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::Q4_K, q4_k_gemv());
    set(GgmlType::Q5_K, q5_k());
    set(GgmlType::Q6_K, q6_k());
    set(GgmlType::Q3_K, q3_k());
    set(GgmlType::Q2_K, q2_k());
}

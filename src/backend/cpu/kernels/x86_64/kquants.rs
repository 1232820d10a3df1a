//! AVX2 kernels of the 256-element super-block types against Q8_K. Per super-block the
//! weights are unpacked 32 values at a time to unsigned bytes, multiplied with each activation
//! row by `maddubs`, weighted by the sub-block scales with `madd`, and summed in i32; offsets
//! (Q3_K's −4, Q6_K's −32, the mins of Q2_K/Q4_K/Q5_K, TQ2_0's −1) are applied through the
//! Q8_K `bsums`, so only one float multiply-add per super-block and row remains.

use std::arch::x86_64::*;

use super::{f16_load, hsum_ps, prefetch_ahead, rows_wrapper};
use crate::backend::cpu::kernels::generic::kquants::{scale_min_k4_words, scales_q3k_words, Q8K};
use crate::backend::cpu::kernels::generic::legacy::KVALUES_IQ4NL;
use crate::backend::cpu::kernels::TypeKernels;
use crate::quant::GgmlType;

#[inline(always)]
unsafe fn load(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

/// d of Q8_K block `ib` of the row at `y`.
#[inline(always)]
unsafe fn q8k_d(y: *const u8, ib: usize) -> f32 {
    (y.add(ib * Q8K) as *const f32).read_unaligned()
}

/// The 16 bsums of Q8_K block `ib`.
#[inline(always)]
unsafe fn bsums(y: *const u8, ib: usize) -> __m256i {
    load(y.add(ib * Q8K + 260))
}

/// i16 scale vector for one 32-value chunk covering two 16-value scale groups.
#[inline(always)]
unsafe fn two_scales(a: i16, b: i16) -> __m256i {
    _mm256_set_m128i(_mm_set1_epi16(b), _mm_set1_epi16(a))
}

/// `pshufb` controls: control `p` repeats byte `2p` eight times, then byte `2p + 1`.
static PAIR_SHUFFLE: [[u8; 16]; 8] = {
    let mut c = [[0u8; 16]; 8];
    let mut p = 0;
    while p < 8 {
        let mut i = 0;
        while i < 16 {
            c[p][i] = (2 * p + i / 8) as u8;
            i += 1;
        }
        p += 1;
    }
    c
};

/// As [`two_scales`] for the i8 scales `2p` and `2p + 1` of the 16 in `sc`: one shuffle and
/// one widening instead of two broadcasts from scalars.
#[inline(always)]
unsafe fn scale_pair(sc: __m128i, p: usize) -> __m256i {
    let ctl = _mm_loadu_si128(PAIR_SHUFFLE[p].as_ptr() as *const __m128i);
    _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, ctl))
}

/// `sumi += madd(maddubs(q, y[0..32]), scale)`.
#[inline(always)]
unsafe fn acc_chunk(sumi: __m256i, q: __m256i, y: *const u8, scale: __m256i) -> __m256i {
    _mm256_add_epi32(
        sumi,
        _mm256_madd_epi16(_mm256_maddubs_epi16(q, load(y)), scale),
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_q45_k<const FIVE: bool, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let bs = if FIVE { 176 } else { 144 };
    let m4 = _mm256_set1_epi8(0x0F);
    let one = _mm256_set1_epi8(1);
    let mut acc = [_mm256_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * bs);
        prefetch_ahead(b, bs);
        let (d, dmin) = (f16_load(b), f16_load(b.add(2)));
        let sm = scale_min_k4_words(std::slice::from_raw_parts(b.add(4), 12));
        let (sc, mn) = (&sm[..8], &sm[8..]);
        let mut m16 = [0i16; 16];
        for (j, v) in m16.iter_mut().enumerate() {
            *v = mn[j / 2] as i16;
        }
        let mins = _mm256_loadu_si256(m16.as_ptr() as *const __m256i);
        let qs = if FIVE { b.add(48) } else { b.add(16) };
        let hv = if FIVE {
            load(b.add(16))
        } else {
            _mm256_setzero_si256()
        };
        let mut sumi = [_mm256_setzero_si256(); NY];
        for c in 0..4 {
            let q = load(qs.add(32 * c));
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
            let (slo, shi) = (
                _mm256_set1_epi16(sc[2 * c] as i16),
                _mm256_set1_epi16(sc[2 * c + 1] as i16),
            );
            for (j, s) in sumi.iter_mut().enumerate() {
                let yq = y.add(j * ys + ib * Q8K + 4 + 64 * c);
                *s = acc_chunk(acc_chunk(*s, lo, yq, slo), hi, yq.add(32), shi);
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            let yr = y.add(j * ys);
            let dy = q8k_d(yr, ib);
            let mm = _mm256_madd_epi16(bsums(yr, ib), mins);
            *a = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(sumi[j]), *a);
            *a = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * dy), _mm256_cvtepi32_ps(mm), *a);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_q6_k<const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let m4 = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * 210);
        prefetch_ahead(b, 210);
        let d = f16_load(b.add(208));
        let sc = _mm_loadu_si128(b.add(192) as *const __m128i);
        let corr = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(sc), _mm256_set1_epi16(-32));
        let mut sumi = [_mm256_setzero_si256(); NY];
        for (j, s) in sumi.iter_mut().enumerate() {
            *s = _mm256_madd_epi16(bsums(y.add(j * ys), ib), corr);
        }
        for half in 0..2 {
            let ql = b.add(64 * half);
            let qh = load(b.add(128 + 32 * half));
            let (l0, l1) = (load(ql), load(ql.add(32)));
            // The 2 high bits of each 32-value chunk, moved to bits 4..6 with one mask and
            // at most one shift each.
            let hi = |mask: i8| _mm256_and_si256(qh, _mm256_set1_epi8(mask));
            let q = [
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(hi(0x03), 4)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(hi(0x0C), 2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), hi(0x30)),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                    _mm256_srli_epi16(hi(0xC0u8 as i8), 2),
                ),
            ];
            let sv: [__m256i; 4] = std::array::from_fn(|t| scale_pair(sc, 4 * half + t));
            for (j, s) in sumi.iter_mut().enumerate() {
                let yq = y.add(j * ys + ib * Q8K + 4 + 128 * half);
                for t in 0..4 {
                    *s = acc_chunk(*s, q[t], yq.add(32 * t), sv[t]);
                }
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            let dy = q8k_d(y.add(j * ys), ib);
            *a = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(sumi[j]), *a);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

/// Q3_K (`THREE`) and Q2_K: 2-bit fields at shifts 0, 2, 4, 6 of 32-byte rows.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_q23_k<const THREE: bool, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let bs = if THREE { 110 } else { 84 };
    let m3 = _mm256_set1_epi8(0x03);
    let one = _mm256_set1_epi8(1);
    let mut acc = [_mm256_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * bs);
        prefetch_ahead(b, bs);
        let mut sc = [0i16; 16];
        let (d, dmin, qs, extra) = if THREE {
            let s = scales_q3k_words(std::slice::from_raw_parts(b.add(96), 12));
            for (o, &v) in sc.iter_mut().zip(&s) {
                *o = v as i16 - 32;
            }
            // Σ (q − 4)·y: the −4 through the bsums.
            let mut c = [0i16; 16];
            for (o, &v) in c.iter_mut().zip(&sc) {
                *o = -4 * v;
            }
            (
                f16_load(b.add(108)),
                0.0,
                b.add(32),
                _mm256_loadu_si256(c.as_ptr() as *const __m256i),
            )
        } else {
            let raw = std::slice::from_raw_parts(b, 16);
            let mut mn = [0i16; 16];
            for j in 0..16 {
                sc[j] = (raw[j] & 0xF) as i16;
                mn[j] = (raw[j] >> 4) as i16;
            }
            (
                f16_load(b.add(80)),
                f16_load(b.add(82)),
                b.add(16),
                _mm256_loadu_si256(mn.as_ptr() as *const __m256i),
            )
        };
        let hm = if THREE {
            load(b)
        } else {
            _mm256_setzero_si256()
        };
        let mut sumi = [_mm256_setzero_si256(); NY];
        let mut mins = [_mm256_setzero_si256(); NY];
        for (j, (s, m)) in sumi.iter_mut().zip(mins.iter_mut()).enumerate() {
            let e = _mm256_madd_epi16(bsums(y.add(j * ys), ib), extra);
            if THREE {
                *s = e;
            } else {
                *m = e;
            }
        }
        for half in 0..2 {
            let qv = load(qs.add(32 * half));
            for sh in 0..4 {
                let t = 4 * half + sh;
                let mut q =
                    _mm256_and_si256(_mm256_srlv_epi64(qv, _mm256_set1_epi64x(2 * sh as i64)), m3);
                if THREE {
                    let h =
                        _mm256_and_si256(_mm256_srlv_epi64(hm, _mm256_set1_epi64x(t as i64)), one);
                    q = _mm256_or_si256(q, _mm256_slli_epi16(h, 2));
                }
                let sv = two_scales(sc[2 * t], sc[2 * t + 1]);
                for (j, s) in sumi.iter_mut().enumerate() {
                    *s = acc_chunk(*s, q, y.add(j * ys + ib * Q8K + 4 + 32 * t), sv);
                }
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            let dy = q8k_d(y.add(j * ys), ib);
            *a = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(sumi[j]), *a);
            if !THREE {
                *a = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * dy), _mm256_cvtepi32_ps(mins[j]), *a);
            }
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_iq4_xs<const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let m4 = _mm_set1_epi8(0x0F);
    let t = _mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i);
    let table = _mm256_set_m128i(t, t);
    let mut acc = [_mm256_setzero_ps(); NY];
    for ibl in 0..k / 256 {
        let b = w.add(ibl * 136);
        prefetch_ahead(b, 136);
        let d = f16_load(b);
        let h = (b.add(2) as *const u16).read_unaligned();
        let mut sumi = [_mm256_setzero_si256(); NY];
        for ib in 0..8 {
            let ls = ((*b.add(4 + ib / 2) >> (4 * (ib % 2))) & 0xF) as i16
                | ((((h >> (2 * ib)) & 3) as i16) << 4);
            let scale = _mm256_set1_epi16(ls - 32);
            let q = _mm_loadu_si128(b.add(8 + 16 * ib) as *const __m128i);
            let idx = _mm256_set_m128i(
                _mm_and_si128(_mm_srli_epi16(q, 4), m4),
                _mm_and_si128(q, m4),
            );
            let x = _mm256_shuffle_epi8(table, idx);
            let ax = _mm256_abs_epi8(x);
            for (j, s) in sumi.iter_mut().enumerate() {
                let yv = load(y.add(j * ys + ibl * Q8K + 4 + 32 * ib));
                let p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(yv, x));
                *s = _mm256_add_epi32(*s, _mm256_madd_epi16(p, scale));
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            let dy = q8k_d(y.add(j * ys), ibl);
            *a = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(sumi[j]), *a);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_tq2_0<const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let m3 = _mm256_set1_epi8(0x03);
    let ones = _mm256_set1_epi16(1);
    let neg = _mm256_set1_epi16(-1);
    let mut acc = [_mm256_setzero_ps(); NY];
    for ib in 0..k / 256 {
        let b = w.add(ib * 66);
        prefetch_ahead(b, 66);
        let d = f16_load(b.add(64));
        let mut sumi = [_mm256_setzero_si256(); NY];
        for (j, s) in sumi.iter_mut().enumerate() {
            *s = _mm256_madd_epi16(bsums(y.add(j * ys), ib), neg);
        }
        for jb in 0..2 {
            let qv = load(b.add(32 * jb));
            for l in 0..4 {
                let q =
                    _mm256_and_si256(_mm256_srlv_epi64(qv, _mm256_set1_epi64x(2 * l as i64)), m3);
                for (j, s) in sumi.iter_mut().enumerate() {
                    *s = acc_chunk(
                        *s,
                        q,
                        y.add(j * ys + ib * Q8K + 4 + 128 * jb + 32 * l),
                        ones,
                    );
                }
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            let dy = q8k_d(y.add(j * ys), ib);
            *a = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(sumi[j]), *a);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

rows_wrapper!(q4_k, rows_q45_k[false,], GgmlType::Q4_K, GgmlType::Q8_K, [1]);
rows_wrapper!(q5_k, rows_q45_k[true,], GgmlType::Q5_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q6_k, rows_q6_k[], GgmlType::Q6_K, GgmlType::Q8_K, [1, 2]);
rows_wrapper!(q3_k, rows_q23_k[true,], GgmlType::Q3_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(q2_k, rows_q23_k[false,], GgmlType::Q2_K, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(iq4_xs, rows_iq4_xs[], GgmlType::IQ4_XS, GgmlType::Q8_K, [1, 2, 3, 4]);
rows_wrapper!(tq2_0, rows_tq2_0[], GgmlType::TQ2_0, GgmlType::Q8_K, [1, 2, 3, 4]);

pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::Q4_K, q4_k());
    set(GgmlType::Q5_K, q5_k());
    set(GgmlType::Q6_K, q6_k());
    set(GgmlType::Q3_K, q3_k());
    set(GgmlType::Q2_K, q2_k());
    set(GgmlType::IQ4_XS, iq4_xs());
    set(GgmlType::TQ2_0, tq2_0());
}

//! AVX2 kernels of the 32-element block types. Weight blocks are taken four at a time (one
//! x4 group of the activation row), unpacked to 32 bytes each, and multiplied with each of the
//! `NY` activation rows with `maddubs`: signed weights through the `|x| · sign(y, x)` trick,
//! offset ones (Q4_0's q − 8, Q5_0's q − 16) as unsigned q with `o · Σq_y` subtracted using the
//! block sums of our activation layout; the four block sums are reduced into one vector and
//! scaled with four `d_x · d_y` at once. Q8_0 weights instead sum in upstream's order
//! (`rows_q8_0`), bit-identical to `ggml_vec_dot_q8_0_q8_0`.

use std::arch::x86_64::*;

use super::{f16_load, hsum_epi32, hsum_ps, hsum_ps128, prefetch_ahead, reduce4, rows_wrapper};
use crate::backend::cpu::kernels::generic::legacy::{e8m0_half, KVALUES_IQ4NL, KVALUES_MXFP4};
use crate::backend::cpu::kernels::quantize::{Q8_BLOCK, Q8_X4};
use crate::backend::cpu::kernels::TypeKernels;
use crate::quant::GgmlType;

/// A 32-element weight block format: its size, scale and 32 unpacked i8 values.
pub(super) trait Block32 {
    const BYTES: usize;
    /// Weight values are signed (dot with `sign` trick) rather than unsigned.
    const SIGNED: bool;
    /// For unsigned values: the offset to subtract (value = stored − OFFSET).
    const OFFSET: i32 = 0;
    /// Has a min `m` (Q4_1 / Q5_1): value = d·q + m.
    const HAS_MIN: bool = false;
    unsafe fn scale(b: *const u8) -> f32;
    /// The min (Q4_1 / Q5_1); zero otherwise.
    unsafe fn min(_b: *const u8) -> f32 {
        0.0
    }
    unsafe fn values(b: *const u8) -> __m256i;
}

/// Low nibbles of the 16 bytes at `p` in the low lane, high nibbles in the high lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles(p: *const u8) -> __m256i {
    let q = _mm_loadu_si128(p as *const __m128i);
    let m = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(q, m);
    let hi = _mm_and_si128(_mm_srli_epi16(q, 4), m);
    _mm256_set_m128i(hi, lo)
}

/// 0x10 in byte j where bit j of the 32-bit `qh` is set.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn high_bits(p: *const u8) -> __m256i {
    let qh = (p as *const u32).read_unaligned();
    let v = _mm256_set1_epi32(qh as i32);
    let spread = _mm256_setr_epi64x(
        0,
        0x0101_0101_0101_0101,
        0x0202_0202_0202_0202,
        0x0303_0303_0303_0303,
    );
    let bytes = _mm256_shuffle_epi8(v, spread);
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
    _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

pub(super) struct Q4_0;
impl Block32 for Q4_0 {
    const BYTES: usize = 18;
    const SIGNED: bool = false;
    const OFFSET: i32 = 8;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        nibbles(b.add(2))
    }
}

pub(super) struct Q8_0;
impl Block32 for Q8_0 {
    const BYTES: usize = 34;
    const SIGNED: bool = true;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        _mm256_loadu_si256(b.add(2) as *const __m256i)
    }
}

pub(super) struct Q5_0;
impl Block32 for Q5_0 {
    const BYTES: usize = 22;
    const SIGNED: bool = false;
    const OFFSET: i32 = 16;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        _mm256_or_si256(nibbles(b.add(6)), high_bits(b.add(2)))
    }
}

pub(super) struct Q4_1;
impl Block32 for Q4_1 {
    const BYTES: usize = 20;
    const SIGNED: bool = false;
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn min(b: *const u8) -> f32 {
        f16_load(b.add(2))
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        nibbles(b.add(4))
    }
}

pub(super) struct Q5_1;
impl Block32 for Q5_1 {
    const BYTES: usize = 24;
    const SIGNED: bool = false;
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn min(b: *const u8) -> f32 {
        f16_load(b.add(2))
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        _mm256_or_si256(nibbles(b.add(8)), high_bits(b.add(4)))
    }
}

pub(super) struct Iq4Nl;
impl Block32 for Iq4Nl {
    const BYTES: usize = 18;
    const SIGNED: bool = true;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        f16_load(b)
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        let t = _mm_loadu_si128(KVALUES_IQ4NL.as_ptr() as *const __m128i);
        _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nibbles(b.add(2)))
    }
}

pub(super) struct Mxfp4;
impl Block32 for Mxfp4 {
    const BYTES: usize = 17;
    const SIGNED: bool = true;
    #[inline(always)]
    unsafe fn scale(b: *const u8) -> f32 {
        e8m0_half(*b)
    }
    #[inline(always)]
    unsafe fn values(b: *const u8) -> __m256i {
        let t = _mm_loadu_si128(KVALUES_MXFP4.as_ptr() as *const __m128i);
        _mm256_shuffle_epi8(_mm256_set_m128i(t, t), nibbles(b.add(1)))
    }
}

/// i32×8 partial sums of one weight block (`ax`, `sx` as prepared by `prep`) with 32 quants.
#[inline(always)]
unsafe fn block_dot<B: Block32>(ax: __m256i, sx: __m256i, q: *const u8) -> __m256i {
    let y = _mm256_loadu_si256(q as *const __m256i);
    let p = if B::SIGNED {
        _mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, sx))
    } else {
        _mm256_maddubs_epi16(ax, y)
    };
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

/// (`|x|` or x, x) for the dot trick.
#[inline(always)]
unsafe fn prep<B: Block32>(b: *const u8) -> (__m256i, __m256i) {
    let x = B::values(b);
    if B::SIGNED {
        (_mm256_abs_epi8(x), x)
    } else {
        (x, x)
    }
}

/// One weight row of `B` against `NY` x4 activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_b32<B: Block32, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let nb = k / 32;
    let ng = nb / 4;
    let mut acc = [_mm_setzero_ps(); NY];
    let offset = _mm_set1_epi32(B::OFFSET);
    for g in 0..ng {
        let wb = w.add(4 * g * B::BYTES);
        prefetch_ahead(wb, 4 * B::BYTES);
        let (a0, s0) = prep::<B>(wb);
        let (a1, s1) = prep::<B>(wb.add(B::BYTES));
        let (a2, s2) = prep::<B>(wb.add(2 * B::BYTES));
        let (a3, s3) = prep::<B>(wb.add(3 * B::BYTES));
        let dw = _mm_setr_ps(
            B::scale(wb),
            B::scale(wb.add(B::BYTES)),
            B::scale(wb.add(2 * B::BYTES)),
            B::scale(wb.add(3 * B::BYTES)),
        );
        let mw = if B::HAS_MIN {
            _mm_setr_ps(
                B::min(wb),
                B::min(wb.add(B::BYTES)),
                B::min(wb.add(2 * B::BYTES)),
                B::min(wb.add(3 * B::BYTES)),
            )
        } else {
            _mm_setzero_ps()
        };
        for (j, a) in acc.iter_mut().enumerate() {
            let yg = y.add(j * ys + g * Q8_X4);
            let dy = _mm_cvtph_ps(_mm_loadl_epi64(yg as *const __m128i));
            let q = yg.add(16);
            let mut s = reduce4(
                block_dot::<B>(a0, s0, q),
                block_dot::<B>(a1, s1, q.add(32)),
                block_dot::<B>(a2, s2, q.add(64)),
                block_dot::<B>(a3, s3, q.add(96)),
            );
            if B::OFFSET != 0 || B::HAS_MIN {
                let sums = _mm_cvtepi16_epi32(_mm_loadl_epi64(yg.add(8) as *const __m128i));
                if B::OFFSET != 0 {
                    s = _mm_sub_epi32(s, _mm_mullo_epi32(sums, offset));
                }
                if B::HAS_MIN {
                    *a = _mm_fmadd_ps(mw, _mm_mul_ps(dy, _mm_cvtepi32_ps(sums)), *a);
                }
            }
            *a = _mm_fmadd_ps(_mm_mul_ps(dw, dy), _mm_cvtepi32_ps(s), *a);
        }
    }
    let mut tail = [0.0f32; NY];
    for ib in 4 * ng..nb {
        let wb = w.add(ib * B::BYTES);
        let (ax, sx) = prep::<B>(wb);
        let (dw, mw) = (B::scale(wb), B::min(wb));
        for (j, t) in tail.iter_mut().enumerate() {
            let yb = y.add(j * ys + ng * Q8_X4 + (ib - 4 * ng) * Q8_BLOCK);
            let dy = f16_load(yb);
            let sum = (yb.add(2) as *const i16).read_unaligned() as i32;
            let s = hsum_epi32(block_dot::<B>(ax, sx, yb.add(4))) - B::OFFSET * sum;
            *t += dw * dy * s as f32;
            if B::HAS_MIN {
                *t += mw * (dy * sum as f32);
            }
        }
    }
    for j in 0..NY {
        *out.add(j) = hsum_ps128(acc[j]) + tail[j];
    }
}

/// Q8_0 weights in upstream's order (`ggml_vec_dot_q8_0_q8_0` for AVX2, and tinyBLAS's Q8_0
/// GEMM, which sums the same way): every block's products are kept as eight i32 lane sums
/// (four neighbouring elements each), converted to f32 and fused-multiply-added with the
/// block's `d_x · d_y` into eight lane accumulators, which are summed at the end. Summing the
/// blocks in another order rounds differently (1e-7 relative), which upstream's Q8 activation
/// rounding can amplify into different tokens.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_q8_0<const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let nb = k / 32;
    let ng = nb / 4;
    let mut acc = [_mm256_setzero_ps(); NY];
    for g in 0..ng {
        let wb = w.add(4 * g * Q8_0::BYTES);
        prefetch_ahead(wb, 4 * Q8_0::BYTES);
        let p = [
            prep::<Q8_0>(wb),
            prep::<Q8_0>(wb.add(Q8_0::BYTES)),
            prep::<Q8_0>(wb.add(2 * Q8_0::BYTES)),
            prep::<Q8_0>(wb.add(3 * Q8_0::BYTES)),
        ];
        let dw = _mm_setr_ps(
            Q8_0::scale(wb),
            Q8_0::scale(wb.add(Q8_0::BYTES)),
            Q8_0::scale(wb.add(2 * Q8_0::BYTES)),
            Q8_0::scale(wb.add(3 * Q8_0::BYTES)),
        );
        for (j, a) in acc.iter_mut().enumerate() {
            // x4 group: 4 f16 scales, 4 i16 sums, 4 × 32 quants
            let yg = y.add(j * ys + g * Q8_X4);
            let dy = _mm_cvtph_ps(_mm_loadl_epi64(yg as *const __m128i));
            // the four products d_x · d_y (each rounded once, as upstream's scalar product)
            let d = _mm_mul_ps(dw, dy);
            let d = _mm256_set_m128(d, d);
            let q = yg.add(16);
            let s0 = block_dot::<Q8_0>(p[0].0, p[0].1, q);
            *a = _mm256_fmadd_ps(_mm256_shuffle_ps(d, d, 0x00), _mm256_cvtepi32_ps(s0), *a);
            let s1 = block_dot::<Q8_0>(p[1].0, p[1].1, q.add(32));
            *a = _mm256_fmadd_ps(_mm256_shuffle_ps(d, d, 0x55), _mm256_cvtepi32_ps(s1), *a);
            let s2 = block_dot::<Q8_0>(p[2].0, p[2].1, q.add(64));
            *a = _mm256_fmadd_ps(_mm256_shuffle_ps(d, d, 0xAA), _mm256_cvtepi32_ps(s2), *a);
            let s3 = block_dot::<Q8_0>(p[3].0, p[3].1, q.add(96));
            *a = _mm256_fmadd_ps(_mm256_shuffle_ps(d, d, 0xFF), _mm256_cvtepi32_ps(s3), *a);
        }
    }
    for ib in 4 * ng..nb {
        let wb = w.add(ib * Q8_0::BYTES);
        let (ax, sx) = prep::<Q8_0>(wb);
        let dw = Q8_0::scale(wb);
        for (j, a) in acc.iter_mut().enumerate() {
            let yb = y.add(j * ys + ng * Q8_X4 + (ib - 4 * ng) * Q8_BLOCK);
            let s = block_dot::<Q8_0>(ax, sx, yb.add(4));
            *a = _mm256_fmadd_ps(_mm256_set1_ps(dw * f16_load(yb)), _mm256_cvtepi32_ps(s), *a);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        *out.add(j) = hsum_ps(*a);
    }
}

rows_wrapper!(q4_0, rows_b32[Q4_0,], GgmlType::Q4_0, GgmlType::Q8_0, [1, 2, 3, 4, 5, 6, 7, 8]);
rows_wrapper!(q8_0, rows_q8_0[], GgmlType::Q8_0, GgmlType::Q8_0, [1, 2, 3, 4, 5, 6, 7, 8]);
rows_wrapper!(q5_0, rows_b32[Q5_0,], GgmlType::Q5_0, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(q4_1, rows_b32[Q4_1,], GgmlType::Q4_1, GgmlType::Q8_1, [1, 2, 3, 4]);
rows_wrapper!(q5_1, rows_b32[Q5_1,], GgmlType::Q5_1, GgmlType::Q8_1, [1, 2, 3, 4]);
rows_wrapper!(iq4_nl, rows_b32[Iq4Nl,], GgmlType::IQ4_NL, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(mxfp4, rows_b32[Mxfp4,], GgmlType::MXFP4, GgmlType::Q8_0, [1, 2, 3, 4]);

pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::Q4_0, q4_0());
    set(GgmlType::Q8_0, q8_0());
    set(GgmlType::Q5_0, q5_0());
    set(GgmlType::Q4_1, q4_1());
    set(GgmlType::Q5_1, q5_1());
    set(GgmlType::IQ4_NL, iq4_nl());
    set(GgmlType::MXFP4, mxfp4());
}

//! AVX-512 VNNI row kernels (GEMV and batches below the tiled threshold) for the 32-element
//! block types. Two weight blocks fill one 64-byte vector of unsigned values (signed types
//! are shifted by 128 with an XOR); one `vpdpbusd` multiplies them with the two matching
//! activation blocks; lanes are scaled by their block's `d_x · d_y` in float without any
//! horizontal reduction, and the offset (−o · Σq_y per block) or min (m · d_y · Σq_y) is added
//! from the activation block sums four blocks at a time.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89
#![allow(clippy::needless_range_loop)] // per-row accumulator arrays

use std::arch::x86_64::*;

use super::legacy::{Block32, Iq4Nl, Mxfp4, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
use super::{f16_load, hsum_epi32, hsum_ps128, prefetch_ahead, rows_wrapper};
use crate::backend::cpu::kernels::quantize::{Q8_BLOCK, Q8_X4};
use crate::backend::cpu::kernels::TypeKernels;
use crate::quant::GgmlType;

/// The 32 values of a block as unsigned bytes (signed types + 128) and the offset to remove.
#[inline(always)]
unsafe fn values_u8<B: Block32>(b: *const u8) -> __m256i {
    let v = B::values(b);
    if B::SIGNED {
        _mm256_xor_si256(v, _mm256_set1_epi8(-128))
    } else {
        v
    }
}

#[inline(always)]
fn offset<B: Block32>() -> i32 {
    if B::SIGNED {
        128
    } else {
        B::OFFSET
    }
}

/// Two consecutive blocks in one vector.
#[inline(always)]
unsafe fn two<B: Block32>(b: *const u8) -> __m512i {
    _mm512_inserti64x4(
        _mm512_castsi256_si512(values_u8::<B>(b)),
        values_u8::<B>(b.add(B::BYTES)),
        1,
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(super) unsafe fn rows_vnni<B: Block32, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let nb = k / 32;
    let ng = nb / 4;
    let lo_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    let hi_idx = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    let off = offset::<B>() as f32;
    // Two accumulators per row (blocks 0-1 and 2-3 of each group): halves the FMA latency
    // chain, which otherwise bounds one core at about 8 cycles per 4 blocks.
    let mut acc = [_mm512_setzero_ps(); NY];
    let mut acc2 = [_mm512_setzero_ps(); NY];
    let mut side = [_mm_setzero_ps(); NY];
    for g in 0..ng {
        let wb = w.add(4 * g * B::BYTES);
        prefetch_ahead(wb, 4 * B::BYTES);
        let x01 = two::<B>(wb);
        let x23 = two::<B>(wb.add(2 * B::BYTES));
        let dw = _mm_setr_ps(
            B::scale(wb),
            B::scale(wb.add(B::BYTES)),
            B::scale(wb.add(2 * B::BYTES)),
            B::scale(wb.add(3 * B::BYTES)),
        );
        // Per block: −o·d_x (offset types) or m_x (min types), times d_y·Σq_y.
        let sw = if B::HAS_MIN {
            _mm_setr_ps(
                B::min(wb),
                B::min(wb.add(B::BYTES)),
                B::min(wb.add(2 * B::BYTES)),
                B::min(wb.add(3 * B::BYTES)),
            )
        } else {
            _mm_mul_ps(dw, _mm_set1_ps(-off))
        };
        for j in 0..NY {
            let yg = y.add(j * ys + g * Q8_X4);
            let dy = _mm_cvtph_ps(_mm_loadl_epi64(yg as *const __m128i));
            let sums = _mm_cvtepi32_ps(_mm_cvtepi16_epi32(_mm_loadl_epi64(
                yg.add(8) as *const __m128i
            )));
            let d4 = _mm512_castps128_ps512(_mm_mul_ps(dw, dy));
            let p01 = _mm512_dpbusd_epi32(
                _mm512_setzero_si512(),
                x01,
                _mm512_loadu_si512(yg.add(16) as *const __m512i),
            );
            let p23 = _mm512_dpbusd_epi32(
                _mm512_setzero_si512(),
                x23,
                _mm512_loadu_si512(yg.add(80) as *const __m512i),
            );
            acc[j] = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(p01),
                _mm512_permutexvar_ps(lo_idx, d4),
                acc[j],
            );
            acc2[j] = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(p23),
                _mm512_permutexvar_ps(hi_idx, d4),
                acc2[j],
            );
            side[j] = _mm_fmadd_ps(sw, _mm_mul_ps(dy, sums), side[j]);
        }
    }
    let mut tail = [0.0f32; NY];
    for ib in 4 * ng..nb {
        let wb = w.add(ib * B::BYTES);
        let x = values_u8::<B>(wb);
        let (dw, mw) = (B::scale(wb), B::min(wb));
        for (j, t) in tail.iter_mut().enumerate() {
            let yb = y.add(j * ys + ng * Q8_X4 + (ib - 4 * ng) * Q8_BLOCK);
            let dy = f16_load(yb);
            let sum = (yb.add(2) as *const i16).read_unaligned() as i32;
            let p = _mm256_dpbusd_epi32(
                _mm256_setzero_si256(),
                x,
                _mm256_loadu_si256(yb.add(4) as *const __m256i),
            );
            let dot = hsum_epi32(p) - offset::<B>() * sum;
            *t += dw * dy * dot as f32;
            if B::HAS_MIN {
                *t += mw * (dy * sum as f32);
            }
        }
    }
    for j in 0..NY {
        *out.add(j) =
            _mm512_reduce_add_ps(_mm512_add_ps(acc[j], acc2[j])) + hsum_ps128(side[j]) + tail[j];
    }
}

rows_wrapper!(q4_0, rows_vnni[Q4_0,], GgmlType::Q4_0, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(q8_0, rows_vnni[Q8_0,], GgmlType::Q8_0, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(q5_0, rows_vnni[Q5_0,], GgmlType::Q5_0, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(q4_1, rows_vnni[Q4_1,], GgmlType::Q4_1, GgmlType::Q8_1, [1, 2, 3, 4]);
rows_wrapper!(q5_1, rows_vnni[Q5_1,], GgmlType::Q5_1, GgmlType::Q8_1, [1, 2, 3, 4]);
rows_wrapper!(iq4_nl, rows_vnni[Iq4Nl,], GgmlType::IQ4_NL, GgmlType::Q8_0, [1, 2, 3, 4]);
rows_wrapper!(mxfp4, rows_vnni[Mxfp4,], GgmlType::MXFP4, GgmlType::Q8_0, [1, 2, 3, 4]);

/// Replaces the AVX2 row kernels of the 32-element block types (keeping any tiled GEMM).
pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    set(GgmlType::Q4_0, q4_0());
    set(GgmlType::Q8_0, q8_0());
    set(GgmlType::Q5_0, q5_0());
    set(GgmlType::Q4_1, q4_1());
    set(GgmlType::Q5_1, q5_1());
    set(GgmlType::IQ4_NL, iq4_nl());
    set(GgmlType::MXFP4, mxfp4());
}

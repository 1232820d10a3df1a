//! AVX-512 VBMI GEMV (one activation row: token generation) for the 4-bit types with 18-byte
//! blocks (an f16 scale and 16 bytes of nibbles): Q4_0 and IQ4_NL.
//!
//! The VNNI row kernel of `avx512_gemv.rs` unpacks every block on its own (load, shift, mask,
//! insert) and converts its scale with scalar code: about 15 instructions per block. Here a
//! group of four blocks (72 bytes) costs two loads, one `vpermt2b` that gathers the four
//! blocks' 64 nibble bytes, a shift and two ANDs (low nibbles = elements 0..16 of each block,
//! high nibbles = elements 16..32), and one `vpermw` for the four scales. The activation row
//! is re-laid once per call to match (elements 0..16 of four blocks, then 16..32; see
//! [`prepare_act`]), so two `vpdpbusd` leave each block's sum in four lanes of one vector and
//! one conversion and one FMA serve four blocks. One core then decodes about 25 GB/s of Q4_0
//! from cache (the VNNI row kernel: 19.5), more than memory delivers per core here.
//! Small batches (2..16 rows) keep `avx512_gemv.rs`'s row kernels.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89
#![allow(clippy::needless_range_loop)] // per-row accumulator arrays

use std::arch::x86_64::*;

use super::legacy::{Block32, Iq4Nl, Q4_0};
use super::{avx512_gemv, f16_load, gemv_prepared, hsum_epi32, hsum_ps128, prefetch_ahead};
use crate::backend::cpu::kernels::quantize::{Q8_BLOCK, Q8_X4};
use crate::backend::cpu::kernels::{GemvFn, TypeKernels};
use crate::quant::GgmlType;

/// Whether this CPU runs these kernels (VBMI for `vpermb`, plus the VNNI set).
pub(super) fn available() -> bool {
    super::avx512::available() && is_x86_feature_detected!("avx512vbmi")
}

/// An 18-byte nibble block type: how its 4-bit indices become the bytes `vpdpbusd` takes.
pub(super) trait NibbleBlock: Block32 {
    /// Maps 64 nibble indices (0..15) to unsigned bytes; `Block32::OFFSET` (or 128 when
    /// `SIGNED`) is what the kernel subtracts back through the activation sums.
    unsafe fn to_u8(x: __m512i) -> __m512i;
}

impl NibbleBlock for Q4_0 {
    #[inline(always)]
    unsafe fn to_u8(x: __m512i) -> __m512i {
        x
    }
}

impl NibbleBlock for Iq4Nl {
    #[inline(always)]
    unsafe fn to_u8(x: __m512i) -> __m512i {
        // The signed non-linear values + 128, looked up per 128-bit lane.
        let t = _mm_loadu_si128(
            crate::backend::cpu::kernels::generic::legacy::KVALUES_IQ4NL.as_ptr() as *const __m128i,
        );
        let t = _mm_xor_si128(t, _mm_set1_epi8(-128));
        _mm512_shuffle_epi8(_mm512_broadcast_i32x4(t), x)
    }
}

/// Bytes of a group of four blocks.
const GROUP: usize = 72;

/// Bytes of one prepared activation group (see [`prepare_act`]).
const PREP_GROUP: usize = 160;

/// Rewrites the full 4-block groups of an x4 activation row for [`gemv_row`]: per group the
/// four `d_y` as f32, the four `d_y · Σq` as f32, then elements 0..16 of the four blocks
/// (64 bytes) and elements 16..32 of the four blocks (64 bytes). With the weights unpacked
/// the same way (low nibbles of four blocks in one vector, high nibbles in another), two
/// `vpdpbusd` leave each block's sum in four lanes of one accumulator, so one conversion and
/// one FMA serve four blocks. Done once per GEMV call, shared by all its weight rows.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
unsafe fn prepare_act(y: *const u8, ng: usize, out: *mut u8) {
    for g in 0..ng {
        let yg = y.add(g * Q8_X4);
        let o = out.add(g * PREP_GROUP);
        let dy = _mm_cvtph_ps(_mm_loadl_epi64(yg as *const __m128i));
        let sums = _mm_cvtepi32_ps(_mm_cvtepi16_epi32(_mm_loadl_epi64(
            yg.add(8) as *const __m128i
        )));
        _mm_storeu_ps(o as *mut f32, dy);
        _mm_storeu_ps(o.add(16) as *mut f32, _mm_mul_ps(dy, sums));
        let y01 = _mm512_loadu_si512(yg.add(16) as *const __m512i);
        let y23 = _mm512_loadu_si512(yg.add(80) as *const __m512i);
        // 128-bit lanes: [b0 lo, b0 hi, b1 lo, b1 hi] and [b2 lo, b2 hi, b3 lo, b3 hi].
        let lo = _mm512_shuffle_i64x2::<0b10_00_10_00>(y01, y23);
        let hi = _mm512_shuffle_i64x2::<0b11_01_11_01>(y01, y23);
        _mm512_storeu_si512(o.add(32) as *mut __m512i, lo);
        _mm512_storeu_si512(o.add(96) as *mut __m512i, hi);
    }
}

/// `vpermt2b` indices gathering the 16 nibble bytes of each of a group's four blocks from a
/// load at the group's start (blocks 0-2) and one 8 bytes later (block 3, indices + 64).
static QUAD_INDEX: [u8; 64] = {
    let mut idx = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        let at = 2 + 18 * (i / 16) + i % 16;
        idx[i] = if i < 48 {
            at as u8
        } else {
            (64 + at - 8) as u8
        };
        i += 1;
    }
    idx
};

/// One weight row against an activation row prepared by [`prepare_act`] (`ng` groups) and
/// the original x4 row `y` (for a last partial group).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma,f16c")]
unsafe fn gemv_row<B: NibbleBlock>(k: usize, w: *const u8, prep: *const u8, y: *const u8) -> f32 {
    let nb = k / 32;
    let ng = nb / 4;
    let quad = _mm512_loadu_si512(QUAD_INDEX.as_ptr() as *const __m512i);
    // Scale words 0, 9, 18, 27 of the first load.
    let d_idx = _mm512_setr_epi32(
        9 << 16,
        (27 << 16) | 18,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    );
    let spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    let m4 = _mm512_set1_epi8(0x0F);
    let off = if B::SIGNED { 128.0 } else { B::OFFSET as f32 };
    let mut side = _mm_setzero_ps();
    // One group: its four block sums (four lanes each) times d_x · d_y, added to `acc`.
    let mut group = |g: usize, acc: __m512| {
        let wb = w.add(g * GROUP);
        prefetch_ahead(wb, GROUP);
        let r0 = _mm512_loadu_si512(wb as *const __m512i);
        let r1 = _mm512_loadu_si512(wb.add(GROUP - 64) as *const __m512i);
        let q = _mm512_permutex2var_epi8(r0, quad, r1);
        let dw = _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi16(d_idx, r0)));
        let xl = B::to_u8(_mm512_and_si512(q, m4));
        let xh = B::to_u8(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
        let pg = prep.add(g * PREP_GROUP);
        let p = _mm512_dpbusd_epi32(
            _mm512_setzero_si512(),
            xl,
            _mm512_loadu_si512(pg.add(32) as *const __m512i),
        );
        let p = _mm512_dpbusd_epi32(p, xh, _mm512_loadu_si512(pg.add(96) as *const __m512i));
        let dy = _mm_loadu_ps(pg as *const f32);
        let d4 = _mm512_castps128_ps512(_mm_mul_ps(dw, dy));
        side = _mm_fmadd_ps(dw, _mm_loadu_ps(pg.add(16) as *const f32), side);
        _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(p),
            _mm512_permutexvar_ps(spread, d4),
            acc,
        )
    };
    // Two accumulators (even and odd groups) halve the FMA latency chain; they are named
    // variables so that they stay in registers.
    let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut g = 0;
    while g + 2 <= ng {
        acc0 = group(g, acc0);
        acc1 = group(g + 1, acc1);
        g += 2;
    }
    if g < ng {
        acc0 = group(g, acc0);
    }
    let mut tail = 0.0f32;
    for ib in 4 * ng..nb {
        let wb = w.add(ib * B::BYTES);
        let v = B::values(wb);
        let x = if B::SIGNED {
            _mm256_xor_si256(v, _mm256_set1_epi8(-128))
        } else {
            v
        };
        let yb = y.add(ng * Q8_X4 + (ib - 4 * ng) * Q8_BLOCK);
        let sum = (yb.add(2) as *const i16).read_unaligned() as i32;
        let p = _mm256_dpbusd_epi32(
            _mm256_setzero_si256(),
            x,
            _mm256_loadu_si256(yb.add(4) as *const __m256i),
        );
        let dot = hsum_epi32(p) - off as i32 * sum;
        tail += B::scale(wb) * f16_load(yb) * dot as f32;
    }
    _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - off * hsum_ps128(side) + tail
}

/// [`crate::backend::cpu::kernels::GemvFn`]: prepares the activation row once, then takes
/// the weight rows one after another in memory order (interleaving rows to share loads
/// broke the sequential stream the prefetchers follow and cost a third of the speed).
///
/// # Safety
/// That of `GemvFn`; the table holds it only when [`available`] said yes.
unsafe fn gemv<B: NibbleBlock>(
    k: usize,
    w: *const u8,
    ws: usize,
    rows: std::ops::Range<usize>,
    y: *const u8,
    dst: *mut f32,
) {
    let ng = k / 128;
    let one = |i: usize| w.add(i * ws);
    gemv_prepared(
        rows,
        dst,
        ng * PREP_GROUP,
        |prep| prepare_act(y, ng, prep),
        |i, prep| gemv_row::<B>(k, one(i), prep, y),
        |i| {
            let mut out = 0.0f32;
            avx512_gemv::rows_vnni::<B, 1>(k, one(i), y, 0, &mut out);
            out
        },
    );
}

/// Adds the GEMV of Q4_0 and IQ4_NL to `avx512_gemv.rs`'s row kernels (which serve 2..16
/// activation rows; any tiled GEMM is set later).
pub(super) fn register(set: &mut impl FnMut(GgmlType, TypeKernels)) {
    let with_gemv = |k: TypeKernels, g: GemvFn| TypeKernels { gemv: Some(g), ..k };
    set(GgmlType::Q4_0, with_gemv(avx512_gemv::q4_0(), gemv::<Q4_0>));
    set(
        GgmlType::IQ4_NL,
        with_gemv(avx512_gemv::iq4_nl(), gemv::<Iq4Nl>),
    );
}

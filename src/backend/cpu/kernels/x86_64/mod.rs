//! AVX2 + FMA + F16C kernels. Every kernel is an `unsafe fn` with
//! `#[target_feature(enable = "avx2,fma,f16c")]` taking raw pointers; each is reached only
//! through a safe wrapper (made by `rows_wrapper!`) that checks slice lengths, and the wrappers
//! go into the table only after `is_x86_feature_detected!` has seen all three features.
//!
//! A kernel computes one weight row against `NY` activation rows (a const generic): the weight
//! blocks are unpacked once into registers and reused for the `NY` rows.

mod avx512;
mod avx512_float;
mod avx512_gemv;
mod avx512_kgemv;
mod avx512_legacy;
mod avx512_nibble;
mod float;
mod kquants;
mod legacy;
mod quantize;

use std::arch::x86_64::*;

use super::{build_scalar, KernelTable, TypeKernels, MAX_NY};
use crate::quant::GgmlType;

/// The AVX2 table (with the AVX-512 VNNI kernels when `avx512` and the CPU has them), or
/// `None` when this CPU lacks AVX2, FMA or F16C.
pub(super) fn avx2_table(avx512: bool) -> Option<KernelTable> {
    if !(is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c"))
    {
        return None;
    }
    let mut t = build_scalar();
    t.isa = super::Isa::Avx2;
    t.q8_x4 = quantize::quantize_row_q8_x4;
    t.q8_k = quantize::quantize_row_q8_k;
    t.f16 = quantize::convert_row_f16;
    let mut set = |ty: GgmlType, k: TypeKernels| t.by_type[ty as usize] = Some(k);
    legacy::register(&mut set);
    kquants::register(&mut set);
    float::register(&mut set);
    if avx512 && avx512::available() {
        // The AVX-512 row (GEMV) kernels sum in a different order from upstream's AVX2
        // `vec_dot`s, which upstream also runs on AVX-512 machines; Q8 activation rounding then
        // amplifies 1e-7 differences into different greedy tokens at near-ties (gemma3-Q8_0,
        // llama3-Q8_0 in the reference corpus). Decoding therefore keeps the AVX2 row kernels
        // unless FERROLLAMA_AVX512_GEMV=1 asks for the faster, less upstream-like ones. (The same
        // holds for the f32/f16/bf16 row kernels: a seeded dist sampler on qwen2-F32 flipped a
        // draw at its second token with them.)
        //
        // Q4_0, IQ4_NL, Q4_K and Q2_K are the exception: on an AVX2 / AVX-512 CPU upstream never
        // runs their `vec_dot` for a model's weights but repacks them (repack.cpp, 8 rows
        // interleaved) and sums in that layout's own order, so the AVX2 row kernel is no closer
        // to upstream than the AVX-512 one, which is faster. FERROLLAMA_AVX512_GEMV=0 keeps the
        // AVX2 ones for these too.
        match std::env::var_os("FERROLLAMA_AVX512_GEMV") {
            Some(v) if v == "1" => {
                avx512_gemv::register(&mut set);
                if avx512_nibble::available() {
                    avx512_nibble::register(&mut set);
                }
                avx512_kgemv::register(&mut set);
                avx512_float::register(&mut set);
            }
            Some(v) if v == "0" => {}
            _ => {
                if avx512_nibble::available() {
                    avx512_nibble::register(&mut set);
                } else {
                    set(GgmlType::Q4_0, avx512_gemv::q4_0());
                    set(GgmlType::IQ4_NL, avx512_gemv::iq4_nl());
                }
                set(GgmlType::Q4_K, avx512_kgemv::q4_k_gemv());
                // Bit-identical to the AVX2 kernel (see `rows_q6`), so upstream's order holds.
                set(GgmlType::Q6_K, avx512_kgemv::q6_k());
                set(GgmlType::Q2_K, avx512_kgemv::q2_k());
            }
        }
        t.isa = super::Isa::Avx512Vnni;
        // Below these many activation rows the row kernels win (the tile unpacking is paid
        // once per 16 weight rows and must be spread over enough activation rows); measured
        // with `BENCH_ONLY=small` of examples/bench_kernels.rs.
        let mut tiled = |ty: GgmlType, f: super::TiledFn| {
            if let Some(k) = t.by_type[ty as usize].as_mut() {
                k.tiled = Some(f);
                k.tiled_min_acts = match ty {
                    // No SIMD row kernel: the tiled path wins even for one row.
                    GgmlType::TQ1_0 => 1,
                    GgmlType::Q8_0 | GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 48,
                    _ => 16,
                };
            }
        };
        tiled(GgmlType::Q2_K, avx512::gemm_tiled::<avx512::Q2K>);
        tiled(GgmlType::Q3_K, avx512::gemm_tiled::<avx512::Q3K>);
        tiled(GgmlType::Q4_K, avx512::gemm_tiled::<avx512::Q4K>);
        tiled(GgmlType::Q5_K, avx512::gemm_tiled::<avx512::Q5K>);
        tiled(GgmlType::Q6_K, avx512::gemm_tiled::<avx512::Q6K>);
        tiled(GgmlType::IQ4_XS, avx512::gemm_tiled::<avx512::Iq4Xs>);
        tiled(GgmlType::TQ1_0, avx512::gemm_tiled::<avx512::Tq1_0>);
        tiled(GgmlType::TQ2_0, avx512::gemm_tiled::<avx512::Tq2_0>);
        use avx512_legacy as l;
        tiled(GgmlType::Q4_0, l::gemm_tiled::<l::Q4_0>);
        tiled(GgmlType::Q4_1, l::gemm_tiled::<l::Q4_1>);
        tiled(GgmlType::Q5_0, l::gemm_tiled::<l::Q5_0>);
        tiled(GgmlType::Q5_1, l::gemm_tiled::<l::Q5_1>);
        tiled(GgmlType::Q8_0, l::gemm_tiled::<l::Q8_0>);
        tiled(GgmlType::IQ4_NL, l::gemm_tiled::<l::Iq4Nl>);
        tiled(GgmlType::MXFP4, l::gemm_tiled::<l::Mxfp4>);
        use avx512_float as f;
        tiled(GgmlType::F32, f::gemm_tiled::<f::F32>);
        tiled(GgmlType::F16, f::gemm_tiled::<f::F16>);
        tiled(GgmlType::BF16, f::gemm_tiled::<f::Bf16>);
    }
    Some(t)
}

/// Builds a safe `RowsFn` + `VecDotFn` pair around an AVX2 kernel
/// `unsafe fn kern<..., const NY: usize>` (written `kern[generic args before NY,]`)
/// `(k, w: *const u8, y: *const u8, ys: usize, out: *mut f32)`.
/// `$ny` lists the tile heights instantiated (1 up to the type's `max_ny`).
macro_rules! rows_wrapper {
    ($name:ident, $kern:ident [$($pre:tt)*], $wty:expr, $aty:expr, [$($ny:literal),*]) => {
        pub(super) fn $name() -> crate::backend::cpu::kernels::TypeKernels {
            const NYS: &[usize] = &[$($ny),*];
            #[inline(always)]
            unsafe fn call<const N: usize>(k: usize, w: *const u8, y: *const u8, ys: usize, o: *mut f32) {
                $kern::<$($pre)* N>(k, w, y, ys, o)
            }
            fn rows(k: usize, w: &[u8], y: &[u8], ys: usize, out: &mut [f32]) {
                let (wt, at): (crate::quant::GgmlType, crate::quant::GgmlType) = ($wty, $aty);
                let wrow = k / wt.block_size() * wt.type_size();
                let arow = k / at.block_size() * crate::backend::cpu::kernels::act_block_bytes(at);
                let ny = out.len();
                assert!(
                    k % wt.block_size() == 0
                        && k % at.block_size() == 0
                        && w.len() >= wrow
                        && (ny == 0
                            || (ny - 1).checked_mul(ys).and_then(|v| v.checked_add(arow)).is_some_and(|e| e <= y.len())),
                    "kernel called with short slices"
                );
                let max = NYS[NYS.len() - 1];
                let mut j0 = 0;
                while j0 < ny {
                    let n = (ny - j0).min(max);
                    // SAFETY: this wrapper is put in a table only after `is_x86_feature_detected!`
                    // found every feature its kernel enables (avx2, fma and f16c, plus the
                    // AVX-512 set for `avx512_*` kernels; see `avx2_table`); the assert above proves the
                    // kernel's reads (k/block blocks of `w`, rows j0..j0+n of `y`, `ys` apart)
                    // are inside the slices, and it writes `out[j0..j0+n]` only.
                    unsafe {
                        let (wp, yp, op) = (w.as_ptr(), y.as_ptr().add(j0 * ys), out.as_mut_ptr().add(j0));
                        match n {
                            $($ny => call::<$ny>(k, wp, yp, ys, op),)*
                            _ => unreachable!(),
                        }
                    }
                    j0 += n;
                }
            }
            fn vec_dot(k: usize, w: &[u8], y: &[u8]) -> f32 {
                let mut o = [0.0f32];
                rows(k, w, y, 0, &mut o);
                o[0]
            }
            /// The one-row kernel row after row, in memory order (see `GemvFn`).
            unsafe fn gemv(
                k: usize,
                w: *const u8,
                ws: usize,
                rows: std::ops::Range<usize>,
                y: *const u8,
                dst: *mut f32,
            ) {
                for i in rows {
                    // SAFETY: the `GemvFn` contract (rows readable, dst[i] ours, CPU
                    // features present) is the kernel's.
                    unsafe { call::<1>(k, w.add(i * ws), y, 0, dst.add(i)) };
                }
            }
            crate::backend::cpu::kernels::TypeKernels {
                vec_dot,
                rows,
                max_ny: NYS[NYS.len() - 1],
                tiled: None,
                tiled_min_acts: usize::MAX,
                gemv: Some(gemv),
            }
        }
    };
}
pub(crate) use rows_wrapper;

const _: () = assert!(MAX_NY == 8);

/// Bytes of the stack buffer a GEMV may re-lay its activation row into ([`gemv_prepared`]):
/// rows of up to 32768 elements in every prepared layout.
pub(crate) const PREP_BYTES: usize = 40 * 1024;

/// The shape shared by the GEMVs that re-lay the activation row once per call. When `prep_len`
/// bytes fit [`PREP_BYTES`], `prepare` fills that much of a stack buffer and each row gets
/// `row(i, buffer)`; otherwise each row gets `fallback(i)`. Rows go in memory order (see
/// `avx512_nibble.rs` on why not interleaved).
///
/// # Safety
/// `dst[i]` is writable for every `i` in `rows`; `row` reads only the `prep_len` bytes
/// `prepare` wrote.
#[inline(always)]
pub(crate) unsafe fn gemv_prepared(
    rows: std::ops::Range<usize>,
    dst: *mut f32,
    prep_len: usize,
    prepare: impl FnOnce(*mut u8),
    row: impl Fn(usize, *const u8) -> f32,
    fallback: impl Fn(usize) -> f32,
) {
    if prep_len > PREP_BYTES {
        for i in rows {
            *dst.add(i) = fallback(i);
        }
        return;
    }
    let mut buf = std::mem::MaybeUninit::<[u8; PREP_BYTES]>::uninit();
    let prep = buf.as_mut_ptr() as *mut u8;
    prepare(prep);
    for i in rows {
        *dst.add(i) = row(i, prep);
    }
}

/// How far ahead of the weights being read the GEMV kernels prefetch, in bytes. The
/// hardware prefetcher alone keeps too few lines in flight for one core to stream a
/// memory-mapped model at full bandwidth; 2 KiB ahead (about one memory latency at 15 GB/s
/// per core) took Q4_0 generation on bench-1b from 34 to 37 tokens/s with 2 threads on the
/// 2-core AVX-512 machine (1152 and 4608 bytes did no better).
const PREFETCH_AHEAD: usize = 2048;

/// Prefetches the `len` bytes that lie [`PREFETCH_AHEAD`] bytes after `p` (one hint per
/// cache line). A hint never faults, so the address may be past the end of the weights;
/// `wrapping_add` keeps the pointer arithmetic defined there.
#[inline(always)]
pub(crate) unsafe fn prefetch_ahead(p: *const u8, len: usize) {
    let mut off = 0;
    while off < len {
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH_AHEAD + off) as *const i8);
        off += 64;
    }
}

/// f16 bits at `p` → f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_load(p: *const u8) -> f32 {
    let bits = (p as *const u16).read_unaligned();
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// Sum of the 4 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn hsum_ps128(v: __m128) -> f32 {
    let t = _mm_add_ps(v, _mm_movehl_ps(v, v));
    let t = _mm_add_ss(t, _mm_movehdup_ps(t));
    _mm_cvtss_f32(t)
}

/// Sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn hsum_ps(v: __m256) -> f32 {
    hsum_ps128(_mm_add_ps(
        _mm256_castps256_ps128(v),
        _mm256_extractf128_ps(v, 1),
    ))
}

/// Sum of the 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let t = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0b01_00_11_10));
    let t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0b10_11_00_01));
    _mm_cvtsi128_si32(t)
}

/// `[Σa, Σb, Σc, Σd]` of four i32×8 vectors.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn reduce4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m128i {
    let ab = _mm256_hadd_epi32(a, b);
    let cd = _mm256_hadd_epi32(c, d);
    let s = _mm256_hadd_epi32(ab, cd);
    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1))
}

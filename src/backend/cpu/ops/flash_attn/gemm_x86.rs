//! x86-64 kernels of [`super::gemm`]: AVX-512 and AVX2 register-blocked products, the 8×8 K-tile
//! transposition and F16 row widening.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89
#![allow(clippy::needless_range_loop)] // index loops mirror the register blocks
#![allow(clippy::too_many_arguments)] // (pointer, leading dimension) pairs

use std::arch::x86_64::*;

use super::gemm::{scalar_cols, Mat};

/// One `RM × (RN·16)` block of C (AVX-512).
#[inline(always)]
unsafe fn block512<const RM: usize, const RN: usize>(
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    k: usize,
    accumulate: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); RN]; RM];
    if accumulate {
        for i in 0..RM {
            for r in 0..RN {
                acc[i][r] = _mm512_loadu_ps(c.add(i * ldc + 16 * r));
            }
        }
    }
    for kk in 0..k {
        let mut bv = [_mm512_setzero_ps(); RN];
        for r in 0..RN {
            bv[r] = _mm512_loadu_ps(b.ptr.add(kk * b.ld + 16 * r));
        }
        for i in 0..RM {
            let av = _mm512_set1_ps(*a.ptr.add(i * a.ld + kk));
            for r in 0..RN {
                acc[i][r] = _mm512_fmadd_ps(av, bv[r], acc[i][r]);
            }
        }
    }
    for i in 0..RM {
        for r in 0..RN {
            _mm512_storeu_ps(c.add(i * ldc + 16 * r), acc[i][r]);
        }
    }
}

/// One `RM × (RN·8)` block of C (AVX2).
#[inline(always)]
unsafe fn block256<const RM: usize, const RN: usize>(
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    k: usize,
    accumulate: bool,
) {
    let mut acc = [[_mm256_setzero_ps(); RN]; RM];
    if accumulate {
        for i in 0..RM {
            for r in 0..RN {
                acc[i][r] = _mm256_loadu_ps(c.add(i * ldc + 8 * r));
            }
        }
    }
    for kk in 0..k {
        let mut bv = [_mm256_setzero_ps(); RN];
        for r in 0..RN {
            bv[r] = _mm256_loadu_ps(b.ptr.add(kk * b.ld + 8 * r));
        }
        for i in 0..RM {
            let av = _mm256_set1_ps(*a.ptr.add(i * a.ld + kk));
            for r in 0..RN {
                acc[i][r] = _mm256_fmadd_ps(av, bv[r], acc[i][r]);
            }
        }
    }
    for i in 0..RM {
        for r in 0..RN {
            _mm256_storeu_ps(c.add(i * ldc + 8 * r), acc[i][r]);
        }
    }
}

/// Runs `$blk::<rm, rn>$args` for the runtime `rm` and `rn` among the listed values.
macro_rules! dispatch {
    ($blk:ident, $rm:expr, $rn:expr, $args:tt, [$($m:literal),*], $ns:tt) => {
        match $rm {
            $( $m => dispatch!(@cols $blk, $m, $rn, $args, $ns), )*
            _ => unreachable!("row block"),
        }
    };
    (@cols $blk:ident, $m:literal, $rn:expr, $args:tt, [$($n:literal),*]) => {
        match $rn {
            $( $n => $blk::<$m, $n> $args, )*
            _ => unreachable!("column block"),
        }
    };
}

/// [`super::gemm`] with 16-lane vectors, blocks of up to 4 rows × 4 vectors.
///
/// # Safety
/// AVX-512F and FMA present; operands as [`super::gemm`].
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn gemm512(
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    let nv = n / 16;
    let mut i = 0;
    while i < m {
        let rm = (m - i).min(4);
        let ai = Mat {
            ptr: a.ptr.add(i * a.ld),
            ld: a.ld,
        };
        let mut v = 0;
        while v < nv {
            let rn = (nv - v).min(4);
            let cb = c.add(i * ldc + 16 * v);
            let bv = Mat {
                ptr: b.ptr.add(16 * v),
                ld: b.ld,
            };
            dispatch!(
                block512,
                rm,
                rn,
                (cb, ldc, ai, bv, k, accumulate),
                [1, 2, 3, 4, 5, 6],
                [1, 2, 3, 4]
            );
            v += rn;
        }
        i += rm;
    }
    scalar_cols(c, ldc, a, b, m, 16 * nv..n, k, accumulate);
}

/// [`super::gemm`] with 8-lane vectors, blocks of up to 6 rows × 2 vectors.
///
/// # Safety
/// AVX2 and FMA present; operands as [`super::gemm`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm256(
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    let nv = n / 8;
    let mut i = 0;
    while i < m {
        let rm = (m - i).min(6);
        let ai = Mat {
            ptr: a.ptr.add(i * a.ld),
            ld: a.ld,
        };
        let mut v = 0;
        while v < nv {
            let rn = (nv - v).min(2);
            let cb = c.add(i * ldc + 8 * v);
            let bv = Mat {
                ptr: b.ptr.add(8 * v),
                ld: b.ld,
            };
            dispatch!(
                block256,
                rm,
                rn,
                (cb, ldc, ai, bv, k, accumulate),
                [1, 2, 3, 4, 5, 6],
                [1, 2]
            );
            v += rn;
        }
        i += rm;
    }
    scalar_cols(c, ldc, a, b, m, 8 * nv..n, k, accumulate);
}

/// Widens the first `n & !7` of `n` f16 values at `src` into `dst`; returns that count.
///
/// # Safety
/// AVX2 and F16C present; `src` and `dst` hold `n` elements.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn widen8(dst: *mut f32, src: *const u16, n: usize) -> usize {
    let n8 = n & !7;
    for i in (0..n8).step_by(8) {
        let h = _mm_loadu_si128(src.add(i) as *const __m128i);
        _mm256_storeu_ps(dst.add(i), _mm256_cvtph_ps(h));
    }
    n8
}

/// Transposes the whole 8×8 blocks of the K tile (rows `j < rows & !7`, columns
/// `d < dk & !7`) into `kt[d * 64 + j]`; returns the number of rows done (0 when `dk < 8`).
///
/// # Safety
/// AVX2 and F16C present; `kt` holds `dk * 64` floats; K rows readable as in the caller.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn transpose8(
    kt: *mut f32,
    k0: *const u8,
    nbk: usize,
    rows: usize,
    dk: usize,
    f16_k: bool,
) -> usize {
    let (r8, d8) = (rows & !7, dk & !7);
    if d8 == 0 {
        return 0;
    }
    for j in (0..r8).step_by(8) {
        for d in (0..d8).step_by(8) {
            let mut r = [_mm256_setzero_ps(); 8];
            for (t, rt) in r.iter_mut().enumerate() {
                let p = k0.add((j + t) * nbk);
                *rt = if f16_k {
                    _mm256_cvtph_ps(_mm_loadu_si128((p as *const u16).add(d) as *const _))
                } else {
                    _mm256_loadu_ps((p as *const f32).add(d))
                };
            }
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let cols = [
                _mm256_permute2f128_ps::<0x20>(s0, s4),
                _mm256_permute2f128_ps::<0x20>(s1, s5),
                _mm256_permute2f128_ps::<0x20>(s2, s6),
                _mm256_permute2f128_ps::<0x20>(s3, s7),
                _mm256_permute2f128_ps::<0x31>(s0, s4),
                _mm256_permute2f128_ps::<0x31>(s1, s5),
                _mm256_permute2f128_ps::<0x31>(s2, s6),
                _mm256_permute2f128_ps::<0x31>(s3, s7),
            ];
            for (t, col) in cols.iter().enumerate() {
                _mm256_storeu_ps(kt.add((d + t) * 64 + j), *col);
            }
        }
    }
    r8
}

//! The tiled flash attention's small f32 matrix products, `C[m×n] (+)= A[m×k] · B[k×n]`, and its
//! K-tile transposition.
//!
//! Every element of C is one fused multiply-add chain over `k` in order, starting from C's value
//! (or from 0.0): `c = fma(a[i][0], b[0][j], c)`, then `kk = 1`, ... This is how upstream's
//! `simd_gemm` computes each element whatever its register blocking, so the scalar, AVX2 and
//! AVX-512 paths here give the same bits as each other and as upstream. The SIMD kernels keep a
//! block of `RM` rows × `RN` vectors of C in registers, broadcast one element of A per row and
//! load one row-slice of B per `kk`; columns past the last whole vector take the scalar chain.

#![allow(clippy::needless_range_loop)] // index loops mirror the register blocks
#![allow(clippy::too_many_arguments)] // (pointer, leading dimension) pairs

use half::f16;

#[cfg(target_arch = "x86_64")]
use super::gemm_x86 as x86;

/// The instruction set a tiled flash attention runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// Portable code (`f32::mul_add`).
    Scalar,
    /// AVX2 + FMA + F16C.
    Avx2,
    /// AVX-512F (with AVX2 + FMA + F16C).
    Avx512,
}

impl Simd {
    /// The best this CPU runs.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            if avx2 && is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if avx2 {
                return Simd::Avx2;
            }
        }
        Simd::Scalar
    }
}

/// A row-major f32 operand: element `(i, j)` at `ptr + i * ld + j`.
#[derive(Clone, Copy)]
pub struct Mat {
    pub ptr: *const f32,
    pub ld: usize,
}

/// `C[m×n] = C + A·B` (`accumulate`) or `A·B` (C's old values unused), each element one fma
/// chain over `kk = 0..k` in order. `simd` must be one this CPU runs ([`Simd::detect`] or lower).
///
/// # Safety
/// Rows `i < m` of `c` (`n` elements at `c + i * ldc`) are writable and rows `i < m` of `a`
/// (`k` elements) and `kk < k` of `b` (`n` elements) readable; `c` overlaps neither.
pub unsafe fn gemm(
    simd: Simd,
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
) {
    match simd {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller vouches for the operands and that this CPU has the features.
        Simd::Avx512 => unsafe { x86::gemm512(c, ldc, a, b, m, n, k, accumulate) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Simd::Avx2 => unsafe { x86::gemm256(c, ldc, a, b, m, n, k, accumulate) },
        // SAFETY: as above.
        _ => unsafe { scalar_cols(c, ldc, a, b, m, 0..n, k, accumulate) },
    }
}

/// The scalar chain for columns `cols` of every row (also the SIMD kernels' column tail).
///
/// # Safety
/// As [`gemm`].
#[inline(always)]
pub(super) unsafe fn scalar_cols(
    c: *mut f32,
    ldc: usize,
    a: Mat,
    b: Mat,
    m: usize,
    cols: std::ops::Range<usize>,
    k: usize,
    accumulate: bool,
) {
    for i in 0..m {
        for j in cols.clone() {
            let pc = c.add(i * ldc + j);
            let mut acc = if accumulate { *pc } else { 0.0 };
            for kk in 0..k {
                acc = (*a.ptr.add(i * a.ld + kk)).mul_add(*b.ptr.add(kk * b.ld + j), acc);
            }
            *pc = acc;
        }
    }
}

/// Fills the transposed K tile: `kt[d * 64 + j]` = element `d` of K row `j` (f32 or f16 at
/// `k0 + j * nbk` bytes) for `j < rows`, and 0.0 for `rows <= j < 64`, `d < dk`.
///
/// # Safety
/// `kt` holds `dk * 64` floats; the `rows` K rows of `dk` elements are readable.
pub unsafe fn load_k_transposed(
    simd: Simd,
    f16_k: bool,
    kt: &mut [f32],
    k0: *const u8,
    nbk: usize,
    rows: usize,
    dk: usize,
) {
    debug_assert!(kt.len() >= dk * 64);
    let kp = kt.as_mut_ptr();
    #[cfg(target_arch = "x86_64")]
    let done = if simd != Simd::Scalar {
        // SAFETY: AVX2/F16C present; same operands as this function's.
        unsafe { x86::transpose8(kp, k0, nbk, rows, dk, f16_k) }
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = {
        let _ = simd;
        0
    };
    let elem = |j: usize, d: usize| {
        let p = k0.add(j * nbk);
        if f16_k {
            f16::from_bits((p as *const u16).add(d).read_unaligned()).to_f32()
        } else {
            (p as *const f32).add(d).read_unaligned()
        }
    };
    // Rows and columns outside the SIMD's whole 8×8 blocks.
    let dk8 = if done > 0 { dk & !7 } else { 0 };
    for j in 0..rows {
        let d_from = if j < done { dk8 } else { 0 };
        for d in d_from..dk {
            *kp.add(d * 64 + j) = elem(j, d);
        }
    }
    for d in 0..dk {
        kt[d * 64 + rows..(d + 1) * 64].fill(0.0);
    }
}

/// Widens `rows` F16 rows of `n` elements (at `src + j * nb` bytes) into `dst[j * n ..]`.
///
/// # Safety
/// The rows are readable; `dst` holds `rows * n` floats.
pub unsafe fn widen_f16_rows(
    simd: Simd,
    dst: &mut [f32],
    src: *const u8,
    nb: usize,
    rows: usize,
    n: usize,
) {
    for j in 0..rows {
        let p = src.add(j * nb) as *const u16;
        let out = &mut dst[j * n..(j + 1) * n];
        #[cfg(target_arch = "x86_64")]
        let done = if simd != Simd::Scalar {
            // SAFETY: F16C present; `p` and `out` hold `n` elements.
            unsafe { x86::widen8(out.as_mut_ptr(), p, n) }
        } else {
            0
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = {
            let _ = simd;
            0
        };
        for (i, o) in out.iter_mut().enumerate().skip(done) {
            *o = f16::from_bits(p.add(i).read_unaligned()).to_f32();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng_vec(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Every SIMD path gives the scalar chain's bits, for row/column counts that exercise each
    /// register block and the column tail, with and without accumulation.
    #[test]
    fn simd_gemm_matches_scalar_chain_bitwise() {
        let simds: Vec<Simd> = [Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|&s| Simd::detect() == Simd::Avx512 || s == Simd::detect())
            .collect();
        for (m, n, k) in [
            (64, 64, 64),
            (7, 80, 13),
            (13, 37, 64),
            (1, 16, 5),
            (50, 128, 64),
        ] {
            let (lda, ldb, ldc) = (k + 3, n + 5, n + 1);
            let a = rng_vec(m * lda, 1);
            let b = rng_vec(k * ldb, 2);
            let c0 = rng_vec(m * ldc, 3);
            for acc in [false, true] {
                let mut want = c0.clone();
                let (am, bm) = (
                    Mat {
                        ptr: a.as_ptr(),
                        ld: lda,
                    },
                    Mat {
                        ptr: b.as_ptr(),
                        ld: ldb,
                    },
                );
                // SAFETY: buffers sized for the operands above.
                unsafe { gemm(Simd::Scalar, want.as_mut_ptr(), ldc, am, bm, (m, n, k), acc) };
                for &s in &simds {
                    let mut got = c0.clone();
                    // SAFETY: as above; `s` is one this CPU runs.
                    unsafe { gemm(s, got.as_mut_ptr(), ldc, am, bm, (m, n, k), acc) };
                    let same = got
                        .iter()
                        .zip(&want)
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{s:?} m {m} n {n} k {k} acc {acc}");
                }
            }
        }
    }

    #[test]
    fn k_transpose_matches_scalar() {
        for (rows, dk) in [(64usize, 64usize), (45, 72), (3, 5), (64, 132)] {
            let nbk_el = dk + 2;
            let kf = rng_vec(rows * nbk_el, 9);
            let kh: Vec<u16> = kf.iter().map(|&x| f16::from_f32(x).to_bits()).collect();
            for f16_k in [false, true] {
                let k0 = if f16_k {
                    kh.as_ptr() as *const u8
                } else {
                    kf.as_ptr() as *const u8
                };
                let nbk = nbk_el * if f16_k { 2 } else { 4 };
                let mut want = vec![7.0f32; dk * 64];
                let mut got = vec![-7.0f32; dk * 64];
                // SAFETY: `rows` rows of `nbk` bytes; tiles of dk * 64 floats.
                unsafe {
                    load_k_transposed(Simd::Scalar, f16_k, &mut want, k0, nbk, rows, dk);
                    load_k_transposed(Simd::detect(), f16_k, &mut got, k0, nbk, rows, dk);
                }
                assert_eq!(got, want, "rows {rows} dk {dk} f16 {f16_k}");
                let j = rows - 1;
                let src = if f16_k {
                    f16::from_bits(kh[j * nbk_el + dk - 1]).to_f32()
                } else {
                    kf[j * nbk_el + dk - 1]
                };
                assert_eq!(want[(dk - 1) * 64 + j], src);
            }
        }
    }
}

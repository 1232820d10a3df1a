//! AVX-512 tiled GEMM for F32, F16 and BF16 weights: 32 weight rows are widened to f32 and
//! transposed ("one k, 16 rows" per vector, two vectors) for a chunk of k, two such tiles form
//! a panel, the activation rows of the chunk are widened once per panel, and each
//! (k, activation row) costs two FMAs for all 32 rows of a tile.

#![allow(clippy::needless_range_loop)] // index loops mirror the layouts
#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;
use std::ops::Range;

/// k values per chunk.
const KF: usize = 256;
/// 32-row weight tiles that share one widening of the activation rows.
const PANEL: usize = 2;
/// Activation rows per micro-tile.
const NY: usize = 8;

/// How a float type widens `n` elements starting at element `i` of a row to f32.
pub(super) trait Widen {
    /// Bytes per element.
    const BYTES: usize;
    /// 16 elements from element `i`, widened.
    unsafe fn load16(p: *const u8, i: usize) -> __m512;
    unsafe fn widen(p: *const u8, i: usize, out: &mut [f32]);
}

pub(super) struct F32;
impl Widen for F32 {
    const BYTES: usize = 4;
    #[inline(always)]
    unsafe fn load16(p: *const u8, i: usize) -> __m512 {
        _mm512_loadu_ps(p.add(4 * i) as *const f32)
    }
    #[inline(always)]
    unsafe fn widen(p: *const u8, i: usize, out: &mut [f32]) {
        std::ptr::copy_nonoverlapping(p.add(4 * i) as *const f32, out.as_mut_ptr(), out.len());
    }
}

pub(super) struct F16;
impl Widen for F16 {
    const BYTES: usize = 2;
    #[inline(always)]
    unsafe fn load16(p: *const u8, i: usize) -> __m512 {
        _mm512_cvtph_ps(_mm256_loadu_si256(p.add(2 * i) as *const __m256i))
    }
    #[inline(always)]
    unsafe fn widen(p: *const u8, i: usize, out: &mut [f32]) {
        let mut c = 0;
        while c + 16 <= out.len() {
            let h = _mm256_loadu_si256(p.add(2 * (i + c)) as *const __m256i);
            _mm512_storeu_ps(out.as_mut_ptr().add(c), _mm512_cvtph_ps(h));
            c += 16;
        }
        for t in c..out.len() {
            out[t] = super::f16_load(p.add(2 * (i + t)));
        }
    }
}

pub(super) struct Bf16;
impl Widen for Bf16 {
    const BYTES: usize = 2;
    #[inline(always)]
    unsafe fn load16(p: *const u8, i: usize) -> __m512 {
        let h = _mm256_loadu_si256(p.add(2 * i) as *const __m256i);
        _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))
    }
    #[inline(always)]
    unsafe fn widen(p: *const u8, i: usize, out: &mut [f32]) {
        let mut c = 0;
        while c + 16 <= out.len() {
            let h = _mm256_loadu_si256(p.add(2 * (i + c)) as *const __m256i);
            let v = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
            _mm512_storeu_ps(out.as_mut_ptr().add(c), _mm512_castsi512_ps(v));
            c += 16;
        }
        for t in c..out.len() {
            out[t] =
                f32::from_bits(((p.add(2 * (i + t)) as *const u16).read_unaligned() as u32) << 16);
        }
    }
}

#[repr(C, align(64))]
struct WTile([[f32; 32]; KF]);

/// Transposes a 16 × 16 block held in 16 vectors (`r[i]` = row i) in registers: afterwards
/// `r[c]` holds column c. Three stages: 2 × 2 element interleaves inside 128-bit lanes, then
/// 4 × 4 within lanes, then two 128-bit lane exchanges.
#[inline(always)]
unsafe fn transpose16(r: &mut [__m512; 16]) {
    let mut t = [_mm512_setzero_ps(); 16];
    for i in 0..8 {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // lane-local 4 × 4: rows 4q..4q+3 at lane offsets 0..3
    for q in 0..4 {
        let (a, b, c, d) = (t[4 * q], t[4 * q + 1], t[4 * q + 2], t[4 * q + 3]);
        r[4 * q] = _mm512_shuffle_ps::<0x44>(a, c);
        r[4 * q + 1] = _mm512_shuffle_ps::<0xEE>(a, c);
        r[4 * q + 2] = _mm512_shuffle_ps::<0x44>(b, d);
        r[4 * q + 3] = _mm512_shuffle_ps::<0xEE>(b, d);
    }
    for o in 0..4 {
        t[o] = _mm512_shuffle_f32x4::<0x88>(r[o], r[4 + o]);
        t[4 + o] = _mm512_shuffle_f32x4::<0xDD>(r[o], r[4 + o]);
        t[8 + o] = _mm512_shuffle_f32x4::<0x88>(r[8 + o], r[12 + o]);
        t[12 + o] = _mm512_shuffle_f32x4::<0xDD>(r[8 + o], r[12 + o]);
    }
    for o in 0..8 {
        r[o] = _mm512_shuffle_f32x4::<0x88>(t[o], t[8 + o]);
        r[8 + o] = _mm512_shuffle_f32x4::<0xDD>(t[o], t[8 + o]);
    }
}

/// Fills a whole tile (32 rows from `w`, `ws` bytes apart, elements `k0..k0 + kn` with
/// `kn % 16 == 0`) by widening 16 × 16 blocks and transposing them in registers.
#[inline(always)]
unsafe fn fill_tile_fast<T: Widen>(wt: &mut WTile, w: *const u8, ws: usize, k0: usize, kn: usize) {
    let mut r = [_mm512_setzero_ps(); 16];
    for half in 0..2 {
        for kb in (0..kn).step_by(16) {
            for (i, v) in r.iter_mut().enumerate() {
                *v = T::load16(w.add((16 * half + i) * ws), k0 + kb);
            }
            transpose16(&mut r);
            for (c, v) in r.iter().enumerate() {
                _mm512_store_ps(wt.0[kb + c].as_mut_ptr().add(16 * half), *v);
            }
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn act_rows<const N: usize>(
    wt: &WTile,
    kn: usize,
    yf: &[[f32; KF]; N],
    j0: usize,
    dst: *mut f32,
    ds: usize,
    mask: u32,
    first: bool,
) {
    let mut lo = [_mm512_setzero_ps(); N];
    let mut hi = [_mm512_setzero_ps(); N];
    for kk in 0..kn {
        let w0 = _mm512_load_ps(wt.0[kk].as_ptr());
        let w1 = _mm512_load_ps(wt.0[kk].as_ptr().add(16));
        for j in 0..N {
            let b = _mm512_set1_ps(yf[j][kk]);
            lo[j] = _mm512_fmadd_ps(w0, b, lo[j]);
            hi[j] = _mm512_fmadd_ps(w1, b, hi[j]);
        }
    }
    let (m0, m1) = (mask as u16, (mask >> 16) as u16);
    for j in 0..N {
        let p = dst.add((j0 + j) * ds);
        for (half, a, m) in [(0, lo[j], m0), (16, hi[j], m1)] {
            if m == 0 {
                continue;
            }
            let ph = p.add(half);
            let v = if first {
                a
            } else {
                _mm512_add_ps(_mm512_maskz_loadu_ps(m, ph), a)
            };
            _mm512_mask_storeu_ps(ph, m, v);
        }
    }
}

/// The tiled GEMM over `rows` × `acts`; see [`super::super::TiledFn`] for the contract.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_tiled<T: Widen>(
    k: usize,
    w: *const u8,
    ws: usize,
    rows: Range<usize>,
    y: *const u8,
    ys: usize,
    acts: Range<usize>,
    dst: *mut f32,
    ds: usize,
) {
    let mut wts = [const { WTile([[0.0; 32]; KF]) }; PANEL];
    let mut buf = [0f32; KF];
    let mut yf = [[0f32; KF]; NY];
    let mut p0 = rows.start;
    while p0 < rows.end {
        // A panel of up to PANEL tiles of 32 rows; each activation row is widened once for
        // all of them.
        let np = (rows.end - p0).min(32 * PANEL);
        let nt = np.div_ceil(32);
        let mut k0 = 0;
        while k0 < k {
            let kn = (k - k0).min(KF);
            for (t, wt) in wts[..nt].iter_mut().enumerate() {
                let nr = (np - 32 * t).min(32);
                if nr == 32 && kn.is_multiple_of(16) {
                    fill_tile_fast::<T>(wt, w.add((p0 + 32 * t) * ws), ws, k0, kn);
                    continue;
                }
                for r in 0..32 {
                    if r < nr {
                        T::widen(w.add((p0 + 32 * t + r) * ws), k0, &mut buf[..kn]);
                    } else {
                        buf[..kn].fill(0.0);
                    }
                    for kk in 0..kn {
                        wt.0[kk][r] = buf[kk];
                    }
                }
            }
            // While the activation rows pass this chunk, prefetch the weights of the next
            // chunk (or panel) a few rows per micro-tile: the tile fill reads 32 rows a
            // stride apart, which the hardware prefetcher does not follow.
            let next = if k0 + kn < k {
                Some((p0, k0 + kn, (k - k0 - kn).min(KF), np))
            } else if p0 + np < rows.end {
                Some((p0 + np, 0, k.min(KF), (rows.end - p0 - np).min(32 * PANEL)))
            } else {
                None
            };
            let per_step = next.map_or(0, |(_, _, _, nr)| nr.div_ceil(acts.len().div_ceil(NY)));
            let mut pf_row = 0;
            let mut j0 = acts.start;
            while j0 < acts.end {
                if let Some((pn, kn0, knn, nr)) = next {
                    for r in pf_row..(pf_row + per_step).min(nr) {
                        let base = w.add((pn + r) * ws + kn0 * T::BYTES);
                        for off in (0..knn * T::BYTES).step_by(64) {
                            _mm_prefetch::<_MM_HINT_T0>(base.add(off) as *const i8);
                        }
                    }
                    pf_row += per_step;
                }
                let n = if j0 + NY <= acts.end { NY } else { 1 };
                for (j, row) in yf[..n].iter_mut().enumerate() {
                    T::widen(y.add((j0 + j) * ys), k0, &mut row[..kn]);
                }
                for (t, wt) in wts[..nt].iter().enumerate() {
                    let nr = (np - 32 * t).min(32);
                    let mask = if nr == 32 { u32::MAX } else { (1u32 << nr) - 1 };
                    let d0 = dst.add(p0 + 32 * t);
                    if n == NY {
                        act_rows::<NY>(wt, kn, &yf, j0, d0, ds, mask, k0 == 0);
                    } else {
                        act_rows::<1>(
                            wt,
                            kn,
                            std::array::from_ref(&yf[0]),
                            j0,
                            d0,
                            ds,
                            mask,
                            k0 == 0,
                        );
                    }
                }
                j0 += n;
            }
            k0 += kn;
        }
        p0 += np;
    }
}

/// Widens 16 elements starting at element `i` to f32.
#[inline(always)]
unsafe fn load16<T: Widen>(p: *const u8, i: usize) -> __m512 {
    T::load16(p, i)
}

/// Row kernel (GEMV): four 16-wide accumulation chains per activation row.
#[target_feature(enable = "avx512f,avx512bw,avx2,fma,f16c")]
unsafe fn rows_float<T: Widen, const NY: usize>(
    k: usize,
    w: *const u8,
    y: *const u8,
    ys: usize,
    out: *mut f32,
) {
    let mut acc = [[_mm512_setzero_ps(); 4]; NY];
    let k16 = k / 16 * 16;
    let mut i = 0;
    while i + 64 <= k16 {
        for u in 0..4 {
            let x = load16::<T>(w, i + 16 * u);
            for (j, a) in acc.iter_mut().enumerate() {
                a[u] = _mm512_fmadd_ps(x, load16::<T>(y.add(j * ys), i + 16 * u), a[u]);
            }
        }
        i += 64;
    }
    while i < k16 {
        let x = load16::<T>(w, i);
        for (j, a) in acc.iter_mut().enumerate() {
            a[0] = _mm512_fmadd_ps(x, load16::<T>(y.add(j * ys), i), a[0]);
        }
        i += 16;
    }
    for (j, a) in acc.iter().enumerate() {
        let sum = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));
        let mut s = _mm512_reduce_add_ps(sum);
        let mut tail = [0f32; 16];
        let mut tw = [0f32; 16];
        T::widen(w, k16, &mut tw[..k - k16]);
        T::widen(y.add(j * ys), k16, &mut tail[..k - k16]);
        for t in 0..k - k16 {
            s += tw[t] * tail[t];
        }
        *out.add(j) = s;
    }
}

super::rows_wrapper!(f32_rows, rows_float[F32,], crate::quant::GgmlType::F32, crate::quant::GgmlType::F32, [1, 2]);
super::rows_wrapper!(f16_rows, rows_float[F16,], crate::quant::GgmlType::F16, crate::quant::GgmlType::F16, [1, 2]);
super::rows_wrapper!(bf16_rows, rows_float[Bf16,], crate::quant::GgmlType::BF16, crate::quant::GgmlType::BF16, [1, 2]);

/// Replaces the AVX2 float row kernels (keeping any tiled GEMM).
pub(super) fn register(
    set: &mut impl FnMut(crate::quant::GgmlType, crate::backend::cpu::kernels::TypeKernels),
) {
    set(crate::quant::GgmlType::F32, f32_rows());
    set(crate::quant::GgmlType::F16, f16_rows());
    set(crate::quant::GgmlType::BF16, bf16_rows());
}

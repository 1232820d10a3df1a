//! AVX-512 VNNI tiled GEMM for the k-quants (prompt processing). A tile of 16 weight rows is
//! unpacked, one super-block at a time, into unsigned bytes laid out "4 k-values × 16 rows"
//! per 64-byte vector, plus per-16-value integer scales and bias multipliers (the mins, or the
//! −32 / −4 offsets, applied through the Q8_K `bsums`). Each activation row then costs one
//! `vpdpbusd` per 4 k-values for all 16 rows at once (the activation bytes are broadcast);
//! the unpacking is paid once per tile and shared by every activation row.
//!
//! Integer sums are exact, so results equal the other kernels' up to float summation order.

#![allow(clippy::needless_range_loop)]
// index loops mirror the block formats
// The AVX-512 intrinsics are stable since Rust 1.89 (Cargo.toml still says 1.80: the lead is
// told to raise it).
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;
use std::ops::Range;

use crate::backend::cpu::kernels::generic::f16_at;
use crate::backend::cpu::kernels::generic::kquants::{scale_min_k4, scales_q3k, Q8K};

/// One super-block of a 16-row tile, unpacked.
#[repr(C, align(64))]
pub(super) struct TileSb {
    /// `w[4·G + q][4·r + b]` = value `16·G + 4·q + b` of row `r` (unsigned).
    w: [[u8; 64]; 64],
    /// Integer scale of 16-value group `G` for row `r`.
    sc: [[i32; 16]; 16],
    /// `bm[P][2·r + h]`: bias multiplier of group `2·P + h`, row `r` (Σ bsum·bm is the offset).
    bm: [[i16; 32]; 8],
    /// Row scale and bias scale (both multiplied by the activation's d).
    d: [f32; 16],
    fb: [f32; 16],
}

const EMPTY: TileSb = TileSb {
    w: [[0; 64]; 64],
    sc: [[0; 16]; 16],
    bm: [[0; 32]; 8],
    d: [0.0; 16],
    fb: [0.0; 16],
};

/// Super-blocks unpacked per pass (stack use: `KC` × 5.8 KiB).
const KC: usize = 8;

/// How one super-block of a type becomes 256 unsigned values, 16 group scales, 16 bias
/// multipliers, the row scale and the bias scale.
pub(super) trait SbUnpack {
    const BYTES: usize;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32);
}

pub(super) struct Q4K;
impl SbUnpack for Q4K {
    const BYTES: usize = 144;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        let (s, m) = scale_min_k4(&b[4..16]);
        for (j, x) in v.iter_mut().enumerate() {
            let byte = b[16 + (j / 64) * 32 + j % 32];
            *x = if j % 64 < 32 { byte & 0xF } else { byte >> 4 };
        }
        for g in 0..16 {
            sc[g] = s[g / 2] as i32;
            bm[g] = m[g / 2] as i16;
        }
        (f16_at(b, 0), -f16_at(b, 2))
    }
}

pub(super) struct Q5K;
impl SbUnpack for Q5K {
    const BYTES: usize = 176;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        let (s, m) = scale_min_k4(&b[4..16]);
        for (j, x) in v.iter_mut().enumerate() {
            let byte = b[48 + (j / 64) * 32 + j % 32];
            let lo = if j % 64 < 32 { byte & 0xF } else { byte >> 4 };
            let hi = (b[16 + j % 32] >> (j / 32)) & 1;
            *x = lo | (hi << 4);
        }
        for g in 0..16 {
            sc[g] = s[g / 2] as i32;
            bm[g] = m[g / 2] as i16;
        }
        (f16_at(b, 0), -f16_at(b, 2))
    }
}

pub(super) struct Q6K;
impl SbUnpack for Q6K {
    const BYTES: usize = 210;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        for (j, x) in v.iter_mut().enumerate() {
            let (half, r) = (j / 128, j % 128);
            let (quarter, l) = (r / 32, r % 32);
            let low = b[half * 64 + l + 32 * (quarter % 2)];
            let low = if quarter < 2 { low & 0xF } else { low >> 4 };
            let high = (b[128 + half * 32 + l] >> (2 * quarter)) & 3;
            *x = low | (high << 4);
        }
        for g in 0..16 {
            let s = b[192 + g] as i8 as i32;
            sc[g] = s;
            bm[g] = (-32 * s) as i16;
        }
        let d = f16_at(b, 208);
        (d, d)
    }
}

pub(super) struct Q3K;
impl SbUnpack for Q3K {
    const BYTES: usize = 110;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        for (j, x) in v.iter_mut().enumerate() {
            let (half, r) = (j / 128, j % 128);
            let q = (b[32 + half * 32 + r % 32] >> (2 * (r / 32))) & 3;
            let h = (b[j % 32] >> (j / 32)) & 1;
            *x = q | (h << 2);
        }
        let s = scales_q3k(&b[96..108]);
        for g in 0..16 {
            sc[g] = s[g] as i32 - 32;
            bm[g] = (-4 * sc[g]) as i16;
        }
        let d = f16_at(b, 108);
        (d, d)
    }
}

pub(super) struct Q2K;
impl SbUnpack for Q2K {
    const BYTES: usize = 84;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        for (j, x) in v.iter_mut().enumerate() {
            let (half, r) = (j / 128, j % 128);
            *x = (b[16 + half * 32 + r % 32] >> (2 * (r / 32))) & 3;
        }
        for g in 0..16 {
            sc[g] = (b[g] & 0xF) as i32;
            bm[g] = (b[g] >> 4) as i16;
        }
        (f16_at(b, 80), -f16_at(b, 82))
    }
}

/// Unpacks super-block `sb` of rows `r0..r0+nr` (rows past `nr` are zero) into `t`.
///
/// # Safety
/// Rows `r0..r0+nr` of `w` (stride `ws`) must hold at least `sb + 1` super-blocks.
unsafe fn unpack_tile<U: SbUnpack>(
    t: &mut TileSb,
    w: *const u8,
    ws: usize,
    r0: usize,
    nr: usize,
    sb: usize,
) {
    let mut v = [0u8; 256];
    let mut sc = [0i32; 16];
    let mut bm = [0i16; 16];
    for r in 0..16 {
        let (d, fb) = if r < nr {
            let b = std::slice::from_raw_parts(w.add((r0 + r) * ws + sb * U::BYTES), U::BYTES);
            U::unpack(b, &mut v, &mut sc, &mut bm)
        } else {
            v = [0; 256];
            sc = [0; 16];
            bm = [0; 16];
            (0.0, 0.0)
        };
        for gq in 0..64 {
            t.w[gq][4 * r..4 * r + 4].copy_from_slice(&v[4 * gq..4 * gq + 4]);
        }
        for g in 0..16 {
            t.sc[g][r] = sc[g];
        }
        for p in 0..8 {
            t.bm[p][2 * r] = bm[2 * p];
            t.bm[p][2 * r + 1] = bm[2 * p + 1];
        }
        t.d[r] = d;
        t.fb[r] = fb;
    }
}

#[inline(always)]
unsafe fn bcast(p: *const u8) -> __m512i {
    _mm512_set1_epi32((p as *const i32).read_unaligned())
}

/// `facc[j] += Σ over super-block `t` of (16 rows) · (activation row j's Q8_K block at `yb[j]`)`.
#[inline(always)]
unsafe fn sb_rows<const NY: usize>(t: &TileSb, yb: &[*const u8; NY], facc: &mut [__m512; NY]) {
    let mut acc = [_mm512_setzero_si512(); NY];
    for g in 0..16 {
        let mut tt = [_mm512_setzero_si512(); NY];
        for q in 0..4 {
            let wv = _mm512_load_si512(t.w[4 * g + q].as_ptr() as *const __m512i);
            for j in 0..NY {
                tt[j] = _mm512_dpbusd_epi32(tt[j], wv, bcast(yb[j].add(4 + 16 * g + 4 * q)));
            }
        }
        let scv = _mm512_load_si512(t.sc[g].as_ptr() as *const __m512i);
        for j in 0..NY {
            acc[j] = _mm512_add_epi32(acc[j], _mm512_mullo_epi32(tt[j], scv));
        }
    }
    let mut bias = [_mm512_setzero_si512(); NY];
    for p in 0..8 {
        let bmv = _mm512_load_si512(t.bm[p].as_ptr() as *const __m512i);
        for j in 0..NY {
            bias[j] = _mm512_dpwssd_epi32(bias[j], bmv, bcast(yb[j].add(260 + 4 * p)));
        }
    }
    let dv = _mm512_load_ps(t.d.as_ptr());
    let fbv = _mm512_load_ps(t.fb.as_ptr());
    for j in 0..NY {
        let dy = _mm512_set1_ps((yb[j] as *const f32).read_unaligned());
        facc[j] = _mm512_fmadd_ps(_mm512_mul_ps(dv, dy), _mm512_cvtepi32_ps(acc[j]), facc[j]);
        facc[j] = _mm512_fmadd_ps(_mm512_mul_ps(fbv, dy), _mm512_cvtepi32_ps(bias[j]), facc[j]);
    }
}

/// NY activation rows from `j0` against the unpacked super-blocks `tiles[..nk]` (global
/// super-block `kc0 + s`); adds into (or, when `first`, stores to) the dst tile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn act_rows<const NY: usize>(
    tiles: &[TileSb],
    kc0: usize,
    y: *const u8,
    ys: usize,
    j0: usize,
    dst: *mut f32,
    ds: usize,
    mask: u16,
    first: bool,
) {
    let mut facc = [_mm512_setzero_ps(); NY];
    for (s, t) in tiles.iter().enumerate() {
        let mut yb = [std::ptr::null::<u8>(); NY];
        for (j, p) in yb.iter_mut().enumerate() {
            *p = y.add((j0 + j) * ys + (kc0 + s) * Q8K);
        }
        sb_rows::<NY>(t, &yb, &mut facc);
    }
    for (j, f) in facc.iter().enumerate() {
        let p = dst.add((j0 + j) * ds);
        let v = if first {
            *f
        } else {
            _mm512_add_ps(_mm512_maskz_loadu_ps(mask, p), *f)
        };
        _mm512_mask_storeu_ps(p, mask, v);
    }
}

/// The tiled GEMM over `rows` × `acts`; see [`super::super::TiledFn`] for the contract.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_tiled<U: SbUnpack>(
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
    const NY: usize = 4;
    let nsb = k / 256;
    let mut tiles = [EMPTY; KC];
    let mut r0 = rows.start;
    while r0 < rows.end {
        let nr = (rows.end - r0).min(16);
        let mask = ((1u32 << nr) - 1) as u16;
        let d0 = dst.add(r0);
        let mut kc0 = 0;
        while kc0 < nsb {
            let nk = (nsb - kc0).min(KC);
            for (s, t) in tiles[..nk].iter_mut().enumerate() {
                unpack_tile::<U>(t, w, ws, r0, nr, kc0 + s);
            }
            let mut j0 = acts.start;
            while j0 + NY <= acts.end {
                act_rows::<NY>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                j0 += NY;
            }
            while j0 < acts.end {
                act_rows::<1>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                j0 += 1;
            }
            kc0 += nk;
        }
        r0 += nr;
    }
}

/// True when this CPU can run [`gemm_tiled`].
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
}

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
use crate::backend::cpu::kernels::generic::kquants::{
    scale_min_k4_words, scales_q3k_words, trit, Q8K,
};
use crate::backend::cpu::kernels::generic::legacy::KVALUES_IQ4NL;

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
    /// Scales are per 32 values (pairs of equal 16-value scales): one multiply per 32.
    const G32: bool = false;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32);
}

pub(super) struct Q4K;
impl SbUnpack for Q4K {
    const BYTES: usize = 144;
    const G32: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        let sm = scale_min_k4_words(&b[4..16]);
        let (s, m) = (&sm[..8], &sm[8..]);
        for c in 0..4 {
            let (qs, out) = (&b[16 + 32 * c..48 + 32 * c], &mut v[64 * c..64 * c + 64]);
            for l in 0..32 {
                out[l] = qs[l] & 0xF;
                out[l + 32] = qs[l] >> 4;
            }
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
    const G32: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        let sm = scale_min_k4_words(&b[4..16]);
        let (s, m) = (&sm[..8], &sm[8..]);
        for c in 0..4 {
            let (qs, qh) = (&b[48 + 32 * c..80 + 32 * c], &b[16..48]);
            let out = &mut v[64 * c..64 * c + 64];
            for l in 0..32 {
                out[l] = (qs[l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4);
                out[l + 32] = (qs[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
            }
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
        for half in 0..2 {
            let (ql, qh) = (
                &b[64 * half..64 * half + 64],
                &b[128 + 32 * half..160 + 32 * half],
            );
            let out = &mut v[128 * half..128 * half + 128];
            for l in 0..32 {
                out[l] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
                out[l + 32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
                out[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                out[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            }
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
        for t in 0..8 {
            let (qs, hm) = (&b[32 + 32 * (t / 4)..64 + 32 * (t / 4)], &b[0..32]);
            let out = &mut v[32 * t..32 * t + 32];
            let sh = 2 * (t % 4);
            for l in 0..32 {
                out[l] = ((qs[l] >> sh) & 3) | (((hm[l] >> t) & 1) << 2);
            }
        }
        let s = scales_q3k_words(&b[96..108]);
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
        for t in 0..8 {
            let qs = &b[16 + 32 * (t / 4)..48 + 32 * (t / 4)];
            let out = &mut v[32 * t..32 * t + 32];
            let sh = 2 * (t % 4);
            for l in 0..32 {
                out[l] = (qs[l] >> sh) & 3;
            }
        }
        for g in 0..16 {
            sc[g] = (b[g] & 0xF) as i32;
            bm[g] = (b[g] >> 4) as i16;
        }
        (f16_at(b, 80), -f16_at(b, 82))
    }
}

pub(super) struct Iq4Xs;
impl SbUnpack for Iq4Xs {
    const BYTES: usize = 136;
    const G32: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        let h = u16::from_le_bytes([b[2], b[3]]);
        for ib in 0..8 {
            let qs = &b[8 + 16 * ib..24 + 16 * ib];
            let out = &mut v[32 * ib..32 * ib + 32];
            for l in 0..16 {
                out[l] = (KVALUES_IQ4NL[(qs[l] & 0xF) as usize] as u8) ^ 0x80;
                out[l + 16] = (KVALUES_IQ4NL[(qs[l] >> 4) as usize] as u8) ^ 0x80;
            }
            let ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) as i32
                | ((((h >> (2 * ib)) & 3) as i32) << 4);
            for g in [2 * ib, 2 * ib + 1] {
                sc[g] = ls - 32;
                bm[g] = (-128 * sc[g]) as i16;
            }
        }
        let d = f16_at(b, 0);
        (d, d)
    }
}

pub(super) struct Tq2_0;
impl SbUnpack for Tq2_0 {
    const BYTES: usize = 66;
    const G32: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        for jb in 0..2 {
            for l in 0..4 {
                let out = &mut v[128 * jb + 32 * l..128 * jb + 32 * l + 32];
                for (m, o) in out.iter_mut().enumerate() {
                    *o = (b[32 * jb + m] >> (2 * l)) & 3;
                }
            }
        }
        *sc = [1; 16];
        *bm = [-1; 16];
        let d = f16_at(b, 64);
        (d, d)
    }
}

pub(super) struct Tq1_0;
impl SbUnpack for Tq1_0 {
    const BYTES: usize = 54;
    const G32: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 256], sc: &mut [i32; 16], bm: &mut [i16; 16]) -> (f32, f32) {
        for l in 0..5 {
            for m in 0..32 {
                v[l * 32 + m] = trit(b[m], l) as u8;
            }
            for m in 0..16 {
                v[160 + l * 16 + m] = trit(b[32 + m], l) as u8;
            }
        }
        for l in 0..4 {
            for j in 0..4 {
                v[240 + 4 * l + j] = trit(b[48 + j], l) as u8;
            }
        }
        *sc = [1; 16];
        *bm = [-1; 16];
        let d = f16_at(b, 52);
        (d, d)
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
        for (gq, c) in v.chunks_exact(4).enumerate() {
            t.w[gq][4 * r..4 * r + 4].copy_from_slice(c);
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
unsafe fn sb_rows<const G32: bool, const NY: usize>(
    t: &TileSb,
    yb: &[*const u8; NY],
    facc: &mut [__m512; NY],
) {
    let mut acc = [_mm512_setzero_si512(); NY];
    let (groups, quads) = if G32 { (8, 8) } else { (16, 4) };
    for gi in 0..groups {
        // With G32 group gi spans the 16-value groups 2·gi and 2·gi + 1 (same scale).
        let g = if G32 { 2 * gi } else { gi };
        let mut tt = [_mm512_setzero_si512(); NY];
        for q in 0..quads {
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
unsafe fn act_rows<const G32: bool, const NY: usize>(
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
        sb_rows::<G32, NY>(t, &yb, &mut facc);
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
    const NY: usize = 8;
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
                if U::G32 {
                    act_rows::<true, NY>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                } else {
                    act_rows::<false, NY>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                }
                j0 += NY;
            }
            while j0 < acts.end {
                if U::G32 {
                    act_rows::<true, 1>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                } else {
                    act_rows::<false, 1>(&tiles[..nk], kc0, y, ys, j0, d0, ds, mask, kc0 == 0);
                }
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

//! AVX-512 VNNI tiled GEMM for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
//! IQ4_NL, MXFP4), the same scheme as `avx512.rs`: 16 weight rows are unpacked per block into
//! unsigned bytes ("4 k-values × 16 rows" per vector) with their f32 scales, then each
//! activation row costs 8 `vpdpbusd` per block for all 16 rows. Signed weight values are
//! stored with an offset `o` (value + o ≥ 0), removed exactly through each activation block's
//! integer sum Σq (kept in our activation layout); Q4_1 / Q5_1 add `m · d_y · Σq`.

#![allow(clippy::needless_range_loop)] // index loops mirror the block formats
#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;
use std::ops::Range;

use super::f16_load;
use crate::backend::cpu::kernels::generic::f16_at;
use crate::backend::cpu::kernels::generic::legacy::{e8m0_half, KVALUES_IQ4NL, KVALUES_MXFP4};
use crate::backend::cpu::kernels::quantize::q8_offsets;

/// One 32-element block of a 16-row tile.
#[repr(C, align(64))]
pub(super) struct TileB {
    /// `w[q][4·r + b]` = value `4·q + b` of row `r`, plus the type's offset.
    w: [[u8; 64]; 8],
    d: [f32; 16],
    m: [f32; 16],
}

const EMPTY: TileB = TileB {
    w: [[0; 64]; 8],
    d: [0.0; 16],
    m: [0.0; 16],
};

/// Blocks unpacked per pass (stack use: `KB` × 640 bytes).
const KB: usize = 64;

/// A 32-element block format: its bytes, the offset added to make values unsigned, whether it
/// has a min (and so takes Q8_1 activations), and the unpacking into (values + offset, d, m).
pub(super) trait BlockUnpack {
    const BYTES: usize;
    const OFFSET: i32;
    const HAS_MIN: bool;
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32);
    /// For types whose 32 values are 16 bytes of nibbles (low nibbles = values 0..15, high
    /// nibbles = 16..31) mapped through [`BlockUnpack::NIBBLE_LUT`]: the offset of those bytes
    /// in the block, which lets full tiles be unpacked with vector shuffles. 0: not such a type.
    const NIBBLE_QS: usize = 0;
    /// Nibble → stored value (value + offset) of a nibble type.
    const NIBBLE_LUT: [u8; 16] = IDENTITY;
    /// The block's (d, m) without unpacking its values.
    fn scales(b: &[u8]) -> (f32, f32) {
        Self::unpack(b, &mut [0; 32])
    }
}

const IDENTITY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// `(kvalues[i] as u8) ^ 0x80`: a signed nibble table made unsigned (offset 128).
const fn offset_lut(kv: [i8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = (kv[i] as u8) ^ 0x80;
        i += 1;
    }
    out
}

fn nibbles(qs: &[u8], v: &mut [u8; 32], lut: impl Fn(u8) -> u8) {
    for j in 0..16 {
        v[j] = lut(qs[j] & 0xF);
        v[j + 16] = lut(qs[j] >> 4);
    }
}

fn fives(qs: &[u8], qh: &[u8], v: &mut [u8; 32]) {
    let h = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    for j in 0..16 {
        v[j] = (qs[j] & 0xF) | ((((h >> j) & 1) as u8) << 4);
        v[j + 16] = (qs[j] >> 4) | ((((h >> (j + 16)) & 1) as u8) << 4);
    }
}

pub(super) struct Q4_0;
impl BlockUnpack for Q4_0 {
    const BYTES: usize = 18;
    const OFFSET: i32 = 8;
    const HAS_MIN: bool = false;
    const NIBBLE_QS: usize = 2;
    fn scales(b: &[u8]) -> (f32, f32) {
        (f16_at(b, 0), 0.0)
    }
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        nibbles(&b[2..18], v, |q| q);
        (f16_at(b, 0), 0.0)
    }
}

pub(super) struct Q5_0;
impl BlockUnpack for Q5_0 {
    const BYTES: usize = 22;
    const OFFSET: i32 = 16;
    const HAS_MIN: bool = false;
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        fives(&b[6..22], &b[2..6], v);
        (f16_at(b, 0), 0.0)
    }
}

pub(super) struct Q8_0;
impl BlockUnpack for Q8_0 {
    const BYTES: usize = 34;
    const OFFSET: i32 = 128;
    const HAS_MIN: bool = false;
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        for j in 0..32 {
            v[j] = b[2 + j] ^ 0x80;
        }
        (f16_at(b, 0), 0.0)
    }
}

pub(super) struct Iq4Nl;
impl BlockUnpack for Iq4Nl {
    const BYTES: usize = 18;
    const OFFSET: i32 = 128;
    const HAS_MIN: bool = false;
    const NIBBLE_QS: usize = 2;
    const NIBBLE_LUT: [u8; 16] = offset_lut(KVALUES_IQ4NL);
    fn scales(b: &[u8]) -> (f32, f32) {
        (f16_at(b, 0), 0.0)
    }
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        nibbles(&b[2..18], v, |q| (KVALUES_IQ4NL[q as usize] as u8) ^ 0x80);
        (f16_at(b, 0), 0.0)
    }
}

pub(super) struct Mxfp4;
impl BlockUnpack for Mxfp4 {
    const BYTES: usize = 17;
    const OFFSET: i32 = 128;
    const HAS_MIN: bool = false;
    const NIBBLE_QS: usize = 1;
    const NIBBLE_LUT: [u8; 16] = offset_lut(KVALUES_MXFP4);
    fn scales(b: &[u8]) -> (f32, f32) {
        (e8m0_half(b[0]), 0.0)
    }
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        nibbles(&b[1..17], v, |q| (KVALUES_MXFP4[q as usize] as u8) ^ 0x80);
        (e8m0_half(b[0]), 0.0)
    }
}

pub(super) struct Q4_1;
impl BlockUnpack for Q4_1 {
    const BYTES: usize = 20;
    const OFFSET: i32 = 0;
    const HAS_MIN: bool = true;
    const NIBBLE_QS: usize = 4;
    fn scales(b: &[u8]) -> (f32, f32) {
        (f16_at(b, 0), f16_at(b, 2))
    }
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        nibbles(&b[4..20], v, |q| q);
        (f16_at(b, 0), f16_at(b, 2))
    }
}

pub(super) struct Q5_1;
impl BlockUnpack for Q5_1 {
    const BYTES: usize = 24;
    const OFFSET: i32 = 0;
    const HAS_MIN: bool = true;
    fn unpack(b: &[u8], v: &mut [u8; 32]) -> (f32, f32) {
        fives(&b[8..24], &b[4..8], v);
        (f16_at(b, 0), f16_at(b, 2))
    }
}

/// Unpacks block `ib` of rows `r0..r0+nr` (rows past `nr` are zero) into `t`.
///
/// # Safety
/// Rows `r0..r0+nr` of `w` (stride `ws`) must hold at least `ib + 1` blocks.
unsafe fn unpack_tile<U: BlockUnpack>(
    t: &mut TileB,
    w: *const u8,
    ws: usize,
    r0: usize,
    nr: usize,
    ib: usize,
) {
    if U::NIBBLE_QS != 0 && nr == 16 {
        // SAFETY: as this function's contract (the fast path reads the same bytes); this
        // module's kernels run only on CPUs with AVX-512 F/BW/VNNI.
        unsafe { unpack_tile_nibbles::<U>(t, w, ws, r0, ib) };
        return;
    }
    let mut v = [0u8; 32];
    for r in 0..16 {
        let (d, m) = if r < nr {
            let b = std::slice::from_raw_parts(w.add((r0 + r) * ws + ib * U::BYTES), U::BYTES);
            U::unpack(b, &mut v)
        } else {
            v = [0; 32];
            (0.0, 0.0)
        };
        for q in 0..8 {
            t.w[q][4 * r..4 * r + 4].copy_from_slice(&v[4 * q..4 * q + 4]);
        }
        t.d[r] = d;
        t.m[r] = m;
    }
}

/// [`unpack_tile`] of a nibble type for 16 full rows: the 16 nibble bytes of four rows fill
/// one vector; masks / shifts split values 0..15 and 16..31, a byte shuffle maps them through
/// the type's table, and a dword transpose (two-source permutes) turns "row-major, 4 values
/// per dword" into `w[q]` = dword q of rows 0..15.
///
/// # Safety
/// Rows `r0..r0+16` of `w` (stride `ws`) must hold at least `ib + 1` blocks; AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn unpack_tile_nibbles<U: BlockUnpack>(
    t: &mut TileB,
    w: *const u8,
    ws: usize,
    r0: usize,
    ib: usize,
) {
    let blk = |r: usize| w.add((r0 + r) * ws + ib * U::BYTES);
    let lut = _mm512_broadcast_i32x4(_mm_loadu_si128(U::NIBBLE_LUT.as_ptr() as *const __m128i));
    let m4 = _mm512_set1_epi8(0x0F);
    let mut lo = [_mm512_setzero_si512(); 4];
    let mut hi = [_mm512_setzero_si512(); 4];
    for g in 0..4 {
        let ld = |r: usize| _mm_loadu_si128(blk(4 * g + r).add(U::NIBBLE_QS) as *const __m128i);
        let z = _mm512_castsi128_si512(ld(0));
        let z = _mm512_inserti32x4(z, ld(1), 1);
        let z = _mm512_inserti32x4(z, ld(2), 2);
        let z = _mm512_inserti32x4(z, ld(3), 3);
        lo[g] = _mm512_shuffle_epi8(lut, _mm512_and_si512(z, m4));
        hi[g] = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(z, 4), m4));
    }
    for q in 0..4 {
        // Lane l < 8 of a two-source permute with index 4l + q: dword q of row l of the pair.
        let idx = _mm512_add_epi32(
            _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
            _mm512_set1_epi32(q as i32),
        );
        for (half, src) in [(0, &lo), (4, &hi)] {
            let a = _mm512_permutex2var_epi32(src[0], idx, src[1]);
            let b = _mm512_permutex2var_epi32(src[2], idx, src[3]);
            let v = _mm512_inserti64x4(a, _mm512_castsi512_si256(b), 1);
            _mm512_store_si512(t.w[q + half].as_mut_ptr() as *mut __m512i, v);
        }
    }
    for r in 0..16 {
        let (d, m) = U::scales(std::slice::from_raw_parts(blk(r), U::BYTES));
        t.d[r] = d;
        t.m[r] = m;
    }
}

/// Per activation row and block: d, the offset correction `o · Σq` (Q8_0) or s (Q8_1), and
/// the quant pointer.
struct ActBlock {
    d: f32,
    corr: i32,
    s: f32,
    q: *const u8,
}

#[inline(always)]
unsafe fn act_block<U: BlockUnpack>(row: *const u8, nb: usize, ib: usize) -> ActBlock {
    let (od, os, oq) = q8_offsets(nb, ib);
    let d = f16_load(row.add(od));
    let sum = (row.add(os) as *const i16).read_unaligned() as i32;
    ActBlock {
        d,
        corr: U::OFFSET * sum,
        s: d * sum as f32,
        q: row.add(oq),
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn act_rows<U: BlockUnpack, const NY: usize>(
    tiles: &[TileB],
    kb0: usize,
    nb: usize,
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
        let mut ab: [ActBlock; NY] = std::array::from_fn(|_| ActBlock {
            d: 0.0,
            corr: 0,
            s: 0.0,
            q: std::ptr::null(),
        });
        for (j, a) in ab.iter_mut().enumerate() {
            *a = act_block::<U>(y.add((j0 + j) * ys), nb, kb0 + s);
        }
        let mut tt = [_mm512_setzero_si512(); NY];
        for q in 0..8 {
            let wv = _mm512_load_si512(t.w[q].as_ptr() as *const __m512i);
            for j in 0..NY {
                let yv = _mm512_set1_epi32((ab[j].q.add(4 * q) as *const i32).read_unaligned());
                tt[j] = _mm512_dpbusd_epi32(tt[j], wv, yv);
            }
        }
        let dv = _mm512_load_ps(t.d.as_ptr());
        for j in 0..NY {
            let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(tt[j], _mm512_set1_epi32(ab[j].corr)));
            facc[j] = _mm512_fmadd_ps(_mm512_mul_ps(dv, _mm512_set1_ps(ab[j].d)), v, facc[j]);
            if U::HAS_MIN {
                let mv = _mm512_load_ps(t.m.as_ptr());
                facc[j] = _mm512_fmadd_ps(mv, _mm512_set1_ps(ab[j].s), facc[j]);
            }
        }
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
pub(super) unsafe fn gemm_tiled<U: BlockUnpack>(
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
    let nb = k / 32;
    let mut tiles = [EMPTY; KB];
    let mut r0 = rows.start;
    while r0 < rows.end {
        let nr = (rows.end - r0).min(16);
        let mask = ((1u32 << nr) - 1) as u16;
        let d0 = dst.add(r0);
        let mut kb0 = 0;
        while kb0 < nb {
            let nk = (nb - kb0).min(KB);
            for (s, t) in tiles[..nk].iter_mut().enumerate() {
                unpack_tile::<U>(t, w, ws, r0, nr, kb0 + s);
            }
            let mut j0 = acts.start;
            while j0 + NY <= acts.end {
                act_rows::<U, NY>(&tiles[..nk], kb0, nb, y, ys, j0, d0, ds, mask, kb0 == 0);
                j0 += NY;
            }
            while j0 < acts.end {
                act_rows::<U, 1>(&tiles[..nk], kb0, nb, y, ys, j0, d0, ds, mask, kb0 == 0);
                j0 += 1;
            }
            kb0 += nk;
        }
        r0 += nr;
    }
}

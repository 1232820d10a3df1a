//! Activation conversion: one f32 row into the row format the weight's dot product wants
//! (`vec_dot_type`). The arithmetic is upstream's, element for element:
//!
//! - **Q8_0 / Q8_1**: upstream runs its AVX2 `quantize_row_q8_0` / `quantize_row_q8_1` on this
//!   machine, which differ from the `_ref` versions: the inverse scale is `127 / amax` (not
//!   `1 / d`) and rounding is round-half-to-even (`_mm256_round_ps` nearest), not `roundf`.
//!   We reproduce the AVX2 results exactly (`d = amax / 127` stored as f16 with round-to-nearest-
//!   even; Q8_1's `s = f16(d * Σq)`).
//! - **Q8_K**: upstream's x86 build uses `quantize_row_q8_K_ref` (max by |x| keeping the signed
//!   value, `iscale = -127 / max`, `nearest_int` = round-half-even, clamp at 127, 16-element
//!   `bsums`, `d = 1 / iscale`).
//! - **F16**: round-to-nearest-even (F16C); **BF16**: upstream's `ggml_compute_fp32_to_bf16`.
//!
//! ## Our activation layout (private to these kernels)
//! Q8_0 and Q8_1 rows share one layout, "x4 with sums": every group of four blocks keeps its
//! four f16 scales `d` and its four i16 quant sums `Σq` together, followed by the 4 × 32
//! quants (144 bytes), so the SIMD kernels convert four scales with one instruction and remove
//! weight offsets (Q4_0's −8, …) through `Σq` instead of per-element work. A trailing partial
//! group is stored block by block as (d, Σq, qs\[32\]) (36 bytes). The quants and `d` are
//! exactly upstream's; Q8_1's `s` is recomputed as `d · Σq` in f32, which is exact (upstream
//! rounds it to f16). Rows are therefore ggml's *Q8_1* row size for both types
//! ([`act_row_bytes`]); only these kernels read them. [`quantize_row_q8_0_ggml`] and
//! [`quantize_row_q8_1_ggml`] write ggml's own layouts.

use half::f16;

/// Bytes of a 4-block group of an x4 activation row (4 f16 d, 4 i16 Σq, 128 quants).
pub(crate) const Q8_X4: usize = 144;
/// Bytes per 32-element block of an x4 activation row.
pub(crate) const Q8_BLOCK: usize = 36;

/// Bytes of one activation row of `k` elements in vec-dot type `vdt` (our layout).
pub fn act_row_bytes(vdt: crate::quant::GgmlType, k: usize) -> crate::error::Result<usize> {
    use crate::quant::GgmlType;
    match vdt {
        GgmlType::Q8_0 | GgmlType::Q8_1 => Ok(GgmlType::Q8_1.row_size(k as u64)? as usize),
        _ => Ok(vdt.row_size(k as u64)? as usize),
    }
}

/// Byte offsets of (d, Σq, quants) of block `ib` in an x4 row of `nb` blocks.
#[inline(always)]
pub(crate) fn q8_offsets(nb: usize, ib: usize) -> (usize, usize, usize) {
    let full = nb / 4;
    let g = ib / 4;
    if g < full {
        let r = ib % 4;
        let o = g * Q8_X4;
        (o + 2 * r, o + 8 + 2 * r, o + 16 + 32 * r)
    } else {
        let o = full * Q8_X4 + (ib - full * 4) * Q8_BLOCK;
        (o, o + 2, o + 4)
    }
}

/// One 32-element block as upstream's AVX2 quantizer produces it: (f32 d, quants, Σq).
#[inline(always)]
fn q8_block(x: &[f32]) -> (f32, [i8; 32], i32) {
    let mut amax = 0.0f32;
    for &v in &x[..32] {
        amax = amax.max(v.abs());
    }
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut q = [0i8; 32];
    let mut sum = 0i32;
    for (qi, &v) in q.iter_mut().zip(&x[..32]) {
        // `as` saturates like cvtps + packs do for the (impossible) out-of-range case.
        let r = (v * id).round_ties_even() as i8;
        *qi = r;
        sum += r as i32;
    }
    (d, q, sum)
}

fn put_f16(dst: &mut [u8], at: usize, v: f16) {
    dst[at..at + 2].copy_from_slice(&v.to_bits().to_le_bytes());
}

fn put_q(dst: &mut [u8], at: usize, q: &[i8; 32]) {
    for (d, &s) in dst[at..at + 32].iter_mut().zip(q) {
        *d = s as u8;
    }
}

/// f32 row → Q8_0 / Q8_1 quants in the x4 layout (see the module docs). `src.len()` must be a
/// multiple of 32 and `dst` at least [`act_row_bytes`] (panics otherwise;
/// [`super::quantize_activations`] checks first).
pub fn quantize_row_q8_x4(src: &[f32], dst: &mut [u8]) {
    let nb = src.len() / 32;
    for ib in 0..nb {
        let (d, q, sum) = q8_block(&src[ib * 32..]);
        let (od, os, oq) = q8_offsets(nb, ib);
        put_f16(dst, od, f16::from_f32(d));
        dst[os..os + 2].copy_from_slice(&(sum as i16).to_le_bytes());
        put_q(dst, oq, &q);
    }
}

/// f32 row → Q8_0 in ggml's plain block layout (d, qs\[32\]), bit-identical to upstream's AVX2
/// `quantize_row_q8_0`. Used by tests and by callers that need real ggml blocks.
pub fn quantize_row_q8_0_ggml(src: &[f32], dst: &mut [u8]) {
    for (ib, x) in src.chunks_exact(32).enumerate() {
        let (d, q, _) = q8_block(x);
        put_f16(dst, ib * 34, f16::from_f32(d));
        put_q(dst, ib * 34 + 2, &q);
    }
}

/// f32 row → Q8_1 in ggml's plain block layout (d, s, qs\[32\]).
pub fn quantize_row_q8_1_ggml(src: &[f32], dst: &mut [u8]) {
    for (ib, x) in src.chunks_exact(32).enumerate() {
        let (d, q, sum) = q8_block(x);
        put_f16(dst, ib * 36, f16::from_f32(d));
        put_f16(dst, ib * 36 + 2, f16::from_f32(d * sum as f32));
        put_q(dst, ib * 36 + 4, &q);
    }
}

/// f32 row → Q8_K (d f32, qs\[256\], bsums\[16\] i16), as upstream's `quantize_row_q8_K_ref`.
pub fn quantize_row_q8_k(src: &[f32], dst: &mut [u8]) {
    for (ib, x) in src.chunks_exact(256).enumerate() {
        let o = ib * 292;
        let mut max = 0.0f32;
        let mut amax = 0.0f32;
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            dst[o..o + 292].fill(0);
            continue;
        }
        let iscale = -127.0 / max;
        for j in 0..256 {
            let v = ((iscale * x[j]).round_ties_even() as i32).min(127);
            dst[o + 4 + j] = v as i8 as u8;
        }
        for j in 0..16 {
            let s: i32 = (0..16).map(|i| dst[o + 4 + 16 * j + i] as i8 as i32).sum();
            dst[o + 260 + 2 * j..o + 262 + 2 * j].copy_from_slice(&(s as i16).to_le_bytes());
        }
        dst[o..o + 4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    }
}

/// f32 row → f16 (round to nearest even).
pub fn convert_row_f16(src: &[f32], dst: &mut [u8]) {
    for (d, &v) in dst.chunks_exact_mut(2).zip(src) {
        d.copy_from_slice(&f16::from_f32(v).to_bits().to_le_bytes());
    }
}

/// f32 → bf16 bits as upstream's `ggml_compute_fp32_to_bf16` (NaN forced quiet, else RNE).
#[inline(always)]
pub fn f32_to_bf16(v: f32) -> u16 {
    let u = v.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    ((u + (0x7fff + ((u >> 16) & 1))) >> 16) as u16
}

/// f32 row → bf16.
pub fn convert_row_bf16(src: &[f32], dst: &mut [u8]) {
    for (d, &v) in dst.chunks_exact_mut(2).zip(src) {
        d.copy_from_slice(&f32_to_bf16(v).to_le_bytes());
    }
}

/// f32 row → f32 bytes (a copy).
pub fn convert_row_f32(src: &[f32], dst: &mut [u8]) {
    for (d, &v) in dst.chunks_exact_mut(4).zip(src) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

//! `flash_attn_ext`, as upstream's CPU kernel computes it, on one of two paths.
//!
//! The tiled path ([`tiled`]) is upstream's for F32 Q, F16 or F32 K and V of the same type and
//! at least 64 query rows per head (prompt micro-batches): f32 matrix products over 64×64 tiles
//! and upstream's vector exponential.
//!
//! Everything else (decode, quantized or mixed K/V, short micro-batches) takes the per-row path
//! here: one pass over the KV rows per query row with an online softmax, as upstream's
//! `one_chunk` kernel: Q converted to K's vec-dot type (f16 for F16 K, Q8_0 for Q8_0 / Q4_0
//! K, ...) and dotted with the K rows by the kernel table's `vec_dot`; scores and softmax in
//! f32; for F16 V the output accumulated in f16 (rounded after every update, like upstream's
//! `VKQ16`, SIMD scale / fused multiply-add per KV row), otherwise V rows converted to f32 and
//! accumulated in f32.

mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_x86;
mod softmax;
#[cfg(target_arch = "x86_64")]
mod softmax_x86;
mod tiled;

use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::backend::cpu::convert::{can_to_f32, f16_to_f32, row_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::backend::cpu::kernels;
use crate::graph::Op;
use crate::quant::GgmlType;
use crate::tensor::Tensor;

use super::soft_max::alibi_slope;
use super::{pad, per_thread};

/// K types accepted (those with a dot-product kernel).
pub fn k_supported(ty: GgmlType) -> bool {
    kernels::table().get(ty).is_some() && kernels::vec_dot_type(ty).is_some()
}

/// V types accepted.
pub fn v_supported(ty: GgmlType) -> bool {
    can_to_f32(ty)
}

/// Exact scratch bytes for this node run by `nth` threads: one slot per thread that gets work,
/// [`tiled::slot_bytes`] per Q tile's thread on the tiled path, [`row_slot_bytes`] per row's
/// thread otherwise.
pub fn workspace(q: &Tensor<'_>, k: &Tensor<'_>, v: &Tensor<'_>, nth: usize) -> usize {
    if tiled::applies(q.ty, k.ty, v.ty, q.ne[1]) {
        per_thread(tiled::n_tiles(q), nth, tiled::slot_bytes(k, v))
    } else {
        per_thread(q.nrows().max(0) as usize, nth, row_slot_bytes(q, k, v))
    }
}

/// At least [`workspace`] of this node at this or any smaller shape (fewer query rows or KV
/// rows, same types and head sizes), which may take either path with up to `nth` threads.
pub fn workspace_bound(q: &Tensor<'_>, k: &Tensor<'_>, v: &Tensor<'_>, nth: usize) -> usize {
    let slots = |units: usize, bytes: usize| {
        let n = units.min(nth.max(1));
        if n == 0 {
            0
        } else {
            (n - 1) * pad(bytes) + bytes
        }
    };
    let rows = slots(q.nrows().max(0) as usize, row_slot_bytes(q, k, v));
    let tiles = if tiled::applies(q.ty, k.ty, v.ty, q.ne[1]) {
        slots(tiled::n_tiles(q), tiled::slot_bytes(k, v))
    } else {
        0
    };
    rows.max(tiles).max(workspace(q, k, v, nth))
}

/// Exact per-row scratch bytes per thread: V accumulator (f32), V row (f32), f16 round-trip
/// row, converted Q row (last: always written).
fn row_slot_bytes(q: &Tensor<'_>, k: &Tensor<'_>, v: &Tensor<'_>) -> usize {
    let dv = v.ne[0].max(0) as usize;
    let dk = q.ne[0].max(0) as usize;
    let qb = kernels::act_row_size(k.ty, dk).unwrap_or(dk * 4);
    slot_head(dv) + qb
}

/// Bytes before the Q row in a thread's slot.
fn slot_head(dv: usize) -> usize {
    dv * 4 + dv * 4 + pad(dv * 2)
}

/// `acc[i] = f16(f32(acc[i]) · s)` (upstream's `ggml_vec_scale_f16`).
fn scale_f16(acc: &mut [f16], s: f32) {
    #[cfg(target_arch = "x86_64")]
    if f16_simd() {
        // SAFETY: F16C/FMA/AVX2 were detected; the pointer covers `acc.len()` elements.
        unsafe { simd::mad_f16(acc.as_mut_ptr() as *mut u16, std::ptr::null(), acc.len(), s) };
        return;
    }
    for x in acc.iter_mut() {
        *x = f16::from_f32(x.to_f32() * s);
    }
}

/// Elements per step of upstream's AVX2 `ggml_vec_mad_f16` (`GGML_F16_STEP`): it fuses the
/// multiply-add for the first `n & !(MAD_STEP - 1)` elements and rounds the product and the sum
/// separately for the rest.
const MAD_STEP: usize = 32;

/// `acc[i] = f16(acc[i] + v[i] · s)` for an F16 row `v`, as upstream's AVX2 `ggml_vec_mad_f16`
/// rounds it (fused for whole [`MAD_STEP`]s, then product and sum apart).
///
/// # Safety
/// `v` must point to `acc.len()` readable f16 values.
unsafe fn mad_f16(acc: &mut [f16], v: *const u8, s: f32) {
    let nf = acc.len() & !(MAD_STEP - 1);
    let vp = v as *const u16;
    #[cfg(target_arch = "x86_64")]
    let done = if f16_simd() {
        // SAFETY: F16C/FMA/AVX2 were detected; `acc` and (the caller vouches) `v` cover
        // `acc.len()` ≥ `nf` elements.
        unsafe { simd::mad_f16(acc.as_mut_ptr() as *mut u16, vp, nf, s) };
        nf
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (i, x) in acc.iter_mut().enumerate().skip(done) {
        // SAFETY: i < acc.len(), which the caller guarantees `v` holds.
        let y = f16_to_f32(unsafe { vp.add(i).read_unaligned() });
        *x = f16::from_f32(if i < nf {
            y.mul_add(s, x.to_f32())
        } else {
            x.to_f32() + y * s
        });
    }
}

#[cfg(target_arch = "x86_64")]
fn f16_simd() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// `acc[i] = f16(fma(v[i], s, acc[i]))`, or `f16(acc[i] · s)` when `v` is null; f16 values
    /// rounded to nearest even like half's and upstream's conversions.
    ///
    /// # Safety
    /// AVX2, FMA and F16C present; `acc` (and `v` unless null) valid for `n` u16.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn mad_f16(acc: *mut u16, v: *const u16, n: usize, s: f32) {
        let sv = _mm256_set1_ps(s);
        let step = |a: __m256, i: usize| {
            if v.is_null() {
                _mm256_mul_ps(a, sv)
            } else {
                let y = _mm256_cvtph_ps(_mm_loadu_si128(v.add(i) as *const __m128i));
                _mm256_fmadd_ps(y, sv, a)
            }
        };
        let mut i = 0;
        while i + 8 <= n {
            let a = _mm256_cvtph_ps(_mm_loadu_si128(acc.add(i) as *const __m128i));
            let r = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(step(a, i));
            _mm_storeu_si128(acc.add(i) as *mut __m128i, r);
            i += 8;
        }
        if i < n {
            let (mut a, mut y) = ([0u16; 8], [0u16; 8]);
            for t in i..n {
                a[t - i] = *acc.add(t);
                if !v.is_null() {
                    y[t - i] = *v.add(t);
                }
            }
            let av = _mm256_cvtph_ps(_mm_loadu_si128(a.as_ptr() as *const __m128i));
            let r = if v.is_null() {
                _mm256_mul_ps(av, sv)
            } else {
                let yv = _mm256_cvtph_ps(_mm_loadu_si128(y.as_ptr() as *const __m128i));
                _mm256_fmadd_ps(yv, sv, av)
            };
            _mm_storeu_si128(
                a.as_mut_ptr() as *mut __m128i,
                _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(r),
            );
            for t in i..n {
                *acc.add(t) = a[t - i];
            }
        }
    }
}

/// Ends one query row on either path: folds in the attention sink (if any), divides by the
/// softmax sum `s_sum` (0 when the sum is 0) and writes the row to `out`. The sink's
/// `s_sum · ms + vs` is one fused multiply-add when `fused` (upstream's compiler contracts it
/// on the tiled path, but not on the per-row one, where the two branches stay apart).
///
/// # Safety
/// `out` is writable for `vkq.len()` floats.
unsafe fn finish_row(
    vkq: &mut [f32],
    m: f32,
    mut s_sum: f32,
    sink: Option<f32>,
    fused: bool,
    out: *mut f32,
) {
    if let Some(s) = sink {
        let (mut ms, mut vs) = (1.0f32, 1.0f32);
        if s > m {
            ms = (m - s).exp();
            for x in vkq.iter_mut() {
                *x *= ms;
            }
        } else {
            vs = (s - m).exp();
        }
        s_sum = if fused {
            s_sum.mul_add(ms, vs)
        } else {
            s_sum * ms + vs
        };
    }
    let inv = if s_sum == 0.0 { 0.0 } else { 1.0 / s_sum };
    for (i, &x) in vkq.iter().enumerate() {
        *out.add(i) = x * inv;
    }
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::FlashAttnExt {
        mut scale,
        max_bias,
        softcap,
    } = ctx.op
    else {
        return;
    };
    if softcap != 0.0 {
        scale /= softcap;
    }
    let (q, k, v) = (ctx.s(0), ctx.s(1), ctx.s(2));
    if tiled::applies(q.ty, k.ty, v.ty, q.ne[1]) {
        tiled::compute(ctx, ith, nth, scale, max_bias, softcap);
    } else {
        compute_rows(ctx, ith, nth, scale, max_bias, softcap);
    }
}

/// The per-row path (`scale` already divided by `softcap`).
fn compute_rows(
    ctx: &NodeCtx<'_>,
    ith: usize,
    nth: usize,
    scale: f32,
    max_bias: f32,
    softcap: f32,
) {
    let (q, kt, v, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let mask: Option<TV> = ctx.src[3];
    let sinks = ctx.src[4];
    let (dk, dv) = (q.ne[0] as usize, v.ne[0] as usize);
    let (nq1, nq2) = (q.ne[1] as usize, q.ne[2] as usize);
    let n_kv = kt.ne[1] as usize;
    let rk2 = nq2 / kt.ne[2] as usize;
    let rv2 = nq2 / v.ne[2] as usize;
    let v16 = v.ty == GgmlType::F16;
    let (Some(vdt), Some(kk)) = (kernels::vec_dot_type(kt.ty), kernels::table().get(kt.ty)) else {
        ctx.fail();
        return;
    };
    let vec_dot = kk.vec_dot;
    let qb = kernels::act_row_size(kt.ty, dk).unwrap_or(dk * 4);
    let k_row = kt.ty.type_size() * (dk / kt.ty.block_size());
    let (r0, r1) = split(q.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    let slot = pad(slot_head(dv) + qb);
    // SAFETY: this thread has rows, so it owns a slot laid out as in `row_slot_bytes`.
    let (vkq, vtmp, h16, qq) = unsafe {
        let base = ctx.ws.add(ith * slot);
        (
            std::slice::from_raw_parts_mut(base as *mut f32, dv),
            std::slice::from_raw_parts_mut(base.add(dv * 4) as *mut f32, dv),
            std::slice::from_raw_parts_mut(base.add(dv * 8) as *mut f16, dv),
            std::slice::from_raw_parts_mut(base.add(slot_head(dv)), qb),
        )
    };
    for ir in r0..r1 {
        let iq1 = ir % nq1;
        let iq2 = (ir / nq1) % nq2;
        let iq3 = ir / (nq1 * nq2);
        let slope = alibi_slope(max_bias, iq2 as u32, nq2 as u32);
        let (ik2, iv2) = (iq2 / rk2, iq2 / rv2);
        // SAFETY: all rows below are in range: k/v rows ic < n_kv, heads reduced by the GQA
        // ratio, mask row iq1 < mask.ne1 (checked at build).
        unsafe {
            // Q rows are contiguous (checked by `supports`).
            let pq = std::slice::from_raw_parts(q.row(iq1, iq2, iq3) as *const f32, dk);
            if kernels::quantize_activations(vdt, pq, qq).is_err() {
                ctx.fail();
                return;
            }
            vkq.fill(0.0);
            h16.fill(f16::ZERO);
            let mut s_sum = 0.0f32;
            let mut m = f32::NEG_INFINITY;
            let mp = mask.map(|mt| {
                mt.row(iq1, iq2 % mt.ne[2] as usize, iq3 % mt.ne[3] as usize) as *const u16
            });
            for ic in 0..n_kv {
                let mv = mp.map_or(0.0, |p| slope * f16_to_f32(*p.add(ic)));
                if mv == f32::NEG_INFINITY {
                    continue;
                }
                let kr = std::slice::from_raw_parts(kt.row(ic, ik2, iq3), k_row);
                let mut s = vec_dot(dk, kr, qq) * scale;
                if softcap != 0.0 {
                    s = softcap * s.tanh();
                }
                s += mv;
                let m_old = m;
                let (mut ms, mut vs) = (1.0f32, 1.0f32);
                if s > m {
                    m = s;
                    ms = (m_old - m).exp();
                    if v16 {
                        scale_f16(h16, ms);
                    } else {
                        for x in vkq.iter_mut() {
                            *x *= ms;
                        }
                    }
                } else {
                    vs = (s - m).exp();
                }
                let pv = v.row(ic, iv2, iq3);
                if v16 {
                    // Upstream accumulates F16 V in f16 (`VKQ16`), with a fused multiply-add.
                    mad_f16(h16, pv, vs);
                } else {
                    if !row_to_f32(v.ty, pv, vtmp) {
                        ctx.fail();
                        return;
                    }
                    for (x, &y) in vkq.iter_mut().zip(vtmp.iter()) {
                        *x += y * vs;
                    }
                }
                s_sum = s_sum * ms + vs;
            }
            if v16 {
                h16.convert_to_f32_slice(vkq);
            }
            let sink = sinks.map(|sk| *(sk.ptr as *const f32).add(iq2));
            // dst is [Dv, n_head, n_q, ne3]: row (iq2, iq1, iq3).
            finish_row(vkq, m, s_sum, sink, false, d.row(iq2, iq1, iq3) as *mut f32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;

    /// [`workspace`] (or [`workspace_bound`]) of an attention with `nq` query and `nkv` KV rows.
    fn ws(nq: i64, nkv: i64, ty: GgmlType, nth: usize, bound: bool) -> usize {
        let mut g = Graph::new();
        let q = g.input("q", GgmlType::F32, &[64, nq, 8]).unwrap();
        let k = g.input("k", ty, &[64, nkv, 2]).unwrap();
        let v = g.input("v", ty, &[64, nkv, 2]).unwrap();
        let (q, k, v) = (
            g.tensor(q).unwrap(),
            g.tensor(k).unwrap(),
            g.tensor(v).unwrap(),
        );
        if bound {
            workspace_bound(q, k, v, nth)
        } else {
            workspace(q, k, v, nth)
        }
    }

    /// The bound at a micro-batch's full shape covers every smaller micro-batch on either path
    /// with as many threads or fewer.
    #[test]
    fn workspace_bound_covers_smaller_shapes_on_both_paths() {
        for ty in [GgmlType::F16, GgmlType::F32, GgmlType::Q8_0] {
            for nth in 1..=9 {
                let b = ws(512, 512, ty, nth, true);
                for nq in [1, 2, 5, 9, 31, 63, 64, 65, 100, 127, 129, 300, 511, 512] {
                    for fewer in 1..=nth {
                        let w = ws(nq, 200, ty, fewer, false);
                        assert!(w <= b, "{ty:?} nth {nth}/{fewer} nq {nq}: {w} > {b}");
                    }
                }
            }
        }
        // The tiled path's slot: score tile, K tile, widened F16 V tile, accumulator.
        let slot = (64 * 64 + 64 * 64 + 64 * 64 + 64 * 64) * 4;
        assert_eq!(ws(100, 200, GgmlType::F16, 1, false), slot);
        assert_eq!(ws(100, 200, GgmlType::F32, 1, false), slot - 64 * 64 * 4);
        assert_eq!(ws(100, 200, GgmlType::F16, 3, false), 2 * pad(slot) + slot);
    }
}

//! `flash_attn_ext`, as upstream's CPU kernel computes it, on one of two paths.
//!
//! The tiled path ([`tiled`]) is upstream's for F32 Q, F16 or F32 K and V of the same type and
//! at least 64 query rows per head (prompt micro-batches): f32 matrix products over 64×64 tiles
//! and upstream's vector exponential.
//!
//! Everything else (decode, quantized or mixed K/V, short micro-batches) takes the per-row path
//! ([`rows`]): one pass over the KV rows per query row with an online softmax, as upstream's
//! `one_chunk` kernel.

mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_x86;
mod rows;
#[cfg(target_arch = "x86_64")]
mod rows_x86;
mod softmax;
#[cfg(target_arch = "x86_64")]
mod softmax_x86;
mod tiled;

use crate::backend::cpu::convert::can_to_f32;
use crate::backend::cpu::exec::NodeCtx;
use crate::backend::cpu::kernels;
use crate::graph::Op;
use crate::quant::GgmlType;
use crate::tensor::Tensor;

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
        per_thread(
            q.nrows().max(0) as usize,
            nth,
            rows::row_slot_bytes(q, k, v),
        )
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
    let rows = slots(q.nrows().max(0) as usize, rows::row_slot_bytes(q, k, v));
    let tiles = if tiled::applies(q.ty, k.ty, v.ty, q.ne[1]) {
        slots(tiled::n_tiles(q), tiled::slot_bytes(k, v))
    } else {
        0
    };
    rows.max(tiles).max(workspace(q, k, v, nth))
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
        rows::compute_rows(ctx, ith, nth, scale, max_bias, softcap);
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

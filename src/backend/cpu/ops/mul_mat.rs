//! `mul_mat`: `dst[M, N, b2, b3] = src0[K, M, a2, a3] · src1[K, N, b2, b3]`, src0 broadcast over
//! the batch dims. Phase 1 converts the activation rows (src1) into the planned workspace —
//! rounded to f16 / bf16 for F16 / BF16 weights, as upstream converts src1 to the weight's
//! vec-dot type — then phase 2 splits the weight rows across threads; each thread converts
//! one weight row to f32 in its scratch and dots it with every activation row.

use crate::backend::cpu::convert::{can_to_f32, round_bf16, round_f16, row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::quant::GgmlType;
use crate::tensor::Tensor;

use super::pad;

/// Weight types this op accepts.
pub fn weight_supported(w: GgmlType) -> bool {
    can_to_f32(w)
}

/// Scratch: the converted activations plus one f32 weight row per thread.
pub fn workspace(a: &Tensor<'_>, b: &Tensor<'_>, nth: usize) -> usize {
    let k = a.ne[0].max(0) as usize;
    let rows = b.nrows().max(0) as usize;
    pad(k * 4) * rows + nth * pad(k * 4)
}

/// Converts activation row `ir` of `b` into f32 at `dst`, rounding as the weight type needs.
///
/// # Safety
/// `dst` valid for `k` floats; `ir` a valid row of `b`.
pub(super) unsafe fn convert_act_row(b: &TV, ir: usize, wty: GgmlType, dst: *mut f32) {
    let k = b.ne[0] as usize;
    let (i1, i2, i3) = b.unravel(ir);
    let p = b.row(i1, i2, i3);
    for i in 0..k {
        let x = *(p.add(i * b.nb[0]) as *const f32);
        *dst.add(i) = match wty {
            GgmlType::F16 => round_f16(x),
            GgmlType::BF16 => round_bf16(x),
            _ => x,
        };
    }
}

#[inline]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n8 = a.len() / 8 * 8;
    for (ca, cb) in a[..n8].chunks_exact(8).zip(b[..n8].chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += ca[j] * cb[j];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for i in n8..a.len() {
        s += a[i] * b[i];
    }
    s
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let k = a.ne[0] as usize;
    let rs = pad(k * 4);
    let nrows_b = b.nrows();
    let acts = ctx.ws as *mut f32;
    // Phase 1: activations.
    let (r0, r1) = split(nrows_b, ith, nth);
    for ir in r0..r1 {
        // SAFETY: the workspace holds `nrows_b` padded rows (see `workspace`).
        unsafe { convert_act_row(&b, ir, a.ty, ctx.ws.add(ir * rs) as *mut f32) };
    }
    ctx.sync(nth);
    // Phase 2: weight rows.
    let (m, n) = (a.ne[1] as usize, b.ne[1] as usize);
    let (ne2, ne3) = (d.ne[2] as usize, d.ne[3] as usize);
    let r2 = ne2 / a.ne[2] as usize;
    let r3 = ne3 / a.ne[3] as usize;
    // SAFETY: per-thread scratch row lies after the activations, inside the workspace.
    let wrow = unsafe {
        std::slice::from_raw_parts_mut(ctx.ws.add(nrows_b * rs + ith * rs) as *mut f32, k)
    };
    let total = m * ne2 * ne3;
    let (w0, w1) = split(total, ith, nth);
    for wr in w0..w1 {
        let im = wr % m;
        let i2 = (wr / m) % ne2;
        let i3 = wr / (m * ne2);
        // SAFETY: weight row (im, i2/r2, i3/r3) exists; rows of quantized weights are
        // contiguous (permute keeps axis 0 for block types).
        unsafe {
            let pw = a.row(im, i2 / r2, i3 / r3);
            let ok = if a.rows_contiguous() {
                row_to_f32(a.ty, pw, wrow)
            } else {
                strided_to_f32(a.ty, pw, a.nb[0], wrow)
            };
            if !ok {
                ctx.fail();
                return;
            }
            for j in 0..n {
                let ir = j + b.ne[1] as usize * (i2 + ne2 * i3);
                let act = std::slice::from_raw_parts(acts.add(ir * rs / 4), k);
                *(d.row(j, i2, i3).add(im * d.nb[0]) as *mut f32) = dot(wrow, act);
            }
        }
    }
}

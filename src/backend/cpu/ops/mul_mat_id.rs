//! `mul_mat_id` (MoE): `dst[:, u, t] = as_[ids[u, t]] · b[:, u % n_b, t]`. Phase 1 converts the
//! activation rows and (thread 0) groups the (slot, token) pairs by expert; phase 2 gives each
//! thread a slice of the weight rows of every used expert, so each expert's weights are read
//! once per call whatever the number of tokens routed to it.

use super::mul_mat::{convert_act_row, dot};
use super::pad;
use crate::backend::cpu::convert::{row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::tensor::Tensor;

/// Scratch: converted activations, one f32 weight row per thread, per-expert counts and lists.
pub fn workspace(a: &Tensor<'_>, b: &Tensor<'_>, dst: &Tensor<'_>, nth: usize) -> usize {
    let k = a.ne[0].max(0) as usize;
    let n_expert = a.ne[2].max(0) as usize;
    let pairs = (dst.ne[1] * dst.ne[2]).max(0) as usize;
    pad(k * 4) * b.nrows().max(0) as usize
        + nth * pad(k * 4)
        + pad(n_expert * 4)
        + pad(n_expert * pairs * 4)
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, b, ids, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let k = a.ne[0] as usize;
    let rs = pad(k * 4);
    let n_expert = a.ne[2] as usize;
    let (n_used, n_tok) = (ids.ne[0] as usize, ids.ne[1] as usize);
    let pairs = n_used * n_tok;
    let n_b = b.ne[1] as usize;
    let nrows_b = b.nrows();
    // SAFETY (all workspace pointers): regions laid out as in `workspace`.
    let (acts, wbase, counts, lists) = unsafe {
        let acts = ctx.ws as *mut f32;
        let wbase = ctx.ws.add(nrows_b * rs);
        let counts = wbase.add(nth * rs) as *mut i32;
        let lists = (counts as *mut u8).add(pad(n_expert * 4)) as *mut i32;
        (acts, wbase, counts, lists)
    };
    let (r0, r1) = split(nrows_b, ith, nth);
    for ir in r0..r1 {
        // SAFETY: row ir of the activations region.
        unsafe { convert_act_row(&b, ir, a.ty, acts.add(ir * rs / 4)) };
    }
    if ith == 0 {
        // SAFETY: counts has n_expert slots, lists n_expert * pairs; ids elements exist.
        unsafe {
            for e in 0..n_expert {
                *counts.add(e) = 0;
            }
            for t in 0..n_tok {
                for u in 0..n_used {
                    let e = *(ids.ptr.add(u * ids.nb[0] + t * ids.nb[1]) as *const i32);
                    if e < 0 || e as usize >= n_expert {
                        ctx.fail();
                        break;
                    }
                    let c = counts.add(e as usize);
                    *lists.add(e as usize * pairs + *c as usize) = (t * n_used + u) as i32;
                    *c += 1;
                }
            }
        }
    }
    ctx.sync(nth);
    if ctx.barrier.aborted() {
        return;
    }
    let m = a.ne[1] as usize;
    // SAFETY: this thread's weight row.
    let wrow = unsafe { std::slice::from_raw_parts_mut(wbase.add(ith * rs) as *mut f32, k) };
    let (m0, m1) = split(m, ith, nth);
    for e in 0..n_expert {
        // SAFETY: counts/lists written in phase 1; rows and columns in range.
        unsafe {
            let cnt = *counts.add(e) as usize;
            if cnt == 0 {
                continue;
            }
            for im in m0..m1 {
                let pw = a.row(im, e, 0);
                let ok = if a.rows_contiguous() {
                    row_to_f32(a.ty, pw, wrow)
                } else {
                    strided_to_f32(a.ty, pw, a.nb[0], wrow)
                };
                if !ok {
                    ctx.fail();
                    return;
                }
                for j in 0..cnt {
                    let p = *lists.add(e * pairs + j) as usize;
                    let (t, u) = (p / n_used, p % n_used);
                    let ir = (u % n_b) + n_b * t;
                    let act = std::slice::from_raw_parts(acts.add(ir * rs / 4), k);
                    *(d.row(u, t, 0).add(im * d.nb[0]) as *mut f32) = dot(wrow, act);
                }
            }
        }
    }
}

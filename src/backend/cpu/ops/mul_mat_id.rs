//! `mul_mat_id` (MoE): `dst[:, u, t] = as_[ids[u, t]] · b[:, u % n_b, t]`.
//!
//! Phase 1 converts every activation row into the experts' vec-dot type (as `mul_mat`) and
//! thread 0 groups the (slot, token) pairs by expert. Then, per used expert and per chunk of
//! at most [`CHUNK`] of its rows: the threads gather those activation rows contiguously, run
//! the kernels' GEMM on a slice of the expert's weight rows each, and scatter the results to
//! their (slot, token) rows — so each expert's weights are read once per chunk, whatever the
//! number of tokens routed to it. Without a kernel for the type, weight rows are converted to
//! f32 one at a time instead.

use super::mul_mat::{act_sizes, convert_act_row, dot, kernel_vdt, quantize_acts, rows_bytes};
use super::pad;
use crate::backend::cpu::convert::{row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::backend::cpu::kernels;
use crate::tensor::Tensor;

/// Most activation rows of one expert processed together.
pub const CHUNK: usize = 64;

struct Layout {
    counts: usize,
    lists: usize,
    gather: usize,
    out: usize,
    acts: usize,
    total: usize,
}

#[allow(clippy::too_many_arguments)]
fn layout(
    a_ty_kernel: bool,
    k: usize,
    m: usize,
    n_expert: usize,
    pairs: usize,
    nrows_b: usize,
    exact: usize,
    ars: usize,
    nth: usize,
) -> Layout {
    let ch = pairs.min(CHUNK);
    let counts = nth * pad(k * 4);
    let lists = counts + pad(n_expert * 4);
    let gather = lists + pad(n_expert * pairs * 4);
    let (g_len, o_len) = if a_ty_kernel {
        (ch * ars, ch * pad(m * 4))
    } else {
        (0, 0)
    };
    let out = gather + g_len;
    let acts = out + o_len;
    let total = acts + rows_bytes(nrows_b, exact, ars);
    Layout {
        counts,
        lists,
        gather,
        out,
        acts,
        total,
    }
}

/// Exact scratch bytes (see the module docs for the regions; activations last).
pub fn workspace(a: &Tensor<'_>, b: &Tensor<'_>, dst: &Tensor<'_>, nth: usize) -> usize {
    let k = a.ne[0].max(0) as usize;
    let kernel = kernel_vdt(a.ty, a.is_contiguous_rows()).is_some();
    let (exact, ars) = act_sizes(a.ty, k, a.is_contiguous_rows());
    let pairs = (dst.ne[1] * dst.ne[2]).max(0) as usize;
    let l = layout(
        kernel,
        k,
        a.ne[1].max(0) as usize,
        a.ne[2].max(0) as usize,
        pairs,
        b.nrows().max(0) as usize,
        exact,
        ars,
        nth,
    );
    l.total
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, b, ids, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let k = a.ne[0] as usize;
    let m = a.ne[1] as usize;
    let n_expert = a.ne[2] as usize;
    let (n_used, n_tok) = (ids.ne[0] as usize, ids.ne[1] as usize);
    let pairs = n_used * n_tok;
    let n_b = b.ne[1] as usize;
    let nrows_b = b.nrows();
    let vdt = kernel_vdt(a.ty, a.rows_contiguous());
    let (exact, ars) = act_sizes(a.ty, k, a.rows_contiguous());
    // The plan may have been made for more threads than run: the layout is anchored at the
    // end of the workspace (activations last), so recompute it from the planned length.
    let l0 = layout(vdt.is_some(), k, m, n_expert, pairs, nrows_b, exact, ars, 0);
    let shift = ctx.ws_len - l0.total;
    let at = |off: usize| -> *mut u8 {
        // SAFETY: every region offset lies inside the planned workspace.
        unsafe { ctx.ws.add(off + shift) }
    };
    let (counts, lists, acts) = (
        at(l0.counts) as *mut i32,
        at(l0.lists) as *mut i32,
        at(l0.acts),
    );
    let (gather, out) = (at(l0.gather), at(l0.out) as *mut f32);
    // SAFETY: per-thread rows at the start of the workspace (shift = nth_planned * row).
    let tmp =
        unsafe { std::slice::from_raw_parts_mut(ctx.ws.add(ith * pad(k * 4)) as *mut f32, k) };

    // Phase 1: activations and the per-expert lists.
    let (r0, r1) = split(nrows_b, ith, nth);
    match vdt {
        Some(vdt) => {
            // SAFETY: rows r0..r1 of the activations region.
            if !unsafe { quantize_acts(&b, vdt, r0, r1, acts, ars, exact, tmp) } {
                ctx.fail();
            }
        }
        None => {
            for ir in r0..r1 {
                // SAFETY: row ir of the activations region (f32 rows `ars` apart).
                unsafe { convert_act_row(&b, ir, a.ty, acts.add(ir * ars) as *mut f32) };
            }
        }
    }
    if ith == 0 {
        // SAFETY: counts has n_expert slots, lists n_expert * pairs; ids elements exist.
        unsafe {
            for e in 0..n_expert {
                *counts.add(e) = 0;
            }
            'outer: for t in 0..n_tok {
                for u in 0..n_used {
                    let e = *(ids.ptr.add(u * ids.nb[0] + t * ids.nb[1]) as *const i32);
                    if e < 0 || e as usize >= n_expert {
                        ctx.fail();
                        break 'outer;
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
    let act_of = |p: usize| {
        let (t, u) = (p / n_used, p % n_used);
        ((u % n_b) + n_b * t, u, t)
    };
    let (m0, m1) = split(m, ith, nth);
    let w_len = m.saturating_sub(1) * a.nb[1] + a.ty.type_size() * (k / a.ty.block_size());
    for e in 0..n_expert {
        // SAFETY: counts written in phase 1 (visible after the barrier).
        let cnt = unsafe { *counts.add(e) } as usize;
        if cnt == 0 {
            continue;
        }
        if vdt.is_none() {
            // Fallback: each thread converts its weight rows and dots them with every row.
            for im in m0..m1 {
                // SAFETY: weight row (im, e) exists; list entries are valid pairs.
                unsafe {
                    let pw = a.row(im, e, 0);
                    let ok = if a.rows_contiguous() {
                        row_to_f32(a.ty, pw, tmp)
                    } else {
                        strided_to_f32(a.ty, pw, a.nb[0], tmp)
                    };
                    if !ok {
                        ctx.fail();
                        return;
                    }
                    for j in 0..cnt {
                        let (ir, u, t) = act_of(*lists.add(e * pairs + j) as usize);
                        let act = std::slice::from_raw_parts(acts.add(ir * ars) as *const f32, k);
                        *(d.row(u, t, 0).add(im * d.nb[0]) as *mut f32) = dot(tmp, act);
                    }
                }
            }
            continue;
        }
        let mut c0 = 0;
        while c0 < cnt {
            let rows = (cnt - c0).min(CHUNK);
            let (g0, g1) = split(rows, ith, nth);
            for j in g0..g1 {
                // SAFETY: gather row j < CHUNK; source activation row valid.
                unsafe {
                    let (ir, _, _) = act_of(*lists.add(e * pairs + c0 + j) as usize);
                    std::ptr::copy_nonoverlapping(acts.add(ir * ars), gather.add(j * ars), exact);
                }
            }
            ctx.sync(nth);
            if m0 < m1 {
                // SAFETY: expert e's weights span w_len bytes; gather holds `rows` rows; this
                // thread writes columns m0..m1 of the out rows.
                unsafe {
                    let w = std::slice::from_raw_parts(a.ptr.add(e * a.nb[2]), w_len);
                    let g = std::slice::from_raw_parts(gather, rows_bytes(rows, exact, ars));
                    let ok = match kernels::MatMul::new(a.ty, w, a.nb[1], m, k, g, ars, rows) {
                        Ok(mm) => {
                            kernels::mul_mat_raw(&mm, m0..m1, 0..rows, out, pad(m * 4) / 4).is_ok()
                        }
                        Err(_) => false,
                    };
                    if !ok {
                        ctx.fail();
                    }
                }
            }
            ctx.sync(nth);
            for j in g0..g1 {
                // SAFETY: out row j holds m floats; dst row (u, t) holds m floats.
                unsafe {
                    let (_, u, t) = act_of(*lists.add(e * pairs + c0 + j) as usize);
                    std::ptr::copy_nonoverlapping(
                        out.add(j * pad(m * 4) / 4),
                        d.row(u, t, 0) as *mut f32,
                        m,
                    );
                }
            }
            ctx.sync(nth);
            c0 += rows;
        }
    }
}

//! `argsort`, `top_k` and `argmax` over rows (f32 in, I32 indices out).

use crate::backend::cpu::exec::{split, NodeCtx};
use std::cmp::Ordering::Equal;

use crate::graph::{Op, SortOrder};

use super::thread_slot;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let ne0 = a.ne[0] as usize;
    if let Op::Argmax = ctx.op {
        let (r0, r1) = split(a.ne[1] as usize, ith, nth);
        for i1 in r0..r1 {
            // SAFETY: row i1 exists; dst has ne1 elements.
            unsafe {
                let p = a.row(i1, 0, 0);
                let (mut best, mut bi) = (f32::NEG_INFINITY, 0usize);
                for i in 0..ne0 {
                    let v = *(p.add(i * a.nb[0]) as *const f32);
                    if v > best {
                        best = v;
                        bi = i;
                    }
                }
                *(d.ptr as *mut i32).add(i1) = bi as i32;
            }
        }
        return;
    }
    let (r0, r1) = split(a.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    // SAFETY: this thread has rows, so it has a workspace slot.
    let idx: &mut [i32] = unsafe { thread_slot(ctx, ith, ne0) };
    for ir in r0..r1 {
        let (i1, i2, i3) = a.unravel(ir);
        // SAFETY: rows in range; idx values are < ne0.
        unsafe {
            let p = a.row(i1, i2, i3);
            let v = |i: i32| *(p.add(i as usize * a.nb[0]) as *const f32);
            for (i, x) in idx.iter_mut().enumerate() {
                *x = i as i32;
            }
            let desc = !matches!(ctx.op, Op::Argsort(SortOrder::Asc));
            // Ties keep index order (an unstable sort with the index as tie-break: no allocation).
            if desc {
                idx.sort_unstable_by(|&x, &y| {
                    v(y).partial_cmp(&v(x)).unwrap_or(Equal).then(x.cmp(&y))
                });
            } else {
                idx.sort_unstable_by(|&x, &y| {
                    v(x).partial_cmp(&v(y)).unwrap_or(Equal).then(x.cmp(&y))
                });
            }
            let pd = d.row(i1, i2, i3) as *mut i32;
            for (i, &x) in idx.iter().take(d.ne[0] as usize).enumerate() {
                *pd.add(i) = x;
            }
            if matches!(ctx.op, Op::TopK(_)) && d.ne[0] > 1 {
                // Upstream's CPU top_k swaps the first two ("the order is not important");
                // the experts' outputs are summed in slot order, so keep its order exactly.
                std::ptr::swap(pd, pd.add(1));
            }
        }
    }
}

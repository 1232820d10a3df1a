//! `concat` along one dim (plain types, any strides).

use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::Op;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::Concat(dim) = ctx.op else { return };
    let dim = dim as usize;
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let es = d.ty.type_size();
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        for i0 in 0..d.ne[0] as usize {
            let mut c = [i0, i1, i2, i3];
            let (src, ok) = if (c[dim] as i64) < a.ne[dim] {
                (a, true)
            } else {
                (b, false)
            };
            if !ok {
                c[dim] -= a.ne[dim] as usize;
            }
            // SAFETY: coordinates are in range for the chosen source.
            unsafe {
                let ps = src.ptr.add((0..4).map(|k| c[k] * src.nb[k]).sum::<usize>());
                let pd = d.row(i1, i2, i3).add(i0 * d.nb[0]);
                std::ptr::copy_nonoverlapping(ps, pd, es);
            }
        }
    }
}

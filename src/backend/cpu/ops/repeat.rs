//! `repeat`: tile src0 to the node's shape (plain types).

use crate::backend::cpu::exec::{split, NodeCtx};

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let es = d.ty.type_size();
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: source coordinates are reduced modulo its shape.
        unsafe {
            let ps = a.row(
                i1 % a.ne[1] as usize,
                i2 % a.ne[2] as usize,
                i3 % a.ne[3] as usize,
            );
            let pd = d.row(i1, i2, i3);
            for i0 in 0..d.ne[0] as usize {
                std::ptr::copy_nonoverlapping(
                    ps.add((i0 % a.ne[0] as usize) * a.nb[0]),
                    pd.add(i0 * d.nb[0]),
                    es,
                );
            }
        }
    }
}

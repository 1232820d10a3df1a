//! `sum_rows` and `mean` (f64 accumulation as upstream's `ggml_float`).

use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::Op;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let ne0 = a.ne[0] as usize;
    let (r0, r1) = split(a.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = a.unravel(ir);
        // SAFETY: rows in range.
        unsafe {
            let p = a.row(i1, i2, i3);
            let mut s = 0.0f64;
            for i in 0..ne0 {
                s += *(p.add(i * a.nb[0]) as *const f32) as f64;
            }
            if let Op::Mean = ctx.op {
                s /= ne0 as f64;
            }
            *(d.row(i1, i2, i3) as *mut f32) = s as f32;
        }
    }
}

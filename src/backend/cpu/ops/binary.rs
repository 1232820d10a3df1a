//! `add`, `sub`, `mul`, `div` with ggml broadcasting (src1 tiles over src0).

use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::Op;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    // one monomorphized loop per op: an indirect call per element costs more than the op
    match ctx.op {
        Op::Add => apply(ctx, ith, nth, |x, y| x + y),
        Op::Sub => apply(ctx, ith, nth, |x, y| x - y),
        Op::Mul => apply(ctx, ith, nth, |x, y| x * y),
        _ => apply(ctx, ith, nth, |x, y| x / y),
    }
}

#[inline(always)]
fn apply(ctx: &NodeCtx<'_>, ith: usize, nth: usize, f: impl Fn(f32, f32) -> f32) {
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let ne0 = d.ne[0] as usize;
    let nb0 = b.ne[0] as usize;
    let (r0, r1) = split(d.nrows(), ith, nth);
    let fast = a.rows_contiguous() && b.rows_contiguous() && d.rows_contiguous();
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        let (j1, j2, j3) = (
            i1 % b.ne[1] as usize,
            i2 % b.ne[2] as usize,
            i3 % b.ne[3] as usize,
        );
        // SAFETY: row indices are in range for each tensor (b's reduced by modulo); element
        // offsets below stay inside each row.
        unsafe {
            let pa = a.row(i1, i2, i3);
            let pb = b.row(j1, j2, j3);
            let pd = d.row(i1, i2, i3);
            if fast {
                let ra = std::slice::from_raw_parts(pa as *const f32, ne0);
                let rb = std::slice::from_raw_parts(pb as *const f32, nb0);
                let rd = pd as *mut f32;
                if nb0 == ne0 {
                    for i in 0..ne0 {
                        *rd.add(i) = f(ra[i], rb[i]);
                    }
                } else {
                    for i in 0..ne0 {
                        *rd.add(i) = f(ra[i], rb[i % nb0]);
                    }
                }
            } else {
                for i in 0..ne0 {
                    let x = *(pa.add(i * a.nb[0]) as *const f32);
                    let y = *(pb.add((i % nb0) * b.nb[0]) as *const f32);
                    *(pd.add(i * d.nb[0]) as *mut f32) = f(x, y);
                }
            }
        }
    }
}

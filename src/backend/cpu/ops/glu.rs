//! Gated units: `act(gate) * up` with the gate and up halves in one tensor or two.

use super::unary::{gelu_erf, gelu_table};
use super::vexp::{silu, silu_row};
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::{GluOp, Op};

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::Glu { op, swapped } = ctx.op else {
        return;
    };
    let d = ctx.dst;
    let a = ctx.s(0);
    let b = ctx.src[1];
    let nc = d.ne[0] as usize;
    let act = |x: f32| match op {
        GluOp::Reglu => x.max(0.0),
        GluOp::Geglu => gelu_table(x),
        GluOp::Swiglu => silu(x),
        GluOp::GegluErf => gelu_erf(x),
    };
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: rows in range and contiguous (checked at build).
        unsafe {
            let pa = a.row(i1, i2, i3) as *const f32;
            let (g, u) = match b {
                Some(b) => (pa, b.row(i1, i2, i3) as *const f32),
                None if swapped => (pa.add(nc), pa),
                None => (pa, pa.add(nc)),
            };
            let pd = d.row(i1, i2, i3) as *mut f32;
            if op == GluOp::Swiglu {
                // upstream's `ggml_vec_swiglu_f32`: vector exponential, libm for the tail
                let gs = std::slice::from_raw_parts(g, nc);
                let us = std::slice::from_raw_parts(u, nc);
                silu_row(gs, Some(us), std::slice::from_raw_parts_mut(pd, nc));
                continue;
            }
            for i in 0..nc {
                *pd.add(i) = act(*g.add(i)) * *u.add(i);
            }
        }
    }
}

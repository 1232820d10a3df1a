//! `rms_norm` and `norm` over `ne[0]` (sums in f64, as upstream's `ggml_float`).

use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::Op;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let ne0 = d.ne[0] as usize;
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: indices in range; elements addressed through strides.
        unsafe {
            let pa = a.row(i1, i2, i3);
            let pd = d.row(i1, i2, i3);
            let x = |i: usize| *(pa.add(i * a.nb[0]) as *const f32);
            let y = |i: usize| pd.add(i * d.nb[0]) as *mut f32;
            match ctx.op {
                Op::RmsNorm { eps } => {
                    let mut sum = 0.0f64;
                    for i in 0..ne0 {
                        let v = x(i);
                        sum += (v * v) as f64;
                    }
                    let mean = (sum / ne0 as f64) as f32;
                    let scale = 1.0 / (mean + eps).sqrt();
                    for i in 0..ne0 {
                        *y(i) = x(i) * scale;
                    }
                }
                Op::Norm { eps } => {
                    let mut sum = 0.0f64;
                    for i in 0..ne0 {
                        sum += x(i) as f64;
                    }
                    let mean = (sum / ne0 as f64) as f32;
                    let mut sum2 = 0.0f64;
                    for i in 0..ne0 {
                        let v = x(i) - mean;
                        *y(i) = v;
                        sum2 += (v * v) as f64;
                    }
                    let variance = (sum2 / ne0 as f64) as f32;
                    let scale = 1.0 / (variance + eps).sqrt();
                    for i in 0..ne0 {
                        *y(i) *= scale;
                    }
                }
                _ => {}
            }
        }
    }
}

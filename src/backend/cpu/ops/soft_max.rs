//! `soft_max_ext`: `softmax(x * scale + slope * mask)` over rows, optional attention sinks,
//! ALiBi slopes per head when `max_bias > 0`. Sums in f64 as upstream.

use crate::backend::cpu::convert::f16_to_f32;
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::Op;
use crate::quant::GgmlType;

use super::thread_slot;

/// ALiBi slope of head `h` of `n_head` (1 when `max_bias == 0`).
pub fn alibi_slope(max_bias: f32, h: u32, n_head: u32) -> f32 {
    if max_bias <= 0.0 {
        return 1.0;
    }
    let n_head_log2 = 1u32 << (n_head as f32).log2().floor() as u32;
    let m0 = 2f32.powf(-max_bias / n_head_log2 as f32);
    let m1 = 2f32.powf(-(max_bias / 2.0) / n_head_log2 as f32);
    if h < n_head_log2 {
        m0.powf((h + 1) as f32)
    } else {
        m1.powf((2 * (h - n_head_log2) + 1) as f32)
    }
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::SoftMax { scale, max_bias } = ctx.op else {
        return;
    };
    let (a, d) = (ctx.s(0), ctx.dst);
    let mask = ctx.src[1];
    let sinks = ctx.src[2];
    let ne0 = a.ne[0] as usize;
    let (r0, r1) = split(a.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    // SAFETY: this thread has rows, so it has a workspace slot.
    let wp: &mut [f32] = unsafe { thread_slot(ctx, ith, ne0) };
    for ir in r0..r1 {
        let (i1, i2, i3) = a.unravel(ir);
        let slope = alibi_slope(max_bias, i2 as u32, a.ne[2] as u32);
        // SAFETY: rows in range; the mask row (i1, i2 % m2, i3 % m3) exists (ne1 >= a.ne1).
        unsafe {
            let ps = a.row(i1, i2, i3) as *const f32;
            for (i, w) in wp.iter_mut().enumerate() {
                *w = *ps.add(i) * scale;
            }
            if let Some(m) = mask {
                let pm = m.row(i1, i2 % m.ne[2] as usize, i3 % m.ne[3] as usize);
                for (i, w) in wp.iter_mut().enumerate() {
                    let mv = if m.ty == GgmlType::F16 {
                        f16_to_f32(*(pm as *const u16).add(i))
                    } else {
                        *(pm as *const f32).add(i)
                    };
                    *w += slope * mv;
                }
            }
            let mut max = f32::NEG_INFINITY;
            for &w in wp.iter() {
                max = max.max(w);
            }
            let sk = sinks.map(|s| *(s.ptr as *const f32).add(i2));
            if let Some(s) = sk {
                max = max.max(s);
            }
            let pd = d.row(i1, i2, i3) as *mut f32;
            let mut sum = 0.0f64;
            for (i, &w) in wp.iter().enumerate() {
                let e = if w == f32::NEG_INFINITY {
                    0.0
                } else {
                    (w - max).exp()
                };
                *pd.add(i) = e;
                sum += e as f64;
            }
            if let Some(s) = sk {
                sum += ((s - max).exp()) as f64;
            }
            let inv = (1.0 / sum) as f32;
            for i in 0..ne0 {
                *pd.add(i) *= inv;
            }
        }
    }
}

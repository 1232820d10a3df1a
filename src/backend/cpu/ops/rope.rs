//! `rope_ext`: rotary embedding, normal and neox pair layouts, partial rotation, YaRN, and
//! per-dimension frequency factors. The cos/sin cache per token is built as upstream does
//! (theta multiplied by `freq_base^(-2/n_dims)` pair after pair, in f32).

use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::{Op, RopeMode, RopeParams};

use super::thread_slot;

/// YaRN correction dims `[start, end]` (as `ggml_rope_yarn_corr_dims`).
pub fn yarn_corr_dims(
    n_dims: i32,
    n_ctx_orig: i32,
    freq_base: f32,
    beta_fast: f32,
    beta_slow: f32,
) -> [f32; 2] {
    let corr = |n_rot: f32| {
        n_dims as f32 * (n_ctx_orig as f32 / (n_rot * 2.0 * std::f32::consts::PI)).ln()
            / (2.0 * freq_base.ln())
    };
    let start = corr(beta_fast).floor();
    let end = corr(beta_slow).ceil();
    [start.max(0.0), end.min(n_dims as f32 - 1.0)]
}

fn ramp(low: f32, high: f32, i0: usize) -> f32 {
    let y = ((i0 / 2) as f32 - low) / (high - low).max(0.001);
    1.0 - y.clamp(0.0, 1.0)
}

/// Fills `cache[2i], cache[2i+1]` with cos/sin of pair `i` at position `p`.
fn cache_init(p: f32, rp: &RopeParams, ff: Option<*const f32>, corr: [f32; 2], cache: &mut [f32]) {
    let theta_scale = rp.freq_base.powf(-2.0 / rp.n_dims as f32);
    let mut theta = p;
    for i0 in (0..cache.len()).step_by(2) {
        // SAFETY: freq_factors has at least n_dims/2 elements (checked at build).
        let f = ff.map_or(1.0, |ptr| unsafe { *ptr.add(i0 / 2) });
        let theta_extrap = theta / f;
        let theta_interp = rp.freq_scale * theta_extrap;
        let mut th = theta_interp;
        let mut mscale = rp.attn_factor;
        if rp.ext_factor != 0.0 {
            let mix = ramp(corr[0], corr[1], i0) * rp.ext_factor;
            th = theta_interp * (1.0 - mix) + theta_extrap * mix;
            mscale *= 1.0 + 0.1 * (1.0 / rp.freq_scale).ln();
        }
        cache[i0] = th.cos() * mscale;
        cache[i0 + 1] = th.sin() * mscale;
        theta *= theta_scale;
    }
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::Rope(rp) = ctx.op else { return };
    let (a, pos, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let ff = ctx.src[2].map(|t| t.ptr as *const f32);
    let ne0 = a.ne[0] as usize;
    let nd = rp.n_dims as usize;
    let corr = yarn_corr_dims(
        rp.n_dims,
        rp.n_ctx_orig,
        rp.freq_base,
        rp.beta_fast,
        rp.beta_slow,
    );
    let (r0, r1) = split(d.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    // SAFETY: this thread has rows, so it has a workspace slot.
    let cache: &mut [f32] = unsafe { thread_slot(ctx, ith, nd) };
    let mut last_i2 = usize::MAX;
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        if i2 != last_i2 {
            // SAFETY: pos has ne2 elements.
            let p = unsafe { *(pos.ptr.add(i2 * pos.nb[0]) as *const i32) };
            cache_init(p as f32, &rp, ff, corr, cache);
            last_i2 = i2;
        }
        // SAFETY: rows in range; elements addressed through strides.
        unsafe {
            let ps = a.row(i1, i2, i3);
            let pd = d.row(i1, i2, i3);
            let x = |i: usize| *(ps.add(i * a.nb[0]) as *const f32);
            let y = |i: usize| pd.add(i * d.nb[0]) as *mut f32;
            let (off, step) = match rp.mode {
                RopeMode::Normal => (1, 1),
                RopeMode::Neox => (nd / 2, 2),
            };
            for i0 in (0..nd).step_by(2) {
                let ic = i0 / step;
                let (c, s) = (cache[i0], cache[i0 + 1]);
                let (x0, x1) = (x(ic), x(ic + off));
                *y(ic) = x0 * c - x1 * s;
                *y(ic + off) = x0 * s + x1 * c;
            }
            for i in nd..ne0 {
                *y(i) = x(i);
            }
        }
    }
}

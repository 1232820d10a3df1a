//! Element-wise functions, `scale` and `clamp` (f32).

use once_cell::sync::Lazy;

use crate::backend::cpu::convert::f16_to_f32;
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::graph::{Op, UnaryOp};

const GELU_COEF_A: f32 = 0.044715;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const SQRT_2_INV: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// tanh-GELU in f32 (the formula upstream tabulates).
#[inline]
pub fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

/// Upstream's CPU table: gelu of every f16 value, stored as f16.
static GELU_TABLE: Lazy<Vec<u16>> = Lazy::new(|| {
    (0..=u16::MAX)
        .map(|h| half::f16::from_f32(gelu_f32(f16_to_f32(h))).to_bits())
        .collect()
});

/// GELU as upstream's CPU backend computes it: input rounded to f16, table lookup (f16
/// result), with the exact identity / zero outside [-10, 10].
#[inline]
pub fn gelu_table(x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        let h = half::f16::from_f32(x).to_bits();
        f16_to_f32(GELU_TABLE[h as usize])
    }
}

/// Exact-erf GELU.
#[inline]
pub fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * SQRT_2_INV))
}

/// erf via a high-accuracy rational approximation in f64 (|error| < 1.2e-7).
pub fn erf(x: f32) -> f32 {
    let x = x as f64;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = 1.0
        - t * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    (if x >= 0.0 { y } else { -y }) as f32
}

use super::vexp::{silu, silu_row};

/// SiLU over the thread's rows: contiguous rows as upstream's `ggml_vec_silu_f32` (vector
/// exponential, libm for the tail), others element by element with libm.
fn silu_rows(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    if !(a.nb[0] == 4 && d.nb[0] == 4) {
        return map_rows(ctx, ith, nth, silu);
    }
    let ne0 = d.ne[0] as usize;
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: rows in range and contiguous (checked above); source and destination are
        // different planned tensors.
        unsafe {
            let x = std::slice::from_raw_parts(a.row(i1, i2, i3) as *const f32, ne0);
            let y = std::slice::from_raw_parts_mut(d.row(i1, i2, i3) as *mut f32, ne0);
            silu_row(x, None, y);
        }
    }
}

/// Runs `f` over the thread's rows; contiguous rows go through slices (vectorisable).
fn map_rows(ctx: &NodeCtx<'_>, ith: usize, nth: usize, f: impl Fn(f32) -> f32) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let ne0 = d.ne[0] as usize;
    let contiguous = a.nb[0] == 4 && d.nb[0] == 4;
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: indices in range; elements addressed through each tensor's strides; source
        // and destination are different planned tensors (never overlapping).
        unsafe {
            let pa = a.row(i1, i2, i3);
            let pd = d.row(i1, i2, i3);
            if contiguous {
                let x = std::slice::from_raw_parts(pa as *const f32, ne0);
                let y = std::slice::from_raw_parts_mut(pd as *mut f32, ne0);
                for (y, &x) in y.iter_mut().zip(x) {
                    *y = f(x);
                }
            } else {
                for i in 0..ne0 {
                    let x = *(pa.add(i * a.nb[0]) as *const f32);
                    *(pd.add(i * d.nb[0]) as *mut f32) = f(x);
                }
            }
        }
    }
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    // One monomorphised loop per function: no per-element dispatch.
    match ctx.op {
        Op::Scale { s, b } => map_rows(ctx, ith, nth, |x| x * s + b),
        Op::Clamp { min, max } => map_rows(ctx, ith, nth, |x| x.max(min).min(max)),
        Op::Unary(u) => match u {
            UnaryOp::Silu => silu_rows(ctx, ith, nth),
            UnaryOp::Gelu => map_rows(ctx, ith, nth, gelu_table),
            UnaryOp::GeluErf => map_rows(ctx, ith, nth, gelu_erf),
            UnaryOp::Sigmoid => map_rows(ctx, ith, nth, |x| 1.0 / (1.0 + (-x).exp())),
            UnaryOp::Tanh => map_rows(ctx, ith, nth, f32::tanh),
            UnaryOp::Relu => map_rows(ctx, ith, nth, |x| x.max(0.0)),
            UnaryOp::Exp => map_rows(ctx, ith, nth, f32::exp),
            UnaryOp::Log => map_rows(ctx, ith, nth, f32::ln),
            UnaryOp::Sqr => map_rows(ctx, ith, nth, |x| x * x),
            UnaryOp::Sqrt => map_rows(ctx, ith, nth, f32::sqrt),
            UnaryOp::Neg => map_rows(ctx, ith, nth, |x| -x),
            UnaryOp::Abs => map_rows(ctx, ith, nth, f32::abs),
        },
        _ => {}
    }
}

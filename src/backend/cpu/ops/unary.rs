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

#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

fn apply(op: Op) -> impl Fn(f32) -> f32 {
    move |x: f32| match op {
        Op::Scale { s, b } => x * s + b,
        Op::Clamp { min, max } => x.max(min).min(max),
        Op::Unary(u) => match u {
            UnaryOp::Silu => silu(x),
            UnaryOp::Gelu => gelu_table(x),
            UnaryOp::GeluErf => gelu_erf(x),
            UnaryOp::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Relu => x.max(0.0),
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqr => x * x,
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Neg => -x,
            UnaryOp::Abs => x.abs(),
        },
        _ => x,
    }
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, d) = (ctx.s(0), ctx.dst);
    let f = apply(ctx.op);
    let ne0 = d.ne[0] as usize;
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: indices in range; elements addressed through each tensor's strides.
        unsafe {
            let pa = a.row(i1, i2, i3);
            let pd = d.row(i1, i2, i3);
            for i in 0..ne0 {
                let x = *(pa.add(i * a.nb[0]) as *const f32);
                *(pd.add(i * d.nb[0]) as *mut f32) = f(x);
            }
        }
    }
}

//! Upstream's vector exponential (`ggml_v_expf`), ported as our own code from its constants
//! and steps, and the SiLU built on it (`ggml_v_silu`: `x / (1 + exp(-x))`).
//!
//! Upstream compiles one of two approximations (and vector widths) depending on the build CPU:
//! with AVX-512F + DQ, 16 lanes and a polynomial including the constant term scaled by
//! `vscalefps`; with AVX2 + FMA, 8 lanes, the polynomial without its constant term and the power
//! of two built from the exponent bits. They round differently. [`ExpFlavor::detect`] picks the
//! one a native upstream build on this CPU uses; both have a per-lane scalar form ([`expf_16`],
//! [`expf_8`]) that the SIMD forms ([`super::vexp_x86`]) match bit for bit. Vector loops leave
//! the last `n % lanes` elements to the scalar libm `expf`, as upstream's do.

/// Which of upstream's `ggml_vec_soft_max_f32` builds a row follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpFlavor {
    /// AVX-512F + DQ build: 16 lanes, `vscalefps`.
    Lanes16,
    /// AVX2 + FMA build: 8 lanes.
    Lanes8,
}

impl ExpFlavor {
    /// The flavor of a native upstream build on this CPU (8 lanes where it has no AVX-512).
    pub fn detect() -> ExpFlavor {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq") {
            return ExpFlavor::Lanes16;
        }
        ExpFlavor::Lanes8
    }
    pub(crate) fn lanes(self) -> usize {
        match self {
            ExpFlavor::Lanes16 => 16,
            ExpFlavor::Lanes8 => 8,
        }
    }
}

/// 1.5 · 2^23: adding it rounds to an integer.
pub(crate) const SHIFT: f32 = 12582912.0;
pub(crate) const LOG2E: u32 = 0x3fb8_aa3b;
pub(crate) const LN2_HI: u32 = 0x3f31_7200;
pub(crate) const LN2_LO: u32 = 0x35bf_be8e;
/// Polynomial coefficients, highest degree first (degree 5 .. 1).
pub(crate) const C5: u32 = 0x3c07_2010;
pub(crate) const C4: u32 = 0x3d2b_9f17;
pub(crate) const C3: u32 = 0x3e2a_af33;
pub(crate) const C2: u32 = 0x3eff_fedb;
pub(crate) const C1: u32 = 0x3f7f_fff6;

fn c(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// Range reduction shared by both flavors: `(z, n, b, u)` with `n` = round(x·log2 e) and
/// `b` = x − n·ln 2 (two-step), `u = b²`.
#[inline(always)]
fn reduce(x: f32) -> (f32, f32, f32, f32) {
    let z = x.mul_add(c(LOG2E), SHIFT);
    let n = z - SHIFT;
    let b = (-n).mul_add(c(LN2_LO), (-n).mul_add(c(LN2_HI), x));
    (z, n, b, b * b)
}

/// One lane of the 16-lane (AVX-512) approximation.
pub fn expf_16(x: f32) -> f32 {
    let (_, n, b, u) = reduce(x);
    let hi = c(C5).mul_add(b, c(C4)).mul_add(u, c(C3).mul_add(b, c(C2)));
    let j = hi.mul_add(u, c(C1).mul_add(b, 1.0));
    if n.abs() > 192.0 {
        return if n <= 0.0 { 0.0 } else { f32::INFINITY };
    }
    // `vscalefps`: j · 2^n rounded once (n is an integer in [-192, 192], so the f64 product is
    // exact and its rounding to f32, subnormals included, is the instruction's).
    let p2 = f64::from_bits(((1023 + n as i64) as u64) << 52);
    (j as f64 * p2) as f32
}

/// One lane of the 8-lane (AVX2) approximation.
pub fn expf_8(x: f32) -> f32 {
    let (z, n, b, u) = reduce(x);
    let e = z.to_bits().wrapping_shl(23);
    let k = f32::from_bits(e.wrapping_add(1.0f32.to_bits()));
    let hi = c(C5).mul_add(b, c(C4)).mul_add(u, c(C3).mul_add(b, c(C2)));
    let j = hi.mul_add(u, c(C1) * b);
    if n.abs() <= 126.0 || n.is_nan() {
        return j.mul_add(k, k);
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    let s2 = f32::from_bits(e.wrapping_sub(g));
    if n.abs() > 192.0 {
        s1 * s1
    } else {
        s2.mul_add(j, s2) * s1
    }
}

/// `x / (1 + exp(-x))` with libm's `expf` (upstream's scalar `ggml_silu_f32`).
#[inline]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// `y[i] = silu(x[i]) · g[i]` (or `silu(x[i])` without `g`) as upstream's `ggml_vec_swiglu_f32`
/// / `ggml_vec_silu_f32` compute it on this CPU: whole vectors with its exponential, the rest
/// with [`silu`].
pub fn silu_row(x: &[f32], g: Option<&[f32]>, y: &mut [f32]) {
    let n = y.len().min(x.len()).min(g.map_or(usize::MAX, |g| g.len()));
    #[cfg(target_arch = "x86_64")]
    let done = super::vexp_x86::silu_row(x, g, &mut y[..n]);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for i in done..n {
        let s = silu(x[i]);
        y[i] = match g {
            Some(g) => s * g[i],
            None => s,
        };
    }
}

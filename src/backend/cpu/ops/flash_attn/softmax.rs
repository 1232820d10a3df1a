//! One query row of one KV tile of the tiled flash attention: scores to probabilities.
//!
//! [`prep_row`] turns the raw dot products into masked scores (`· scale`, optional
//! `tanh · softcap`, `+ slope · mask`, -inf past the tile's last KV row) and returns their
//! maximum; [`exp_row`] replaces them by `exp(score - max)` and returns their sum, both as
//! upstream's `ggml_vec_soft_max_f32` computes them: the exponential is upstream's vector
//! approximation `ggml_v_expf` (ported here as our own code from its constants and steps), and
//! the sum adds, in f64, one f32 horizontal sum per vector, each a halving tree (lane `l` plus
//! lane `l + w/2`, then again, down to one lane).
//!
//! The exponential and its two flavors live in [`crate::backend::cpu::ops::vexp`].

use super::gemm::Simd;
#[cfg(target_arch = "x86_64")]
use super::softmax_x86 as x86;
use crate::backend::cpu::convert::f16_to_f32;
pub use crate::backend::cpu::ops::vexp::ExpFlavor;
use crate::backend::cpu::ops::vexp::{expf_16, expf_8};

/// Sum of `v` (a power-of-two length) by halving: `v[l] + v[l + w/2]`, then again.
fn tree_sum(v: &mut [f32]) -> f32 {
    let mut w = v.len();
    while w > 1 {
        w /= 2;
        for l in 0..w {
            v[l] += v[l + w];
        }
    }
    v[0]
}

/// Scores of one query row over one KV tile, in place in `kq` (64 raw dot products, the first
/// `kv` real): `s·scale`, then `tanh(·)·softcap` when `softcap != 0`, then `+ slope·mask[j]`
/// (`mask` holds the row's `kv` f16 values); -inf for `j >= kv`. Returns the maximum (that of
/// upstream's sequential `ggml_vec_max_f32` for scores without NaN).
///
/// # Safety
/// `mask`, when given, points to `kv` readable f16 values; `simd` is one this CPU runs.
pub unsafe fn prep_row(
    simd: Simd,
    kq: &mut [f32; 64],
    kv: usize,
    mask: Option<*const u16>,
    scale: f32,
    softcap: f32,
    slope: f32,
) -> f32 {
    let capped = softcap != 0.0;
    if capped {
        for x in &mut kq[..kv] {
            *x = (*x * scale).tanh() * softcap;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if simd != Simd::Scalar {
        let scale = (!capped).then_some(scale);
        // SAFETY: AVX2/F16C present; `kq` holds 64 floats, `mask` `kv` values.
        return unsafe { x86::prep8(kq, kv, mask, scale, slope) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    for (j, x) in kq[..kv].iter_mut().enumerate() {
        if !capped {
            *x *= scale;
        }
        if let Some(m) = mask {
            *x += slope * f16_to_f32(*m.add(j));
        }
    }
    kq[kv..].fill(f32::NEG_INFINITY);
    // Upstream's `ggml_vec_max_f32`: `max = max > x ? max : x` from -inf.
    kq.iter()
        .fold(f32::NEG_INFINITY, |m, &x| if m > x { m } else { x })
}

/// `kq[j] = exp(kq[j] - max)` for all 64 (upstream's approximation of the given flavor);
/// returns their sum as upstream's `ggml_vec_soft_max_f32` adds it.
pub fn exp_row(simd: Simd, flavor: ExpFlavor, kq: &mut [f32; 64], max: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    match (simd, flavor) {
        // SAFETY: AVX-512F present (`Simd::Avx512` is only detected with it).
        (Simd::Avx512, ExpFlavor::Lanes16) => return unsafe { x86::exp_row16(kq, max) },
        // SAFETY: AVX2/FMA present.
        (Simd::Avx2 | Simd::Avx512, ExpFlavor::Lanes8) => return unsafe { x86::exp_row8(kq, max) },
        _ => {}
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    let lanes = flavor.lanes();
    let mut sum = 0.0f64;
    for chunk in kq.chunks_mut(lanes) {
        let mut t = [0f32; 16];
        for (l, x) in chunk.iter_mut().enumerate() {
            *x = match flavor {
                ExpFlavor::Lanes16 => expf_16(*x - max),
                ExpFlavor::Lanes8 => expf_8(*x - max),
            };
            t[l] = *x;
        }
        sum += tree_sum(&mut t[..lanes]) as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs over the whole range the softmax sees (x − max ≤ 0) and past it: near 0, the
    /// |n| > 126 and > 192 branches, subnormal results, ±0, -inf, and positive values.
    fn inputs() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            f32::NEG_INFINITY,
            -1e-30,
            -87.0,
            -87.4,
            -88.0,
            -100.0,
        ];
        v.extend([
            -103.0, -104.5, -130.0, -133.2, -140.0, -200.0, 1.0, 50.0, 88.0, 89.0,
        ]);
        let mut s = 0x9E37_79B9u64;
        for i in 0..20000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 40) as f32 / (1u64 << 24) as f32;
            let span = [1.0f32, 10.0, 90.0, 140.0][i % 4];
            v.push(-u * span);
        }
        v
    }

    /// Exact values where the approximation must be exact or saturate.
    #[test]
    fn expf_ports_are_close_and_saturate() {
        for f in [expf_16 as fn(f32) -> f32, expf_8] {
            assert_eq!(f(0.0), 1.0);
            assert_eq!(f(f32::NEG_INFINITY), 0.0);
            assert_eq!(f(-200.0), 0.0);
            for x in inputs().into_iter().filter(|x| (-80.0..=0.0).contains(x)) {
                let e = (x as f64).exp();
                assert!(
                    ((f(x) as f64 - e) / e).abs() < 4e-7,
                    "x {x}: {} vs {e}",
                    f(x)
                );
            }
        }
    }

    /// The SIMD rows equal the scalar per-lane forms (values and f64 sums) bit for bit.
    #[test]
    fn simd_exp_rows_match_scalar_bitwise() {
        let simd = Simd::detect();
        if simd == Simd::Scalar {
            return;
        }
        let flavors: &[ExpFlavor] = if simd == Simd::Avx512 {
            &[ExpFlavor::Lanes16, ExpFlavor::Lanes8]
        } else {
            &[ExpFlavor::Lanes8]
        };
        for &flavor in flavors {
            for (r, chunk) in inputs().chunks_exact(64).enumerate() {
                let mut a = [0f32; 64];
                a.copy_from_slice(chunk);
                let max = [0.0, 0.5, -3.0][r % 3];
                let mut b = a;
                let sa = exp_row(simd, flavor, &mut a, max);
                let sb = exp_row(Simd::Scalar, flavor, &mut b, max);
                assert_eq!(sa.to_bits(), sb.to_bits(), "{flavor:?} row {r}");
                for l in 0..64 {
                    assert_eq!(a[l].to_bits(), b[l].to_bits(), "{flavor:?} {}", chunk[l]);
                }
            }
        }
    }

    #[test]
    fn prep_row_simd_matches_scalar() {
        let mask: Vec<u16> = (0..64)
            .map(|j| match j % 5 {
                0 => 0xFC00,
                1 => half::f16::from_f32(-1.5).to_bits(),
                _ => 0,
            })
            .collect();
        for (kv, softcap) in [
            (64usize, 0.0f32),
            (45, 0.0),
            (7, 0.0),
            (64, 20.0),
            (45, 20.0),
        ] {
            for with_mask in [false, true] {
                let mut a = [0f32; 64];
                for (j, x) in a.iter_mut().enumerate() {
                    *x = (j as f32 * 0.37).sin() * 9.0;
                }
                let mut b = a;
                let m = with_mask.then_some(mask.as_ptr());
                // SAFETY: mask has 64 values ≥ kv.
                let (ma, mb) = unsafe {
                    (
                        prep_row(Simd::detect(), &mut a, kv, m, 0.125, softcap, 0.5),
                        prep_row(Simd::Scalar, &mut b, kv, m, 0.125, softcap, 0.5),
                    )
                };
                assert_eq!(ma.to_bits(), mb.to_bits());
                assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
                assert!(a[kv..].iter().all(|&x| x == f32::NEG_INFINITY));
            }
        }
    }
}

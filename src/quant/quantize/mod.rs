//! Reference quantizers: f32 rows into the block formats of ggml, byte for byte what
//! upstream writes, for every type in [`QUANTIZE_TYPES`]:
//! - [`quantize_row`] / [`quantize_rows`]: `ggml_quantize_chunk` with no importance matrix
//!   (what `llama_model_quantize` does without `--imatrix`);
//! - [`quantize_rows_imatrix`]: the same with an importance matrix;
//! - [`from_float_row`]: ggml-cpu's `from_float` (`ggml_cpy` / `ggml_set_rows` into a
//!   quantized tensor, e.g. a quantized KV cache), which differs for IQ4_NL.
//!
//! Not here: IQ1_*, IQ2_* and IQ3_XXS (upstream's `llama_model_quantize` refuses them
//! without an importance matrix, and they need grid searches of their own).
//!
//! Every routine here works on raw little-endian byte layouts (no `#[repr(C)]` structs); the
//! f16 / bf16 / E8M0 conversions and the IQ4 / FP4 value tables are the shared ones of
//! `quant::float` and `quant::iq_tables`. The float arithmetic
//! follows upstream's operation order exactly, one rounding per C operation: upstream's
//! `ggml-base` is compiled without FMA, so no operation here is fused either.
//!
//! Families, one file each: `float` (F16, BF16), `legacy` (Q4_0 .. Q8_1),
//! `kquants` (Q2_K .. Q8_K, helpers in `kfit`), `iq3s` (IQ3_S), `iq4` (IQ4_NL, IQ4_XS),
//! `mxfp4` (MXFP4, NVFP4), `lowbit` (Q1_0, Q2_0, TQ1_0, TQ2_0); `weighted` holds the
//! importance-matrix variants ([`quantize_rows_imatrix`]).
//!
//! Loops index by position on purpose: they mirror upstream's loops, which makes the
//! operation order easy to audit against the C source.
#![allow(clippy::needless_range_loop)]

mod float;
mod iq3s;
mod iq4;
mod kfit;
mod kquants;
mod legacy;
mod lowbit;
mod mxfp4;
mod weighted;

use crate::error::{Error, Result};
use crate::quant::float::{f32_to_fp16, fp16_to_f32};
use crate::quant::types::GgmlType;

/// The types [`quantize_row`] accepts.
pub const QUANTIZE_TYPES: &[GgmlType] = &[
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q8_1,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::Q8_K,
    GgmlType::IQ3_S,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::MXFP4,
    GgmlType::NVFP4,
    GgmlType::Q1_0,
    GgmlType::Q2_0,
    GgmlType::TQ1_0,
    GgmlType::TQ2_0,
];

/// True when [`quantize_row`] can produce `ty`.
pub fn can_quantize(ty: GgmlType) -> bool {
    QUANTIZE_TYPES.contains(&ty)
}

/// One block of `ty`: `x` holds `ty.block_size()` values, `y` gets `ty.type_size()` bytes.
type BlockFn = fn(&[f32], &mut [u8]);

fn block_fn(ty: GgmlType) -> Option<BlockFn> {
    Some(match ty {
        GgmlType::F16 => float::quantize_block_f16,
        GgmlType::BF16 => float::quantize_block_bf16,
        GgmlType::Q4_0 => legacy::quantize_block_q4_0,
        GgmlType::Q4_1 => legacy::quantize_block_q4_1,
        GgmlType::Q5_0 => legacy::quantize_block_q5_0,
        GgmlType::Q5_1 => legacy::quantize_block_q5_1,
        GgmlType::Q8_0 => legacy::quantize_block_q8_0,
        GgmlType::Q8_1 => legacy::quantize_block_q8_1,
        GgmlType::Q2_K => kquants::quantize_block_q2_k,
        GgmlType::Q3_K => kquants::quantize_block_q3_k,
        GgmlType::Q4_K => kquants::quantize_block_q4_k,
        GgmlType::Q5_K => kquants::quantize_block_q5_k,
        GgmlType::Q6_K => kquants::quantize_block_q6_k,
        GgmlType::Q8_K => kquants::quantize_block_q8_k,
        GgmlType::IQ3_S => iq3s::quantize_block_iq3_s,
        GgmlType::IQ4_NL => iq4::quantize_block_iq4_nl,
        GgmlType::IQ4_XS => iq4::quantize_block_iq4_xs,
        GgmlType::MXFP4 => mxfp4::quantize_block_mxfp4,
        GgmlType::NVFP4 => mxfp4::quantize_block_nvfp4,
        GgmlType::Q1_0 => lowbit::quantize_block_q1_0,
        GgmlType::Q2_0 => lowbit::quantize_block_q2_0,
        GgmlType::TQ1_0 => lowbit::quantize_block_tq1_0,
        GgmlType::TQ2_0 => lowbit::quantize_block_tq2_0,
        _ => return None,
    })
}

/// Quantizes one row: `src` (a multiple of `ty.block_size()` values) into `dst`, which must
/// hold exactly `ty.row_size(src.len())` bytes.
///
/// The result is bit-identical to upstream's `ggml_quantize_chunk(ty, src, dst, 0, 1,
/// src.len(), NULL)`; for Q8_1 and Q8_K (which that function does not take) it matches
/// `quantize_row_q8_1_ref` / `quantize_row_q8_K_ref`. That holds for non-finite input too
/// (infinities, subnormals, the default NaN), with one exception: NaNs carrying another
/// payload can give different Q2_K / Q4_K / Q5_K bytes, because x86 keeps the first
/// operand's payload when both operands are NaN and upstream's result then depends on the
/// operand order its compiler chose.
pub fn quantize_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    let f = block_fn(ty).ok_or_else(|| {
        Error::unsupported(format!("quantizing to {} is not supported", ty.name()))
    })?;
    let need = ty
        .row_size(src.len() as u64)
        .map_err(|e| e.within("quantize_row"))?;
    if dst.len() as u64 != need {
        return Err(Error::invalid(format!(
            "quantize_row: {} row of {} values needs {need} bytes, got {}",
            ty.name(),
            src.len(),
            dst.len()
        )));
    }
    let qk = ty.block_size();
    let size = ty.type_size();
    for (x, y) in src.chunks_exact(qk).zip(dst.chunks_exact_mut(size)) {
        f(x, y);
    }
    Ok(())
}

/// Quantizes `src.len() / n_per_row` rows of `n_per_row` values each into `dst`
/// (`n_rows * ty.row_size(n_per_row)` bytes), as `ggml_quantize_chunk` does for a whole tensor.
pub fn quantize_rows(ty: GgmlType, src: &[f32], n_per_row: usize, dst: &mut [u8]) -> Result<()> {
    let row_size = check_rows("quantize_rows", ty, src.len(), n_per_row, dst.len())?;
    for (x, y) in src
        .chunks_exact(n_per_row)
        .zip(dst.chunks_exact_mut(row_size))
    {
        quantize_row(ty, x, y)?;
    }
    Ok(())
}

/// Checks that `ty` can be produced and that `src_len` values and `dst_len` bytes make whole
/// rows of `n_per_row`; returns the row size in bytes.
fn check_rows(
    what: &str,
    ty: GgmlType,
    src_len: usize,
    n_per_row: usize,
    dst_len: usize,
) -> Result<usize> {
    if !can_quantize(ty) {
        return Err(Error::unsupported(format!(
            "{what}: quantizing to {} is not supported",
            ty.name()
        )));
    }
    if n_per_row == 0 || !src_len.is_multiple_of(n_per_row) {
        return Err(Error::invalid(format!(
            "{what}: {src_len} values are not a whole number of rows of {n_per_row}"
        )));
    }
    let row_size = ty.row_size(n_per_row as u64).map_err(|e| e.within(what))?;
    let n_rows = (src_len / n_per_row) as u64;
    if n_rows.checked_mul(row_size) != Some(dst_len as u64) {
        return Err(Error::invalid(format!(
            "{what}: {n_rows} {} rows of {n_per_row} values need {row_size} bytes each, got {dst_len} in all",
            ty.name()
        )));
    }
    Ok(row_size as usize)
}

/// True when [`from_float_row`] can produce `ty` (every type of [`QUANTIZE_TYPES`] but
/// IQ3_S, whose `from_float` upstream removed).
pub fn can_from_float(ty: GgmlType) -> bool {
    can_quantize(ty) && ty != GgmlType::IQ3_S
}

/// Converts one row as ggml-cpu's `type_traits_cpu[ty].from_float` does (what `ggml_cpy` and
/// `ggml_set_rows` into a quantized tensor use, e.g. for a quantized KV cache), in its scalar
/// form. The same bytes as [`quantize_row`] except for IQ4_NL, which takes
/// `quantize_row_iq4_nl_ref` (no scale search); IQ3_S is refused as upstream has no
/// `from_float` for it. Upstream's x86 builds replace Q8_0 / Q8_1 / Q8_K with SIMD versions
/// that round differently; those live with the CPU kernels, not here.
pub fn from_float_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    match ty {
        GgmlType::IQ4_NL => {
            let need = ty
                .row_size(src.len() as u64)
                .map_err(|e| e.within("from_float_row"))?;
            if dst.len() as u64 != need {
                return Err(Error::invalid(format!(
                    "from_float_row: iq4_nl row of {} values needs {need} bytes, got {}",
                    src.len(),
                    dst.len()
                )));
            }
            iq4::quantize_row_iq4_nl_ref(src, dst);
            Ok(())
        }
        GgmlType::IQ3_S => Err(Error::unsupported(
            "from_float_row: upstream has no from_float for iq3_s",
        )),
        _ => quantize_row(ty, src, dst),
    }
}

/// Quantizes rows as [`quantize_rows`] does, with an optional importance matrix: `imatrix`
/// holds one weight per column (`n_per_row` values) and applies to every row, as the
/// `imatrix` argument of upstream's `ggml_quantize_chunk`. Q4_0, Q4_1, Q5_0, Q5_1, Q2_K ..
/// Q6_K, IQ4_NL, IQ4_XS and IQ3_S then take upstream's weighted path (bit-identical);
/// the other types ignore the weights, as upstream's do.
pub fn quantize_rows_imatrix(
    ty: GgmlType,
    src: &[f32],
    n_per_row: usize,
    imatrix: Option<&[f32]>,
    dst: &mut [u8],
) -> Result<()> {
    let Some(qw) = imatrix else {
        return quantize_rows(ty, src, n_per_row, dst);
    };
    if qw.len() != n_per_row {
        return Err(Error::invalid(format!(
            "quantize_rows_imatrix: {} importance weights for rows of {n_per_row}",
            qw.len()
        )));
    }
    let row_size = check_rows("quantize_rows_imatrix", ty, src.len(), n_per_row, dst.len())?;
    for (x, y) in src
        .chunks_exact(n_per_row)
        .zip(dst.chunks_exact_mut(row_size))
    {
        if !weighted::quantize_row_weighted(ty, x, qw, y) {
            quantize_row(ty, x, y)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- shared helpers

/// Rounds to the nearest integer, ties to even, by the 1.5 * 2^23 trick of ggml's
/// `nearest_int` (valid for |v| <= 2^22 - 1, which the callers guarantee for finite data).
#[inline]
pub(crate) fn nearest_int(v: f32) -> i32 {
    let bits = (v + 12_582_912.0f32).to_bits() as i32;
    (bits & 0x007f_ffff) - 0x0040_0000
}

/// Float to int conversion as x86-64's `cvttss2si` does it for C casts: truncation toward
/// zero, and `i32::MIN` for NaN and out-of-range values (where Rust's `as` would saturate).
/// Narrower C targets (`(int8_t)f`, `(uint8_t)f`) take the low bits of this result.
#[inline]
pub(crate) fn c_f32_to_i32(v: f32) -> i32 {
    // The range test is false for NaN too.
    if !(-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        i32::MIN
    } else {
        v as i32
    }
}

/// Stores `v` as ggml's f16 (round to nearest even) at `y[0..2]`.
#[inline]
pub(crate) fn put_f16(y: &mut [u8], v: f32) {
    y[..2].copy_from_slice(&f32_to_fp16(v).to_le_bytes());
}

/// Reads back an f16 stored by [`put_f16`] (exact).
#[inline]
pub(crate) fn get_f16(y: &[u8]) -> f32 {
    fp16_to_f32(u16::from_le_bytes([y[0], y[1]]))
}

/// The f16 round trip of `v` (what a block stores and its readers see).
#[cfg(test)]
pub(crate) fn f16_round(v: f32) -> f32 {
    fp16_to_f32(f32_to_fp16(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(-2.5), -2);
        assert_eq!(nearest_int(-2.6), -3);
        assert_eq!(nearest_int(4_194_303.0), 4_194_303);
    }

    #[test]
    fn bad_lengths_and_types_are_errors() {
        let x = [0.0f32; 64];
        let mut y = [0u8; 36];
        assert!(quantize_row(GgmlType::Q4_0, &x, &mut y).is_ok());
        assert!(quantize_row(GgmlType::Q4_0, &x[..40], &mut y).is_err());
        assert!(quantize_row(GgmlType::Q4_0, &x, &mut y[..35]).is_err());
        assert!(quantize_row(GgmlType::IQ2_XXS, &x, &mut y).is_err());
        assert!(quantize_rows(GgmlType::Q4_0, &x, 0, &mut y).is_err());
        assert!(quantize_rows(GgmlType::Q4_0, &x, 48, &mut y).is_err());
        assert!(quantize_rows(GgmlType::Q4_0, &x, 32, &mut y).is_ok());
        assert!(from_float_row(GgmlType::IQ4_NL, &x, &mut y).is_ok());
        assert!(from_float_row(GgmlType::IQ4_NL, &x, &mut y[..35]).is_err());
        assert!(from_float_row(GgmlType::IQ3_S, &[0.0; 256], &mut [0u8; 110]).is_err());
        assert!(from_float_row(GgmlType::IQ4_NL, &[], &mut []).is_ok());
        let w = [1.0f32; 32];
        assert!(quantize_rows_imatrix(GgmlType::Q4_0, &x, 32, Some(&w), &mut y).is_ok());
        assert!(quantize_rows_imatrix(GgmlType::Q4_0, &x, 32, Some(&w[..31]), &mut y).is_err());
        assert!(
            quantize_rows_imatrix(GgmlType::IQ2_XXS, &x[..0], 256, Some(&[0.0; 256]), &mut [])
                .is_err()
        );
        assert!(quantize_rows_imatrix(GgmlType::Q4_0, &x, 32, Some(&w), &mut y[..35]).is_err());
    }

    #[test]
    fn non_finite_and_extreme_inputs_do_not_panic() {
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            -1e-40,
            0.0,
            -0.0,
            1e30,
            -3e38,
        ];
        for &t in QUANTIZE_TYPES {
            let n = 512;
            for pattern in 0..4usize {
                let x: Vec<f32> = (0..n)
                    .map(|i| match pattern {
                        0 => specials[i % specials.len()],
                        1 => specials[(i / 32) % specials.len()],
                        2 if i % 37 == 0 => specials[(i / 37) % specials.len()],
                        _ => (i as f32 * 0.77).sin() * 1e20,
                    })
                    .collect();
                let mut y = vec![0u8; t.row_size(n as u64).unwrap_or(0) as usize];
                assert!(quantize_row(t, &x, &mut y).is_ok(), "{}", t.name());
                let w: Vec<f32> = (0..n)
                    .map(|i| specials[(i * 7 + pattern) % specials.len()])
                    .collect();
                assert!(
                    quantize_rows_imatrix(t, &x, n, Some(&w), &mut y).is_ok(),
                    "{}",
                    t.name()
                );
            }
        }
    }

    #[test]
    fn every_listed_type_has_a_block_fn() {
        for &t in QUANTIZE_TYPES {
            let n = t.block_size() * 2;
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut y = vec![0u8; 2 * t.type_size()];
            assert!(quantize_row(t, &x, &mut y).is_ok(), "{}", t.name());
        }
    }
}

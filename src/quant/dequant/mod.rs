//! Scalar reference dequantization: one row of any supported type to `f32`.
//!
//! These routines are the oracles the SIMD and GPU kernels are tested against, so they are
//! written for clarity and follow ggml's `dequantize_row_*` arithmetic operation for
//! operation (same products in the same order, no fused multiply-add), which makes them
//! bit-exact with upstream and with the `gguf` Python package.
//!
//! One file per family: [`plain`] (F32/F16/BF16), [`legacy`] (Q4_0 .. Q8_1, Q1_0, Q2_0),
//! [`kquants`] (Q2_K .. Q8_K), [`iq_grid`] (IQ2_*, IQ3_*), [`iq1`] (IQ1_S, IQ1_M),
//! [`nonlinear`] (IQ4_NL, IQ4_XS, MXFP4, NVFP4) and [`ternary`] (TQ1_0, TQ2_0).

pub mod iq1;
pub mod iq_grid;
pub mod kquants;
pub mod legacy;
pub mod nonlinear;
pub mod plain;
pub mod ternary;

use super::float::fp16_to_f32;
use super::GgmlType;
use crate::error::{Error, Result};

/// A row dequantizer: `src` holds exactly the blocks for `dst.len()` elements. (Called with
/// other lengths it converts as many whole blocks as both slices hold, and never panics.)
pub type DequantizeFn = fn(src: &[u8], dst: &mut [f32]);

/// The scalar dequantizer of `ty`, or `None` when the type has none (integer types;
/// upstream has no `to_float` for Q8_1 either, but this library provides one).
pub fn dequantize_fn(ty: GgmlType) -> Option<DequantizeFn> {
    use GgmlType as T;
    let f: DequantizeFn = match ty {
        T::F32 => plain::f32_row,
        T::F16 => plain::f16_row,
        T::BF16 => plain::bf16_row,
        T::Q1_0 => legacy::q1_0,
        T::Q2_0 => legacy::q2_0,
        T::Q4_0 => legacy::q4_0,
        T::Q4_1 => legacy::q4_1,
        T::Q5_0 => legacy::q5_0,
        T::Q5_1 => legacy::q5_1,
        T::Q8_0 => legacy::q8_0,
        T::Q8_1 => legacy::q8_1,
        T::Q2_K => kquants::q2_k,
        T::Q3_K => kquants::q3_k,
        T::Q4_K => kquants::q4_k,
        T::Q5_K => kquants::q5_k,
        T::Q6_K => kquants::q6_k,
        T::Q8_K => kquants::q8_k,
        T::IQ2_XXS => iq_grid::iq2_xxs,
        T::IQ2_XS => iq_grid::iq2_xs,
        T::IQ2_S => iq_grid::iq2_s,
        T::IQ3_XXS => iq_grid::iq3_xxs,
        T::IQ3_S => iq_grid::iq3_s,
        T::IQ1_S => iq1::iq1_s,
        T::IQ1_M => iq1::iq1_m,
        T::IQ4_NL => nonlinear::iq4_nl,
        T::IQ4_XS => nonlinear::iq4_xs,
        T::MXFP4 => nonlinear::mxfp4,
        T::NVFP4 => nonlinear::nvfp4,
        T::TQ1_0 => ternary::tq1_0,
        T::TQ2_0 => ternary::tq2_0,
        T::I8 | T::I16 | T::I32 | T::I64 | T::F64 => return None,
    };
    Some(f)
}

/// Dequantizes one row: `dst.len()` elements from `src`, which must be exactly
/// `ty.row_size(dst.len())` bytes. Errors when the lengths disagree or the type has no
/// dequantizer.
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<()> {
    let f =
        dequantize_fn(ty).ok_or_else(|| Error::unsupported(format!("dequantize {}", ty.name())))?;
    let need = ty
        .row_size(dst.len() as u64)
        .map_err(|e| Error::invalid(e.context).within("dequantize_row"))?;
    if src.len() as u64 != need {
        return Err(Error::invalid(format!(
            "dequantize_row: {} elements of {} need {need} bytes, got {}",
            dst.len(),
            ty.name(),
            src.len()
        )));
    }
    f(src, dst);
    Ok(())
}

/// Runs `f` on each (block bytes, block output) pair as fixed-size arrays.
#[inline(always)]
fn for_blocks<const TS: usize, const BS: usize>(
    src: &[u8],
    dst: &mut [f32],
    mut f: impl FnMut(&[u8; TS], &mut [f32; BS]),
) {
    for (s, d) in src.chunks_exact(TS).zip(dst.chunks_exact_mut(BS)) {
        // chunks_exact guarantees the lengths; the conversions cannot fail.
        if let (Ok(s), Ok(d)) = (<&[u8; TS]>::try_from(s), <&mut [f32; BS]>::try_from(d)) {
            f(s, d);
        }
    }
}

/// The f16 at byte offset `off`, as f32.
#[inline(always)]
fn f16_at(b: &[u8], off: usize) -> f32 {
    fp16_to_f32(u16_at(b, off))
}

/// The little-endian u16 at byte offset `off`.
#[inline(always)]
fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// The little-endian u32 at byte offset `off`.
#[inline(always)]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn lengths_are_checked() {
        let mut dst = vec![0f32; 64];
        let e = dequantize_row(GgmlType::Q4_0, &[0u8; 35], &mut dst).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(dequantize_row(GgmlType::Q4_0, &[0u8; 36], &mut dst).is_ok());
        let mut odd = vec![0f32; 33];
        assert!(dequantize_row(GgmlType::Q4_0, &[0u8; 36], &mut odd).is_err());
        let e = dequantize_row(GgmlType::I32, &[0u8; 4], &mut dst[..1]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn every_float_and_quantized_type_has_a_dequantizer() {
        for &t in GgmlType::ALL {
            let want =
                t.is_quantized() || matches!(t, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16);
            assert_eq!(dequantize_fn(t).is_some(), want, "{}", t.name());
        }
    }

    #[test]
    fn zero_blocks_give_zeros() {
        for &t in GgmlType::ALL {
            let Some(f) = dequantize_fn(t) else { continue };
            let n = t.block_size() * 2;
            let src = vec![0u8; t.type_size() * 2];
            let mut dst = vec![1f32; n];
            f(&src, &mut dst);
            assert!(dst.iter().all(|v| *v == 0.0), "{}", t.name());
        }
    }
}

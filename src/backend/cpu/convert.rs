//! Row conversions between f32 and every storage type (F16/BF16 here, block types through
//! `crate::quant`'s scalar reference routines).

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::quant::GgmlType;

/// Whether rows of `ty` can be converted to f32.
pub fn can_to_f32(ty: GgmlType) -> bool {
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => true,
        t if t.is_quantized() => quant_supported(t),
        _ => false,
    }
}

/// Whether f32 rows can be converted to `ty`.
pub fn can_from_f32(ty: GgmlType) -> bool {
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => true,
        t if t.is_quantized() => quant_supported(t) && quantize_supported(t),
        _ => false,
    }
}

fn quant_supported(ty: GgmlType) -> bool {
    crate::quant::dequantize_fn(ty).is_some()
}

fn quantize_supported(ty: GgmlType) -> bool {
    crate::quant::quantize::can_quantize(ty)
}

/// Converts one contiguous row of `n` elements of `ty` at `src` into `dst[..n]`.
/// Returns false when the type is not convertible (checked beforehand by `can_to_f32`).
///
/// # Safety
/// `src` must be valid for `ty.row_size(n)` bytes, aligned to the element type for plain types.
pub unsafe fn row_to_f32(ty: GgmlType, src: *const u8, dst: &mut [f32]) -> bool {
    let n = dst.len();
    match ty {
        GgmlType::F32 => {
            std::ptr::copy_nonoverlapping(src as *const f32, dst.as_mut_ptr(), n);
            true
        }
        GgmlType::F16 => {
            std::slice::from_raw_parts(src as *const f16, n).convert_to_f32_slice(dst);
            true
        }
        GgmlType::BF16 => {
            let s = std::slice::from_raw_parts(src as *const u16, n);
            for (d, &h) in dst.iter_mut().zip(s) {
                *d = f32::from_bits((h as u32) << 16);
            }
            true
        }
        t if t.is_quantized() => match crate::quant::dequantize_fn(t) {
            Some(f) => {
                let bytes = t.type_size() * (n / t.block_size());
                f(std::slice::from_raw_parts(src, bytes), dst);
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// Converts `src` (f32) into one contiguous row of `ty` at `dst`.
///
/// # Safety
/// `dst` must be valid for `ty.row_size(src.len())` bytes, aligned for plain types.
pub unsafe fn row_from_f32(ty: GgmlType, src: &[f32], dst: *mut u8) -> bool {
    let n = src.len();
    match ty {
        GgmlType::F32 => {
            std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut f32, n);
            true
        }
        GgmlType::F16 => {
            std::slice::from_raw_parts_mut(dst as *mut f16, n).convert_from_f32_slice(src);
            true
        }
        GgmlType::BF16 => {
            let d = std::slice::from_raw_parts_mut(dst as *mut u16, n);
            for (o, &x) in d.iter_mut().zip(src) {
                *o = bf16::from_f32(x).to_bits();
            }
            true
        }
        t if t.is_quantized() => {
            if !n.is_multiple_of(t.block_size()) {
                return false;
            }
            let d = std::slice::from_raw_parts_mut(dst, t.type_size() * (n / t.block_size()));
            if t == GgmlType::Q8_0 {
                // Upstream's CPU `from_float` for Q8_0 (AVX2 rounding), as set_rows uses it.
                super::kernels::quantize::quantize_row_q8_0_ggml(src, d);
                true
            } else {
                crate::quant::quantize_row(t, src, d).is_ok()
            }
        }
        _ => false,
    }
}

/// `x` rounded to f16 precision.
#[inline]
pub fn round_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

/// `x` rounded to bf16 precision.
#[inline]
pub fn round_bf16(x: f32) -> f32 {
    bf16::from_f32(x).to_f32()
}

/// Reads an f16 as f32.
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    f16::from_bits(h).to_f32()
}

/// Converts one row of a plain type (F32/F16/BF16) whose elements are `nb0` bytes apart.
///
/// # Safety
/// `src` must be valid for `(dst.len() - 1) * nb0 + 4` bytes.
pub unsafe fn strided_to_f32(ty: GgmlType, src: *const u8, nb0: usize, dst: &mut [f32]) -> bool {
    for (i, d) in dst.iter_mut().enumerate() {
        let p = src.add(i * nb0);
        *d = match ty {
            GgmlType::F32 => *(p as *const f32),
            GgmlType::F16 => f16::from_bits(*(p as *const u16)).to_f32(),
            GgmlType::BF16 => f32::from_bits((*(p as *const u16) as u32) << 16),
            _ => return false,
        };
    }
    true
}

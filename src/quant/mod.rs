//! Tensor element types and their block formats: `GgmlType` (the ggml.h numbers),
//! `#[repr(C)]` block layouts, and the scalar reference quantize / dequantize routines
//! that every SIMD and CUDA kernel is tested against. No intrinsics and no threads here.
//!
//! - [`types`]: `GgmlType`, block sizes and type sizes.
//! - [`blocks`]: the block structs, with size checks.
//! - [`float`]: f16 / bf16 / E8M0 / E4M3 conversions.
//! - [`iq_tables`]: codebooks and value tables of the i-quant and FP4 formats.
//! - [`dequant`]: [`dequantize_row`] for every float and quantized type.
//! - [`quantize`]: [`quantize_row`], the reference round-to-nearest quantizers.
#![forbid(unsafe_code)]

pub mod blocks;
pub mod dequant;
pub mod float;
pub mod iq_tables;
pub mod quantize;
pub mod types;

pub use dequant::{dequantize_fn, dequantize_row, DequantizeFn};
pub use quantize::quantize_row;
pub use types::{GgmlType, QK_K};

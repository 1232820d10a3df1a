//! Tensor element types and their block formats: `GgmlType` (the ggml.h numbers),
//! `#[repr(C)]` block layouts, and the scalar reference quantize / dequantize routines
//! that every SIMD and CUDA kernel is tested against. No intrinsics and no threads here.
#![forbid(unsafe_code)]

pub mod quantize;
pub mod types;

pub use quantize::quantize_row;
pub use types::{GgmlType, QK_K};

//! Portable scalar kernels: one `vec_dot` per weight type against its activation type. They
//! are the oracles the SIMD kernels are tested against, and the fallback on CPUs without them.
//! Every function has the shape `fn(k, weight_row, activation_row) -> f32`, reads `k / block`
//! blocks of each and panics (never reads out of bounds) if a slice is too short.

#![allow(clippy::needless_range_loop)] // index loops mirror the block formats

pub mod float;
pub mod kquants;
pub mod legacy;

use half::f16;

#[inline(always)]
pub(crate) fn f16_at(b: &[u8], o: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[o], b[o + 1]])).to_f32()
}

#[inline(always)]
pub(crate) fn i8_at(b: &[u8], o: usize) -> i32 {
    b[o] as i8 as i32
}

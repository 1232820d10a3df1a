//! F32, F16 and BF16 rows: element-wise conversions, no blocks.

use super::super::float::{bf16_to_f32, fp16_to_f32};

/// F32: a copy of the little-endian floats.
pub fn f32_row(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.chunks_exact(4).zip(dst.iter_mut()) {
        *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    }
}

/// F16: exact widening of each half.
pub fn f16_row(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.chunks_exact(2).zip(dst.iter_mut()) {
        *d = fp16_to_f32(u16::from_le_bytes([s[0], s[1]]));
    }
}

/// BF16: exact widening of each bfloat16.
pub fn bf16_row(src: &[u8], dst: &mut [f32]) {
    for (s, d) in src.chunks_exact(2).zip(dst.iter_mut()) {
        *d = bf16_to_f32(u16::from_le_bytes([s[0], s[1]]));
    }
}

//! `#[repr(C)]` layouts of every quantized block, field for field as `ggml-common.h`.
//!
//! Half-precision fields (`ggml_half`) are stored as their raw `u16` bits; convert them with
//! [`crate::quant::float::fp16_to_f32`]. Multi-byte fields are little-endian in files, which is
//! also the host order on every platform this library supports. Each layout carries a
//! compile-time check that its size equals [`GgmlType::type_size`](super::GgmlType::type_size),
//! and `kernels/cuda/blocks.cuh` repeats the same layouts with `static_assert`s.
//!
//! The scalar dequantizers read blocks from byte slices at the offsets these structs define
//! (`core::mem::offset_of!`), so the two cannot drift apart.
#![allow(non_camel_case_types)]

use super::types::QK_K;
use core::mem::size_of;

/// Elements per Q1_0 block.
pub const QK1_0: usize = 128;
/// Elements per Q2_0 block.
pub const QK2_0: usize = 64;
/// Elements per Q4_0 block.
pub const QK4_0: usize = 32;
/// Elements per Q4_1 block.
pub const QK4_1: usize = 32;
/// Elements per Q5_0 block.
pub const QK5_0: usize = 32;
/// Elements per Q5_1 block.
pub const QK5_1: usize = 32;
/// Elements per Q8_0 block.
pub const QK8_0: usize = 32;
/// Elements per Q8_1 block.
pub const QK8_1: usize = 32;
/// Elements per MXFP4 block.
pub const QK_MXFP4: usize = 32;
/// Elements per NVFP4 block.
pub const QK_NVFP4: usize = 64;
/// Elements per NVFP4 sub-block (one E4M3 scale each).
pub const QK_NVFP4_SUB: usize = 16;
/// Elements per IQ4_NL block.
pub const QK4_NL: usize = 32;
/// Bytes of packed 6-bit scales and mins in Q4_K / Q5_K.
pub const K_SCALE_SIZE: usize = 12;
/// Scale bytes of an IQ3_S block.
pub const IQ3S_N_SCALE: usize = QK_K / 64;

/// Q1_0: 128 signs with one f16 magnitude (`bit ? d : -d`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ1_0 {
    /// Scale (f16 bits).
    pub d: u16,
    /// One bit per element, element j at bit j % 8 of byte j / 8.
    pub qs: [u8; QK1_0 / 8],
}

/// Q2_0: 64 two-bit values in {-1, 0, 1, 2} times an f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ2_0 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Two bits per element, element j at bits 2*(j % 4) of byte j / 4.
    pub qs: [u8; QK2_0 / 4],
}

/// Q4_0: 32 four-bit values minus 8, times an f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_0 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Low nibble of byte j is element j, high nibble is element j + 16.
    pub qs: [u8; QK4_0 / 2],
}

/// Q4_1: 32 four-bit values times a scale plus a minimum.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_1 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Minimum (f16 bits).
    pub m: u16,
    /// Nibbles as in Q4_0.
    pub qs: [u8; QK4_1 / 2],
}

/// MXFP4: 32 E2M1 values (stored doubled) with a shared E8M0 exponent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockMxfp4 {
    /// E8M0 exponent.
    pub e: u8,
    /// Nibbles (indices into `KVALUES_MXFP4`) as in Q4_0.
    pub qs: [u8; QK_MXFP4 / 2],
}

/// NVFP4: 64 E2M1 values in four sub-blocks of 16, each with an unsigned E4M3 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockNvfp4 {
    /// UE4M3 scale per sub-block.
    pub d: [u8; QK_NVFP4 / QK_NVFP4_SUB],
    /// 8 bytes per sub-block: low nibble of byte j is element j, high nibble element j + 8.
    pub qs: [u8; QK_NVFP4 / 2],
}

/// Q5_0: 32 five-bit values minus 16, times an f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_0 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Fifth bits, element j at bit j of this little-endian u32.
    pub qh: [u8; 4],
    /// Low nibbles as in Q4_0.
    pub qs: [u8; QK5_0 / 2],
}

/// Q5_1: 32 five-bit values times a scale plus a minimum.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_1 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Minimum (f16 bits).
    pub m: u16,
    /// Fifth bits as in Q5_0.
    pub qh: [u8; 4],
    /// Low nibbles as in Q4_0.
    pub qs: [u8; QK5_1 / 2],
}

/// Q8_0: 32 signed bytes times an f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_0 {
    /// Scale (f16 bits).
    pub d: u16,
    /// Quants.
    pub qs: [i8; QK8_0],
}

/// Q8_1: Q8_0 plus `s = d * sum(qs)` (used for activations).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_1 {
    /// Scale (f16 bits).
    pub d: u16,
    /// `d * sum(qs)` (f16 bits).
    pub s: u16,
    /// Quants.
    pub qs: [i8; QK8_1],
}

/// TQ1_0: ternary values, five per byte in base 3, then four per byte.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockTq1_0 {
    /// 5 trits per byte (3^5 = 243 < 256), stored as a fixed-point fraction of 243.
    pub qs: [u8; (QK_K - 4 * QK_K / 64) / 5],
    /// 4 trits per byte.
    pub qh: [u8; QK_K / 64],
    /// Scale (f16 bits).
    pub d: u16,
}

/// TQ2_0: ternary values in two bits each.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockTq2_0 {
    /// 2 bits per element.
    pub qs: [u8; QK_K / 4],
    /// Scale (f16 bits).
    pub d: u16,
}

/// Q2_K: 16 sub-blocks of 16, 4-bit scales and mins, 2-bit quants.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ2_K {
    /// Low nibble: scale, high nibble: min, per sub-block.
    pub scales: [u8; QK_K / 16],
    /// 2-bit quants.
    pub qs: [u8; QK_K / 4],
    /// Super-block scale for the scales (f16 bits).
    pub d: u16,
    /// Super-block scale for the mins (f16 bits).
    pub dmin: u16,
}

/// Q3_K: 16 sub-blocks of 16, 6-bit signed scales, 3-bit quants.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ3_K {
    /// High bit of each quant.
    pub hmask: [u8; QK_K / 8],
    /// Low 2 bits of each quant.
    pub qs: [u8; QK_K / 4],
    /// 16 scales of 6 bits, packed.
    pub scales: [u8; 12],
    /// Super-block scale (f16 bits).
    pub d: u16,
}

/// Q4_K: 8 sub-blocks of 32, 6-bit scales and mins, 4-bit quants.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_K {
    /// Super-block scale for the scales (f16 bits).
    pub d: u16,
    /// Super-block scale for the mins (f16 bits).
    pub dmin: u16,
    /// 8 scales and 8 mins of 6 bits, packed.
    pub scales: [u8; K_SCALE_SIZE],
    /// 4-bit quants.
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: Q4_K plus a fifth bit per quant.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_K {
    /// Super-block scale for the scales (f16 bits).
    pub d: u16,
    /// Super-block scale for the mins (f16 bits).
    pub dmin: u16,
    /// 8 scales and 8 mins of 6 bits, packed.
    pub scales: [u8; K_SCALE_SIZE],
    /// High bit of each quant.
    pub qh: [u8; QK_K / 8],
    /// Low 4 bits of each quant.
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 16 sub-blocks of 16, 8-bit scales, 6-bit quants.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ6_K {
    /// Low 4 bits of each quant.
    pub ql: [u8; QK_K / 2],
    /// High 2 bits of each quant.
    pub qh: [u8; QK_K / 4],
    /// Sub-block scales.
    pub scales: [i8; QK_K / 16],
    /// Super-block scale (f16 bits).
    pub d: u16,
}

/// Q8_K: 256 signed bytes with an f32 scale and group sums (activations for k-quant dots).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_K {
    /// Scale.
    pub d: f32,
    /// Quants.
    pub qs: [i8; QK_K],
    /// Sum of each group of 16 quants.
    pub bsums: [i16; QK_K / 16],
}

/// IQ2_XXS: 8 groups of 32; per group two u32 (grid indices; signs + scale).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq2_Xxs {
    /// Scale (f16 bits).
    pub d: u16,
    /// Per 32 elements: 4 grid indices (bytes), then 4 x 7-bit sign indices and a 4-bit scale.
    pub qs: [u16; QK_K / 8],
}

/// IQ2_XS: 9-bit grid indices with 7-bit sign indices, 4-bit scales per 16.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq2_Xs {
    /// Scale (f16 bits).
    pub d: u16,
    /// Low 9 bits: grid index; high 7 bits: sign index.
    pub qs: [u16; QK_K / 8],
    /// Two 4-bit scales per 32 elements.
    pub scales: [u8; QK_K / 32],
}

/// IQ2_S: 10-bit grid indices, explicit sign bytes, 4-bit scales per 16.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq2_S {
    /// Scale (f16 bits).
    pub d: u16,
    /// Low 8 bits of the grid indices (first half), then the sign bytes (second half).
    pub qs: [u8; QK_K / 4],
    /// High 2 bits of the grid indices.
    pub qh: [u8; QK_K / 32],
    /// Two 4-bit scales per 32 elements.
    pub scales: [u8; QK_K / 32],
}

/// IQ3_XXS: 8-bit grid indices into a 4-wide grid, then signs + scales.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq3_Xxs {
    /// Scale (f16 bits).
    pub d: u16,
    /// 64 grid indices, then per 32 elements a u32 of 4 x 7-bit sign indices and a 4-bit scale.
    pub qs: [u8; 3 * QK_K / 8],
}

/// IQ3_S: 9-bit grid indices into a 4-wide grid, explicit signs, 4-bit scales per 32.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq3_S {
    /// Scale (f16 bits).
    pub d: u16,
    /// Low 8 bits of the grid indices.
    pub qs: [u8; QK_K / 4],
    /// Ninth bits of the grid indices.
    pub qh: [u8; QK_K / 32],
    /// One sign bit per element.
    pub signs: [u8; QK_K / 8],
    /// Two 4-bit scales per 64 elements.
    pub scales: [u8; IQ3S_N_SCALE],
}

/// IQ1_S: 11-bit indices into a ternary grid, a 3-bit scale and a delta sign per 32.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq1_S {
    /// Scale (f16 bits).
    pub d: u16,
    /// Low 8 bits of the grid indices.
    pub qs: [u8; QK_K / 8],
    /// Per 32: 4 x 3 high index bits, a 3-bit scale (bits 12..15) and the delta sign (bit 15).
    pub qh: [u16; QK_K / 32],
}

/// IQ1_M: like IQ1_S with per-16 scales; the f16 super-block scale is spread over the
/// top nibbles of the four `scales` u16 words.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq1_M {
    /// Low 8 bits of the grid indices.
    pub qs: [u8; QK_K / 8],
    /// Per 8 elements: 3 high index bits and a delta-sign bit (nibbles).
    pub qh: [u8; QK_K / 16],
    /// 3-bit sub-block scales (4 per u16 word), plus the f16 scale in the top nibbles.
    pub scales: [u8; QK_K / 32],
}

/// IQ4_NL: 32 non-linear 4-bit values (`KVALUES_IQ4NL`) times an f16 scale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq4_Nl {
    /// Scale (f16 bits).
    pub d: u16,
    /// Nibbles as in Q4_0.
    pub qs: [u8; QK4_NL / 2],
}

/// IQ4_XS: IQ4_NL values in 8 sub-blocks of 32 with 6-bit signed scales.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIq4_Xs {
    /// Scale (f16 bits).
    pub d: u16,
    /// High 2 bits of the 8 sub-block scales.
    pub scales_h: u16,
    /// Low 4 bits of the 8 sub-block scales.
    pub scales_l: [u8; QK_K / 64],
    /// Nibbles; per 32 elements as in Q4_0.
    pub qs: [u8; QK_K / 2],
}

macro_rules! check_sizes {
    ($($block:ty => $ty:ident, $size:expr;)*) => {
        $( const _: () = assert!(size_of::<$block>() == $size); )*

        /// The block struct size of each quantized type, checked against `GgmlType`.
        #[cfg(test)]
        pub(crate) const BLOCK_SIZES: &[(super::GgmlType, usize)] =
            &[$((super::GgmlType::$ty, size_of::<$block>()),)*];
    };
}

check_sizes! {
    BlockQ1_0 => Q1_0, 18;
    BlockQ2_0 => Q2_0, 18;
    BlockQ4_0 => Q4_0, 18;
    BlockQ4_1 => Q4_1, 20;
    BlockQ5_0 => Q5_0, 22;
    BlockQ5_1 => Q5_1, 24;
    BlockQ8_0 => Q8_0, 34;
    BlockQ8_1 => Q8_1, 36;
    BlockMxfp4 => MXFP4, 17;
    BlockNvfp4 => NVFP4, 36;
    BlockTq1_0 => TQ1_0, 54;
    BlockTq2_0 => TQ2_0, 66;
    BlockQ2_K => Q2_K, 84;
    BlockQ3_K => Q3_K, 110;
    BlockQ4_K => Q4_K, 144;
    BlockQ5_K => Q5_K, 176;
    BlockQ6_K => Q6_K, 210;
    BlockQ8_K => Q8_K, 292;
    BlockIq2_Xxs => IQ2_XXS, 66;
    BlockIq2_Xs => IQ2_XS, 74;
    BlockIq2_S => IQ2_S, 82;
    BlockIq3_Xxs => IQ3_XXS, 98;
    BlockIq3_S => IQ3_S, 110;
    BlockIq1_S => IQ1_S, 50;
    BlockIq1_M => IQ1_M, 56;
    BlockIq4_Nl => IQ4_NL, 18;
    BlockIq4_Xs => IQ4_XS, 136;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::GgmlType;

    #[test]
    fn every_quantized_type_has_a_block_of_its_type_size() {
        for &t in GgmlType::ALL {
            if !t.is_quantized() {
                continue;
            }
            let found = BLOCK_SIZES.iter().find(|(ty, _)| *ty == t);
            let (_, size) = found.unwrap_or_else(|| panic!("no block struct for {}", t.name()));
            assert_eq!(*size, t.type_size(), "{}", t.name());
        }
    }
}

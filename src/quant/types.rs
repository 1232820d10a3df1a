//! `GgmlType`: the tensor element types of the pinned `ggml.h`. The numeric values are ABI
//! (they appear in GGUF files and in llama.h structs), so they are spelled out explicitly.

use crate::error::{Error, Result};

/// Number of elements in one super-block of the k-quants and i-quants.
pub const QK_K: usize = 256;

macro_rules! ggml_types {
    ($( $variant:ident = $value:literal, $name:literal, $blck:expr, $size:expr; )*) => {
        /// A ggml tensor type, numbered as `enum ggml_type` in the pinned `ggml.h`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        #[allow(non_camel_case_types)]
        pub enum GgmlType {
            $(
                #[doc = concat!("`GGML_TYPE_", stringify!($variant), "` = ", stringify!($value))]
                $variant = $value,
            )*
        }

        impl GgmlType {
            /// Every type, in numeric order.
            pub const ALL: &'static [GgmlType] = &[$(GgmlType::$variant),*];

            /// The type with this `ggml_type` number, if it exists (removed numbers do not).
            pub fn from_u32(v: u32) -> Option<GgmlType> {
                match v {
                    $($value => Some(GgmlType::$variant),)*
                    _ => None,
                }
            }

            /// ggml's short name (`"q4_K"`, `"f16"`, ...), as `ggml_type_name` returns it.
            pub fn name(self) -> &'static str {
                match self { $(GgmlType::$variant => $name,)* }
            }

            /// Elements per block (1 for plain types).
            pub fn block_size(self) -> usize {
                match self { $(GgmlType::$variant => $blck,)* }
            }

            /// Bytes per block.
            pub fn type_size(self) -> usize {
                match self { $(GgmlType::$variant => $size,)* }
            }
        }
    };
}

ggml_types! {
    F32 = 0, "f32", 1, 4;
    F16 = 1, "f16", 1, 2;
    Q4_0 = 2, "q4_0", 32, 18;
    Q4_1 = 3, "q4_1", 32, 20;
    Q5_0 = 6, "q5_0", 32, 22;
    Q5_1 = 7, "q5_1", 32, 24;
    Q8_0 = 8, "q8_0", 32, 34;
    Q8_1 = 9, "q8_1", 32, 36;
    Q2_K = 10, "q2_K", QK_K, 84;
    Q3_K = 11, "q3_K", QK_K, 110;
    Q4_K = 12, "q4_K", QK_K, 144;
    Q5_K = 13, "q5_K", QK_K, 176;
    Q6_K = 14, "q6_K", QK_K, 210;
    Q8_K = 15, "q8_K", QK_K, 292;
    IQ2_XXS = 16, "iq2_xxs", QK_K, 66;
    IQ2_XS = 17, "iq2_xs", QK_K, 74;
    IQ3_XXS = 18, "iq3_xxs", QK_K, 98;
    IQ1_S = 19, "iq1_s", QK_K, 50;
    IQ4_NL = 20, "iq4_nl", 32, 18;
    IQ3_S = 21, "iq3_s", QK_K, 110;
    IQ2_S = 22, "iq2_s", QK_K, 82;
    IQ4_XS = 23, "iq4_xs", QK_K, 136;
    I8 = 24, "i8", 1, 1;
    I16 = 25, "i16", 1, 2;
    I32 = 26, "i32", 1, 4;
    I64 = 27, "i64", 1, 8;
    F64 = 28, "f64", 1, 8;
    IQ1_M = 29, "iq1_m", QK_K, 56;
    BF16 = 30, "bf16", 1, 2;
    TQ1_0 = 34, "tq1_0", QK_K, 54;
    TQ2_0 = 35, "tq2_0", QK_K, 66;
    MXFP4 = 39, "mxfp4", 32, 17;
    NVFP4 = 40, "nvfp4", 64, 36;
    Q1_0 = 41, "q1_0", 128, 18;
    Q2_0 = 42, "q2_0", 64, 18;
}

/// `GGML_TYPE_COUNT` of the pinned header.
pub const GGML_TYPE_COUNT: u32 = 43;

impl GgmlType {
    /// Bytes needed for one row of `n` elements, or an error when `n` is not a multiple of
    /// the block size or the size overflows.
    pub fn row_size(self, n: u64) -> Result<u64> {
        let blck = self.block_size() as u64;
        if !n.is_multiple_of(blck) {
            return Err(Error::format(format!(
                "{} row of {n} elements is not a multiple of the block size {blck}",
                self.name()
            )));
        }
        (n / blck)
            .checked_mul(self.type_size() as u64)
            .ok_or_else(|| Error::format(format!("{} row of {n} elements overflows", self.name())))
    }

    /// True for types stored in blocks of more than one element.
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }
}

impl TryFrom<u32> for GgmlType {
    type Error = Error;
    fn try_from(v: u32) -> Result<Self> {
        GgmlType::from_u32(v).ok_or_else(|| Error::format(format!("unknown ggml type {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_removed_numbers_are_rejected() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_u32(t as u32), Some(t));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, GGML_TYPE_COUNT] {
            assert_eq!(GgmlType::from_u32(removed), None);
        }
    }

    #[test]
    fn row_size_checks_blocks() {
        assert_eq!(GgmlType::Q4_K.row_size(512).ok(), Some(288));
        assert!(GgmlType::Q4_K.row_size(100).is_err());
        assert!(GgmlType::F32.row_size(u64::MAX).is_err());
    }
}

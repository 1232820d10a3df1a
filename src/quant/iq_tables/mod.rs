//! Lookup tables of the i-quant, ternary and FP4 formats, as defined by `ggml-common.h`.
//!
//! The large codebooks are generated from the pinned header by
//! `scripts/py/gen_iq_tables.py` (files `grids_*.rs`, `signs.rs`); the small tables are
//! spelled out here. Grid entries pack one element per byte, little-endian: byte `j` of
//! `IQ2XXS_GRID[i]` is element `j` of codebook point `i`.

mod grids_iq1;
mod grids_iq1_gpu;
mod grids_iq2;
mod grids_iq3;
mod signs;

pub use grids_iq1::IQ1S_GRID;
pub use grids_iq1_gpu::IQ1S_GRID_GPU;
pub use grids_iq2::{IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID};
pub use grids_iq3::{IQ3S_GRID, IQ3XXS_GRID};
pub use signs::KSIGNS64;

/// Number of points in the IQ1_S / IQ1_M codebook.
pub const NGRID_IQ1S: usize = 2048;
/// The shift IQ1_S adds to (or subtracts from) every grid value of a sub-block.
pub const IQ1S_DELTA: f32 = 0.125;
/// The same shift for IQ1_M.
pub const IQ1M_DELTA: f32 = 0.125;

/// `KMASK_IQ2XS[j]` selects the sign bit of element `j` of an 8-element group.
pub static KMASK_IQ2XS: [u8; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// 8 sign bits from a 7-bit index: bits 0..7 are the index, bit 7 makes the count of set
/// bits even (the eighth sign is implied by parity).
pub static KSIGNS_IQ2XS: [u8; 128] = ksigns();

const fn ksigns() -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let parity = (i as u32).count_ones() & 1;
        t[i] = (i as u8) | ((parity as u8) << 7);
        i += 1;
    }
    t
}

/// The 16 non-linear levels of IQ4_NL and IQ4_XS.
pub static KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// E2M1 values doubled (so they are integers), shared by MXFP4 and NVFP4.
pub static KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksigns_agree_with_the_expanded_table() {
        for (i, &s) in KSIGNS_IQ2XS.iter().enumerate() {
            for (j, &m) in KMASK_IQ2XS.iter().enumerate() {
                let byte = (KSIGNS64[i] >> (8 * j)) & 0xff;
                assert_eq!(byte == 0xff, s & m != 0, "entry {i}, element {j}");
            }
        }
        // spot checks against the header's spelled-out values
        assert_eq!(&KSIGNS_IQ2XS[..8], &[0, 129, 130, 3, 132, 5, 6, 135]);
        assert_eq!(KSIGNS_IQ2XS[127], 255);
    }

    #[test]
    fn iq1s_gpu_grid_is_a_repacking_of_the_cpu_grid() {
        for i in 0..NGRID_IQ1S {
            for nib in 0..8 {
                let elem = (nib % 2) * 4 + nib / 2;
                let cpu = ((IQ1S_GRID[i] >> (8 * elem)) & 0xff) as u8 as i8;
                let gpu = ((IQ1S_GRID_GPU[i] >> (4 * nib)) & 0xf) as i8;
                assert_eq!(cpu + 1, gpu, "point {i}, element {elem}");
            }
        }
    }

    #[test]
    fn grids_use_only_their_levels() {
        for g in IQ2XXS_GRID
            .iter()
            .chain(IQ2XS_GRID.iter())
            .chain(IQ2S_GRID.iter())
        {
            for b in g.to_le_bytes() {
                assert!(matches!(b, 0x08 | 0x19 | 0x2b));
            }
        }
        for g in IQ3S_GRID.iter() {
            for b in g.to_le_bytes() {
                assert!(b % 2 == 1 && b <= 15);
            }
        }
        for g in IQ3XXS_GRID.iter() {
            for b in g.to_le_bytes() {
                assert!(matches!(
                    b,
                    0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 | 0x3e
                ));
            }
        }
    }
}

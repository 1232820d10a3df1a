//! CPU matmul kernels: activation quantization, dot products per weight type, and the
//! GEMV / GEMM driver the `mul_mat` op calls.
//!
//! ## How upstream does it, and so do we
//! A matmul `dst = W · x` (W: `[k, m]` weight rows, x: `n` activation rows of `k` f32) first
//! converts every activation row into the weight type's *vec-dot type* ([`vec_dot_type`]:
//! Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4, Q8_1 for Q4_1/Q5_1, Q8_K for the k-quants, IQ and TQ
//! types, F16/BF16/F32 for themselves) with [`quantize_activations`], then takes integer dot
//! products block by block ([`mul_mat`] / [`mul_mat_raw`]).
//!
//! ## Using it from the `mul_mat` op (engine)
//! 1. Scratch: [`act_row_size`]`(wty, k)` bytes per activation row (the planner counts it;
//!    for Q8_0 / Q8_1 activations this is ggml's *Q8_1* row size, not Q8_0's). Kernels need
//!    no other memory: tiles live on the stack (≤ 64 KiB per call).
//! 2. Each thread converts its share of activation rows:
//!    `quantize_activations(vdt, src_row, dst_row)` (for F32 weights the f32 rows may be used
//!    directly: `vec_dot_type` is F32 and a row of f32 bytes is the format).
//! 3. Barrier; then each thread computes a disjoint tile with [`mul_mat_raw`]
//!    (`MatMul::new` checks buffers once; a tile is `rows × acts`):
//!    GEMV (`n == 1`) and GEMM alike: split weight rows, thread `ith` takes
//!    `ith*m/nth..(ith+1)*m/nth` (multiples of 16 rows are best for the tiled GEMM) with all
//!    activation rows; when `m` is small split activation rows too. Any ranges work.
//!
//! With ≥ 8 activation rows in a tile and AVX-512 VNNI present, a type's *tiled* GEMM runs:
//! 16 (floats: 32) weight rows are unpacked once into unsigned bytes laid out "4 k-values × 16
//! rows" per vector and every activation row costs one `vpdpbusd` per 4 k for all 16 rows.
//! Results of the tiled and row paths agree to float rounding (integer sums are exact).
//!
//! The activation rows produced here use a private layout for Q8_0 / Q8_1 (4 blocks
//! interleaved, with integer block sums, see `quantize.rs`): only these kernels read them.
//! The quants and scales themselves are bit-identical to upstream's AVX2 quantizers
//! (tested against `libggml-cpu.so`).
//!
//! ## Structure
//! `generic/` holds the scalar kernels (the oracles, and the fallback); `x86_64/` the AVX2 +
//! FMA + F16C kernels (`legacy.rs`, `kquants.rs`, `float.rs`, `quantize.rs`) and the AVX-512
//! VNNI ones (`avx512*.rs`: row kernels for GEMV, tiled GEMM). [`table`] picks the best set
//! once, at first use, into a table of safe function pointers ([`all_tables`] lists every set
//! this CPU runs, for tests); a NEON set would be one more table chosen the same way.
//! Types without a SIMD kernel here (TQ1_0) use the scalar one.

mod gemm;
pub mod generic;
pub mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::quant::GgmlType;

pub use gemm::{mul_mat, mul_mat_raw, MatMul};

/// Most activation rows one kernel call handles (the GEMM micro-tile height).
pub const MAX_NY: usize = 8;

/// `fn(k, weight_row, activation_row) -> dot`: one dot product of `k` elements.
pub type VecDotFn = fn(usize, &[u8], &[u8]) -> f32;

/// `fn(k, weight_row, act, act_stride, out)`: dot products of one weight row with
/// `out.len()` (1..=[`MAX_NY`]) activation rows starting at `act`, `act_stride` bytes apart.
/// Panics (never reads out of bounds) if the slices are too short.
pub type RowsFn = fn(usize, &[u8], &[u8], usize, &mut [f32]);

/// A whole GEMM tile at once: `tiled(k, w, w_stride, rows, act, act_stride, acts, dst,
/// dst_stride)` writes `dst[j·dst_stride + i]` = dot(weight row i, activation row j) for `i` in
/// `rows`, `j` in `acts`.
///
/// # Safety
/// Weight rows `rows` (`w_stride` bytes apart from `w`) and activation rows `acts` must be
/// readable in full, and the dst elements writable and not accessed concurrently; the CPU must
/// have the instruction set of the table the function came from. [`MatMul`] checks the first
/// two; callers of `mul_mat_raw` promise the third.
pub type TiledFn = unsafe fn(
    usize,
    *const u8,
    usize,
    std::ops::Range<usize>,
    *const u8,
    usize,
    std::ops::Range<usize>,
    *mut f32,
    usize,
);

/// A GEMV over a range of weight rows: `gemv(k, w, w_stride, rows, act, dst)` writes
/// `dst[i]` = dot(weight row i, the activation row at `act`) for `i` in `rows`. Used for a
/// single activation row (token generation): it calls the one-row kernel directly, row
/// after row, without the per-call slice checks of [`RowsFn`] (the driver checked the whole
/// range once).
///
/// # Safety
/// As [`TiledFn`]: weight rows `rows` and one activation row readable in full, `dst[rows]`
/// writable and not accessed concurrently, and the CPU has the table's instruction set.
pub type GemvFn = unsafe fn(usize, *const u8, usize, std::ops::Range<usize>, *const u8, *mut f32);

/// The kernels of one weight type in one instruction set.
#[derive(Clone, Copy)]
pub struct TypeKernels {
    /// Single dot product.
    pub vec_dot: VecDotFn,
    /// One weight row × up to `max_ny` activation rows.
    pub rows: RowsFn,
    /// Best tile height for `rows` (≤ [`MAX_NY`]).
    pub max_ny: usize,
    /// A tiled GEMM used instead of `rows` when a tile has at least `tiled_min_acts`
    /// activation rows (prompt processing).
    pub tiled: Option<TiledFn>,
    /// See `tiled`.
    pub tiled_min_acts: usize,
    /// A GEMV used instead of `rows` for a single activation row.
    pub gemv: Option<GemvFn>,
}

/// Instruction set of a kernel table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable scalar code.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C.
    Avx2,
    /// AVX2 + FMA + F16C, plus AVX-512 VNNI tiled GEMM for the k-quants.
    Avx512Vnni,
}

/// A kernel per weight type, chosen for one instruction set.
pub struct KernelTable {
    /// The instruction set these kernels use.
    pub isa: Isa,
    by_type: [Option<TypeKernels>; 64],
    /// Activation quantizers (same bytes in every table).
    q8_x4: fn(&[f32], &mut [u8]),
    q8_k: fn(&[f32], &mut [u8]),
    f16: fn(&[f32], &mut [u8]),
}

impl KernelTable {
    /// The kernels for weight type `ty`, if it can be multiplied.
    pub fn get(&self, ty: GgmlType) -> Option<&TypeKernels> {
        self.by_type.get(ty as usize).and_then(|k| k.as_ref())
    }
}

/// Weight types with a kernel.
pub const SUPPORTED: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::TQ1_0,
    GgmlType::TQ2_0,
    GgmlType::MXFP4,
];

/// The activation format upstream's `type_traits_cpu[weight].vec_dot_type` names, or `None`
/// when no kernel exists for `weight`.
pub fn vec_dot_type(weight: GgmlType) -> Option<GgmlType> {
    use GgmlType::*;
    Some(match weight {
        F32 => F32,
        F16 => F16,
        BF16 => BF16,
        Q4_0 | Q5_0 | Q8_0 | IQ4_NL | MXFP4 => Q8_0,
        Q4_1 | Q5_1 => Q8_1,
        Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | IQ4_XS | TQ1_0 | TQ2_0 => Q8_K,
        _ => return None,
    })
}

/// Bytes of one converted activation row of `k` elements for weight type `weight`.
pub fn act_row_size(weight: GgmlType, k: usize) -> Result<usize> {
    let vdt = vec_dot_type(weight)
        .ok_or_else(|| Error::unsupported(format!("mul_mat: no kernel for {}", weight.name())))?;
    quantize::act_row_bytes(vdt, k)
}

/// Bytes per block of an activation row in vec-dot type `vdt` (our layout).
pub(crate) fn act_block_bytes(vdt: GgmlType) -> usize {
    match vdt {
        GgmlType::Q8_0 | GgmlType::Q8_1 => quantize::Q8_BLOCK,
        _ => vdt.type_size(),
    }
}

/// Converts one f32 activation row `src` into `ty` (a vec-dot type) in `dst`, which must hold
/// at least `quantize::act_row_bytes(ty, src.len())` bytes (for Q8_0 / Q8_1 that is ggml's
/// Q8_1 row size; see `quantize.rs` for the layout).
pub fn quantize_activations(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<()> {
    let need = quantize::act_row_bytes(ty, src.len())?;
    if dst.len() < need {
        return Err(Error::invalid(format!(
            "quantize_activations: {} row of {} needs {need} bytes, got {}",
            ty.name(),
            src.len(),
            dst.len()
        )));
    }
    match ty {
        GgmlType::Q8_0 | GgmlType::Q8_1 => (table().q8_x4)(src, dst),
        GgmlType::Q8_K => (table().q8_k)(src, dst),
        GgmlType::F16 => (table().f16)(src, dst),
        GgmlType::BF16 => quantize::convert_row_bf16(src, dst),
        GgmlType::F32 => quantize::convert_row_f32(src, dst),
        _ => {
            return Err(Error::unsupported(format!(
                "quantize_activations: {} is not a vec_dot type",
                ty.name()
            )))
        }
    }
    Ok(())
}

/// The best kernel table for this CPU, chosen once.
pub fn table() -> &'static KernelTable {
    static BEST: OnceLock<KernelTable> = OnceLock::new();
    BEST.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = x86_64::avx2_table(true) {
            return t;
        }
        build_scalar()
    })
}

/// Every kernel table this CPU can run, scalar first and [`table`] last (tests compare them).
pub fn all_tables() -> Vec<&'static KernelTable> {
    let mut v = vec![scalar_table()];
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: OnceLock<Option<KernelTable>> = OnceLock::new();
        if let Some(t) = AVX2.get_or_init(|| x86_64::avx2_table(false)) {
            v.push(t);
        }
    }
    let best = table();
    if v.last().map(|t| t.isa) != Some(best.isa) {
        v.push(best);
    }
    v
}

/// The portable scalar table (the oracle).
pub fn scalar_table() -> &'static KernelTable {
    static SCALAR: OnceLock<KernelTable> = OnceLock::new();
    SCALAR.get_or_init(build_scalar)
}

/// Scalar `rows` built from a `vec_dot`.
macro_rules! scalar_rows {
    ($f:path) => {{
        fn rows(k: usize, w: &[u8], y: &[u8], ys: usize, out: &mut [f32]) {
            for (j, o) in out.iter_mut().enumerate() {
                *o = $f(k, w, &y[j * ys..]);
            }
        }
        TypeKernels {
            vec_dot: $f,
            rows,
            max_ny: 1,
            tiled: None,
            tiled_min_acts: usize::MAX,
            gemv: None,
        }
    }};
}

fn build_scalar() -> KernelTable {
    use generic::{float, kquants as kq, legacy as lg};
    use GgmlType::*;
    let mut by_type: [Option<TypeKernels>; 64] = [None; 64];
    let mut set = |t: GgmlType, k: TypeKernels| by_type[t as usize] = Some(k);
    set(F32, scalar_rows!(float::vec_dot_f32));
    set(F16, scalar_rows!(float::vec_dot_f16));
    set(BF16, scalar_rows!(float::vec_dot_bf16));
    set(Q4_0, scalar_rows!(lg::vec_dot_q4_0));
    set(Q4_1, scalar_rows!(lg::vec_dot_q4_1));
    set(Q5_0, scalar_rows!(lg::vec_dot_q5_0));
    set(Q5_1, scalar_rows!(lg::vec_dot_q5_1));
    set(Q8_0, scalar_rows!(lg::vec_dot_q8_0));
    set(IQ4_NL, scalar_rows!(lg::vec_dot_iq4_nl));
    set(MXFP4, scalar_rows!(lg::vec_dot_mxfp4));
    set(Q2_K, scalar_rows!(kq::vec_dot_q2_k));
    set(Q3_K, scalar_rows!(kq::vec_dot_q3_k));
    set(Q4_K, scalar_rows!(kq::vec_dot_q4_k));
    set(Q5_K, scalar_rows!(kq::vec_dot_q5_k));
    set(Q6_K, scalar_rows!(kq::vec_dot_q6_k));
    set(IQ4_XS, scalar_rows!(kq::vec_dot_iq4_xs));
    set(TQ1_0, scalar_rows!(kq::vec_dot_tq1_0));
    set(TQ2_0, scalar_rows!(kq::vec_dot_tq2_0));
    KernelTable {
        isa: Isa::Scalar,
        by_type,
        q8_x4: quantize::quantize_row_q8_x4,
        q8_k: quantize::quantize_row_q8_k,
        f16: quantize::convert_row_f16,
    }
}

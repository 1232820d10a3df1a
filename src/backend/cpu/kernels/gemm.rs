//! The GEMV / GEMM driver: validates a matmul once, then walks a tile of
//! (weight rows × activation rows) in cache-sized blocks, calling the type's `rows` kernel on
//! one weight row × up to `max_ny` activation rows at a time, so each weight block is unpacked
//! once per `max_ny` activation rows and stays in L1/L2 while all activation rows pass by.

use std::ops::Range;

use super::{table, KernelTable, TypeKernels, MAX_NY};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Bytes of weights kept hot while the activation rows stream past (fits L2 with room).
const WEIGHT_BLOCK_BYTES: usize = 96 * 1024;

/// A validated matmul: weight rows of type `weight_ty` and activation rows already converted
/// to `vec_dot_type(weight_ty)` by [`super::quantize_activations`].
#[derive(Clone, Copy)]
pub struct MatMul<'a> {
    kernels: TypeKernels,
    w: &'a [u8],
    w_row_stride: usize,
    k: usize,
    act: &'a [u8],
    act_row_stride: usize,
    m: usize,
    n: usize,
}

impl<'a> MatMul<'a> {
    /// Checks a matmul of `m` weight rows (`w_row_stride` bytes apart, `k` elements each) with
    /// `n` activation rows (`act_row_stride` bytes apart) using the best kernels of this CPU.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        weight_ty: GgmlType,
        w: &'a [u8],
        w_row_stride: usize,
        m: usize,
        k: usize,
        act: &'a [u8],
        act_row_stride: usize,
        n: usize,
    ) -> Result<Self> {
        Self::with_table(
            table(),
            weight_ty,
            w,
            w_row_stride,
            m,
            k,
            act,
            act_row_stride,
            n,
        )
    }

    /// As [`MatMul::new`] with an explicit kernel table (tests use the scalar one).
    #[allow(clippy::too_many_arguments)]
    pub fn with_table(
        table: &KernelTable,
        weight_ty: GgmlType,
        w: &'a [u8],
        w_row_stride: usize,
        m: usize,
        k: usize,
        act: &'a [u8],
        act_row_stride: usize,
        n: usize,
    ) -> Result<Self> {
        let ctx = || format!("mul_mat {} k={k} m={m} n={n}", weight_ty.name());
        let kernels = *table
            .get(weight_ty)
            .ok_or_else(|| Error::unsupported(format!("{}: no kernel for this type", ctx())))?;
        let w_row = weight_ty.row_size(k as u64)? as usize;
        let a_row = super::act_row_size(weight_ty, k)?;
        let fits = |len: usize, rows: usize, stride: usize, row: usize| {
            rows == 0
                || (stride >= row
                    && (rows - 1)
                        .checked_mul(stride)
                        .and_then(|v| v.checked_add(row))
                        .is_some_and(|end| end <= len))
        };
        if !fits(w.len(), m, w_row_stride, w_row) {
            return Err(Error::invalid(format!(
                "{}: weight buffer too small or stride too short",
                ctx()
            )));
        }
        if !fits(act.len(), n, act_row_stride, a_row) {
            return Err(Error::invalid(format!(
                "{}: activation buffer too small or stride too short",
                ctx()
            )));
        }
        Ok(MatMul {
            kernels,
            w,
            w_row_stride,
            k,
            act,
            act_row_stride,
            m,
            n,
        })
    }

    /// Number of weight rows (output columns).
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of activation rows (output rows).
    pub fn n(&self) -> usize {
        self.n
    }

    fn check_tile(&self, rows: &Range<usize>, acts: &Range<usize>) -> Result<()> {
        if rows.start > rows.end || rows.end > self.m || acts.start > acts.end || acts.end > self.n
        {
            return Err(Error::invalid(format!(
                "mul_mat tile rows {rows:?} acts {acts:?} outside {}×{}",
                self.m, self.n
            )));
        }
        Ok(())
    }

    /// Computes the tile into `dst[j * ds + i]`.
    ///
    /// # Safety
    /// The tile has been checked against `m`/`n` and every `dst.add(j * ds + i)` of it is
    /// valid for writes and not accessed concurrently.
    unsafe fn run(&self, rows: Range<usize>, acts: Range<usize>, dst: *mut f32, ds: usize) {
        if rows.is_empty() || acts.is_empty() {
            return;
        }
        if let Some(tiled) = self.kernels.tiled {
            if acts.len() >= self.kernels.tiled_min_acts {
                // SAFETY: `MatMul` construction checked that all `m` weight rows and `n`
                // activation rows are inside their slices, `check_tile` that the tile is inside
                // m × n, the caller vouches for dst, and `tiled` is only set in a table built
                // after detecting its instruction set.
                unsafe {
                    tiled(
                        self.k,
                        self.w.as_ptr(),
                        self.w_row_stride,
                        rows,
                        self.act.as_ptr(),
                        self.act_row_stride,
                        acts,
                        dst,
                        ds,
                    )
                };
                return;
            }
        }
        if let Some(gemv) = self.kernels.gemv {
            if acts.len() == 1 {
                // SAFETY: as for `tiled` above: rows and the activation row are inside their
                // slices, and dst row `acts.start` is the caller's for `rows`.
                unsafe {
                    gemv(
                        self.k,
                        self.w.as_ptr(),
                        self.w_row_stride,
                        rows,
                        self.act.as_ptr().add(acts.start * self.act_row_stride),
                        dst.add(acts.start * ds),
                    )
                };
                return;
            }
        }
        let store = |j: usize, i: usize, v: f32| {
            // SAFETY: (j, i) is inside the tile; see the function's contract.
            unsafe { *dst.add(j * ds + i) = v }
        };
        let w_row = self.w_row_stride.max(1);
        let wb = if acts.len() <= 1 {
            rows.len().max(1)
        } else {
            (WEIGHT_BLOCK_BYTES / w_row).clamp(4, 512)
        };
        let ny_max = self.kernels.max_ny.clamp(1, MAX_NY);
        let mut out = [0.0f32; MAX_NY];
        let mut r0 = rows.start;
        while r0 < rows.end {
            let r1 = (r0 + wb).min(rows.end);
            let mut j0 = acts.start;
            while j0 < acts.end {
                let ny = ny_max.min(acts.end - j0);
                let y = &self.act[j0 * self.act_row_stride..];
                for i in r0..r1 {
                    let w = &self.w[i * self.w_row_stride..];
                    (self.kernels.rows)(self.k, w, y, self.act_row_stride, &mut out[..ny]);
                    for (jj, &v) in out[..ny].iter().enumerate() {
                        store(j0 + jj, i, v);
                    }
                }
                j0 += ny;
            }
            r0 = r1;
        }
    }
}

/// Computes `dst[j * dst_row_stride + i] = dot(weight row i, activation row j)` for every
/// `i` in `rows`, `j` in `acts` (the ggml `mul_mat` output layout: one dst row per activation
/// row). `dst` must hold the whole tile.
pub fn mul_mat(
    mm: &MatMul<'_>,
    rows: Range<usize>,
    acts: Range<usize>,
    dst: &mut [f32],
    dst_row_stride: usize,
) -> Result<()> {
    mm.check_tile(&rows, &acts)?;
    if !rows.is_empty() && !acts.is_empty() {
        let last = (acts.end - 1)
            .checked_mul(dst_row_stride)
            .and_then(|v| v.checked_add(rows.end));
        if dst_row_stride < rows.end || last.is_none_or(|l| l > dst.len()) {
            return Err(Error::invalid("mul_mat: dst too small for the tile"));
        }
    }
    // SAFETY: the tile was checked against m × n, and the last element it writes,
    // (acts.end − 1)·stride + rows.end − 1, is inside `dst` (checked above), which we borrow
    // mutably for the whole call.
    unsafe { mm.run(rows, acts, dst.as_mut_ptr(), dst_row_stride) };
    Ok(())
}

/// As [`mul_mat`], writing through a raw pointer so threads can fill disjoint tiles of one
/// output at once.
///
/// # Safety
/// For every `i` in `rows` and `j` in `acts`, `dst.add(j * dst_row_stride + i)` must be valid
/// for writes of one `f32` and not accessed by anyone else during the call.
pub unsafe fn mul_mat_raw(
    mm: &MatMul<'_>,
    rows: Range<usize>,
    acts: Range<usize>,
    dst: *mut f32,
    dst_row_stride: usize,
) -> Result<()> {
    mm.check_tile(&rows, &acts)?;
    // SAFETY: the tile was checked against m × n; the caller guarantees exclusive, valid
    // access to exactly its dst elements.
    unsafe { mm.run(rows, acts, dst, dst_row_stride) };
    Ok(())
}

//! `set_rows`: rows of src0 (F32/F16) written into rows of the destination (any type with an
//! f32 conversion) at I32/I64 indices; used for KV cache writes. A destination of an unquantized
//! type may have strided rows (`nb0` larger than the element: the transposed V cache), written
//! element by element.

use crate::backend::cpu::convert::{row_from_f32, row_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::quant::GgmlType;

use super::thread_slot;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (b, c, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let ne0 = b.ne[0] as usize;
    let (r0, r1) = split(b.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    // SAFETY: this thread has rows, so it has a workspace slot.
    let tmp: &mut [f32] = unsafe { thread_slot(ctx, ith, ne0) };
    for ir in r0..r1 {
        let (i1, i2, i3) = b.unravel(ir);
        // SAFETY: index element exists (c broadcasts over b's dims 2, 3); the destination row is
        // bounds-checked against d.ne[1]; source rows are contiguous (checked at build).
        unsafe {
            let pc = c.ptr.add(
                i1 * c.nb[0]
                    + (i2 % c.ne[1] as usize) * c.nb[1]
                    + (i3 % c.ne[2] as usize) * c.nb[2],
            );
            let idx = if c.ty == GgmlType::I64 {
                *(pc as *const i64)
            } else {
                *(pc as *const i32) as i64
            };
            if idx < 0 || idx >= d.ne[1] {
                ctx.fail();
                return;
            }
            let src = b.row(i1, i2, i3);
            let dst = d.row(idx as usize, i2, i3);
            let ok = row_to_f32(b.ty, src, tmp)
                && if d.nb[0] == d.ty.type_size() {
                    row_from_f32(d.ty, tmp, dst)
                } else {
                    scatter_from_f32(d.ty, tmp, dst, d.nb[0])
                };
            if !ok {
                ctx.fail();
                return;
            }
        }
    }
}

/// Converts `src` to `ty` (one element per block) and writes element `j` at `dst + j * stride`,
/// [`SCATTER`] elements at a time through a stack buffer.
///
/// # Safety
/// `dst + j * stride` must be writable for `ty.type_size()` bytes for every `j < src.len()`.
unsafe fn scatter_from_f32(ty: GgmlType, src: &[f32], dst: *mut u8, stride: usize) -> bool {
    let es = ty.type_size();
    if ty.block_size() != 1 || es > 4 {
        return false;
    }
    let mut buf = [0u8; 4 * SCATTER];
    for (c, part) in src.chunks(SCATTER).enumerate() {
        // SAFETY: `buf` holds SCATTER elements of at most 4 bytes.
        if !unsafe { row_from_f32(ty, part, buf.as_mut_ptr()) } {
            return false;
        }
        for (j, e) in buf.chunks_exact(es).take(part.len()).enumerate() {
            // SAFETY: element `c * SCATTER + j` < src.len(), writable by the caller's promise.
            unsafe {
                std::ptr::copy_nonoverlapping(e.as_ptr(), dst.add((c * SCATTER + j) * stride), es)
            };
        }
    }
    true
}

/// Elements converted per step of [`scatter_from_f32`].
const SCATTER: usize = 16;

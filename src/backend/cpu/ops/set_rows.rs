//! `set_rows`: rows of src0 (F32/F16) written into rows of the destination (any type with an
//! f32 conversion) at I32/I64 indices; used for KV cache writes.

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
            if !row_to_f32(b.ty, src, tmp) || !row_from_f32(d.ty, tmp, d.row(idx as usize, i2, i3))
            {
                ctx.fail();
                return;
            }
        }
    }
}

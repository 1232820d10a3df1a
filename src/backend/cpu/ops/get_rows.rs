//! `get_rows`: rows of src0 (any convertible type) picked by I32 indices, as f32.

use crate::backend::cpu::convert::{row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx};
use crate::quant::GgmlType;

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let ne0 = d.ne[0] as usize;
    let (r0, r1) = split(d.nrows(), ith, nth);
    for ir in r0..r1 {
        let (i1, i2, i3) = d.unravel(ir);
        // SAFETY: index tensor element (i1, i2, i3) exists (b is [n, ne2, ne3]); the picked row
        // is bounds-checked; dst rows are contiguous (fresh arena tensor).
        unsafe {
            let idx = *(b.ptr.add(i1 * b.nb[0] + i2 * b.nb[1] + i3 * b.nb[2]) as *const i32);
            if idx < 0 || idx as i64 >= a.ne[1] {
                ctx.fail();
                return;
            }
            let src = a.row(idx as usize, i2, i3);
            let dst = d.row(i1, i2, i3);
            if a.ty == GgmlType::I32 {
                for i in 0..ne0 {
                    *(dst as *mut i32).add(i) = *(src.add(i * a.nb[0]) as *const i32);
                }
                continue;
            }
            let out = std::slice::from_raw_parts_mut(dst as *mut f32, ne0);
            let ok = if a.rows_contiguous() {
                row_to_f32(a.ty, src, out)
            } else {
                strided_to_f32(a.ty, src, a.nb[0], out)
            };
            if !ok {
                ctx.fail();
                return;
            }
        }
    }
}

//! `cpy` / `cont` / `cast`: copy with type conversion between any two layouts of the same
//! element count (elements in row-major order).

use crate::backend::cpu::convert::{row_from_f32, row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};

use super::thread_slot;
use crate::tensor::Tensor;

/// Whether the copy goes row by row through f32 scratch (else a byte copy or element copy).
pub fn uses_rows(s: &Tensor<'_>, d: &Tensor<'_>) -> bool {
    s.ty != d.ty && s.ne[0] == d.ne[0]
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (s, d) = (ctx.s(0), ctx.dst);
    // Same type, both contiguous: a byte copy split across threads.
    if s.ty == d.ty && s.is_contiguous() && d.is_contiguous() {
        let n = s.nel() / s.ty.block_size() * s.ty.type_size();
        let (b0, b1) = split(n, ith, nth);
        // SAFETY: both regions hold n bytes and do not overlap (different planned tensors).
        unsafe { std::ptr::copy_nonoverlapping(s.ptr.add(b0), d.ptr.add(b0), b1 - b0) };
        return;
    }
    if s.ty == d.ty && !s.ty.is_quantized() {
        same_type(&s, &d, ith, nth);
    } else if s.ne[0] == d.ne[0] {
        rows(ctx, &s, &d, ith, nth);
    } else {
        elements(&s, &d, ith, nth);
    }
}

/// Row by row through an f32 row of scratch (row `r` of src goes to row `r` of dst).
fn rows(ctx: &NodeCtx<'_>, s: &TV, d: &TV, ith: usize, nth: usize) {
    let ne0 = s.ne[0] as usize;
    let (r0, r1) = split(s.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    // SAFETY: this thread has rows, so it has a workspace slot.
    let tmp: &mut [f32] = unsafe { thread_slot(ctx, ith, ne0) };
    for ir in r0..r1 {
        let (i1, i2, i3) = s.unravel(ir);
        let (j1, j2, j3) = d.unravel(ir);
        // SAFETY: row indices in range for both; quantized rows are contiguous (build check).
        unsafe {
            let ps = s.row(i1, i2, i3);
            let pd = d.row(j1, j2, j3);
            let ok = if s.rows_contiguous() {
                row_to_f32(s.ty, ps, tmp)
            } else {
                strided_to_f32(s.ty, ps, s.nb[0], tmp)
            };
            if !ok {
                ctx.fail();
                return;
            }
            if d.rows_contiguous() || d.ty.is_quantized() {
                if !row_from_f32(d.ty, tmp, pd) {
                    ctx.fail();
                    return;
                }
            } else {
                for (i, &x) in tmp.iter().enumerate() {
                    let _ = row_from_f32(d.ty, std::slice::from_ref(&x), pd.add(i * d.nb[0]));
                }
            }
        }
    }
}

/// Same plain type, any layouts: element `e` of src in row-major order goes to element `e` of
/// dst, copied as bytes (also for I32 / I64 tensors such as sorted expert ids).
fn same_type(s: &TV, d: &TV, ith: usize, nth: usize) {
    let es = s.ty.type_size();
    let n = s.nel();
    let (e0, e1) = split(n, ith, nth);
    let coords = |t: &TV, e: usize| {
        let n0 = t.ne[0] as usize;
        let n1 = t.ne[1] as usize;
        let n2 = t.ne[2] as usize;
        [
            e % n0,
            (e / n0) % n1,
            (e / (n0 * n1)) % n2,
            e / (n0 * n1 * n2),
        ]
    };
    for e in e0..e1 {
        let (cs, cd) = (coords(s, e), coords(d, e));
        // SAFETY: coordinates are in range for each tensor.
        unsafe {
            let ps = s.ptr.add((0..4).map(|i| cs[i] * s.nb[i]).sum::<usize>());
            let pd = d.ptr.add((0..4).map(|i| cd[i] * d.nb[i]).sum::<usize>());
            std::ptr::copy_nonoverlapping(ps, pd, es);
        }
    }
}

/// Element by element (plain types only): element `e` of src in row-major order goes to
/// element `e` of dst.
fn elements(s: &TV, d: &TV, ith: usize, nth: usize) {
    let n = s.nel();
    let (e0, e1) = split(n, ith, nth);
    let coords = |t: &TV, e: usize| {
        let n0 = t.ne[0] as usize;
        let n1 = t.ne[1] as usize;
        let n2 = t.ne[2] as usize;
        [
            e % n0,
            (e / n0) % n1,
            (e / (n0 * n1)) % n2,
            e / (n0 * n1 * n2),
        ]
    };
    let mut x = [0.0f32];
    for e in e0..e1 {
        let cs = coords(s, e);
        let cd = coords(d, e);
        // SAFETY: coordinates are in range for each tensor.
        unsafe {
            let ps = s.ptr.add((0..4).map(|i| cs[i] * s.nb[i]).sum::<usize>());
            let pd = d.ptr.add((0..4).map(|i| cd[i] * d.nb[i]).sum::<usize>());
            let _ = strided_to_f32(s.ty, ps, 4, &mut x);
            let _ = row_from_f32(d.ty, &x, pd);
        }
    }
}

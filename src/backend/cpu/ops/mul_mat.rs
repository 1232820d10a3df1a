//! `mul_mat`: `dst[M, N, b2, b3] = src0[K, M, a2, a3] · src1[K, N, b2, b3]`, src0 broadcast over
//! the batch dims.
//!
//! Kernel path (every type the kernel table covers, weight rows contiguous): phase 1 converts
//! each activation row of src1 into the weight's vec-dot type (Q8_0 / Q8_1 / Q8_K, or f16 /
//! bf16 / f32) in the planned workspace, as upstream does; after a barrier, phase 2 gives each
//! thread a slice of the weight rows of every batch and runs the kernels' tiled GEMV/GEMM
//! driver on it. Fallback path (other types, strided weight rows): activations rounded like
//! the weight type, weight rows converted to f32 one at a time, f32 dots.

use crate::backend::cpu::convert::{can_to_f32, round_bf16, round_f16, row_to_f32, strided_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::backend::cpu::kernels;
use crate::quant::GgmlType;
use crate::tensor::Tensor;

use super::pad;

/// Weight types this op accepts.
pub fn weight_supported(w: GgmlType) -> bool {
    can_to_f32(w) || kernels::table().get(w).is_some()
}

/// The activation type when the kernel path applies to weights of `ty`.
pub(super) fn kernel_vdt(ty: GgmlType, rows_contiguous: bool) -> Option<GgmlType> {
    if !rows_contiguous || kernels::table().get(ty).is_none() {
        return None;
    }
    kernels::vec_dot_type(ty)
}

/// Exact bytes of one converted activation row, and its padded stride.
pub(super) fn act_sizes(ty: GgmlType, k: usize, rows_contiguous: bool) -> (usize, usize) {
    let exact = match kernel_vdt(ty, rows_contiguous) {
        Some(_) => kernels::act_row_size(ty, k).unwrap_or(k * 4),
        None => k * 4,
    };
    (exact, pad(exact))
}

/// Bytes of `rows` activation rows laid out `stride` apart, the last one unpadded.
pub(super) fn rows_bytes(rows: usize, exact: usize, stride: usize) -> usize {
    if rows == 0 {
        0
    } else {
        (rows - 1) * stride + exact
    }
}

/// Scratch: per-thread f32 rows first (gathering strided activations, or converted weight
/// rows in the fallback path), then the converted activations — last, so the workspace's final
/// byte is always written and the plan stays exact.
pub fn workspace(a: &Tensor<'_>, b: &Tensor<'_>, nth: usize) -> usize {
    let k = a.ne[0].max(0) as usize;
    let rows = b.nrows().max(0) as usize;
    let contiguous = a.is_contiguous_rows();
    let (exact, stride) = act_sizes(a.ty, k, contiguous);
    let kernel = kernel_vdt(a.ty, contiguous).is_some();
    if kernel && private_acts(rows, k) {
        let slot = private_slot(b.nb[0] != 4, k, rows_bytes(rows, exact, stride));
        return (nth - 1) * pad(slot) + slot;
    }
    let per_thread = if !kernel || b.nb[0] != 4 {
        nth * pad(k * 4)
    } else {
        0
    };
    per_thread + rows_bytes(rows, exact, stride)
}

/// The most workspace any graph at a shape no larger than `a` × `b` may ask for on the private
/// path (at most [`PRIVATE_ACT_ELEMS`] activation elements, each row padded to 64 bytes).
/// Workspaces are not monotone in the shape: a smaller batch, or a shorter reduction (the KV
/// length of the attention-weighted sum), may convert its activations once per thread where a
/// larger one shares one copy. A plan for a bounding shape reserves this much as well, so that
/// every smaller shape fits in its slots.
pub fn private_cap(a: &Tensor<'_>, b: &Tensor<'_>, nth: usize) -> usize {
    if kernel_vdt(a.ty, a.is_contiguous_rows()).is_none() {
        return 0;
    }
    let k = (a.ne[0].max(0) as usize).min(PRIVATE_ACT_ELEMS);
    let rows = (b.nrows().max(0) as usize).min(PRIVATE_ACT_ELEMS);
    let gather = if b.nb[0] != 4 { pad(k * 4) } else { 0 };
    let slot = gather + 4 * PRIVATE_ACT_ELEMS + 64 * rows;
    (nth.max(1) - 1) * pad(slot) + slot
}

/// Most activation elements converted per thread privately (see [`private_acts`]).
const PRIVATE_ACT_ELEMS: usize = 16 * 1024;

/// With few activation elements, every thread converts all activation rows into its own copy
/// instead of sharing one: no barrier inside the node (GEMV, i.e. generation, pays one
/// barrier per matmul instead of two).
pub(super) fn private_acts(rows: usize, k: usize) -> bool {
    rows * k <= PRIVATE_ACT_ELEMS
}

/// Bytes of a thread's private slot: an f32 gather row (strided activations only) then the
/// converted activation rows.
fn private_slot(strided: bool, k: usize, acts: usize) -> usize {
    (if strided { pad(k * 4) } else { 0 }) + acts
}

/// Gathers activation row `ir` of `b` as f32 (into `tmp` unless already contiguous).
///
/// # Safety
/// `ir` is a valid row of `b` (F32); `tmp` holds `b.ne[0]` floats.
pub(super) unsafe fn act_row<'t>(b: &TV, ir: usize, tmp: &'t mut [f32]) -> &'t [f32] {
    let k = b.ne[0] as usize;
    let (i1, i2, i3) = b.unravel(ir);
    let p = b.row(i1, i2, i3);
    if b.nb[0] == 4 {
        return std::slice::from_raw_parts(p as *const f32, k);
    }
    for (i, t) in tmp.iter_mut().enumerate() {
        *t = *(p.add(i * b.nb[0]) as *const f32);
    }
    tmp
}

/// Converts activation row `ir` of `b` for the fallback path: f32, rounded as the weight type.
///
/// # Safety
/// `dst` valid for `k` floats; `ir` a valid row of `b`.
pub(super) unsafe fn convert_act_row(b: &TV, ir: usize, wty: GgmlType, dst: *mut f32) {
    let k = b.ne[0] as usize;
    let (i1, i2, i3) = b.unravel(ir);
    let p = b.row(i1, i2, i3);
    for i in 0..k {
        let x = *(p.add(i * b.nb[0]) as *const f32);
        *dst.add(i) = match wty {
            GgmlType::F16 => round_f16(x),
            GgmlType::BF16 => round_bf16(x),
            _ => x,
        };
    }
}

/// f32 dot with eight accumulators.
#[inline]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n8 = a.len() / 8 * 8;
    for (ca, cb) in a[..n8].chunks_exact(8).zip(b[..n8].chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += ca[j] * cb[j];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in a[n8..].iter().zip(&b[n8..]) {
        s += x * y;
    }
    s
}

/// Converts activation rows `[r0, r1)` of `b` into `vdt` rows `ars` bytes apart at `out`.
///
/// # Safety
/// `out` holds `b.nrows()` rows `ars` bytes apart (the last `exact` bytes long); `tmp` this
/// thread's f32 row (may be empty when `b`'s rows are contiguous).
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn quantize_acts(
    b: &TV,
    vdt: GgmlType,
    r0: usize,
    r1: usize,
    out: *mut u8,
    ars: usize,
    exact: usize,
    tmp: &mut [f32],
) -> bool {
    for ir in r0..r1 {
        let row = act_row(b, ir, tmp);
        let dst = std::slice::from_raw_parts_mut(out.add(ir * ars), exact);
        if kernels::quantize_activations(vdt, row, dst).is_err() {
            return false;
        }
    }
    true
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let a = ctx.s(0);
    match kernel_vdt(a.ty, a.rows_contiguous()) {
        Some(vdt) => compute_kernels(ctx, vdt, ith, nth),
        None => compute_fallback(ctx, ith, nth),
    }
}

fn compute_kernels(ctx: &NodeCtx<'_>, vdt: GgmlType, ith: usize, nth: usize) {
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let k = a.ne[0] as usize;
    let (exact, ars) = act_sizes(a.ty, k, true);
    let nrows_b = b.nrows();
    let strided = b.nb[0] != 4;
    let acts_base = if private_acts(nrows_b, k) {
        // SAFETY: thread ith's private slot (see `workspace`): gather row, then activations.
        let (acts, tmp) = unsafe {
            let slot = ctx
                .ws
                .add(ith * pad(private_slot(strided, k, rows_bytes(nrows_b, exact, ars))));
            let tmp: &mut [f32] = if strided {
                std::slice::from_raw_parts_mut(slot as *mut f32, k)
            } else {
                &mut []
            };
            (slot.add(private_slot(strided, k, 0)), tmp)
        };
        // SAFETY: the slot holds all nrows_b rows.
        if !unsafe { quantize_acts(&b, vdt, 0, nrows_b, acts, ars, exact, tmp) } {
            ctx.fail();
        }
        acts
    } else {
        // SAFETY: the activations are the last `rows_bytes` of the workspace; per-thread f32
        // rows (only when src1 rows are strided) come first.
        let (acts, tmp) = unsafe {
            let acts = ctx.ws.add(ctx.ws_len - rows_bytes(nrows_b, exact, ars));
            let tmp: &mut [f32] = if strided {
                std::slice::from_raw_parts_mut(ctx.ws.add(ith * pad(k * 4)) as *mut f32, k)
            } else {
                &mut []
            };
            (acts, tmp)
        };
        let (r0, r1) = split(nrows_b, ith, nth);
        // SAFETY: rows r0..r1 are this thread's; the region holds nrows_b rows.
        if !unsafe { quantize_acts(&b, vdt, r0, r1, acts, ars, exact, tmp) } {
            ctx.fail();
        }
        ctx.sync(nth);
        acts
    };
    let (m, n) = (a.ne[1] as usize, b.ne[1] as usize);
    let (ne2, ne3) = (d.ne[2] as usize, d.ne[3] as usize);
    let (r2, r3) = (ne2 / a.ne[2] as usize, ne3 / a.ne[3] as usize);
    let w_len = (m.saturating_sub(1)) * a.nb[1] + a.ty.type_size() * (k / a.ty.block_size());
    // Chunks of weight rows (multiples of 16) per batch, handed out dynamically. A single
    // matrix times a few rows (generation) is memory-bound and short: its chunks shrink towards
    // the end so that both threads reach the barrier together.
    let rows_per_chunk = chunk_rows(m, ne2 * ne3, nth);
    let chunks_per_batch = m.div_ceil(rows_per_chunk);
    let n_chunks = chunks_per_batch * ne2 * ne3;
    let guided = ne2 * ne3 == 1 && n <= GUIDED_MAX_ROWS;
    loop {
        let (batch, m0, m1) = if guided {
            match ctx.claim_range(m, nth, 16) {
                Some(r) => (0, r.start, r.end),
                None => break,
            }
        } else {
            let c = ctx.next_chunk();
            if c >= n_chunks {
                break;
            }
            let (batch, cb) = (c / chunks_per_batch, c % chunks_per_batch);
            let m0 = cb * rows_per_chunk;
            (batch, m0, (m0 + rows_per_chunk).min(m))
        };
        let (i2, i3) = (batch % ne2, batch / ne2);
        // SAFETY: the weight matrix (i2/r2, i3/r3) spans w_len bytes from its start; the
        // activations of batch (i2, i3) are n rows `ars` apart; dst rows are contiguous f32 and
        // this chunk's columns m0..m1 belong to this thread alone.
        unsafe {
            let w = std::slice::from_raw_parts(
                a.ptr.add((i2 / r2) * a.nb[2] + (i3 / r3) * a.nb[3]),
                w_len,
            );
            let first = (i2 + i3 * ne2) * n;
            let acts =
                std::slice::from_raw_parts(acts_base.add(first * ars), rows_bytes(n, exact, ars));
            let mm = match kernels::MatMul::new(a.ty, w, a.nb[1], m, k, acts, ars, n) {
                Ok(mm) => mm,
                Err(_) => {
                    ctx.fail();
                    return;
                }
            };
            let dst = d.ptr.add(i2 * d.nb[2] + i3 * d.nb[3]) as *mut f32;
            if kernels::mul_mat_raw(&mm, m0..m1, 0..n, dst, d.nb[1] / 4).is_err() {
                ctx.fail();
                return;
            }
        }
    }
}

/// Most activation rows for which a single matrix's rows are claimed in shrinking ranges
/// ([`NodeCtx::claim_range`]) rather than fixed chunks.
const GUIDED_MAX_ROWS: usize = 4;

/// Weight rows per chunk: about eight chunks per thread over all batches, in multiples of 16
/// rows (the kernels' preferred tile), at least 16.
pub(super) fn chunk_rows(m: usize, batches: usize, nth: usize) -> usize {
    let total = m * batches.max(1);
    let target = total.div_ceil(8 * nth.max(1)).max(16);
    target.div_ceil(16).min(m.div_ceil(16).max(1)) * 16
}

fn compute_fallback(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let (a, b, d) = (ctx.s(0), ctx.s(1), ctx.dst);
    let k = a.ne[0] as usize;
    let rs = pad(k * 4);
    let nrows_b = b.nrows();
    // SAFETY: the activations are the last `rows_bytes` of the workspace.
    let acts = unsafe { ctx.ws.add(ctx.ws_len - rows_bytes(nrows_b, k * 4, rs)) } as *mut f32;
    let (r0, r1) = split(nrows_b, ith, nth);
    for ir in r0..r1 {
        // SAFETY: row ir of the activations region.
        unsafe { convert_act_row(&b, ir, a.ty, acts.add(ir * rs / 4)) };
    }
    ctx.sync(nth);
    let (m, n) = (a.ne[1] as usize, b.ne[1] as usize);
    let (ne2, ne3) = (d.ne[2] as usize, d.ne[3] as usize);
    let r2 = ne2 / a.ne[2] as usize;
    let r3 = ne3 / a.ne[3] as usize;
    // SAFETY: per-thread scratch row lies after the activations, inside the workspace.
    let wrow = unsafe { std::slice::from_raw_parts_mut(ctx.ws.add(ith * rs) as *mut f32, k) };
    let total = m * ne2 * ne3;
    let (w0, w1) = split(total, ith, nth);
    for wr in w0..w1 {
        let im = wr % m;
        let i2 = (wr / m) % ne2;
        let i3 = wr / (m * ne2);
        // SAFETY: weight row (im, i2/r2, i3/r3) exists; quantized rows are contiguous.
        unsafe {
            let pw = a.row(im, i2 / r2, i3 / r3);
            let ok = if a.rows_contiguous() {
                row_to_f32(a.ty, pw, wrow)
            } else {
                strided_to_f32(a.ty, pw, a.nb[0], wrow)
            };
            if !ok {
                ctx.fail();
                return;
            }
            for j in 0..n {
                let ir = j + n * (i2 + ne2 * i3);
                let act = std::slice::from_raw_parts(acts.add(ir * rs / 4), k);
                *(d.row(j, i2, i3).add(im * d.nb[0]) as *mut f32) = dot(wrow, act);
            }
        }
    }
}

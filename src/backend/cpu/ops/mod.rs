//! CPU ops, one file per op (or op family). Each op exposes
//! `compute(ctx, ith, nth)` (rows split across threads; phases separated by `ctx.sync`), and
//! this module holds the three tables the executor and planner use: [`compute`] (dispatch),
//! [`supports`] (types and layouts accepted, checked before a run) and [`workspace_size`]
//! (planned scratch per node).

mod binary;
mod concat;
mod cpy;
mod flash_attn;
mod get_rows;
mod glu;
mod mul_mat;
mod mul_mat_id;
mod norm;
mod reduce;
mod repeat;
mod rope;
mod set_rows;
mod soft_max;
mod sort;
mod unary;
pub(crate) mod vexp;
#[cfg(target_arch = "x86_64")]
mod vexp_x86;

use super::convert::{can_from_f32, can_to_f32};
use super::exec::NodeCtx;
use crate::error::{Error, Result};
use crate::graph::{Graph, Op};
use crate::quant::GgmlType;
use crate::tensor::TensorId;

/// Runs `ctx`'s op for thread `ith` of `nth`.
pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    match ctx.op {
        Op::None | Op::View => {}
        Op::Add | Op::Sub | Op::Mul | Op::Div => binary::compute(ctx, ith, nth),
        Op::Scale { .. } | Op::Clamp { .. } | Op::Unary(_) => unary::compute(ctx, ith, nth),
        Op::RmsNorm { .. } | Op::Norm { .. } => norm::compute(ctx, ith, nth),
        Op::MulMat => mul_mat::compute(ctx, ith, nth),
        Op::MulMatId => mul_mat_id::compute(ctx, ith, nth),
        Op::GetRows => get_rows::compute(ctx, ith, nth),
        Op::SetRows => set_rows::compute(ctx, ith, nth),
        Op::Cpy => cpy::compute(ctx, ith, nth),
        Op::Rope(_) => rope::compute(ctx, ith, nth),
        Op::SoftMax { .. } => soft_max::compute(ctx, ith, nth),
        Op::FlashAttnExt { .. } => flash_attn::compute(ctx, ith, nth),
        Op::Glu { .. } => glu::compute(ctx, ith, nth),
        Op::Argsort(_) | Op::TopK(_) | Op::Argmax => sort::compute(ctx, ith, nth),
        Op::SumRows | Op::Mean => reduce::compute(ctx, ith, nth),
        Op::Concat(_) => concat::compute(ctx, ith, nth),
        Op::Repeat => repeat::compute(ctx, ith, nth),
    }
}

fn unsupported(g: &Graph<'_>, node: TensorId, what: String) -> Error {
    let name = g
        .tensors()
        .get(node.index())
        .map(|t| t.name.as_str())
        .unwrap_or("");
    Error::unsupported(format!("CPU {} ({name}): {what}", g.op(node).name()))
}

/// Checks that the CPU backend can run `node` (types, layouts).
pub fn supports(g: &Graph<'_>, node: TensorId) -> Result<()> {
    let t = g.tensor(node)?;
    let src = g.src(node).map(|s| s.and_then(|s| g.tensor(s).ok()));
    let s = |i: usize| src.get(i).copied().flatten();
    let ty = |i: usize| s(i).map(|t| t.ty);
    let f32_only = |tys: &[Option<GgmlType>]| tys.iter().flatten().all(|&t| t == GgmlType::F32);
    let ok = match g.op(node) {
        Op::None | Op::View => true,
        Op::Add | Op::Sub | Op::Mul | Op::Div => f32_only(&[Some(t.ty), ty(0), ty(1)]),
        Op::Scale { .. }
        | Op::Clamp { .. }
        | Op::Unary(_)
        | Op::RmsNorm { .. }
        | Op::Norm { .. } => f32_only(&[Some(t.ty), ty(0)]),
        Op::Glu { .. } => f32_only(&[Some(t.ty), ty(0), ty(1)]),
        Op::SumRows | Op::Mean | Op::Argsort(_) | Op::TopK(_) | Op::Argmax => {
            ty(0) == Some(GgmlType::F32)
        }
        Op::MulMat | Op::MulMatId => {
            let w = ty(0).unwrap_or(GgmlType::F32);
            ty(1) == Some(GgmlType::F32) && mul_mat::weight_supported(w)
        }
        Op::GetRows => ty(0).is_some_and(|w| w == GgmlType::I32 || can_to_f32(w)),
        Op::SetRows => can_from_f32(t.ty) && matches!(ty(0), Some(GgmlType::F32 | GgmlType::F16)),
        Op::Cpy => {
            let from = ty(0).unwrap_or(t.ty);
            let byte_copy = s(0).is_some_and(|x| {
                x.ty == t.ty && (!t.ty.is_quantized() || (x.is_contiguous() && t.is_contiguous()))
            });
            let quant_rows_ok = !(from.is_quantized() || t.ty.is_quantized())
                || s(0).is_some_and(|x| x.ne[0] == t.ne[0]);
            byte_copy || (can_to_f32(from) && can_from_f32(t.ty) && quant_rows_ok)
        }
        Op::Rope(_) => f32_only(&[Some(t.ty), ty(0)]),
        Op::SoftMax { .. } => f32_only(&[Some(t.ty), ty(0)]),
        Op::FlashAttnExt { .. } => {
            ty(0) == Some(GgmlType::F32)
                && (0..3).all(|i| s(i).is_some_and(|t| t.is_contiguous_rows()))
                && flash_attn::k_supported(ty(1).unwrap_or(GgmlType::I32))
                && flash_attn::v_supported(ty(2).unwrap_or(GgmlType::I32))
                && s(3).map(|m| m.ty == GgmlType::F16).unwrap_or(true)
        }
        Op::Concat(_) | Op::Repeat => !t.ty.is_quantized(),
    };
    if ok {
        Ok(())
    } else {
        let tys: Vec<&str> = src.iter().flatten().map(|t| t.ty.name()).collect();
        Err(unsupported(
            g,
            node,
            format!("types {} <- {tys:?}", t.ty.name()),
        ))
    }
}

/// Planned scratch bytes `node` needs with `n_threads` threads. Exact: the last byte of
/// every workspace is written by the op (per-thread rows are counted only for threads that
/// get rows, the last one unpadded), so the arena size the planner reports is the peak touched.
pub fn workspace_size(
    g: &Graph<'_>,
    node: TensorId,
    n_threads: usize,
    split_threshold: u64,
) -> usize {
    let Ok(t) = g.tensor(node) else { return 0 };
    let n_threads = if worth_splitting(g, node, split_threshold) {
        n_threads
    } else {
        1
    };
    let srcs = g.src(node);
    let src = |i: usize| srcs[i].and_then(|s| g.tensor(s).ok());
    let nth = n_threads.max(1);
    let nrows = |x: &crate::tensor::Tensor<'_>| x.nrows().max(0) as usize;
    let ne0 = |x: &crate::tensor::Tensor<'_>| x.ne[0].max(0) as usize;
    match g.op(node) {
        Op::MulMat => match (src(0), src(1)) {
            (Some(a), Some(b)) => mul_mat::workspace(a, b, nth),
            _ => 0,
        },
        Op::MulMatId => match (src(0), src(1)) {
            (Some(a), Some(b)) => mul_mat_id::workspace(a, b, t, nth),
            _ => 0,
        },
        Op::Cpy => match src(0) {
            Some(s) if cpy::uses_rows(s, t) => per_thread(nrows(s), nth, ne0(s) * 4),
            _ => 0,
        },
        Op::SetRows => src(0).map_or(0, |s| per_thread(nrows(s), nth, ne0(s) * 4)),
        Op::SoftMax { .. } | Op::Argsort(_) | Op::TopK(_) => {
            src(0).map_or(0, |s| per_thread(nrows(s), nth, ne0(s) * 4))
        }
        Op::Rope(p) => per_thread(nrows(t), nth, p.n_dims.max(0) as usize * 4),
        Op::FlashAttnExt { .. } => match (src(0), src(1), src(2)) {
            (Some(q), Some(k), Some(v)) => flash_attn::workspace(q, k, v, nth),
            _ => 0,
        },
        _ => 0,
    }
}

/// As [`workspace_size`], for a graph at a *bounding* shape: at least what the same node needs
/// at any smaller shape (see [`mul_mat::private_cap`]).
pub fn workspace_bound(
    g: &Graph<'_>,
    node: TensorId,
    n_threads: usize,
    split_threshold: u64,
) -> usize {
    let w = workspace_size(g, node, n_threads, split_threshold);
    let srcs = g.src(node);
    let src = |i: usize| srcs[i].and_then(|s| g.tensor(s).ok());
    match (g.op(node), src(0), src(1), src(2)) {
        (Op::MulMat, Some(a), Some(b), _) => w.max(mul_mat::private_cap(a, b, n_threads)),
        (Op::FlashAttnExt { .. }, Some(q), Some(k), Some(v)) => {
            // A smaller micro-batch may take the other path (and, like every node, never runs
            // on more threads than this shape's split allows).
            let nth = if worth_splitting(g, node, split_threshold) {
                n_threads
            } else {
                1
            };
            w.max(flash_attn::workspace_bound(q, k, v, nth))
        }
        _ => w,
    }
}

/// Work (roughly, element operations) below which a node runs on one thread: splitting it
/// would cost more in synchronisation than it saves.
pub const SPLIT_THRESHOLD: u64 = 1 << 16;

/// Whether `node` is big enough to split across threads (work at least `threshold`).
pub fn worth_splitting(g: &Graph<'_>, node: TensorId, threshold: u64) -> bool {
    let Ok(t) = g.tensor(node) else { return false };
    let out = t.nelements().max(0) as u64;
    let src = |i: usize| g.src(node)[i].and_then(|s| g.tensor(s).ok());
    let work = match g.op(node) {
        Op::MulMat | Op::MulMatId => {
            out.saturating_mul(src(0).map_or(1, |a| a.ne[0].max(1) as u64))
        }
        Op::FlashAttnExt { .. } => match (src(0), src(1)) {
            (Some(q), Some(k)) => {
                (q.nelements().max(0) as u64).saturating_mul(k.ne[1].max(1) as u64) * 2
            }
            _ => out,
        },
        Op::SoftMax { .. } | Op::Rope(_) | Op::Argsort(_) | Op::TopK(_) => out * 8,
        Op::Cpy | Op::SetRows | Op::GetRows => out * 4,
        _ => out,
    };
    work >= threshold
}

/// Threads that get at least one of `nr` rows from [`super::exec::split`].
pub fn active_threads(nr: usize, nth: usize) -> usize {
    if nr == 0 {
        return 0;
    }
    let dr = nr.div_ceil(nth.max(1));
    nr.div_ceil(dr)
}

/// Exact bytes for one `bytes`-row per active thread, rows `pad(bytes)` apart.
pub fn per_thread(nr: usize, nth: usize, bytes: usize) -> usize {
    let a = active_threads(nr, nth);
    if a == 0 || bytes == 0 {
        0
    } else {
        (a - 1) * pad(bytes) + bytes
    }
}

/// This thread's scratch row of `n` elements of `T` (rows `pad(n * size_of::<T>())` apart).
///
/// # Safety
/// Only for a thread that has rows (`r0 < r1` from `split`), in a node whose workspace was
/// sized with [`per_thread`] for the same row count.
pub unsafe fn thread_slot<'w, T>(ctx: &NodeCtx<'_>, ith: usize, n: usize) -> &'w mut [T] {
    std::slice::from_raw_parts_mut(
        ctx.ws.add(ith * pad(n * std::mem::size_of::<T>())) as *mut T,
        n,
    )
}

/// Rounds a scratch size up to a cache line.
pub fn pad(n: usize) -> usize {
    n.div_ceil(64) * 64
}

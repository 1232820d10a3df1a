//! Runs a planned graph: resolves each tensor to an address, dispatches each node to its op,
//! and meets at the barrier after every node.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::ops;
use super::pool::Barrier;
use crate::alloc::ArenaPlan;
use crate::graph::{Graph, Op, MAX_SRC};
use crate::quant::GgmlType;
use crate::tensor::{Storage, TensorId};

/// A tensor as an op sees it: an address plus type, shape and strides.
#[derive(Clone, Copy, Debug)]
pub struct TV {
    /// Address of element 0.
    pub ptr: *mut u8,
    /// Element type.
    pub ty: GgmlType,
    /// Shape.
    pub ne: [i64; 4],
    /// Byte strides.
    pub nb: [usize; 4],
}

impl TV {
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        (self.ne[1] * self.ne[2] * self.ne[3]) as usize
    }
    /// Elements.
    pub fn nel(&self) -> usize {
        self.ne.iter().product::<i64>() as usize
    }
    /// Address of row `(i1, i2, i3)`.
    ///
    /// # Safety
    /// Indices must be in range.
    #[inline]
    pub unsafe fn row(&self, i1: usize, i2: usize, i3: usize) -> *mut u8 {
        self.ptr
            .add(i1 * self.nb[1] + i2 * self.nb[2] + i3 * self.nb[3])
    }
    /// Rows contiguous with `nb[0]` equal to the element size.
    pub fn rows_contiguous(&self) -> bool {
        self.ne[0] <= 1 || self.nb[0] == self.ty.type_size()
    }
    /// Fully contiguous.
    pub fn is_contiguous(&self) -> bool {
        let c = crate::tensor::contiguous_strides(self.ty, &self.ne);
        (0..4).all(|i| self.ne[i] == 1 || self.nb[i] == c[i])
    }
    /// Splits a row index into `(i1, i2, i3)`.
    #[inline]
    pub fn unravel(&self, ir: usize) -> (usize, usize, usize) {
        let n1 = self.ne[1] as usize;
        let n2 = self.ne[2] as usize;
        (ir % n1, (ir / n1) % n2, ir / (n1 * n2))
    }
}

/// Everything an op needs for one node.
pub struct NodeCtx<'r> {
    /// The result.
    pub dst: TV,
    /// The sources.
    pub src: [Option<TV>; MAX_SRC],
    /// The op and its parameters.
    pub op: Op,
    /// This node's planned scratch (null when none).
    pub ws: *mut u8,
    /// Scratch size in bytes.
    pub ws_len: usize,
    /// The run's barrier (ops with phases call [`NodeCtx::sync`]).
    pub barrier: &'r Barrier,
    /// Set when a node fails in a way validation could not foresee.
    pub failed: &'r AtomicBool,
    /// This node's chunk counter (zero when the node starts).
    pub chunk: &'r AtomicUsize,
}

impl NodeCtx<'_> {
    /// Source `i` (validated at plan time to be present).
    #[inline]
    pub fn s(&self, i: usize) -> TV {
        match self.src[i] {
            Some(t) => t,
            None => self.dst,
        }
    }
    /// All threads of the node meet here.
    pub fn sync(&self, nth: usize) {
        self.barrier.wait(nth);
    }
    /// The next unclaimed chunk index of this node (dynamic load balancing: a descheduled
    /// thread holds up only the chunk it is working on). Starts at 0 for every node.
    pub fn next_chunk(&self) -> usize {
        self.chunk.fetch_add(1, Ordering::Relaxed)
    }
    /// The next unclaimed range of `0..total`, shrinking as the work runs out (guided
    /// self-scheduling): each claim takes `1 / (2 · nth)` of what is left, rounded up to a
    /// multiple of `step`, so the last claims are small and the threads finish together. Uses
    /// this node's chunk counter as the next free index (zero when the node starts).
    pub fn claim_range(
        &self,
        total: usize,
        nth: usize,
        step: usize,
    ) -> Option<std::ops::Range<usize>> {
        let step = step.max(1);
        let mut cur = self.chunk.load(Ordering::Relaxed);
        loop {
            if cur >= total {
                return None;
            }
            let left = total - cur;
            let want = (left / (2 * nth.max(1))).max(step).div_ceil(step) * step;
            let end = cur + want.min(left);
            match self
                .chunk
                .compare_exchange_weak(cur, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(cur..end),
                Err(now) => cur = now,
            }
        }
    }
    /// Records a failure and aborts the run.
    pub fn fail(&self) {
        self.failed.store(true, Ordering::Release);
        self.barrier.abort();
    }
}

/// Rows `[r0, r1)` of `nr` for thread `ith` of `nth`.
#[inline]
pub fn split(nr: usize, ith: usize, nth: usize) -> (usize, usize) {
    let dr = nr.div_ceil(nth.max(1));
    let r0 = (dr * ith).min(nr);
    (r0, (r0 + dr).min(nr))
}

/// Most arena segments a run binds (the host and up to 16 simulated GPUs).
pub const MAX_SEGMENTS: usize = 17;

/// Addresses of the leaves and the arena segments for one run.
pub struct Bindings<'x> {
    /// `(virtual base, real base)` of each segment (see `ArenaPlan::segments`).
    pub(crate) segs: [(usize, *mut u8); MAX_SEGMENTS],
    pub(crate) n_segs: usize,
    pub(crate) inputs: &'x [(TensorId, &'x [u8])],
}

impl Bindings<'_> {
    /// The real address of planned offset `o` (validated before a run to lie inside its
    /// segment's buffer).
    #[inline]
    fn at(&self, o: usize) -> *mut u8 {
        let segs = &self.segs[..self.n_segs];
        let (base, ptr) = match segs.iter().rev().find(|(base, _)| *base <= o) {
            Some(&s) => s,
            None => return std::ptr::null_mut(),
        };
        // SAFETY: o - base lies inside the segment's buffer (checked against the plan).
        unsafe { ptr.add(o - base) }
    }
}

/// The address of `id`'s element 0, or null when it has no bytes (validated before a run).
pub fn address(g: &Graph<'_>, plan: &ArenaPlan, b: &Bindings<'_>, id: TensorId) -> *mut u8 {
    let (root, off) = g.root(id);
    let base: *mut u8 = match g.tensors().get(root.index()).map(|t| t.storage) {
        Some(Storage::Weight(Some(d))) => d.as_ptr() as *mut u8,
        Some(Storage::External(r)) => r.ptr,
        Some(Storage::Arena) => match plan.offset(root) {
            Some(o) => b.at(o),
            None => std::ptr::null_mut(),
        },
        Some(Storage::Input) => match b.inputs.iter().find(|(i, _)| *i == root) {
            Some((_, d)) => d.as_ptr() as *mut u8,
            None => std::ptr::null_mut(),
        },
        _ => std::ptr::null_mut(),
    };
    if base.is_null() {
        return base;
    }
    // SAFETY: views are bounds-checked against their source when built.
    unsafe { base.add(off) }
}

fn tv(g: &Graph<'_>, plan: &ArenaPlan, b: &Bindings<'_>, id: TensorId) -> TV {
    let t = &g.tensors()[id.index()];
    TV {
        ptr: address(g, plan, b, id),
        ty: t.ty,
        ne: t.ne,
        nb: t.nb,
    }
}

/// Runs every node for thread `ith` of `nth`.
///
/// Nodes too small to be worth splitting ([`ops::worth_splitting`]) run on thread 0 alone
/// while the other threads move on to the next split node; the threads meet once before a
/// split node that follows such a run of serial nodes and once after every split node. A
/// token of a 16-layer model thus pays roughly one barrier per matmul instead of one per op.
pub fn run_thread(
    g: &Graph<'_>,
    plan: &ArenaPlan,
    b: &Bindings<'_>,
    barrier: &Barrier,
    failed: &AtomicBool,
    ith: usize,
    nth: usize,
) {
    let mut after_serial = false;
    let mut n_split = 0usize;
    let dump = nth == 1 && super::dump::enabled();
    for &node in g.nodes() {
        if dump {
            barrier.chunks[2].store(0, Ordering::Relaxed);
            run_node(g, plan, b, barrier, failed, &barrier.chunks[2], node, 0, 1);
            let t = &g.tensors()[node.index()];
            super::dump::node(&t.name, g.op(node).name(), &tv(g, plan, b, node));
            continue;
        }
        if barrier.aborted() {
            return;
        }
        let split = nth > 1 && ops::worth_splitting(g, node, plan.config);
        if !split {
            if ith == 0 {
                barrier.chunks[2].store(0, Ordering::Relaxed);
                run_node(g, plan, b, barrier, failed, &barrier.chunks[2], node, 0, 1);
            }
            after_serial = true;
            continue;
        }
        if after_serial {
            barrier.wait(nth);
            after_serial = false;
        }
        if ith == 0 {
            // Nobody uses the other counter now (its node ended at a barrier); the next split
            // node starts after this node's barrier and finds it cleared.
            barrier.chunks[(n_split + 1) % 2].store(0, Ordering::Relaxed);
        }
        run_node(
            g,
            plan,
            b,
            barrier,
            failed,
            &barrier.chunks[n_split % 2],
            node,
            ith,
            nth,
        );
        barrier.wait(nth);
        n_split += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn run_node(
    g: &Graph<'_>,
    plan: &ArenaPlan,
    b: &Bindings<'_>,
    barrier: &Barrier,
    failed: &AtomicBool,
    chunk: &AtomicUsize,
    node: TensorId,
    ith: usize,
    nth: usize,
) {
    {
        let mut src = [None; MAX_SRC];
        for (slot, s) in src.iter_mut().zip(g.src(node)) {
            *slot = s.map(|s| tv(g, plan, b, s));
        }
        let (ws, ws_len) = match plan.workspace.get(node.index()).copied().flatten() {
            Some((o, n)) => (b.at(o), n),
            None => (std::ptr::null_mut(), 0),
        };
        let ctx = NodeCtx {
            dst: tv(g, plan, b, node),
            src,
            op: g.op(node),
            ws,
            ws_len,
            barrier,
            failed,
            chunk,
        };
        ops::compute(&ctx, ith, nth);
    }
}

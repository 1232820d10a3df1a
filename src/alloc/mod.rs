//! The memory planner: pure offset arithmetic over graphs and device descriptors, no device calls.
//!
//! [`plan`] gives every arena tensor of a [`Graph`] (op results that are not views) and every
//! node's declared scratch ("workspace") an offset in one arena. A tensor is live from the
//! first node that touches it (its producer) to the last node that reads it, directly or
//! through a view; graph outputs stay live to the end; a workspace is live only during its
//! node. Blocks are placed best-fit in a free list as the nodes are walked in order, so memory
//! is reused as soon as a tensor dies. The reported size is exact: the largest
//! `offset + nbytes` over all placed blocks — compute touches nothing beyond it.
//! [`plan_worst_case`] plans several graph shapes and keeps each one's offsets; the arena is
//! the largest of them.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::tensor::{Storage, TensorId};

/// Default offset alignment in bytes (a cache line; enough for any SIMD load).
pub const DEFAULT_ALIGNMENT: usize = 64;

/// Planner settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanParams {
    /// Every offset is a multiple of this (a power of two).
    pub alignment: usize,
    /// Threads the graph will run with at most (workspaces may scale with it).
    pub n_threads: usize,
}

impl Default for PlanParams {
    fn default() -> Self {
        PlanParams {
            alignment: DEFAULT_ALIGNMENT,
            n_threads: 1,
        }
    }
}

/// Where each arena tensor and workspace of one graph lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArenaPlan {
    /// Bytes the arena must have: the largest `offset + nbytes` placed.
    pub size: usize,
    /// Alignment the offsets honour (the arena base must be aligned to it too).
    pub alignment: usize,
    /// Threads this plan's workspaces were sized for.
    pub n_threads: usize,
    /// Number of tensors of the graph planned (a cheap check that plan and graph match).
    pub n_tensors: usize,
    /// Backend settings the workspaces were sized under (the CPU backend stores its split
    /// threshold); a backend refuses a plan made under other settings.
    pub config: u64,
    /// Offset of each arena tensor, indexed by `TensorId` (`None` for leaves and views).
    pub offsets: Vec<Option<usize>>,
    /// `(offset, bytes)` of each node's workspace, indexed by `TensorId` (`None`: no scratch).
    pub workspace: Vec<Option<(usize, usize)>>,
    /// `(base, bytes)` of each arena segment ([`Graph::segment`]), in segment order: offsets
    /// above are into the segments laid end to end (segment `s` starts at `base`); each
    /// segment is its own buffer at run time. One segment (the host's) unless the graph runs
    /// layers on simulated GPUs.
    pub segments: Vec<(usize, usize)>,
}

impl ArenaPlan {
    /// Offset of arena tensor `id`, if it is one.
    pub fn offset(&self, id: TensorId) -> Option<usize> {
        self.offsets.get(id.index()).copied().flatten()
    }
    /// Bytes of segment `s` (0 when the graph has none there).
    pub fn segment_size(&self, s: usize) -> usize {
        self.segments.get(s).map_or(0, |&(_, n)| n)
    }
}

/// Plans for several graphs sharing one arena.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorstCasePlan {
    /// The arena size: the maximum over `plans`.
    pub size: usize,
    /// One plan per graph, in the order given.
    pub plans: Vec<ArenaPlan>,
}

/// A block to place: needed from node `start` to node `end` inclusive.
#[derive(Clone, Copy, Debug)]
struct Block {
    start: usize,
    end: usize,
    bytes: usize,
    seg: usize,
    /// Tensor index; workspace blocks use `usize::MAX - tensor index`.
    owner: usize,
}

fn align_up(x: usize, a: usize) -> Result<usize> {
    x.checked_add(a - 1)
        .map(|v| v & !(a - 1))
        .ok_or_else(|| Error::oom("arena size overflows"))
}

/// A free list over `[0, top)` plus everything above `top`.
struct FreeList {
    /// Free ranges `(offset, size)`, sorted by offset, non-adjacent.
    free: Vec<(usize, usize)>,
    top: usize,
}

impl FreeList {
    fn alloc(&mut self, size: usize) -> Result<usize> {
        // Best fit among the holes below top.
        let mut best: Option<usize> = None;
        for (i, &(_, s)) in self.free.iter().enumerate() {
            if s >= size && best.map(|b| s < self.free[b].1).unwrap_or(true) {
                best = Some(i);
            }
        }
        if let Some(i) = best {
            let (o, s) = self.free[i];
            if s == size {
                self.free.remove(i);
            } else {
                self.free[i] = (o + size, s - size);
            }
            return Ok(o);
        }
        // Grow: reuse a hole that ends at top.
        if let Some(&(o, s)) = self.free.last() {
            if o + s == self.top {
                self.free.pop();
                self.top = o
                    .checked_add(size)
                    .ok_or_else(|| Error::oom("arena size overflows"))?;
                return Ok(o);
            }
        }
        let o = self.top;
        self.top = o
            .checked_add(size)
            .ok_or_else(|| Error::oom("arena size overflows"))?;
        Ok(o)
    }

    fn release(&mut self, off: usize, size: usize) {
        let i = self.free.partition_point(|&(o, _)| o < off);
        self.free.insert(i, (off, size));
        // Merge with the next, then with the previous.
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
    }
}

/// Plans `graph`'s arena. `workspace(graph, node, n_threads)` returns the scratch bytes a node
/// needs (0 for none); the backend that will run the graph supplies it.
pub fn plan(
    graph: &Graph<'_>,
    params: &PlanParams,
    workspace: &dyn Fn(&Graph<'_>, TensorId, usize) -> usize,
) -> Result<ArenaPlan> {
    let align = params.alignment.max(1);
    if !align.is_power_of_two() {
        return Err(Error::invalid(format!(
            "alignment {align} is not a power of two"
        )));
    }
    let n = graph.n_tensors();
    let nodes = graph.nodes();
    let tensors = graph.tensors();
    let end_of_graph = nodes.len();

    // Liveness of arena roots: [first touch, last touch] in node indices.
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    let touch = |id: TensorId, step: usize, first: &mut Vec<usize>, last: &mut Vec<usize>| {
        let (r, _) = graph.root(id);
        let r = r.index();
        if r < n {
            first[r] = first[r].min(step);
            last[r] = last[r].max(step);
        }
    };
    for (step, &node) in nodes.iter().enumerate() {
        touch(node, step, &mut first, &mut last);
        for s in graph.src(node).into_iter().flatten() {
            touch(s, step, &mut first, &mut last);
        }
    }
    for &o in graph.outputs() {
        let (r, _) = graph.root(o);
        if r.index() < n && first[r.index()] != usize::MAX {
            last[r.index()] = end_of_graph;
        }
    }

    let mut blocks: Vec<Block> = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        if matches!(t.storage, Storage::Arena) && first[i] != usize::MAX {
            blocks.push(Block {
                start: first[i],
                end: last[i],
                bytes: t.nbytes(),
                seg: graph.segment(TensorId(i as u32)) as usize,
                owner: i,
            });
        }
    }
    for (step, &node) in nodes.iter().enumerate() {
        let ws = workspace(graph, node, params.n_threads);
        if ws > 0 {
            blocks.push(Block {
                start: step,
                end: step,
                bytes: ws,
                seg: graph.segment(node) as usize,
                owner: usize::MAX - node.index(),
            });
        }
    }
    // Place in order of start; at equal start, bigger first (packs better).
    blocks.sort_by(|a, b| a.start.cmp(&b.start).then(b.bytes.cmp(&a.bytes)));

    let n_seg = blocks.iter().map(|b| b.seg + 1).max().unwrap_or(1);
    let mut offsets: Vec<Option<(usize, usize)>> = vec![None; n];
    let mut ws_out: Vec<Option<(usize, usize, usize)>> = vec![None; n];
    let mut fls: Vec<FreeList> = (0..n_seg)
        .map(|_| FreeList {
            free: Vec::new(),
            top: 0,
        })
        .collect();
    let mut sizes = vec![0usize; n_seg];
    // Blocks to free, ordered by end step: (end, segment, off, rounded size).
    let mut live: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut bi = 0;
    for step in 0..=end_of_graph {
        while bi < blocks.len() && blocks[bi].start == step {
            let b = blocks[bi];
            bi += 1;
            let off = if b.bytes == 0 {
                0
            } else {
                let rounded = align_up(b.bytes, align)?;
                let off = fls[b.seg].alloc(rounded)?;
                live.push((b.end, b.seg, off, rounded));
                sizes[b.seg] = sizes[b.seg].max(off + b.bytes);
                off
            };
            if b.owner < n {
                offsets[b.owner] = Some((b.seg, off));
            } else {
                ws_out[usize::MAX - b.owner] = Some((b.seg, off, b.bytes));
            }
        }
        let mut k = 0;
        while k < live.len() {
            if live[k].0 <= step {
                let (_, seg, off, sz) = live.swap_remove(k);
                fls[seg].release(off, sz);
            } else {
                k += 1;
            }
        }
    }
    // segments end to end, each starting aligned
    let mut segments = Vec::with_capacity(n_seg);
    let mut base = 0usize;
    for &sz in &sizes {
        segments.push((base, sz));
        base = align_up(
            base.checked_add(sz)
                .ok_or_else(|| Error::oom("arena size overflows"))?,
            align,
        )?;
    }
    let size = segments.last().map_or(0, |&(b, s)| b + s);
    Ok(ArenaPlan {
        size,
        alignment: align,
        n_threads: params.n_threads,
        n_tensors: n,
        config: 0,
        offsets: offsets
            .into_iter()
            .map(|o| o.map(|(seg, off)| segments[seg].0 + off))
            .collect(),
        workspace: ws_out
            .into_iter()
            .map(|w| w.map(|(seg, off, bytes)| (segments[seg].0 + off, bytes)))
            .collect(),
        segments,
    })
}

/// Re-uses the offsets of `template` (a plan of `tg`) for `g`, a graph built by the same code
/// at a smaller shape: the same tensors, ops and sources in the same order (so the same
/// liveness), each arena tensor no larger than its counterpart. Every tensor then sits inside
/// its counterpart's slot, so nothing live overlaps. A workspace that is no larger than its
/// counterpart takes its slot; a larger one (workspaces are not monotone in the shape) goes
/// into the lowest gap free during its node, below `arena_len`. This is how a context covers
/// every micro-batch shape with the arena it planned for the bounding shapes, even where a
/// fresh best-fit plan of a smaller graph would happen to pack worse. `fresh` is `g`'s own plan
/// (its workspace sizes are kept).
pub fn fit_to_template(
    g: &Graph<'_>,
    fresh: &ArenaPlan,
    tg: &Graph<'_>,
    template: &ArenaPlan,
    caps: &[usize],
) -> Result<ArenaPlan> {
    let mismatch = |what: String| {
        Err(Error::internal(format!(
            "graph does not fit its bounding shape: {what}"
        )))
    };
    if g.n_tensors() != tg.n_tensors() || g.nodes() != tg.nodes() || g.outputs() != tg.outputs() {
        return mismatch("different tensors or nodes".into());
    }
    let (ta, tb) = (g.tensors(), tg.tensors());
    for i in 0..g.n_tensors() {
        let id = TensorId(i as u32);
        let (a, b) = (&ta[i], &tb[i]);
        if std::mem::discriminant(&g.op(id)) != std::mem::discriminant(&tg.op(id))
            || g.src(id) != tg.src(id)
            || std::mem::discriminant(&a.storage) != std::mem::discriminant(&b.storage)
        {
            return mismatch(format!("tensor {} differs in structure", a.name));
        }
        if fresh.offsets[i].is_some() && (template.offsets[i].is_none() || a.nbytes() > b.nbytes())
        {
            return mismatch(format!(
                "tensor {} is larger than at the bounding shape",
                a.name
            ));
        }
    }
    let mut out = fresh.clone();
    out.offsets = template.offsets.clone();
    out.size = template.size;
    out.segments = template.segments.clone();
    let mut live = None;
    for (step, &node) in g.nodes().iter().enumerate() {
        let i = node.index();
        out.workspace[i] = match (fresh.workspace[i], template.workspace[i]) {
            (None, _) => None,
            (Some((_, n)), Some((o, m))) if n <= m => Some((o, n)),
            // Workspaces are not monotone in the shape (a small batch may convert activations
            // once per thread): place this one in a gap free during its node.
            (Some((_, n)), _) => {
                let live = live.get_or_insert_with(|| liveness(g));
                let seg = g.segment(node) as usize;
                let (base, _) = out.segments.get(seg).copied().unwrap_or((0, 0));
                let cap = caps.get(seg).copied().unwrap_or(0);
                let o = gap_at(g, &out, live, step, n, base, base + cap).ok_or_else(|| {
                    Error::internal(format!(
                        "graph does not fit its bounding shape: no room for the {n}-byte \
                         workspace of node {i} in segment {seg} of {cap} bytes"
                    ))
                })?;
                if let Some(sg) = out.segments.get_mut(seg) {
                    sg.1 = sg.1.max(o + n - base);
                }
                out.size = out.size.max(o + n);
                Some((o, n))
            }
        };
    }
    Ok(out)
}

/// The lowest aligned offset where `n` bytes fit in `[start, limit)` without touching a tensor
/// of `plan` live at node `step` (sizes from `g`).
#[allow(clippy::too_many_arguments)]
fn gap_at(
    g: &Graph<'_>,
    plan: &ArenaPlan,
    live: &[Option<(usize, usize)>],
    step: usize,
    n: usize,
    start: usize,
    limit: usize,
) -> Option<usize> {
    let align = plan.alignment.max(1);
    let mut busy: Vec<(usize, usize)> = live
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l, Some((a, b)) if *a <= step && step <= *b))
        .filter_map(|(i, _)| {
            let off = plan.offsets.get(i).copied().flatten()?;
            let bytes = g.tensors().get(i)?.nbytes();
            (off + bytes > start && off < limit).then_some((off, off + bytes))
        })
        .collect();
    busy.sort_unstable();
    let mut at = start;
    for (lo, hi) in busy {
        if at + n <= lo {
            break;
        }
        at = at.max(hi.div_ceil(align) * align);
    }
    (at + n <= limit).then_some(at)
}

/// Plans each graph on its own; the arena is the largest plan.
pub fn plan_worst_case(
    graphs: &[&Graph<'_>],
    params: &PlanParams,
    workspace: &dyn Fn(&Graph<'_>, TensorId, usize) -> usize,
) -> Result<WorstCasePlan> {
    let mut out = WorstCasePlan::default();
    for g in graphs {
        let p = plan(g, params, workspace)?;
        out.size = out.size.max(p.size);
        out.plans.push(p);
    }
    Ok(out)
}

/// `(start, end)` node interval during which each arena tensor is live, indexed by
/// `TensorId` — exposed for tests that check the plan independently.
pub fn liveness(graph: &Graph<'_>) -> Vec<Option<(usize, usize)>> {
    let n = graph.n_tensors();
    let mut out: Vec<Option<(usize, usize)>> = vec![None; n];
    let nodes = graph.nodes();
    for (step, &node) in nodes.iter().enumerate() {
        let srcs = graph.src(node);
        for id in std::iter::once(node).chain(srcs.into_iter().flatten()) {
            let (r, _) = graph.root(id);
            if let Some(slot) = out.get_mut(r.index()) {
                *slot = Some(match *slot {
                    None => (step, step),
                    Some((a, b)) => (a.min(step), b.max(step)),
                });
            }
        }
    }
    for &o in graph.outputs() {
        let (r, _) = graph.root(o);
        if let Some(Some((_, b))) = out.get_mut(r.index()) {
            *b = nodes.len();
        }
    }
    for (i, t) in graph.tensors().iter().enumerate() {
        if !matches!(t.storage, Storage::Arena) {
            out[i] = None;
        }
    }
    out
}

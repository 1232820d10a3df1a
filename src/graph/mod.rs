//! Compute graphs: ops as nodes over tensor descriptors, and a builder that validates shapes.
//!
//! A [`Graph`] owns an arena of [`Tensor`] descriptors addressed by [`TensorId`]. Leaves are
//! weights (caller-owned bytes, borrowed for `'a`), inputs (bytes supplied at compute time),
//! and external buffers (persistent caller-owned memory such as the KV cache, which ops may
//! write through `set_rows`/`cpy`). Every op constructor (ggml's names and shape rules) appends
//! one node and returns its result tensor, or an error when the shapes/types do not fit.
//! Nodes run in creation order (creation order is a topological order, and it also orders
//! side effects: a `set_rows` into the KV cache created before the attention that reads the
//! cache runs before it). Results live in the compute arena at offsets chosen by the planner
//! ([`crate::alloc::plan`]); mark the tensors you read after compute with
//! [`Graph::set_output`] so the planner keeps them alive to the end.
//!
//! ```
//! use llama::graph::Graph;
//! use llama::quant::GgmlType;
//! use llama::backend::cpu::CpuBackend;
//!
//! # fn main() -> llama::Result<()> {
//! let w: Vec<f32> = (0..8 * 4).map(|i| i as f32 * 0.01).collect();  // weight [K=8, M=4]
//! let w_bytes = llama::backend::cpu::as_bytes(&w);
//! let mut g = Graph::new();
//! let wt = g.weight("w", GgmlType::F32, &[8, 4], w_bytes)?;
//! let x = g.input("x", GgmlType::F32, &[8, 2])?;                  // two tokens
//! let y = g.mul_mat(wt, x)?;                                       // [4, 2]
//! let y = g.rms_norm(y, 1e-5)?;
//! let y = g.silu(y)?;
//! g.set_output(y)?;
//!
//! let mut cpu = CpuBackend::new(2)?;              // thread pool, created once
//! let plan = cpu.plan(&g, 2)?;                    // arena size + offsets, no allocation
//! let mut arena = cpu.alloc_arena(plan.size)?;    // the only compute memory
//! let xs = vec![1.0f32; 16];
//! cpu.compute(&g, &plan, &mut arena, &[(x, llama::backend::cpu::as_bytes(&xs))], 2)?;
//! let out: &[f32] = cpu.read_f32(&g, &plan, &mut arena, y)?;
//! assert_eq!(out.len(), 8);
//! # Ok(()) }
//! ```
//!
//! Conventions (as ggml): `ne[0]` is the innermost dimension; `mul_mat(a, b)` takes the
//! weight first (`a[K, M]`, `b[K, N]` → `[M, N]`); binary ops broadcast `b` over `a`;
//! `permute(a, [p0, p1, p2, p3])` moves axis `i` of `a` to position `p_i`.
//!
//! ## Leaves
//! - [`Graph::weight`]: bytes borrowed for the graph's lifetime `'a` (an mmap slice);
//!   [`Graph::weight_meta`]: shape only, for graphs that are planned but never computed.
//! - [`Graph::input`]: bound at compute time, `(TensorId, &[u8])` pairs (aligned to the
//!   element size; `backend::cpu::as_bytes(&[i32])` gives the bytes).
//! - [`Graph::external`]: a region of a persistent [`ExternalMemory`] (a
//!   [`crate::backend::HostBuffer`] holding the KV cache). `set_rows(cache, k_cur, idxs)` and
//!   `cpy(x, view_of_cache)` write into it and return a view that depends on the write; build
//!   the reading views from that returned tensor (or after it) so the read runs later.
//!
//! ## Memory and execution
//! - `CpuBackend::plan(&g, n_threads)` → [`crate::alloc::ArenaPlan`]: every op result that is
//!   not a view gets an offset in one arena, reused by liveness; node scratch (activation
//!   copies for quantized matmul, per-thread rows) is part of the plan. `plan.size` is exact.
//!   `plan_worst_case(&[&g1, &g2, ..], n)` plans several shapes; allocate the maximum once.
//! - `CpuBackend::compute(&g, &plan, &mut arena, inputs, n_threads)` allocates nothing. Nodes
//!   big enough to be worth it are split across the pool's threads (rows or dynamic chunks)
//!   with one barrier after each; small nodes run on one thread without barriers.
//! - Outputs: `read_f32` / `read_bytes` give a slice of the arena for arena tensors.

mod build;
mod build_attn;
pub mod op;

pub use op::{GluOp, Op, RopeMode, RopeParams, SortOrder, UnaryOp};

use crate::error::{Error, Result};
use crate::quant::GgmlType;
use crate::tensor::{check_shape, contiguous_strides, ne4};
pub use crate::tensor::{ExternalRef, Storage, Tensor, TensorId, MAX_DIMS};

/// Maximum number of sources of one node.
pub const MAX_SRC: usize = 5;

/// Memory that a graph may read and write as an external tensor (KV cache storage).
///
/// # Safety
/// `external_region` must return a pointer valid for reads and writes of `len` bytes for as
/// long as the `&self` borrow lives, and the implementor must not allow other access to those
/// bytes while that borrow is held by a graph being computed (e.g. by being `!Sync`).
pub unsafe trait ExternalMemory {
    /// The region's start and length.
    fn external_region(&self) -> ExternalRef;
}

/// A compute graph: tensors (leaves, views, op results) and the nodes to run, in order.
#[derive(Debug, Default)]
pub struct Graph<'a> {
    tensors: Vec<Tensor<'a>>,
    ops: Vec<Op>,
    srcs: Vec<[Option<TensorId>; MAX_SRC]>,
    nodes: Vec<TensorId>,
    outputs: Vec<TensorId>,
    inputs: Vec<TensorId>,
    /// Arena segment (device) of each tensor's intermediate bytes: 0 the host, `1 + d` the
    /// simulated GPU `d` that runs the layer it belongs to.
    segs: Vec<u8>,
    cur_seg: u8,
    /// Segment of each model layer (empty: every layer on the host).
    layer_segs: &'a [u8],
}

impl<'a> Graph<'a> {
    /// An empty graph.
    pub fn new() -> Graph<'a> {
        Graph::default()
    }

    /// An empty graph with room for `n` tensors.
    pub fn with_capacity(n: usize) -> Graph<'a> {
        Graph {
            tensors: Vec::with_capacity(n),
            ops: Vec::with_capacity(n),
            srcs: Vec::with_capacity(n),
            nodes: Vec::with_capacity(n),
            outputs: Vec::new(),
            inputs: Vec::new(),
            segs: Vec::with_capacity(n),
            cur_seg: 0,
            layer_segs: &[],
        }
    }

    // ----- access -----

    /// Tensors created from now on have their arena bytes in segment `seg` (0: the host arena,
    /// `1 + d`: simulated GPU `d`'s compute buffer).
    pub fn set_segment(&mut self, seg: u8) {
        self.cur_seg = seg;
    }

    /// The segment of each model layer, for [`Graph::enter_layer`].
    pub fn set_layer_segments(&mut self, segs: &'a [u8]) {
        self.layer_segs = segs;
    }

    /// Tensors created from now on belong to layer `il` (its segment).
    pub fn enter_layer(&mut self, il: usize) {
        self.cur_seg = self.layer_segs.get(il).copied().unwrap_or(0);
    }

    /// The arena segment of `id` (that of the tensor it is a view of).
    pub fn segment(&self, id: TensorId) -> u8 {
        let (root, _) = self.root(id);
        self.segs.get(root.index()).copied().unwrap_or(0)
    }

    /// Number of tensors (leaves, views and nodes).
    pub fn n_tensors(&self) -> usize {
        self.tensors.len()
    }

    /// The descriptor of `id`.
    pub fn tensor(&self, id: TensorId) -> Result<&Tensor<'a>> {
        self.tensors
            .get(id.index())
            .ok_or_else(|| Error::invalid(format!("tensor id {} not in this graph", id.0)))
    }

    /// All descriptors, indexed by `TensorId`.
    pub fn tensors(&self) -> &[Tensor<'a>] {
        &self.tensors
    }

    /// The op that produced `id` (`Op::None` for leaves, `Op::View` for views).
    pub fn op(&self, id: TensorId) -> Op {
        self.ops.get(id.index()).copied().unwrap_or(Op::None)
    }

    /// The sources of `id` (unused slots are `None`).
    pub fn src(&self, id: TensorId) -> [Option<TensorId>; MAX_SRC] {
        self.srcs
            .get(id.index())
            .copied()
            .unwrap_or([None; MAX_SRC])
    }

    /// The compute nodes in execution order.
    pub fn nodes(&self) -> &[TensorId] {
        &self.nodes
    }

    /// Tensors marked with [`Graph::set_output`].
    pub fn outputs(&self) -> &[TensorId] {
        &self.outputs
    }

    /// Input leaves, in creation order.
    pub fn inputs(&self) -> &[TensorId] {
        &self.inputs
    }

    /// Shape of `id`.
    pub fn ne(&self, id: TensorId) -> Result<[i64; MAX_DIMS]> {
        Ok(self.tensor(id)?.ne)
    }

    /// Element type of `id`.
    pub fn ty(&self, id: TensorId) -> Result<GgmlType> {
        Ok(self.tensor(id)?.ty)
    }

    /// Renames `id` (as `ggml_set_name`); returns `id` for chaining.
    pub fn set_name(&mut self, id: TensorId, name: impl Into<String>) -> Result<TensorId> {
        self.tensor(id)?;
        self.tensors[id.index()].name = name.into();
        Ok(id)
    }

    /// Marks `id` as a graph output: its bytes stay valid (not reused) until compute returns.
    pub fn set_output(&mut self, id: TensorId) -> Result<()> {
        self.tensor(id)?;
        if !self.outputs.contains(&id) {
            self.outputs.push(id);
        }
        Ok(())
    }

    /// Follows views to the tensor that owns the bytes; returns it and the byte offset of `id`
    /// inside it.
    pub fn root(&self, id: TensorId) -> (TensorId, usize) {
        let mut cur = id;
        let mut off = 0usize;
        // Views always point at earlier tensors, so this terminates.
        while let Some(Tensor {
            storage: Storage::View { src, offset },
            ..
        }) = self.tensors.get(cur.index())
        {
            off += *offset;
            cur = *src;
        }
        (cur, off)
    }

    // ----- leaves -----

    fn push(&mut self, t: Tensor<'a>, op: Op, src: &[TensorId]) -> Result<TensorId> {
        if self.tensors.len() >= u32::MAX as usize {
            return Err(Error::invalid("too many tensors in one graph"));
        }
        let id = TensorId(self.tensors.len() as u32);
        let mut s = [None; MAX_SRC];
        for (slot, &x) in s.iter_mut().zip(src) {
            *slot = Some(x);
        }
        self.tensors.push(t);
        self.ops.push(op);
        self.srcs.push(s);
        self.segs.push(self.cur_seg);
        if op.is_compute() {
            self.nodes.push(id);
        }
        Ok(id)
    }

    fn leaf(
        &mut self,
        name: &str,
        ty: GgmlType,
        ne: &[i64],
        storage: Storage<'a>,
    ) -> Result<TensorId> {
        let ne = ne4(ne).map_err(|e| e.within(name))?;
        check_shape(ty, &ne).map_err(|e| e.within(name))?;
        let nb = contiguous_strides(ty, &ne);
        let t = Tensor {
            ty,
            ne,
            nb,
            storage,
            name: name.to_string(),
        };
        let need = t.nbytes();
        let have = match storage {
            Storage::Weight(Some(d)) => Some(d.len()),
            Storage::External(r) => Some(r.len),
            _ => None,
        };
        if let Some(have) = have {
            if have < need {
                return Err(Error::invalid(format!(
                    "{name}: {have} bytes given, shape {ne:?} {} needs {need}",
                    ty.name()
                )));
            }
        }
        self.push(t, Op::None, &[])
    }

    /// A weight whose bytes the caller owns for `'a` (an mmap slice). `data` must hold at least
    /// the contiguous size of the shape.
    pub fn weight(
        &mut self,
        name: &str,
        ty: GgmlType,
        ne: &[i64],
        data: &'a [u8],
    ) -> Result<TensorId> {
        self.leaf(name, ty, ne, Storage::Weight(Some(data)))
    }

    /// A weight known only by shape: the graph can be planned but not computed.
    pub fn weight_meta(&mut self, name: &str, ty: GgmlType, ne: &[i64]) -> Result<TensorId> {
        self.leaf(name, ty, ne, Storage::Weight(None))
    }

    /// An input filled by the caller at each compute call (contiguous).
    pub fn input(&mut self, name: &str, ty: GgmlType, ne: &[i64]) -> Result<TensorId> {
        let id = self.leaf(name, ty, ne, Storage::Input)?;
        self.inputs.push(id);
        Ok(id)
    }

    /// A persistent external tensor at `offset` bytes into `mem` (a KV cache buffer).
    pub fn external<M: ExternalMemory + ?Sized>(
        &mut self,
        name: &str,
        ty: GgmlType,
        ne: &[i64],
        mem: &'a M,
        offset: usize,
    ) -> Result<TensorId> {
        let r = mem.external_region();
        if offset > r.len {
            return Err(Error::invalid(format!(
                "{name}: offset {offset} past the buffer end {}",
                r.len
            )));
        }
        // SAFETY: offset <= len, so the pointer stays inside (or one past) the region.
        let ptr = unsafe { r.ptr.add(offset) };
        self.leaf(
            name,
            ty,
            ne,
            Storage::External(ExternalRef {
                ptr,
                len: r.len - offset,
            }),
        )
    }

    /// A persistent external tensor over raw memory.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes, and not accessed by anything
    /// else, whenever this graph is computed; the graph must not be computed after that memory
    /// is freed.
    pub unsafe fn external_raw(
        &mut self,
        name: &str,
        ty: GgmlType,
        ne: &[i64],
        ptr: *mut u8,
        len: usize,
    ) -> Result<TensorId> {
        self.leaf(name, ty, ne, Storage::External(ExternalRef { ptr, len }))
    }

    // ----- views -----

    /// A view of `a` with shape `ne`, strides `nb` (`nb[0]` is taken from the type), starting
    /// `offset` bytes into `a` (as `ggml_view_4d`). Errors when it reaches past `a`'s bytes.
    pub fn view(
        &mut self,
        a: TensorId,
        ne: &[i64],
        nb_upper: &[usize],
        offset: usize,
    ) -> Result<TensorId> {
        let src = self.tensor(a)?;
        let ty = src.ty;
        let ne = ne4(ne)?;
        check_shape(ty, &ne)?;
        let mut nb = contiguous_strides(ty, &ne);
        for (i, &s) in nb_upper.iter().enumerate().take(3) {
            nb[i + 1] = s;
        }
        let name = format!("{} (view)", src.name);
        let t = Tensor {
            ty,
            ne,
            nb,
            storage: Storage::View { src: a, offset },
            name,
        };
        let end = offset.checked_add(t.nbytes());
        if end.map(|e| e > src.nbytes()).unwrap_or(true) {
            return Err(Error::invalid(format!(
                "view {ne:?} at offset {offset} reaches past {} ({} bytes)",
                src.name,
                src.nbytes()
            )));
        }
        self.push(t, Op::View, &[a])
    }

    /// `ggml_view_1d`.
    pub fn view_1d(&mut self, a: TensorId, ne0: i64, offset: usize) -> Result<TensorId> {
        self.view(a, &[ne0], &[], offset)
    }

    /// `ggml_view_2d`.
    pub fn view_2d(
        &mut self,
        a: TensorId,
        ne0: i64,
        ne1: i64,
        nb1: usize,
        offset: usize,
    ) -> Result<TensorId> {
        let nb2 = nb1 * ne1.max(0) as usize;
        self.view(a, &[ne0, ne1], &[nb1, nb2, nb2], offset)
    }

    /// `ggml_view_3d`.
    pub fn view_3d(
        &mut self,
        a: TensorId,
        ne: [i64; 3],
        nb1: usize,
        nb2: usize,
        offset: usize,
    ) -> Result<TensorId> {
        let nb3 = nb2 * ne[2].max(0) as usize;
        self.view(a, &ne, &[nb1, nb2, nb3], offset)
    }

    /// `ggml_view_4d`.
    pub fn view_4d(
        &mut self,
        a: TensorId,
        ne: [i64; 4],
        nb: [usize; 3],
        offset: usize,
    ) -> Result<TensorId> {
        self.view(a, &ne, &nb, offset)
    }

    /// A contiguous view of contiguous `a` with a new shape of the same element count.
    pub fn reshape(&mut self, a: TensorId, ne: &[i64]) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let ne4v = ne4(ne)?;
        if !t.is_contiguous() {
            return Err(Error::invalid(format!(
                "reshape of non-contiguous {}",
                t.name
            )));
        }
        if ne4v.iter().product::<i64>() != t.nelements() {
            return Err(Error::invalid(format!(
                "reshape {:?} -> {ne:?}: element counts differ",
                t.ne
            )));
        }
        let nb = contiguous_strides(t.ty, &ne4v);
        self.view(a, &ne4v, &nb[1..], 0)
    }

    /// `ggml_reshape_2d`.
    pub fn reshape_2d(&mut self, a: TensorId, ne0: i64, ne1: i64) -> Result<TensorId> {
        self.reshape(a, &[ne0, ne1])
    }

    /// `ggml_reshape_3d`.
    pub fn reshape_3d(&mut self, a: TensorId, ne0: i64, ne1: i64, ne2: i64) -> Result<TensorId> {
        self.reshape(a, &[ne0, ne1, ne2])
    }

    /// `ggml_reshape_4d`.
    pub fn reshape_4d(
        &mut self,
        a: TensorId,
        ne0: i64,
        ne1: i64,
        ne2: i64,
        ne3: i64,
    ) -> Result<TensorId> {
        self.reshape(a, &[ne0, ne1, ne2, ne3])
    }

    /// `ggml_permute`: axis `i` of `a` becomes axis `axes[i]` of the result.
    pub fn permute(&mut self, a: TensorId, axes: [usize; 4]) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let mut seen = [false; 4];
        for &x in &axes {
            if x >= 4 || seen[x] {
                return Err(Error::invalid(format!(
                    "permute axes {axes:?} are not a permutation"
                )));
            }
            seen[x] = true;
        }
        let mut ne = [0i64; 4];
        let mut nb = [0usize; 4];
        for i in 0..4 {
            ne[axes[i]] = t.ne[i];
            nb[axes[i]] = t.nb[i];
        }
        if t.ty.is_quantized() && axes[0] != 0 {
            return Err(Error::invalid(
                "permute of a quantized tensor must keep axis 0",
            ));
        }
        let name = format!("{} (permuted)", t.name);
        let nt = Tensor {
            ty: t.ty,
            ne,
            nb,
            storage: Storage::View { src: a, offset: 0 },
            name,
        };
        self.push(nt, Op::View, &[a])
    }

    /// `ggml_transpose`: swaps axes 0 and 1.
    pub fn transpose(&mut self, a: TensorId) -> Result<TensorId> {
        self.permute(a, [1, 0, 2, 3])
    }

    // ----- node helper for the op constructors -----

    /// Appends a node with a fresh contiguous arena result of `ty`/`ne`.
    fn node(&mut self, op: Op, ty: GgmlType, ne: [i64; 4], src: &[TensorId]) -> Result<TensorId> {
        check_shape(ty, &ne)?;
        for &s in src {
            self.tensor(s)?;
        }
        let nb = contiguous_strides(ty, &ne);
        let name = String::new();
        self.push(
            Tensor {
                ty,
                ne,
                nb,
                storage: Storage::Arena,
                name,
            },
            op,
            src,
        )
    }

    /// Empties source slot `slot` of `id` (an optional source that was absent).
    pub(crate) fn clear_src(&mut self, id: TensorId, slot: usize) {
        if let Some(s) = self.srcs.get_mut(id.index()) {
            s[slot] = None;
        }
    }

    /// Appends a node whose result is written into a view of `dst` (cpy, set_rows).
    fn node_into(&mut self, op: Op, dst: TensorId, src: &[TensorId]) -> Result<TensorId> {
        let d = self.tensor(dst)?.clone();
        if matches!(d.storage, Storage::Weight(_)) {
            return Err(Error::invalid(format!(
                "{}: cannot write into a weight",
                op.name()
            )));
        }
        let t = Tensor {
            storage: Storage::View {
                src: dst,
                offset: 0,
            },
            name: format!("{} (written)", d.name),
            ..d
        };
        self.push(t, op, src)
    }
}

#[cfg(test)]
mod tests;

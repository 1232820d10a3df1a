//! The CPU backend: a device with a counted host allocator, and [`CpuBackend`], which plans
//! and runs graphs with a persistent thread pool.
//!
//! A run validates the graph (every node supported, every weight/input bound, plan matches
//! graph, arena large and aligned enough), then all threads walk the nodes together: each op
//! takes its share of rows, and the threads meet at a spinning barrier after every node.
//! Nothing is allocated during a run: ops use the planned workspace slices of the arena.

pub mod convert;
pub mod dump;
pub mod exec;
pub mod kernels;
pub mod ops;
pub mod pool;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::alloc::{self, ArenaPlan, PlanParams, WorstCasePlan, DEFAULT_ALIGNMENT};
use crate::backend::{AllocCounter, Buffer, BufferType, Device, DeviceKind, HostBuffer};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::quant::GgmlType;
use crate::tensor::{Storage, TensorId};

use exec::Bindings;
use pool::Pool;

/// The bytes of a slice of plain values (f32, i32, ...), for binding inputs.
pub fn as_bytes<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: any initialised memory is valid as bytes; the length covers exactly `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// The CPU buffer type.
#[derive(Debug)]
pub struct CpuBufferType {
    counter: Arc<AllocCounter>,
}

impl BufferType for CpuBufferType {
    fn name(&self) -> &str {
        "CPU"
    }
    fn alignment(&self) -> usize {
        DEFAULT_ALIGNMENT
    }
    fn alloc(&self, size: usize) -> Result<Box<dyn Buffer>> {
        Ok(Box::new(HostBuffer::new(
            &self.counter,
            size,
            DEFAULT_ALIGNMENT,
        )?))
    }
}

/// The host CPU as a device.
#[derive(Debug)]
pub struct CpuDevice {
    counter: Arc<AllocCounter>,
    buft: CpuBufferType,
}

impl CpuDevice {
    /// A CPU device with its own allocation counter.
    pub fn new() -> CpuDevice {
        let counter = AllocCounter::new();
        CpuDevice {
            buft: CpuBufferType {
                counter: counter.clone(),
            },
            counter,
        }
    }
}

impl Default for CpuDevice {
    fn default() -> Self {
        CpuDevice::new()
    }
}

impl Device for CpuDevice {
    fn name(&self) -> &str {
        "CPU"
    }
    fn description(&self) -> String {
        "host CPU".to_string()
    }
    fn kind(&self) -> DeviceKind {
        DeviceKind::Cpu
    }
    fn memory(&self) -> (u64, u64) {
        (0, 0)
    }
    fn buffer_type(&self) -> &dyn BufferType {
        &self.buft
    }
    fn counter(&self) -> &Arc<AllocCounter> {
        &self.counter
    }
}

/// Plans and runs graphs on the CPU with up to `n_threads` threads.
pub struct CpuBackend {
    pool: Pool,
    counter: Arc<AllocCounter>,
    split_threshold: u64,
}

impl CpuBackend {
    /// A backend with its own allocation counter and a pool of `n_threads` threads.
    pub fn new(n_threads: usize) -> Result<CpuBackend> {
        Self::with_counter(n_threads, AllocCounter::new())
    }

    /// A backend whose arenas are counted by `counter` (the device's).
    pub fn with_counter(n_threads: usize, counter: Arc<AllocCounter>) -> Result<CpuBackend> {
        Ok(CpuBackend {
            pool: Pool::new(n_threads)?,
            counter,
            split_threshold: ops::SPLIT_THRESHOLD,
        })
    }

    /// Threads in the pool.
    pub fn n_threads(&self) -> usize {
        self.pool.n_threads()
    }

    /// Sets the work below which a node runs on one thread (0: split every node). Plans
    /// record it; compute refuses a plan made under another value.
    pub fn set_split_threshold(&mut self, threshold: u64) {
        self.split_threshold = threshold;
    }

    /// Seconds per barrier crossing with `n_threads` threads, measured over `n` crossings.
    pub fn barrier_cost(&mut self, n_threads: usize, n: usize) -> Result<f64> {
        let barrier: *const pool::Barrier = self.pool.barrier();
        // SAFETY: the barrier lives in the pool's shared state, which outlives this call.
        let barrier = unsafe { &*barrier };
        let nth = n_threads.clamp(1, self.pool.n_threads());
        let t = std::time::Instant::now();
        self.pool.run(nth, &|_, nth| {
            for _ in 0..n {
                barrier.wait(nth);
            }
        })?;
        Ok(t.elapsed().as_secs_f64() / n.max(1) as f64)
    }

    /// The allocation counter of this backend's buffers.
    pub fn counter(&self) -> &Arc<AllocCounter> {
        &self.counter
    }

    /// Plans `g`'s arena for running with up to `n_threads` threads.
    pub fn plan(&self, g: &Graph<'_>, n_threads: usize) -> Result<ArenaPlan> {
        self.plan_with(g, n_threads, ops::workspace_size)
    }

    /// Plans a graph at a bounding shape: as [`CpuBackend::plan`], with every workspace at
    /// least what its node needs at any smaller shape, so that `alloc::fit_to_template` can
    /// run those in this plan's slots.
    pub fn plan_bounding(&self, g: &Graph<'_>, n_threads: usize) -> Result<ArenaPlan> {
        self.plan_with(g, n_threads, ops::workspace_bound)
    }

    fn plan_with(
        &self,
        g: &Graph<'_>,
        n_threads: usize,
        workspace: fn(&Graph<'_>, TensorId, usize, u64) -> usize,
    ) -> Result<ArenaPlan> {
        for &n in g.nodes() {
            ops::supports(g, n)?;
        }
        let params = PlanParams {
            alignment: DEFAULT_ALIGNMENT,
            n_threads: n_threads.max(1),
        };
        let th = self.split_threshold;
        let mut p = alloc::plan(g, &params, &|g, n, nth| workspace(g, n, nth, th))?;
        p.config = th;
        Ok(p)
    }

    /// Plans several graph shapes sharing one arena (the largest).
    pub fn plan_worst_case(
        &self,
        graphs: &[&Graph<'_>],
        n_threads: usize,
    ) -> Result<WorstCasePlan> {
        for g in graphs {
            for &n in g.nodes() {
                ops::supports(g, n)?;
            }
        }
        let params = PlanParams {
            alignment: DEFAULT_ALIGNMENT,
            n_threads: n_threads.max(1),
        };
        let th = self.split_threshold;
        let mut wc = alloc::plan_worst_case(graphs, &params, &|g, n, nth| {
            ops::workspace_size(g, n, nth, th)
        })?;
        for p in &mut wc.plans {
            p.config = th;
        }
        Ok(wc)
    }

    /// Allocates an arena of `size` bytes through the counted allocator.
    pub fn alloc_arena(&self, size: usize) -> Result<HostBuffer> {
        HostBuffer::new(&self.counter, size, DEFAULT_ALIGNMENT)
    }

    /// Runs `g` with `n_threads` threads (at most the pool's and the plan's). `inputs` binds
    /// every input leaf to its bytes (at least the tensor's size, aligned to its element).
    pub fn compute(
        &mut self,
        g: &Graph<'_>,
        plan: &ArenaPlan,
        arena: &mut HostBuffer,
        inputs: &[(TensorId, &[u8])],
        n_threads: usize,
    ) -> Result<()> {
        self.compute_slice(g, plan, arena.as_mut_slice(), inputs, n_threads)
    }

    /// As [`CpuBackend::compute`], over any aligned byte slice as the arena.
    pub fn compute_slice(
        &mut self,
        g: &Graph<'_>,
        plan: &ArenaPlan,
        arena: &mut [u8],
        inputs: &[(TensorId, &[u8])],
        n_threads: usize,
    ) -> Result<()> {
        if plan.segments.len() > 1 {
            return Err(Error::invalid(
                "a plan with several segments needs one arena each",
            ));
        }
        self.compute_segments(g, plan, &mut [arena], inputs, n_threads)
    }

    /// Runs `g` with one aligned arena per segment of `plan` (`arenas[s]` for segment `s`:
    /// the host's, then each simulated GPU's compute buffer).
    pub fn compute_segments(
        &mut self,
        g: &Graph<'_>,
        plan: &ArenaPlan,
        arenas: &mut [&mut [u8]],
        inputs: &[(TensorId, &[u8])],
        n_threads: usize,
    ) -> Result<()> {
        validate(g, plan, inputs)?;
        let n_segs = plan.segments.len().max(1);
        if n_segs > exec::MAX_SEGMENTS || arenas.len() < n_segs {
            return Err(Error::invalid(format!(
                "plan has {n_segs} segments, {} arenas given",
                arenas.len()
            )));
        }
        let mut segs = [(0usize, std::ptr::null_mut::<u8>()); exec::MAX_SEGMENTS];
        for (s, slot) in segs.iter_mut().enumerate().take(n_segs) {
            let (base, need) = plan.segments.get(s).copied().unwrap_or((0, plan.size));
            let a = &mut arenas[s];
            if a.len() < need {
                return Err(Error::oom(format!(
                    "arena segment {s} of {} bytes, plan needs {need}",
                    a.len()
                )));
            }
            if need > 0 && !(a.as_ptr() as usize).is_multiple_of(plan.alignment.max(1)) {
                return Err(Error::invalid(format!(
                    "arena is not aligned to {}",
                    plan.alignment
                )));
            }
            *slot = (base, a.as_mut_ptr());
        }
        if plan.config != self.split_threshold {
            return Err(Error::invalid(
                "plan was made under another split threshold",
            ));
        }
        let nth = n_threads
            .clamp(1, self.pool.n_threads())
            .min(plan.n_threads.max(1));
        let failed = AtomicBool::new(false);
        let bind = Bindings {
            segs,
            n_segs,
            inputs,
        };
        let barrier: *const pool::Barrier = self.pool.barrier();
        // SAFETY: the barrier lives in the pool's shared state, which outlives this call.
        let barrier = unsafe { &*barrier };
        let job = AssertSync(|ith: usize, nth: usize| {
            exec::run_thread(g, plan, &bind, barrier, &failed, ith, nth)
        });
        let call = |ith: usize, nth: usize| job.call(ith, nth);
        self.pool.run(nth, &call)?;
        if failed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::invalid(
                "graph compute failed: an index was out of range or a type not convertible",
            ));
        }
        Ok(())
    }

    /// The bytes of tensor `id` after a run (arena tensors, inputs are the caller's own).
    pub fn read_bytes<'b>(
        &self,
        g: &Graph<'_>,
        plan: &ArenaPlan,
        arena: &'b mut HostBuffer,
        id: TensorId,
    ) -> Result<&'b [u8]> {
        let t = g.tensor(id)?;
        let (root, off) = g.root(id);
        let base = plan
            .offset(root)
            .ok_or_else(|| Error::invalid(format!("{}: not an arena tensor", t.name)))?;
        let n = t.nbytes();
        let s = arena.as_slice();
        s.get(base + off..base + off + n)
            .ok_or_else(|| Error::invalid("tensor outside the arena"))
    }

    /// Tensor `id` as f32 values (it must be a contiguous F32 arena tensor).
    pub fn read_f32<'b>(
        &self,
        g: &Graph<'_>,
        plan: &ArenaPlan,
        arena: &'b mut HostBuffer,
        id: TensorId,
    ) -> Result<&'b [f32]> {
        let t = g.tensor(id)?;
        if t.ty != GgmlType::F32 || !t.is_contiguous() {
            return Err(Error::invalid(format!(
                "{}: not a contiguous f32 tensor",
                t.name
            )));
        }
        let n = t.nelements() as usize;
        let b = self.read_bytes(g, plan, arena, id)?;
        // SAFETY: arena offsets are 64-aligned and f32 tensors start at multiples of 4 within
        // them; the slice holds n floats.
        Ok(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const f32, n) })
    }
}

/// Lets the per-thread job share the graph (which holds raw pointers) across the pool.
struct AssertSync<F>(F);

// SAFETY: during a run the graph, plan and bindings are only read; the bytes they point to
// are written by disjoint row ranges per thread, with a barrier between nodes.
unsafe impl<F> Sync for AssertSync<F> {}

impl<F: Fn(usize, usize)> AssertSync<F> {
    fn call(&self, ith: usize, nth: usize) {
        (self.0)(ith, nth)
    }
}

/// Checks everything a run relies on, so ops need no checks of their own.
fn validate(g: &Graph<'_>, plan: &ArenaPlan, inputs: &[(TensorId, &[u8])]) -> Result<()> {
    if plan.n_tensors != g.n_tensors() {
        return Err(Error::invalid(format!(
            "plan for {} tensors used with a graph of {}",
            plan.n_tensors,
            g.n_tensors()
        )));
    }
    for &n in g.nodes() {
        ops::supports(g, n)?;
    }
    for (i, t) in g.tensors().iter().enumerate() {
        match t.storage {
            Storage::Weight(None) => {
                return Err(Error::invalid(format!(
                    "{}: weight has no data (planning-only graph)",
                    t.name
                )));
            }
            Storage::Input => {
                let id = TensorId(i as u32);
                let (_, d) = inputs
                    .iter()
                    .find(|(x, _)| *x == id)
                    .ok_or_else(|| Error::invalid(format!("input {} is not bound", t.name)))?;
                if d.len() < t.nbytes() {
                    return Err(Error::invalid(format!(
                        "input {}: {} bytes, needs {}",
                        t.name,
                        d.len(),
                        t.nbytes()
                    )));
                }
                let al = t.ty.type_size().min(8);
                if !(d.as_ptr() as usize).is_multiple_of(al) {
                    return Err(Error::invalid(format!(
                        "input {}: bytes not aligned to {al}",
                        t.name
                    )));
                }
            }
            Storage::Weight(Some(d)) if !t.ty.is_quantized() => {
                let al = t.ty.type_size().min(8);
                if !(d.as_ptr() as usize).is_multiple_of(al) {
                    return Err(Error::invalid(format!(
                        "weight {}: bytes not aligned to {al}",
                        t.name
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

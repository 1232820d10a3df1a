//! Contexts: a model plus the state to run it — KV cache (cell metadata + storage), the compute
//! arena, the output buffers — all allocated once in [`Context::new`]. Decoding splits a batch
//! into micro-batches ([`batch`]), places each in the cache, builds one graph per micro-batch and
//! runs it on the CPU backend; nothing is allocated on the counted allocator afterwards.
//!
//! The compute arena is the planner's worst case over the graph shapes the context can run: a
//! full micro-batch of `n_ubatch` tokens with every row an output, a single token, a full
//! micro-batch with one output — each with every cache cell visible. Every tensor of a graph
//! grows monotonically with the number of tokens, outputs and visible cells, so those shapes
//! bound the rest; a decode whose plan would still exceed the arena fails with an error rather
//! than allocate.
//!
//! Choices worth knowing: one KV stream shared by all sequences (`n_ctx` cells; the mask keeps
//! sequences apart), plus a separate sliding-window cache for models with SWA layers (gemma3);
//! `flash_attn = auto` resolves to on; a quantized V cache needs flash attention (as upstream);
//! a context of a vocab-only model exists but cannot decode. Graph descriptors are rebuilt per
//! micro-batch (plain heap memory, small and freed at once); the counted device memory — KV
//! cache and compute arena — never changes after creation, and the counter is sealed. The one
//! exception is an explicit reconfiguration: [`Context::set_loras`] changes the graphs, so it
//! plans the arena again for the new adapter set and reallocates it to exactly that size
//! (unsealing and resealing the counter around that one allocation), as upstream re-reserves
//! its scheduler; a decode still never allocates.

pub mod batch;
pub mod devices;
pub mod params;
mod run;
mod state;
mod state_seq;

pub use batch::{output_row, split_simple, BatchView, Prepared};
pub use params::{resolve, CParams, ContextParams};

use std::sync::Arc;

use crate::backend::buffer::{AllocCounter, HostBuffer};
use crate::backend::cpu::CpuBackend;
use crate::backend::sim::SimDevice;
use crate::error::Result;
use crate::kv_cache::storage::{KvLayout, KvStorage};
use crate::kv_cache::KvCells;
use crate::model::{LoraAdapter, Model};

/// One KV cache: cells + storage.
pub struct Cache {
    /// Cell metadata.
    pub cells: KvCells,
    /// Tensors.
    pub storage: KvStorage,
    /// Sliding window of the layers using this cache (0: none).
    pub n_swa: u32,
}

/// A context (`llama_context`).
pub struct Context {
    model: Arc<Model>,
    cparams: CParams,
    counter: Arc<AllocCounter>,
    cpu: CpuBackend,
    arena: HostBuffer,
    kv: Cache,
    kv_swa: Option<Cache>,
    logits: Vec<f32>,
    embd: Vec<f32>,
    embd_seq: Vec<f32>,
    embd_seq_present: Vec<bool>,
    output_ids: Vec<i32>,
    n_outputs: usize,
    prepared: Prepared,
    scratch: run::Scratch,
    n_vocab: usize,
    n_embd: usize,
    devices: Option<devices::DeviceMemory>,
    abort: Option<AbortCheck>,
    /// Control vector rows (`n_layer × n_embd` f32, row 0 zeros), allocated with the context.
    cvec_buf: HostBuffer,
    /// Layers the control vector applies to, when one is on.
    cvec_on: Option<(i32, i32)>,
    /// The LoRA adapters applied and their scales (none zero, no adapter twice).
    loras: Vec<(Arc<LoraAdapter>, f32)>,
}

/// Asked before every micro-batch; `true` stops the decode (`llama_decode` then returns 2, the
/// micro-batches already run staying in the cache), as upstream's abort callback.
pub type AbortCheck = Box<dyn FnMut() -> bool + Send>;

impl Context {
    /// Creates a context: resolves the parameters, allocates the KV cache, plans the worst-case
    /// graphs and allocates the arena and output buffers.
    pub fn new(model: Arc<Model>, params: &ContextParams) -> Result<Context> {
        // a vocab-only model gets a context sized by no layers: it exists (llama-cpp-python
        // creates one to tokenize) but cannot decode
        let blank;
        let hp = match model.core() {
            Ok(core) => &core.hparams,
            Err(_) => {
                blank = crate::model::HParams::blank(crate::model::Arch::Llama);
                &blank
            }
        };
        let cparams = params::resolve(hp, params)?;
        let counter = AllocCounter::new();
        let main_keep = |il: usize| !(hp.has_swa() && hp.is_swa[il]);
        let gpus: &[SimDevice] = model.placed().map_or(&[], |w| &w.gpus[..]);
        let on_gpu = |il: usize| {
            if params.offload_kqv {
                model.placed().and_then(|w| w.layer_gpu(il))
            } else {
                None
            }
        };
        let layout = |keep| KvLayout {
            keep,
            device: &on_gpu,
            gpus,
        };
        let storage = KvStorage::new(
            &counter,
            hp,
            cparams.n_ctx,
            cparams.type_k,
            cparams.type_v,
            !cparams.flash_attn,
            &layout(&main_keep),
        )?;
        let kv = Cache {
            cells: KvCells::new(cparams.n_ctx),
            storage,
            n_swa: 0,
        };
        let kv_swa = if hp.has_swa() {
            let keep = |il: usize| hp.is_swa[il];
            let storage = KvStorage::new(
                &counter,
                hp,
                cparams.n_ctx_swa,
                cparams.type_k,
                cparams.type_v,
                !cparams.flash_attn,
                &layout(&keep),
            )?;
            Some(Cache {
                cells: KvCells::new(cparams.n_ctx_swa),
                storage,
                n_swa: hp.n_swa,
            })
        } else {
            None
        };
        let n_vocab = model.n_vocab() as usize;
        let n_embd = hp.n_embd as usize;
        let n_threads = cparams.n_threads.max(cparams.n_threads_batch);
        let cpu = CpuBackend::with_counter(n_threads, counter.clone())?;
        let n_batch = cparams.n_batch as usize;
        let scratch = run::Scratch::new(&cparams, hp);
        let mut ctx = Context {
            model: model.clone(),
            cparams,
            counter: counter.clone(),
            cpu,
            arena: HostBuffer::new(&counter, 0, 64)?,
            kv,
            kv_swa,
            logits: vec![0.0; n_batch * n_vocab],
            embd: Vec::new(),
            embd_seq: Vec::new(),
            embd_seq_present: Vec::new(),
            output_ids: vec![-1; n_batch],
            n_outputs: 0,
            prepared: Prepared::with_capacity(n_batch),
            scratch,
            n_vocab,
            n_embd,
            devices: None,
            abort: None,
            cvec_buf: HostBuffer::new(&counter, 0, 64)?,
            cvec_on: None,
            loras: Vec::new(),
        };
        if model.core().is_ok() {
            ctx.cvec_buf = HostBuffer::new(&counter, hp.n_layer as usize * n_embd * 4, 64)?;
        }
        if ctx.cparams.embeddings {
            ctx.embd = vec![0.0; n_batch * n_embd];
            let n_seq = ctx.cparams.n_seq_max as usize;
            ctx.embd_seq = vec![0.0; n_seq * n_embd];
            ctx.embd_seq_present = vec![false; n_seq];
        }
        let segs = if model.core().is_ok() {
            ctx.worst_case_arena()?
        } else {
            vec![0]
        };
        let size = segs.first().copied().unwrap_or(0);
        ctx.arena = ctx.cpu.alloc_arena(size)?;
        if let Some(w) = model.placed() {
            let kv_bytes = |d: usize| {
                let swa = ctx.kv_swa.as_ref().map_or(0, |c| c.storage.device_bytes(d));
                ctx.kv.storage.device_bytes(d) + swa
            };
            let held: Vec<u64> = (0..w.gpus.len()).map(kv_bytes).collect();
            let engine: Vec<u64> = (0..w.gpus.len())
                .map(|d| segs.get(1 + d).copied().unwrap_or(0) as u64)
                .collect();
            ctx.devices = Some(devices::reserve(
                w,
                params,
                &ctx.cparams,
                size as u64,
                &engine,
                &held,
            )?);
        }
        // the plan is the allocation: anything later is a bug, refused and counted
        counter.seal();
        Ok(ctx)
    }

    /// The per-device memory table: the plan's rows when the model is on simulated GPUs, else
    /// one host row from the buffers this context holds (weights are the file mapping's).
    pub fn memory_rows(&self) -> Vec<devices::MemoryRow> {
        match &self.devices {
            Some(d) => d
                .plan
                .devices
                .iter()
                .map(devices::MemoryRow::from_plan)
                .collect(),
            None => {
                let kv = self.kv.storage.total_bytes()
                    + self.kv_swa.as_ref().map_or(0, |c| c.storage.total_bytes());
                let outputs = (self.logits.len() + self.embd.len() + self.embd_seq.len()) * 4
                    + self.cvec_buf.len();
                vec![devices::MemoryRow {
                    name: "CPU".to_string(),
                    is_host: true,
                    kv: kv as u64,
                    compute: self.arena.len() as u64,
                    other: outputs as u64,
                    ..Default::default()
                }]
            }
        }
    }

    /// The memory plan of a context whose model is on simulated GPUs (`None`: host only).
    pub fn device_plan(&self) -> Option<&crate::fit::MemoryPlan> {
        self.devices.as_ref().map(|d| &d.plan)
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }
    /// Resolved parameters.
    pub fn cparams(&self) -> &CParams {
        &self.cparams
    }
    /// The counter of every byte this context allocated (KV cache, arena).
    pub fn alloc_counter(&self) -> &Arc<AllocCounter> {
        &self.counter
    }
    /// Context size.
    pub fn n_ctx(&self) -> u32 {
        self.cparams.n_ctx
    }
    /// Context per sequence.
    pub fn n_ctx_seq(&self) -> u32 {
        self.cparams.n_ctx_seq
    }
    /// Batch limit.
    pub fn n_batch(&self) -> u32 {
        self.cparams.n_batch
    }
    /// Micro-batch size.
    pub fn n_ubatch(&self) -> u32 {
        self.cparams.n_ubatch
    }
    /// Sequences.
    pub fn n_seq_max(&self) -> u32 {
        self.cparams.n_seq_max
    }
    /// Sets the thread counts (capped at the pool size created with the context).
    pub fn set_n_threads(&mut self, n_threads: i32, n_threads_batch: i32) {
        self.cparams.n_threads = n_threads.max(1) as usize;
        self.cparams.n_threads_batch = n_threads_batch.max(1) as usize;
    }
    /// Turns embeddings output on or off (buffers are sized at creation: turning it on for a
    /// context created without it keeps it off).
    pub fn set_embeddings(&mut self, on: bool) {
        self.cparams.embeddings = on && !self.embd.is_empty();
    }

    /// All output logits, row-major `[n_outputs, n_vocab]`.
    pub fn logits(&self) -> &[f32] {
        &self.logits[..self.n_outputs * self.n_vocab]
    }
    /// Logits of batch token `i` (negative: from the last output).
    pub fn logits_ith(&self, i: i32) -> Option<&[f32]> {
        let r = output_row(i, &self.output_ids, self.n_outputs)?;
        self.logits.get(r * self.n_vocab..(r + 1) * self.n_vocab)
    }
    /// All output embeddings `[n_outputs, n_embd]` (empty unless embeddings are on).
    pub fn embeddings(&self) -> &[f32] {
        let n = self.n_outputs * self.n_embd;
        self.embd.get(..n).unwrap_or(&[])
    }
    /// Embedding of batch token `i`.
    pub fn embeddings_ith(&self, i: i32) -> Option<&[f32]> {
        if self.embd.is_empty() {
            return None;
        }
        let r = output_row(i, &self.output_ids, self.n_outputs)?;
        self.embd.get(r * self.n_embd..(r + 1) * self.n_embd)
    }
    /// Pooled embedding of sequence `s` from the last decode (pooling mean / cls / last).
    pub fn embeddings_seq(&self, s: i32) -> Option<&[f32]> {
        let i = usize::try_from(s).ok()?;
        if !*self.embd_seq_present.get(i)? {
            return None;
        }
        self.embd_seq.get(i * self.n_embd..(i + 1) * self.n_embd)
    }

    /// Pools the per-token embeddings of the last batch per sequence (upstream's pooling types:
    /// 1 mean, 2 cls = first token, 3 last token).
    fn pool_embeddings(&mut self) {
        let pooling = self.cparams.pooling_type;
        if self.embd_seq.is_empty() || !(1..=3).contains(&pooling) {
            return;
        }
        let ne = self.n_embd;
        self.embd_seq_present.iter_mut().for_each(|p| *p = false);
        self.embd_seq.iter_mut().for_each(|x| *x = 0.0);
        let prep = &self.prepared;
        for (s, present) in self.embd_seq_present.iter_mut().enumerate() {
            let mut count = 0usize;
            let dst = &mut self.embd_seq[s * ne..(s + 1) * ne];
            for i in 0..prep.n_tokens() {
                if !prep.seqs[i].contains(s as i32) || self.output_ids[i] < 0 {
                    continue;
                }
                let r = self.output_ids[i] as usize;
                let row = &self.embd[r * ne..(r + 1) * ne];
                match pooling {
                    1 => dst.iter_mut().zip(row).for_each(|(d, &x)| *d += x),
                    2 if count == 0 => dst.copy_from_slice(row),
                    3 => dst.copy_from_slice(row),
                    _ => {}
                }
                count += 1;
            }
            if count > 0 {
                if pooling == 1 {
                    let inv = 1.0 / count as f32;
                    dst.iter_mut().for_each(|d| *d *= inv);
                }
                *present = true;
            }
        }
    }

    /// The output row of each token of the last batch (-1: no output).
    pub fn output_ids(&self) -> &[i32] {
        &self.output_ids
    }

    /// Number of rows of the last decode's outputs.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    fn caches(&mut self) -> impl Iterator<Item = &mut Cache> {
        std::iter::once(&mut self.kv).chain(self.kv_swa.as_mut())
    }

    /// `llama_memory_clear`.
    pub fn memory_clear(&mut self, data: bool) {
        for c in self.caches() {
            c.cells.clear();
            if data {
                c.storage.clear();
            }
        }
    }
    /// `llama_memory_seq_rm`.
    pub fn memory_seq_rm(&mut self, seq: i32, p0: i32, p1: i32) -> bool {
        let mut ok = true;
        for c in self.caches() {
            ok &= c.cells.seq_rm(seq, p0, p1);
        }
        ok
    }
    /// `llama_memory_seq_cp`.
    pub fn memory_seq_cp(&mut self, src: i32, dst: i32, p0: i32, p1: i32) {
        self.caches().for_each(|c| c.cells.seq_cp(src, dst, p0, p1));
    }
    /// `llama_memory_seq_keep`.
    pub fn memory_seq_keep(&mut self, seq: i32) {
        self.caches().for_each(|c| c.cells.seq_keep(seq));
    }
    /// `llama_memory_seq_add` (the K re-rotation runs before the next decode).
    pub fn memory_seq_add(&mut self, seq: i32, p0: i32, p1: i32, delta: i32) {
        self.caches()
            .for_each(|c| c.cells.seq_add(seq, p0, p1, delta));
    }
    /// `llama_memory_seq_div`.
    pub fn memory_seq_div(&mut self, seq: i32, p0: i32, p1: i32, d: i32) {
        self.caches().for_each(|c| c.cells.seq_div(seq, p0, p1, d));
    }
    /// `llama_memory_seq_pos_min`.
    pub fn memory_seq_pos_min(&self, seq: i32) -> i32 {
        match &self.kv_swa {
            // the SWA cache forgets old positions: the main cache has them all
            _ if !self.kv.cells.is_empty_all() => self.kv.cells.seq_pos_min(seq),
            Some(s) => s.cells.seq_pos_min(seq),
            None => -1,
        }
    }
    /// `llama_memory_seq_pos_max`.
    pub fn memory_seq_pos_max(&self, seq: i32) -> i32 {
        let m = self.kv.cells.seq_pos_max(seq);
        match &self.kv_swa {
            Some(s) => m.max(s.cells.seq_pos_max(seq)),
            None => m,
        }
    }
    /// Whether the cache supports position shifts (`llama_memory_can_shift`).
    pub fn memory_can_shift(&self) -> bool {
        true
    }

    /// The control vector as graphs see it, applied to layers `start..=end`.
    pub(crate) fn cvec_view(&self, start: i32, end: i32) -> crate::model::CvecView<'_> {
        crate::model::CvecView {
            mem: &self.cvec_buf,
            n_embd: self.n_embd as i64,
            start,
            end,
        }
    }

    /// `llama_set_adapter_cvec`: `data` holds `n_embd`-float rows for layers 1, 2, … (as many as
    /// it has; other layers keep their rows), applied to layers `il_start..=il_end`; `None`
    /// turns the control vector off (its rows are kept).
    pub fn set_control_vector(
        &mut self,
        data: Option<&[f32]>,
        n_embd: i32,
        il_start: i32,
        il_end: i32,
    ) -> Result<()> {
        let Some(data) = data else {
            self.cvec_on = None;
            return Ok(());
        };
        if n_embd < 0 || n_embd as usize != self.n_embd {
            return Err(crate::error::Error::invalid(format!(
                "control vector n_embd {n_embd} does not match the model's {}",
                self.n_embd
            )));
        }
        let n = self.n_embd;
        let rows = self.cvec_buf.len() / (4 * n.max(1));
        let buf = self.cvec_buf.as_mut_slice();
        for il in 1..rows {
            let Some(src) = data.get((il - 1) * n..il * n) else {
                break;
            };
            for (k, v) in src.iter().enumerate() {
                let at = (il * n + k) * 4;
                buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        self.cvec_on = Some((il_start, il_end));
        Ok(())
    }

    /// The LoRA adapters applied, with their scales.
    pub fn loras(&self) -> &[(Arc<LoraAdapter>, f32)] {
        &self.loras
    }

    /// `llama_set_adapters_lora`: applies `adapters` with their scales (zero scales are left
    /// out; an adapter given twice keeps its first scale); an empty list removes them all.
    /// Nothing changes when the set is the one applied. Otherwise the graphs change, so the
    /// compute arena is planned again for the new set and reallocated to exactly that size
    /// (the one allocation outside `new`, made here and never during a decode). On error the
    /// previous set and arena stay.
    pub fn set_loras(&mut self, adapters: &[(Arc<LoraAdapter>, f32)]) -> Result<()> {
        let mut next: Vec<(Arc<LoraAdapter>, f32)> = Vec::with_capacity(adapters.len());
        for (ad, scale) in adapters {
            if *scale != 0.0 && !next.iter().any(|(a, _)| Arc::ptr_eq(a, ad)) {
                next.push((ad.clone(), *scale));
            }
        }
        let same = next.len() == self.loras.len()
            && next
                .iter()
                .all(|(a, s)| self.loras.iter().any(|(b, t)| Arc::ptr_eq(a, b) && s == t));
        if same {
            return Ok(());
        }
        if !next.is_empty() {
            if self.model.core().is_err() {
                return Err(crate::error::Error::invalid(
                    "LoRA adapters need a model with weights (this one is vocab-only)",
                ));
            }
            if self.devices.is_some() || self.model.placed().is_some() {
                return Err(crate::error::Error::unsupported(
                    "LoRA adapters on a model loaded with simulated GPUs: only host-only models take them",
                ));
            }
        }
        if self.model.core().is_err() {
            self.loras = next;
            return Ok(());
        }
        let prev = std::mem::replace(&mut self.loras, next);
        let size = match self.worst_case_arena() {
            Ok(segs) => segs.first().copied().unwrap_or(0),
            Err(e) => {
                self.loras = prev;
                return Err(e);
            }
        };
        if size != self.arena.len() {
            self.counter.unseal();
            let arena = self.cpu.alloc_arena(size);
            self.counter.seal();
            match arena {
                Ok(a) => self.arena = a,
                Err(e) => {
                    self.loras = prev;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Sets (or clears) the check asked before every micro-batch.
    pub fn set_abort_check(&mut self, check: Option<AbortCheck>) {
        self.abort = check;
    }

    /// `llama_decode`: `Ok(0)` on success, `Ok(1)` when the KV cache has no room for the batch,
    /// `Ok(2)` when the abort check stopped it.
    pub fn decode(&mut self, b: &BatchView<'_>) -> Result<i32> {
        let r = run::decode(self, b)?;
        if r == 0 && self.cparams.embeddings {
            self.pool_embeddings();
        }
        Ok(r)
    }
}

impl KvCells {
    /// Whether every cell is empty.
    pub fn is_empty_all(&self) -> bool {
        self.used() == 0
    }
}

//! The decode loop: place each micro-batch in the cache, fill the graph inputs (token ids,
//! positions, destination cells, attention masks, output rows), build and run its graph, copy
//! the outputs out. Also the worst-case plan made at creation and the K re-rotation after
//! `seq_add` / `seq_div`.

use super::{BatchView, CParams, Cache, Context, Prepared};
use crate::backend::buffer::HostBuffer;
use crate::backend::cpu::{as_bytes, CpuBackend};
use crate::error::{Error, Result};
use crate::graph::{Graph, RopeMode, RopeParams, TensorId};
use crate::kv_cache::KvCells;
use crate::model::{build_graph, Core, CvecView, Fwd, HParams, Inputs, Model, Shape};
use crate::quant::GgmlType;

/// Input buffers, sized once at creation for the largest micro-batch.
pub struct Scratch {
    pos: Vec<i32>,
    idxs: Vec<i64>,
    idxs_swa: Vec<i64>,
    mask: Vec<u8>,
    mask_swa: Vec<u8>,
    out_ids: Vec<i32>,
    cells: Vec<u32>,
    cells_swa: Vec<u32>,
    shift: Vec<i32>,
}

impl Scratch {
    /// Buffers for `cp`'s largest micro-batch and cache.
    pub fn new(cp: &CParams, _hp: &HParams) -> Scratch {
        let nu = cp.n_ubatch as usize;
        let el = if cp.flash_attn { 2 } else { 4 };
        Scratch {
            pos: vec![0; nu],
            idxs: vec![0; nu],
            idxs_swa: vec![0; nu],
            mask: vec![0; nu * cp.n_ctx as usize * el],
            mask_swa: vec![0; nu * cp.n_ctx_swa as usize * el],
            out_ids: vec![0; nu],
            cells: vec![0; nu],
            cells_swa: vec![0; nu],
            shift: vec![0; cp.n_ctx.max(cp.n_ctx_swa) as usize],
        }
    }
}

/// Builds the forward graph of one micro-batch shape over the context's caches.
/// What a forward graph reads besides the weights: the caches and the control vector.
#[derive(Clone, Copy)]
struct Mem<'a> {
    kv: &'a Cache,
    kv_swa: Option<&'a Cache>,
    cvec: Option<CvecView<'a>>,
    loras: &'a [(std::sync::Arc<crate::model::LoraAdapter>, f32)],
}

fn forward<'a>(
    g: &mut Graph<'a>,
    model: &'a Model,
    core: &'a Core,
    cp: &CParams,
    mem: Mem<'a>,
    shape: Shape,
) -> Result<(Inputs, crate::model::Outputs)> {
    let Mem {
        kv,
        kv_swa,
        cvec,
        loras,
    } = mem;
    if let Some(w) = model.placed() {
        g.set_layer_segments(w.layer_segments());
    }
    let main = kv.storage.view();
    let swa = kv_swa.map(|c| c.storage.view());
    let mut f = Fwd {
        g,
        m: model,
        hp: &core.hparams,
        w: &core.weights,
        rope: cp.rope,
        shape,
        flash_attn: cp.flash_attn,
        kv: &main,
        kv_swa: swa.as_ref(),
        inp: Inputs::default(),
        cvec,
        loras,
    };
    let out = build_graph(&mut f)?;
    Ok((f.inp, out))
}

impl Context {
    /// Plans the bounding graph shapes (see the module docs) and returns each arena segment's
    /// size: `[0]` the host arena, `[1 + d]` simulated GPU `d`'s compute.
    pub(super) fn worst_case_arena(&mut self) -> Result<Vec<usize>> {
        let model = self.model.clone();
        let core = model.core()?;
        let cp = self.cparams.clone();
        let nu = cp.n_ubatch as i64;
        let n_kv = cp.n_ctx as i64;
        let n_kv_swa = cp.n_ctx_swa as i64;
        let nth = cp.n_threads.max(cp.n_threads_batch);
        let n_gpus = model.placed().map_or(0, |w| w.gpus.len());
        let mut size = vec![0usize; 1 + n_gpus];
        let keep = |plan: &crate::alloc::ArenaPlan, size: &mut Vec<usize>| {
            for (s, slot) in size.iter_mut().enumerate() {
                *slot = (*slot).max(plan.segment_size(s));
            }
        };
        let shapes = [nu, (nu - 1).max(1)]
            .into_iter()
            .flat_map(|n_outputs| [false, true].map(|embd_input| (n_outputs, embd_input)));
        for (n_outputs, embd_input) in shapes {
            let shape = bounding_shape(
                &cp,
                Shape {
                    n_tokens: nu,
                    n_outputs,
                    n_kv,
                    n_kv_swa,
                    embd_input,
                },
            );
            // with and without a control vector (two graph structures)
            for cvec in [None, Some(self.cvec_view(1, i32::MAX))] {
                let mut g = Graph::new();
                let mem = Mem {
                    kv: &self.kv,
                    kv_swa: self.kv_swa.as_ref(),
                    cvec,
                    loras: &self.loras,
                };
                forward(&mut g, &model, core, &cp, mem, shape)?;
                let plan = self.cpu.plan_bounding(&g, nth)?;
                keep(&plan, &mut size);
            }
        }
        for cache in std::iter::once(&self.kv).chain(self.kv_swa.as_ref()) {
            let mut g = Graph::new();
            if build_shift(&mut g, &model, core, &cp, cache)?.is_some() {
                let plan = self.cpu.plan(&g, nth)?;
                keep(&plan, &mut size);
            }
        }
        Ok(size)
    }
}

/// The largest shape with the same graph structure as `s`: a full micro-batch over the whole
/// cache, with every row an output when all of `s`'s rows are (else one row fewer, the most a
/// graph that selects output rows can have). Every tensor of a graph at shape `s` is at most
/// as large as its counterpart at this shape; the arena is planned for these shapes.
fn bounding_shape(cp: &CParams, s: Shape) -> Shape {
    let nu = cp.n_ubatch as i64;
    Shape {
        n_tokens: nu,
        n_outputs: if s.n_outputs == s.n_tokens {
            nu
        } else {
            (nu - 1).max(1)
        },
        n_kv: cp.n_ctx as i64,
        n_kv_swa: cp.n_ctx_swa as i64,
        embd_input: s.embd_input,
    }
}

/// The K re-rotation graph of one cache: every layer's rotated dims, rotated by each cell's
/// pending shift. Returns the shift input, or `None` when the cache has no layers.
fn build_shift<'a>(
    g: &mut Graph<'a>,
    model: &'a Model,
    core: &'a Core,
    cp: &CParams,
    cache: &'a Cache,
) -> Result<Option<TensorId>> {
    let hp = &core.hparams;
    let w = &core.weights;
    let fw = if w.rope_freqs.is_some() {
        w.rope_freqs
    } else if cp.rope.use_long_factors {
        w.rope_long
    } else {
        w.rope_short
    };
    let mut factors = None;
    let view = cache.storage.view();
    let size = view.size;
    let mut shift = None;
    let mode =
        RopeMode::from_i32(hp.arch.rope_type()).ok_or_else(|| Error::internal("rope type"))?;
    for il in 0..hp.n_layer as usize {
        let Some(koff) = view.k_off[il] else { continue };
        let s = match shift {
            Some(s) => s,
            None => {
                let s = g.input("k_shift", GgmlType::I32, &[size])?;
                shift = Some(s);
                s
            }
        };
        let n_head_kv = hp.n_head_kv(il) as i64;
        let head_k = hp.n_embd_head_k as i64;
        let n_rot = hp.n_rot as i64;
        let nope = if hp.is_mla() { head_k - n_rot } else { 0 };
        let ty = view.type_k;
        let k = view.leaf(
            g,
            &format!("cache_k_l{il}"),
            ty,
            &[head_k * n_head_kv, size],
            koff,
        )?;
        let rs = ty.row_size(head_k as u64)? as usize;
        let row = ty.row_size((head_k * n_head_kv) as u64)? as usize;
        let off = if nope > 0 {
            ty.row_size(nope as u64)? as usize
        } else {
            0
        };
        let kv = g.view_3d(k, [n_rot, n_head_kv, size], rs, row, off)?;
        let swa = hp.n_swa > 0 && hp.is_swa[il];
        let (fb, fs) = if swa {
            (hp.rope_freq_base_train_swa, 1.0)
        } else {
            (cp.rope.freq_base, cp.rope.freq_scale)
        };
        let p = RopeParams {
            n_dims: n_rot as i32,
            mode,
            n_ctx_orig: cp.rope.n_ctx_orig,
            freq_base: fb,
            freq_scale: fs,
            ext_factor: cp.rope.ext_factor,
            attn_factor: cp.rope.attn_factor,
            beta_fast: cp.rope.beta_fast,
            beta_slow: cp.rope.beta_slow,
        };
        if factors.is_none() {
            if let Some(f) = fw {
                let info = &model.gguf().tensors()[f.idx];
                factors =
                    Some(g.weight(&info.name, f.ty, &f.ne, model.gguf().tensor_data(info))?);
            }
        }
        let src = g.cast(kv, GgmlType::F32)?;
        let r = g.rope_ext(src, s, factors, p)?;
        g.cpy(r, kv)?;
    }
    Ok(shift)
}

#[allow(clippy::too_many_arguments)]
fn fill_mask(
    buf: &mut [u8],
    f16: bool,
    cells: &KvCells,
    n_kv: usize,
    prep: &Prepared,
    s: usize,
    e: usize,
    n_swa: u32,
) {
    let el = if f16 { 2 } else { 4 };
    for (t, i) in (s..e).enumerate() {
        let seq = prep.seq0[i];
        let p = prep.pos[i];
        let row = &mut buf[t * n_kv * el..(t + 1) * n_kv * el];
        for j in 0..n_kv {
            let vis = cells.visible(j as u32, seq, p, n_swa);
            if f16 {
                let v: u16 = if vis { 0 } else { 0xFC00 };
                row[j * 2..j * 2 + 2].copy_from_slice(&v.to_le_bytes());
            } else {
                let v: f32 = if vis { 0.0 } else { f32::NEG_INFINITY };
                row[j * 4..j * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Places tokens `[s, e)` of `prep` in `cache`; writes the chosen cells to `cells_out`.
fn place(
    cache: &mut Cache,
    prep: &Prepared,
    s: usize,
    e: usize,
    cells_out: &mut [u32],
    idxs: &mut [i64],
) -> bool {
    let n = e - s;
    if !cache
        .cells
        .find_slot(n as u32, cache.n_swa, &mut cells_out[..n])
    {
        return false;
    }
    for (k, i) in (s..e).enumerate() {
        cache.cells.apply(cells_out[k], prep.pos[i], prep.seqs[i]);
        idxs[k] = cells_out[k] as i64;
    }
    true
}

/// Runs the pending K re-rotation of `cache`, if any.
fn apply_shift(
    cpu: &mut CpuBackend,
    arena: &mut HostBuffer,
    model: &Model,
    core: &Core,
    cp: &CParams,
    cache: &mut Cache,
    shift_buf: &mut [i32],
) -> Result<()> {
    if !cache.cells.has_shift() {
        return Ok(());
    }
    let size = cache.cells.size() as usize;
    for (i, s) in shift_buf[..size].iter_mut().enumerate() {
        *s = if cache.cells.is_empty(i as u32) {
            0
        } else {
            cache.cells.shift(i as u32)
        };
    }
    {
        let mut g = Graph::new();
        if let Some(sid) = build_shift(&mut g, model, core, cp, cache)? {
            let nth = cp.n_threads_batch;
            let plan = cpu.plan(&g, nth)?;
            if plan.size > arena.len() {
                return Err(Error::internal(format!(
                    "shift plan {} exceeds the arena {}",
                    plan.size,
                    arena.len()
                )));
            }
            cpu.compute(
                &g,
                &plan,
                arena,
                &[(sid, as_bytes(&shift_buf[..size]))],
                nth,
            )?;
        }
    }
    cache.cells.reset_shift();
    Ok(())
}

/// `llama_decode`.
pub fn decode(ctx: &mut Context, b: &BatchView<'_>) -> Result<i32> {
    let model = ctx.model.clone();
    let core = model.core()?;
    if model.no_alloc() {
        return Err(Error::invalid(
            "the model was loaded with no_alloc: it is planned, not allocated, and cannot be decoded",
        ));
    }
    if model.placed().is_some_and(|w| !w.is_backed()) {
        return Err(Error::invalid(
            "the model's weights are on accounting-only simulated devices \
             (FERROLLAMA_SIM_BACKING=none): it can be planned and loaded, not decoded",
        ));
    }
    let Context {
        cparams: cp,
        cpu,
        arena,
        kv,
        kv_swa,
        logits,
        embd,
        output_ids,
        n_outputs,
        prepared,
        scratch,
        n_vocab,
        n_embd,
        devices,
        abort,
        cvec_buf,
        cvec_on,
        loras,
        ..
    } = ctx;
    let cp: &CParams = cp;
    let (n_vocab, n_embd) = (*n_vocab, *n_embd);
    // pending position shifts
    apply_shift(cpu, arena, &model, core, cp, kv, &mut scratch.shift)?;
    if let Some(c) = kv_swa.as_mut() {
        apply_shift(cpu, arena, &model, core, cp, c, &mut scratch.shift)?;
    }
    {
        let cells = &kv.cells;
        prepared.prepare(
            b,
            n_vocab as i32,
            n_embd,
            cp.n_seq_max,
            cp.n_batch,
            cp.embeddings,
            &|s| cells.seq_pos_max(s),
        )?;
    }
    let prep: &Prepared = prepared;
    let n = prep.n_tokens();
    if kv.cells.size() - kv.cells.used() < n as u32 {
        return Ok(1);
    }
    // output rows in batch order
    output_ids.iter_mut().for_each(|x| *x = -1);
    let mut r = 0;
    for (id, &o) in output_ids.iter_mut().zip(&prep.output) {
        if o {
            *id = r;
            r += 1;
        }
    }
    *n_outputs = 0;
    let mut out_row = 0usize;
    for (s, e) in super::split_simple(n, cp.n_ubatch as usize) {
        if abort.as_mut().is_some_and(|f| f()) {
            return Ok(2);
        }
        let nt = e - s;
        if !place(kv, prep, s, e, &mut scratch.cells, &mut scratch.idxs) {
            return Ok(1);
        }
        if let Some(c) = kv_swa.as_mut() {
            if !place(c, prep, s, e, &mut scratch.cells_swa, &mut scratch.idxs_swa) {
                return Ok(1);
            }
        }
        let n_kv = kv.cells.used_max_p1().max(1) as usize;
        let n_kv_swa = kv_swa
            .as_ref()
            .map_or(0, |c| c.cells.used_max_p1().max(1) as usize);
        let mut n_out = 0usize;
        for (k, i) in (s..e).enumerate() {
            if prep.output[i] {
                scratch.out_ids[n_out] = k as i32;
                n_out += 1;
            }
        }
        if n_out == 0 && !cp.embeddings {
            // nothing to read back, but the cache still needs this micro-batch: keep one row
            scratch.out_ids[0] = (nt - 1) as i32;
        }
        let n_rows = n_out.max(1);
        let embd_input = b.token.is_none();
        let shape = Shape {
            n_tokens: nt as i64,
            n_outputs: n_rows as i64,
            n_kv: n_kv as i64,
            n_kv_swa: n_kv_swa as i64,
            embd_input,
        };
        let mut g = Graph::new();
        let cvec = cvec_on.map(|(start, end)| CvecView {
            mem: &*cvec_buf,
            n_embd: n_embd as i64,
            start,
            end,
        });
        let mem = Mem {
            kv,
            kv_swa: kv_swa.as_ref(),
            cvec,
            loras,
        };
        let (inp, out) = forward(&mut g, &model, core, cp, mem, shape)?;
        let nth = if nt == 1 {
            cp.n_threads
        } else {
            cp.n_threads_batch
        };
        // the arena segments: the host arena, then each simulated GPU's compute buffer
        let mut segs: Vec<&mut [u8]> = vec![arena.as_mut_slice()];
        if let Some(dm) = devices.as_mut() {
            segs.extend(dm.compute_slices(model.placed().map_or(0, |w| w.gpus.len())));
        }
        let caps: Vec<usize> = segs.iter().map(|s| s.len()).collect();
        let fits = |p: &crate::alloc::ArenaPlan| {
            (0..p.segments.len()).all(|s| p.segment_size(s) <= caps.get(s).copied().unwrap_or(0))
        };
        let mut plan = cpu.plan(&g, nth)?;
        if !fits(&plan) {
            // a fresh best-fit plan of a smaller shape packed worse: take the offsets of the
            // bounding shape the arena was sized for (see `worst_case_arena`)
            let bound = bounding_shape(cp, shape);
            let mut tg = Graph::new();
            forward(&mut tg, &model, core, cp, mem, bound)?;
            let tp = cpu.plan_bounding(&tg, cp.n_threads.max(cp.n_threads_batch))?;
            plan = crate::alloc::fit_to_template(&g, &plan, &tg, &tp, &caps)?;
            if !fits(&plan) {
                return Err(Error::internal(format!(
                    "micro-batch plan {:?} exceeds the reserved arenas {caps:?}",
                    plan.segments
                )));
            }
        }
        // inputs
        for (k, i) in (s..e).enumerate() {
            scratch.pos[k] = prep.pos[i];
        }
        let el = if cp.flash_attn { 2 } else { 4 };
        fill_mask(
            &mut scratch.mask,
            cp.flash_attn,
            &kv.cells,
            n_kv,
            prep,
            s,
            e,
            0,
        );
        if let Some(c) = kv_swa.as_ref() {
            fill_mask(
                &mut scratch.mask_swa,
                cp.flash_attn,
                &c.cells,
                n_kv_swa,
                prep,
                s,
                e,
                c.n_swa,
            );
        }
        let mut bind: Vec<(TensorId, &[u8])> = Vec::with_capacity(8);
        if let Some(t) = inp.tokens {
            let toks = b
                .token
                .ok_or_else(|| Error::internal("token input without tokens"))?;
            bind.push((t, as_bytes(&toks[s..e])));
        }
        if let Some(t) = inp.embd {
            let em = b
                .embd
                .ok_or_else(|| Error::internal("embd input without embeddings"))?;
            bind.push((t, as_bytes(&em[s * n_embd..e * n_embd])));
        }
        if let Some(t) = inp.pos {
            bind.push((t, as_bytes(&scratch.pos[..nt])));
        }
        if let Some(t) = inp.out_ids {
            bind.push((t, as_bytes(&scratch.out_ids[..n_rows])));
        }
        if let Some(t) = inp.kv_idxs {
            bind.push((t, as_bytes(&scratch.idxs[..nt])));
        }
        if let Some(t) = inp.kv_idxs_swa {
            bind.push((t, as_bytes(&scratch.idxs_swa[..nt])));
        }
        if let Some(t) = inp.kq_mask {
            bind.push((t, &scratch.mask[..nt * n_kv * el]));
        }
        if let Some(t) = inp.kq_mask_swa {
            bind.push((t, &scratch.mask_swa[..nt * n_kv_swa * el]));
        }
        cpu.compute_segments(&g, &plan, &mut segs, &bind, nth)?;
        drop(segs);
        if n_out > 0 {
            let lg = cpu.read_f32(&g, &plan, arena, out.logits)?;
            let dst = logits
                .get_mut(out_row * n_vocab..(out_row + n_out) * n_vocab)
                .ok_or_else(|| Error::internal("logits buffer too small"))?;
            dst.copy_from_slice(
                lg.get(..n_out * n_vocab)
                    .ok_or_else(|| Error::internal("short logits"))?,
            );
            if cp.embeddings && !embd.is_empty() {
                let em = cpu.read_f32(&g, &plan, arena, out.embd)?;
                let dst = embd
                    .get_mut(out_row * n_embd..(out_row + n_out) * n_embd)
                    .ok_or_else(|| Error::internal("embeddings buffer too small"))?;
                dst.copy_from_slice(
                    em.get(..n_out * n_embd)
                        .ok_or_else(|| Error::internal("short embeddings"))?,
                );
            }
        }
        out_row += n_out;
        *n_outputs = out_row;
    }
    Ok(0)
}

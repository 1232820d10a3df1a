//! Shared graph pieces of every architecture (upstream's `llm_graph_context`): the per-micro-batch
//! inputs, RMS norm, the dense FFN, the MoE FFN (`build_moe_ffn`) and attention over the KV
//! cache (`build_attn` / `build_attn_mha`, plain and flash). Every projection goes through
//! [`Fwd::mm`] (experts through `mm_id`), which adds the LoRA adapters' `s·B·(A·x)` terms
//! (`build_lora_mm` / `build_lora_mm_id`); deepseek2's absorbed `attn_k_b` / `attn_v_b` are
//! multiplied directly, as upstream does, and take no adapter.
//!
//! A [`Fwd`] is created for one micro-batch shape; the architecture files call its methods
//! in the order upstream's graphs do, so that the ops (and their roundings) match.

use super::hparams::HParams;
use super::loader::{Weights, Wt};
use super::Model;
use crate::error::{Error, Result};
use crate::graph::{Graph, RopeMode, RopeParams, TensorId};
use crate::kv_cache::storage::KvMem;
use crate::quant::GgmlType;
use std::sync::Arc;

use super::lora::{LoraAdapter, LoraTensor};

/// RoPE settings resolved for a context (`cparams` of upstream).
#[derive(Clone, Copy, Debug)]
pub struct RopeCfg {
    /// Base frequency (non-SWA layers).
    pub freq_base: f32,
    /// Position scale.
    pub freq_scale: f32,
    /// Original context for YaRN.
    pub n_ctx_orig: i32,
    /// YaRN extrapolation mix.
    pub ext_factor: f32,
    /// YaRN magnitude factor.
    pub attn_factor: f32,
    /// YaRN beta fast.
    pub beta_fast: f32,
    /// YaRN beta slow.
    pub beta_slow: f32,
    /// Use the LongRoPE long factors (context per sequence exceeds the original).
    pub use_long_factors: bool,
}

/// The shape of one micro-batch graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Tokens in the micro-batch.
    pub n_tokens: i64,
    /// Rows produced at the end (`n_outputs <= n_tokens`).
    pub n_outputs: i64,
    /// KV cells visible to attention (main cache).
    pub n_kv: i64,
    /// KV cells visible to attention (sliding-window cache; 0 when there is none).
    pub n_kv_swa: i64,
    /// Input by embeddings instead of token ids.
    pub embd_input: bool,
}

/// The K/V storage of one cache as seen by graphs.
pub struct KvView<'a> {
    /// The cache's memory regions (host and devices).
    pub mems: &'a [KvMem],
    /// Per model layer: `(region, byte offset)` of its K (`None`: layer not in this cache).
    pub k_off: &'a [Option<(usize, usize)>],
    /// Per model layer: `(region, byte offset)` of its V.
    pub v_off: &'a [Option<(usize, usize)>],
    /// K element type.
    pub type_k: GgmlType,
    /// V element type.
    pub type_v: GgmlType,
    /// V stored transposed: `[size, n_embd_v_gqa]` per layer (attention without flash
    /// attention reads V^T in place).
    pub v_trans: bool,
    /// Cells in this cache.
    pub size: i64,
}

impl<'a> KvView<'a> {
    /// The cache tensor at `(region, offset)`: over the region's memory, or over no memory when
    /// the region is on an accounting-only device (plannable, never computed).
    pub fn leaf(
        &self,
        g: &mut Graph<'a>,
        name: &str,
        ty: GgmlType,
        ne: &[i64],
        (region, offset): (usize, usize),
    ) -> Result<TensorId> {
        let mem = self
            .mems
            .get(region)
            .ok_or_else(|| Error::internal(format!("{name}: no KV region {region}")))?;
        match mem.memory() {
            Some(m) => g.external(name, ty, ne, m, offset),
            None => {
                let len = mem.len().checked_sub(offset).ok_or_else(|| {
                    Error::internal(format!("{name}: offset {offset} past its KV region"))
                })?;
                // SAFETY: the region is on an accounting-only device, whose graphs are planned
                // but never computed (decoding is refused before a graph is built), so this
                // pointer is never read or written.
                unsafe { g.external_raw(name, ty, ne, std::ptr::NonNull::dangling().as_ptr(), len) }
            }
        }
    }
}

/// The input leaves of one micro-batch graph (filled by the context before compute).
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs {
    /// I32 `[n_tokens]` token ids.
    pub tokens: Option<TensorId>,
    /// F32 `[n_embd, n_tokens]` embeddings.
    pub embd: Option<TensorId>,
    /// I32 `[n_tokens]` positions.
    pub pos: Option<TensorId>,
    /// I32 `[n_outputs]` rows to keep (absent when all are kept).
    pub out_ids: Option<TensorId>,
    /// I64 `[n_tokens]` destination cells in the main cache.
    pub kv_idxs: Option<TensorId>,
    /// I64 `[n_tokens]` destination cells in the SWA cache.
    pub kv_idxs_swa: Option<TensorId>,
    /// Mask `[n_kv, n_tokens]` (F16 with flash attention, F32 otherwise).
    pub kq_mask: Option<TensorId>,
    /// Mask of the SWA cache.
    pub kq_mask_swa: Option<TensorId>,
}

/// The results of a forward graph.
#[derive(Clone, Copy, Debug)]
pub struct Outputs {
    /// F32 `[n_vocab, n_outputs]` logits.
    pub logits: TensorId,
    /// F32 `[n_embd, n_outputs]` final hidden state (after the output norm).
    pub embd: TensorId,
}

/// Builder state for one micro-batch graph.
pub struct Fwd<'g, 'a> {
    /// The graph being built.
    pub g: &'g mut Graph<'a>,
    /// The model (its file mapping backs the weights).
    pub m: &'a Model,
    /// Its hyper-parameters.
    pub hp: &'a HParams,
    /// Its weights.
    pub w: &'a Weights,
    /// RoPE settings.
    pub rope: RopeCfg,
    /// Shape of this graph.
    pub shape: Shape,
    /// Flash attention on.
    pub flash_attn: bool,
    /// Main cache.
    pub kv: &'g KvView<'a>,
    /// SWA cache (gemma3).
    pub kv_swa: Option<&'g KvView<'a>>,
    /// The inputs created so far.
    pub inp: Inputs,
    /// The control vector, when one is applied.
    pub cvec: Option<CvecView<'a>>,
    /// The LoRA adapters applied, with their scales (`llama_set_adapters_lora`).
    pub loras: &'a [(Arc<LoraAdapter>, f32)],
}

/// A control vector as the graph sees it: one `[n_embd]` f32 row per layer (row 0, for
/// layer 0, stays zero as upstream never applies one there), added to the output of layers
/// `start..=end` (`llama_set_adapter_cvec`).
#[derive(Clone, Copy)]
pub struct CvecView<'a> {
    /// The rows, layer by layer.
    pub mem: &'a dyn crate::graph::ExternalMemory,
    /// Row length.
    pub n_embd: i64,
    /// First layer it applies to.
    pub start: i32,
    /// Last layer it applies to (inclusive).
    pub end: i32,
}

impl<'g, 'a> Fwd<'g, 'a> {
    /// A weight leaf backed by the model's mapping or its GPU buffer (shape only when it lives
    /// on an accounting-only simulated GPU: such a graph can be planned, not computed).
    pub fn wt(&mut self, w: &Wt) -> Result<TensorId> {
        let info = &self.m.gguf().tensors()[w.idx];
        let ne = &w.ne[..];
        match self.m.tensor_bytes(w.idx) {
            Some(data) => self.g.weight(&info.name, w.ty, ne, data),
            None => self.g.weight_meta(&info.name, w.ty, ne),
        }
    }

    /// A LoRA tensor leaf of `dims` dimensions (host memory of the adapter).
    fn lora_leaf(&mut self, t: &LoraTensor<'a>, dims: usize) -> Result<TensorId> {
        self.g.weight(t.name, t.ty, &t.ne[..dims], t.data)
    }

    /// The adapters' terms for `res = w·x` (`build_lora_mm`): adds `s·B·(A·x)` for every
    /// adapter holding a pair for `w`; with `ids`, per selected expert (`build_lora_mm_id`).
    fn lora_terms(
        &mut self,
        w: &Wt,
        x: TensorId,
        ids: Option<TensorId>,
        mut res: TensorId,
    ) -> Result<TensorId> {
        if self.loras.is_empty() {
            return Ok(res);
        }
        let name = &self.m.gguf().tensors()[w.idx].name;
        let loras = self.loras;
        for (ad, scale) in loras {
            let Some(lw) = ad.weight(name) else { continue };
            if lw.token_embd {
                // a tied output reusing token_embd: its pair has the embedding layout
                continue;
            }
            let (a, b, s) = ad.pair(lw, *scale);
            let dims = if ids.is_some() { 3 } else { 2 };
            let (a, b) = (self.lora_leaf(&a, dims)?, self.lora_leaf(&b, dims)?);
            let ab = match ids {
                None => {
                    let ax = self.g.mul_mat(a, x)?;
                    self.g.mul_mat(b, ax)?
                }
                Some(ids) => {
                    let ax = self.g.mul_mat_id(a, x, ids)?;
                    self.g.mul_mat_id(b, ax, ids)?
                }
            };
            let ab = self.g.scale(ab, s)?;
            res = self.g.add(res, ab)?;
        }
        Ok(res)
    }

    /// `w x` for expert tensor `w` with the adapters' terms (`build_lora_mm_id`).
    fn mm_id(
        &mut self,
        w: &Option<Wt>,
        x: TensorId,
        ids: TensorId,
        what: &str,
    ) -> Result<TensorId> {
        let wt = self.wr(w, what)?;
        let y = self.g.mul_mat_id(wt, x, ids)?;
        match w {
            Some(w) => self.lora_terms(w, x, Some(ids), y),
            None => Ok(y),
        }
    }

    /// `build_cvec`: adds the control vector's row for layer `il` to `cur` (a layer's output);
    /// zeros for layers outside its range.
    pub fn cvec(&mut self, cur: TensorId, il: usize) -> Result<TensorId> {
        let Some(c) = self.cvec else {
            return Ok(cur);
        };
        // every layer adds a row while a control vector is on, so that the graph's structure
        // does not depend on the range (row 0, never written, is zeros)
        let l = il as i32;
        let row = if l >= 1 && l >= c.start && l <= c.end {
            il
        } else {
            0
        };
        let off = row * c.n_embd as usize * 4;
        let row = self.g.external(
            &format!("cvec_l{il}"),
            GgmlType::F32,
            &[c.n_embd],
            c.mem,
            off,
        )?;
        self.g.add(cur, row)
    }

    /// A required weight (error naming what is missing).
    pub fn wr(&mut self, w: &Option<Wt>, what: &str) -> Result<TensorId> {
        match w {
            Some(w) => self.wt(w),
            None => Err(Error::internal(format!(
                "weight {what} missing for this graph"
            ))),
        }
    }

    /// `build_inp_embd`: token embeddings (or the caller's embeddings), F32 `[n_embd, n_tokens]`;
    /// token embeddings get the LoRA adapters' `token_embd` terms.
    pub fn inp_embd(&mut self) -> Result<TensorId> {
        let n = self.shape.n_tokens;
        if self.shape.embd_input {
            let e = self
                .g
                .input("inp_embd", GgmlType::F32, &[self.hp.n_embd as i64, n])?;
            self.inp.embd = Some(e);
            return Ok(e);
        }
        let t = self.g.input("inp_tokens", GgmlType::I32, &[n])?;
        self.inp.tokens = Some(t);
        let tok = self.w.tok_embd;
        let w = self.wt(&tok)?;
        let mut cur = self.g.get_rows(w, t)?;
        let loras = self.loras;
        if !loras.is_empty() {
            let name = &self.m.gguf().tensors()[tok.idx].name;
            for (ad, scale) in loras {
                let Some(lw) = ad.weight(name) else { continue };
                // A holds one rank-sized row per token, B is [rank, n_embd]
                let (a, b, s) = ad.pair(lw, *scale);
                let (a, b) = (self.lora_leaf(&a, 2)?, self.lora_leaf(&b, 2)?);
                let rows = self.g.get_rows(a, t)?;
                let d = self.g.mul_mat(b, rows)?;
                let d = self.g.scale(d, s)?;
                cur = self.g.add(cur, d)?;
            }
        }
        Ok(cur)
    }

    /// `build_inp_pos`: I32 `[n_tokens]`.
    pub fn inp_pos(&mut self) -> Result<TensorId> {
        let p = self
            .g
            .input("inp_pos", GgmlType::I32, &[self.shape.n_tokens])?;
        self.inp.pos = Some(p);
        Ok(p)
    }

    /// Creates the attention inputs (cell indices and masks) of the caches this model has.
    pub fn inp_attn(&mut self) -> Result<()> {
        let n = self.shape.n_tokens;
        let mask_ty = if self.flash_attn {
            GgmlType::F16
        } else {
            GgmlType::F32
        };
        self.inp.kv_idxs = Some(self.g.input("kv_idxs", GgmlType::I64, &[n])?);
        self.inp.kq_mask = Some(self.g.input("kq_mask", mask_ty, &[self.shape.n_kv, n])?);
        if self.kv_swa.is_some() {
            self.inp.kv_idxs_swa = Some(self.g.input("kv_idxs_swa", GgmlType::I64, &[n])?);
            let m = self
                .g
                .input("kq_mask_swa", mask_ty, &[self.shape.n_kv_swa, n])?;
            self.inp.kq_mask_swa = Some(m);
        }
        Ok(())
    }

    /// `build_inp_out_ids`: only when fewer rows than tokens are wanted.
    pub fn inp_out_ids(&mut self) -> Result<Option<TensorId>> {
        if self.shape.n_outputs == self.shape.n_tokens {
            return Ok(None);
        }
        let t = self
            .g
            .input("inp_out_ids", GgmlType::I32, &[self.shape.n_outputs])?;
        self.inp.out_ids = Some(t);
        Ok(Some(t))
    }

    /// RMS norm with weight: `rms_norm(x) * w`.
    pub fn norm(&mut self, x: TensorId, w: &Option<Wt>, what: &str) -> Result<TensorId> {
        let eps = self.hp.f_norm_rms_eps;
        let y = self.g.rms_norm(x, eps)?;
        let w = self.wr(w, what)?;
        self.g.mul(y, w)
    }

    /// `w x` plus the LoRA adapters' terms for `w` (`build_lora_mm`), then the bias.
    pub fn mm(
        &mut self,
        w: &Option<Wt>,
        x: TensorId,
        b: &Option<Wt>,
        what: &str,
    ) -> Result<TensorId> {
        let wt = self.wr(w, what)?;
        let mut y = self.g.mul_mat(wt, x)?;
        if let Some(w) = w {
            y = self.lora_terms(w, x, None, y)?;
        }
        if let Some(b) = b {
            let bt = self.wt(b)?;
            y = self.g.add(y, bt)?;
        }
        Ok(y)
    }

    /// `build_qkv`: Q `[head_k, n_head, n_tokens]`, K `[head_k, n_head_kv, n_tokens]`,
    /// V `[head_v, n_head_kv, n_tokens]`, from a fused `attn_qkv` or separate projections.
    pub fn qkv(
        &mut self,
        l: &super::loader::Layer,
        x: TensorId,
        n_head: i64,
        n_head_kv: i64,
    ) -> Result<(TensorId, TensorId, TensorId)> {
        let hp = self.hp;
        let (hk, hv) = (hp.n_embd_head_k as i64, hp.n_embd_head_v as i64);
        let n = self.shape.n_tokens;
        if l.wqkv.is_some() {
            let qkv = self.mm(&l.wqkv, x, &l.bqkv, "attn_qkv")?;
            let nb1 = self.g.tensor(qkv)?.nb[1];
            let (nq, nk) = (hk * n_head, hk * n_head_kv);
            let q = self
                .g
                .view_3d(qkv, [hk, n_head, n], hk as usize * 4, nb1, 0)?;
            let k = self.g.view_3d(
                qkv,
                [hk, n_head_kv, n],
                hk as usize * 4,
                nb1,
                nq as usize * 4,
            )?;
            let v = self.g.view_3d(
                qkv,
                [hv, n_head_kv, n],
                hv as usize * 4,
                nb1,
                (nq + nk) as usize * 4,
            )?;
            let (q, k, v) = (self.g.cont(q)?, self.g.cont(k)?, self.g.cont(v)?);
            return Ok((q, k, v));
        }
        let q = self.mm(&l.wq, x, &l.bq, "attn_q")?;
        let k = self.mm(&l.wk, x, &l.bk, "attn_k")?;
        let v = self.mm(&l.wv, x, &l.bv, "attn_v")?;
        let q = self.g.reshape_3d(q, hk, n_head, n)?;
        let k = self.g.reshape_3d(k, hk, n_head_kv, n)?;
        let v = self.g.reshape_3d(v, hv, n_head_kv, n)?;
        Ok((q, k, v))
    }

    /// RoPE with this context's settings (`freq_base`/factors may be overridden per layer).
    pub fn rope(
        &mut self,
        x: TensorId,
        pos: TensorId,
        factors: Option<TensorId>,
        freq_base: f32,
        freq_scale: f32,
    ) -> Result<TensorId> {
        let hp = self.hp;
        let mode = RopeMode::from_i32(hp.arch.rope_type())
            .ok_or_else(|| Error::internal("unsupported rope type"))?;
        let p = RopeParams {
            n_dims: hp.n_rot as i32,
            mode,
            n_ctx_orig: self.rope.n_ctx_orig,
            freq_base,
            freq_scale,
            ext_factor: self.rope.ext_factor,
            attn_factor: self.rope.attn_factor,
            beta_fast: self.rope.beta_fast,
            beta_slow: self.rope.beta_slow,
        };
        self.g.rope_ext(x, pos, factors, p)
    }

    /// The rope frequency factors of layer `il` (llama3 `rope_freqs`, LongRoPE long/short).
    pub fn rope_factors(&mut self) -> Result<Option<TensorId>> {
        let w = self.w;
        let f = if w.rope_freqs.is_some() {
            w.rope_freqs
        } else if self.rope.use_long_factors {
            w.rope_long
        } else {
            w.rope_short
        };
        f.as_ref().map(|f| self.wt(f)).transpose()
    }

    /// `build_ffn` with a parallel gate: `down(act(gate x) * up x)`.
    pub fn ffn_par(
        &mut self,
        x: TensorId,
        up: &Option<Wt>,
        gate: &Option<Wt>,
        down: &Option<Wt>,
        gelu: bool,
    ) -> Result<TensorId> {
        let u = self.mm(up, x, &None, "ffn_up")?;
        let gt = self.mm(gate, x, &None, "ffn_gate")?;
        let a = if gelu {
            self.g.geglu_split(gt, u)?
        } else {
            self.g.swiglu_split(gt, u)?
        };
        self.mm(down, a, &None, "ffn_down")
    }

    /// `build_moe_ffn` (SiLU experts, merged `ffn_*_exps`).
    #[allow(clippy::too_many_arguments)]
    pub fn moe_ffn(
        &mut self,
        x: TensorId,
        gate_inp: &Option<Wt>,
        up_exps: &Option<Wt>,
        gate_exps: &Option<Wt>,
        down_exps: &Option<Wt>,
        exp_probs_b: &Option<Wt>,
        norm_w: bool,
        w_scale: f32,
        sigmoid: bool,
    ) -> Result<TensorId> {
        let hp = self.hp;
        let n_expert = hp.n_expert as i64;
        let n_used = hp.n_expert_used as i64;
        let xne = self.g.ne(x)?;
        let (n_embd, n_tokens) = (xne[0], xne[1]);
        let logits = self.mm(gate_inp, x, &None, "ffn_gate_inp")?; // [n_expert, n_tokens]
        let probs = if sigmoid {
            self.g.sigmoid(logits)?
        } else {
            self.g.soft_max_ext(logits, None, None, 1.0, 0.0)?
        };
        let selection = match exp_probs_b {
            Some(b) => {
                let bt = self.wt(b)?;
                self.g.add(probs, bt)?
            }
            None => probs,
        };
        let selected = self.g.top_k(selection, n_used)?; // [n_used, n_tokens]
        let probs3 = self.g.reshape_3d(probs, 1, n_expert, n_tokens)?;
        let mut weights = self.g.get_rows(probs3, selected)?; // [1, n_used, n_tokens]
        if norm_w {
            let w2 = self.g.reshape_2d(weights, n_used, n_tokens)?;
            let sum = self.g.sum_rows(w2)?;
            let sum = self.g.clamp(sum, 2f32.powi(-14), f32::INFINITY)?;
            let w2 = self.g.div(w2, sum)?;
            weights = self.g.reshape_3d(w2, 1, n_used, n_tokens)?;
        }
        if w_scale != 0.0 && w_scale != 1.0 {
            weights = self.g.scale(weights, w_scale)?;
        }
        let cur = self.g.reshape_3d(x, n_embd, 1, n_tokens)?;
        let up = self.mm_id(up_exps, cur, selected, "ffn_up_exps")?; // [n_ff, n_used, n_tokens]
        let gate = self.mm_id(gate_exps, cur, selected, "ffn_gate_exps")?;
        let par = self.g.swiglu_split(gate, up)?;
        let experts = self.mm_id(down_exps, par, selected, "ffn_down_exps")?; // [n_embd, n_used, n_tokens]
        let experts = self.g.mul(experts, weights)?;
        let t = self.g.tensor(experts)?;
        let (nb1, nb2) = (t.nb[1], t.nb[2]);
        let mut out = self.g.view_2d(experts, n_embd, n_tokens, nb2, 0)?;
        for i in 1..n_used {
            let v = self
                .g
                .view_2d(experts, n_embd, n_tokens, nb2, i as usize * nb1)?;
            out = self.g.add(out, v)?;
        }
        if n_used == 1 {
            out = self.g.cont(out)?;
        }
        Ok(out)
    }

    /// Self-attention over the cache: stores `k`/`v` (`[head, n_head_kv, n_tokens]`) of layer
    /// `il` into its cells, attends with `q` (`[head_k, n_head, n_tokens]`) and projects with
    /// `wo`. For MLA (`v_mla` given), `v` is ignored: V is the first `kv_lora_rank` values of
    /// the cached K, and `v_mla` decompresses the result per head.
    #[allow(clippy::too_many_arguments)]
    pub fn attn(
        &mut self,
        il: usize,
        q: TensorId,
        k: TensorId,
        v: Option<TensorId>,
        v_mla: Option<TensorId>,
        kq_scale: f32,
        wo: &Option<Wt>,
        bo: &Option<Wt>,
    ) -> Result<TensorId> {
        let hp = self.hp;
        let swa = hp.n_swa > 0 && hp.is_swa[il] && self.kv_swa.is_some();
        let (kv, idxs, mask, n_kv) = if swa {
            let kv = self.kv_swa.ok_or_else(|| Error::internal("no SWA cache"))?;
            (
                kv,
                self.inp.kv_idxs_swa,
                self.inp.kq_mask_swa,
                self.shape.n_kv_swa,
            )
        } else {
            (self.kv, self.inp.kv_idxs, self.inp.kq_mask, self.shape.n_kv)
        };
        let idxs = idxs.ok_or_else(|| Error::internal("attention inputs not created"))?;
        let mask = mask.ok_or_else(|| Error::internal("attention inputs not created"))?;
        let n_tokens = self.shape.n_tokens;
        let kne = self.g.ne(k)?;
        let (head_k, n_head_kv) = (kne[0], kne[1]);
        let n_embd_k = head_k * n_head_kv;
        let koff =
            kv.k_off[il].ok_or_else(|| Error::internal(format!("layer {il} has no K cache")))?;
        let k_cache = kv.leaf(
            self.g,
            &format!("cache_k_l{il}"),
            kv.type_k,
            &[n_embd_k, kv.size],
            koff,
        )?;
        let k2 = self.g.reshape_2d(k, n_embd_k, n_tokens)?;
        let k2 = if self.g.tensor(k2)?.is_contiguous() {
            k2
        } else {
            self.g.cont(k2)?
        };
        self.g.set_rows(k_cache, k2, idxs)?;
        let k_rs = kv.type_k.row_size(head_k as u64)? as usize;
        let k_row = kv.type_k.row_size(n_embd_k as u64)? as usize;
        // [head_k, n_head_kv, n_kv] -> [head_k, n_kv, n_head_kv]
        let kview = self
            .g
            .view_3d(k_cache, [head_k, n_head_kv, n_kv], k_rs, k_row, 0)?;
        let (vview, head_v, v_ty) = match (v, v_mla) {
            (Some(v), None) => {
                let vne = self.g.ne(v)?;
                let (head_v, n_head_v) = (vne[0], vne[1]);
                let n_embd_v = head_v * n_head_v;
                let voff = kv.v_off[il]
                    .ok_or_else(|| Error::internal(format!("layer {il} has no V cache")))?;
                let ne = if kv.v_trans {
                    [kv.size, n_embd_v]
                } else {
                    [n_embd_v, kv.size]
                };
                let v_cache = kv.leaf(self.g, &format!("cache_v_l{il}"), kv.type_v, &ne, voff)?;
                let v2 = self.g.reshape_2d(v, n_embd_v, n_tokens)?;
                let v2 = if self.g.tensor(v2)?.is_contiguous() {
                    v2
                } else {
                    self.g.cont(v2)?
                };
                if kv.v_trans {
                    // one strided row per cell; attention reads V^T below without a copy
                    let dst = self.g.transpose(v_cache)?;
                    self.g.set_rows(dst, v2, idxs)?;
                    let es = kv.type_v.type_size();
                    let comp = kv.size as usize * es;
                    let vt = self.g.view_3d(
                        v_cache,
                        [n_kv, head_v, n_head_v],
                        comp,
                        comp * head_v as usize,
                        0,
                    )?; // [n_kv, head_v, n_head_v]
                    (vt, head_v, kv.type_v)
                } else {
                    self.g.set_rows(v_cache, v2, idxs)?;
                    let v_rs = kv.type_v.row_size(head_v as u64)? as usize;
                    let v_row = kv.type_v.row_size(n_embd_v as u64)? as usize;
                    (
                        self.g
                            .view_3d(v_cache, [head_v, n_head_v, n_kv], v_rs, v_row, 0)?,
                        head_v,
                        kv.type_v,
                    )
                }
            }
            (None, Some(_)) => {
                let head_v = hp.n_lora_kv as i64;
                (
                    self.g.view_3d(k_cache, [head_v, 1, n_kv], k_rs, k_row, 0)?,
                    head_v,
                    kv.type_k,
                )
            }
            _ => {
                return Err(Error::internal(
                    "attention needs exactly one of v and v_mla",
                ))
            }
        };
        let qp = self.g.permute(q, [0, 2, 1, 3])?; // [head_k, n_tokens, n_head]
        let kp = self.g.permute(kview, [0, 2, 1, 3])?; // [head_k, n_kv, n_head_kv]
                                                       // a transposed cache's view is V^T already: [n_kv, head_v, n_head_kv]
        let v_trans = kv.v_trans && v_mla.is_none();
        let vp = if v_trans {
            vview
        } else {
            self.g.permute(vview, [0, 2, 1, 3])? // [head_v, n_kv, n_head_kv]
        };
        let n_head = self.g.ne(q)?[1];
        if v_trans && self.flash_attn {
            return Err(Error::internal("flash attention over a transposed V cache"));
        }
        let mut cur = if self.flash_attn {
            let mut kk = kp;
            let mut vv = vp;
            if kv.type_k == GgmlType::F32 {
                kk = self.g.cast(kk, GgmlType::F16)?;
            }
            if kv.type_v == GgmlType::F32 || v_mla.is_some() && kv.type_k == GgmlType::F32 {
                vv = self.g.cast(vv, GgmlType::F16)?;
            }
            let mut o = self
                .g
                .flash_attn_ext(qp, kk, vv, Some(mask), None, kq_scale, 0.0, 0.0)?; // [head_v, n_head, n_tokens]
            if let Some(vm) = v_mla {
                o = self.g.permute(o, [0, 2, 1, 3])?; // [head_v, n_tokens, n_head]
                o = self.g.mul_mat(vm, o)?;
                o = self.g.permute(o, [0, 2, 1, 3])?;
                o = self.g.cont(o)?;
            }
            let one = self.g.ne(o)?;
            self.g.reshape_2d(o, one[0] * one[1], one[2] * one[3])?
        } else {
            let kq = self.g.mul_mat(kp, qp)?; // [n_kv, n_tokens, n_head]
            let kq = self.g.soft_max_ext(kq, Some(mask), None, kq_scale, 0.0)?;
            // a quantized V (MLA: the latent K rows) cannot be transposed in its blocks:
            // dequantize the view first
            let vt = if v_trans {
                vp
            } else {
                let vp = if v_ty.is_quantized() {
                    self.g.cast(vp, GgmlType::F32)?
                } else {
                    vp
                };
                let vt = self.g.transpose(vp)?; // [n_kv, head_v, n_head_kv]
                self.g.cont(vt)?
            };
            let mut kqv = self.g.mul_mat(vt, kq)?; // [head_v, n_tokens, n_head]
            if let Some(vm) = v_mla {
                kqv = self.g.mul_mat(vm, kqv)?; // [head_v_mla, n_tokens, n_head]
            }
            let o = self.g.permute(kqv, [0, 2, 1, 3])?; // [head_v, n_head, n_tokens]
            let one = self.g.ne(o)?;
            self.g.cont_nd(o, &[one[0] * one[1], one[2] * one[3]])?
        };
        let _ = (head_v, n_head);
        cur = self.mm(wo, cur, bo, "attn_output")?;
        Ok(cur)
    }

    /// Final norm + LM head; marks the results as outputs.
    pub fn head(&mut self, x: TensorId) -> Result<Outputs> {
        let w = self.w;
        let on = Some(w.output_norm);
        let embd = self.norm(x, &on, "output_norm")?;
        let out = Some(w.output);
        let mut logits = self.mm(&out, embd, &w.output_b, "output")?;
        let cap = self.hp.f_final_logit_softcapping;
        if cap != 0.0 {
            logits = self.g.scale(logits, 1.0 / cap)?;
            logits = self.g.tanh(logits)?;
            logits = self.g.scale(logits, cap)?;
        }
        self.g.set_output(embd)?;
        self.g.set_output(logits)?;
        Ok(Outputs { logits, embd })
    }
}

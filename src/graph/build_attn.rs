//! Op constructors, part 2: attention (rope, soft_max, flash attention).

use super::{Graph, Op, RopeParams};
use crate::error::{Error, Result};
use crate::quant::GgmlType;
use crate::tensor::TensorId;

fn shape_err(op: &str, msg: String) -> Error {
    Error::invalid(format!("{op}: {msg}"))
}

impl<'a> Graph<'a> {
    /// Rotary position embedding (`ggml_rope_ext`): `a` is `[head_dim, n_head, n_tokens, 1]`,
    /// `pos` I32 `[n_tokens]`, `freq_factors` optional F32 `[>= n_dims/2]` (llama3 / longrope).
    pub fn rope_ext(
        &mut self,
        a: TensorId,
        pos: TensorId,
        freq_factors: Option<TensorId>,
        p: RopeParams,
    ) -> Result<TensorId> {
        let (ta, tp) = (self.tensor(a)?, self.tensor(pos)?);
        if tp.ty != GgmlType::I32
            || tp.ne[1] != 1
            || tp.ne[2] != 1
            || tp.ne[3] != 1
            || ta.ne[2] != tp.ne[0]
        {
            return Err(shape_err(
                "ROPE",
                format!("positions {:?} for {:?}", tp.ne, ta.ne),
            ));
        }
        if p.n_dims <= 0 || p.n_dims % 2 != 0 || p.n_dims as i64 > ta.ne[0] {
            return Err(shape_err(
                "ROPE",
                format!("n_dims = {} with head size {}", p.n_dims, ta.ne[0]),
            ));
        }
        if let Some(c) = freq_factors {
            let tc = self.tensor(c)?;
            if tc.ty != GgmlType::F32 || tc.ne[0] < (p.n_dims / 2) as i64 {
                return Err(shape_err(
                    "ROPE",
                    format!("freq_factors {:?} for n_dims {}", tc.ne, p.n_dims),
                ));
            }
        }
        let (ty, ne) = (ta.ty, ta.ne);
        match freq_factors {
            Some(c) => self.node(Op::Rope(p), ty, ne, &[a, pos, c]),
            None => self.node(Op::Rope(p), ty, ne, &[a, pos]),
        }
    }

    /// `softmax(a * scale + mask + slope * mask)` over rows (`ggml_soft_max_ext`, with
    /// `ggml_soft_max_add_sinks` when `sinks` is given: F32 `[a.ne2]`, one logit per head that
    /// takes part in the normalisation but not in the output). `mask` is F16 or F32,
    /// `[a.ne0, >= a.ne1, a.ne2 / k, a.ne3 / j]`.
    pub fn soft_max_ext(
        &mut self,
        a: TensorId,
        mask: Option<TensorId>,
        sinks: Option<TensorId>,
        scale: f32,
        max_bias: f32,
    ) -> Result<TensorId> {
        let ta = self.tensor(a)?.clone();
        if !ta.is_contiguous() {
            return Err(shape_err("SOFT_MAX", "input must be contiguous".into()));
        }
        if let Some(m) = mask {
            let tm = self.tensor(m)?;
            let ok = matches!(tm.ty, GgmlType::F16 | GgmlType::F32)
                && tm.is_contiguous_rows()
                && tm.ne[0] == ta.ne[0]
                && tm.ne[1] >= ta.ne[1]
                && ta.ne[2] % tm.ne[2] == 0
                && ta.ne[3] % tm.ne[3] == 0;
            if !ok {
                return Err(shape_err(
                    "SOFT_MAX",
                    format!("mask {:?} ({}) for {:?}", tm.ne, tm.ty.name(), ta.ne),
                ));
            }
        } else if max_bias > 0.0 {
            return Err(shape_err("SOFT_MAX", "max_bias needs a mask".into()));
        }
        if let Some(s) = sinks {
            let ts = self.tensor(s)?;
            if ts.ty != GgmlType::F32 || ts.ne[0] != ta.ne[2] {
                return Err(shape_err(
                    "SOFT_MAX",
                    format!("sinks {:?} for {} heads", ts.ne, ta.ne[2]),
                ));
            }
        }
        let mut src = vec![a];
        // Slot order: a, mask, sinks. A missing mask with sinks present uses `a` as a
        // placeholder in slot 1 that the op ignores; record presence in the op instead.
        let op = Op::SoftMax { scale, max_bias };
        src.push(mask.unwrap_or(a));
        if let Some(s) = sinks {
            src.push(s);
        }
        let id = self.node(op, ta.ty, ta.ne, &src)?;
        if mask.is_none() {
            self.clear_src(id, 1);
        }
        Ok(id)
    }

    /// Fused attention (`ggml_flash_attn_ext`): `q` F32 `[D, n_q, n_head, ne3]`, `k`
    /// `[D, n_kv, n_head_kv, ne3]`, `v` `[Dv, n_kv, n_head_kv, ne3]` (F16, BF16, Q8_0, Q4_0 or
    /// F32), optional F16 `mask` `[n_kv, >= n_q, n_head / k, ne3 / j]`, optional F32 `sinks`
    /// `[n_head]`. Result F32 `[Dv, n_head, n_q, ne3]` (heads before tokens, as upstream).
    #[allow(clippy::too_many_arguments)]
    pub fn flash_attn_ext(
        &mut self,
        q: TensorId,
        k: TensorId,
        v: TensorId,
        mask: Option<TensorId>,
        sinks: Option<TensorId>,
        scale: f32,
        max_bias: f32,
        softcap: f32,
    ) -> Result<TensorId> {
        let (tq, tk, tv) = (self.tensor(q)?, self.tensor(k)?, self.tensor(v)?);
        let ok = tk.ne[0] == tq.ne[0]
            && tk.ne[2] > 0
            && tq.ne[2] % tk.ne[2] == 0
            && tq.ne[3] == tk.ne[3]
            && tq.ne[3] == tv.ne[3]
            && tv.ne[1] == tk.ne[1]
            && tv.ne[2] == tk.ne[2];
        if !ok {
            return Err(shape_err(
                "FLASH_ATTN_EXT",
                format!("q {:?} k {:?} v {:?}", tq.ne, tk.ne, tv.ne),
            ));
        }
        if let Some(m) = mask {
            let tm = self.tensor(m)?;
            let ok = tm.ty == GgmlType::F16
                && tm.is_contiguous_rows()
                && tm.ne[0] == tk.ne[1]
                && tm.ne[1] >= tq.ne[1]
                && tq.ne[2] % tm.ne[2] == 0
                && tq.ne[3] % tm.ne[3] == 0;
            if !ok {
                return Err(shape_err(
                    "FLASH_ATTN_EXT",
                    format!("mask {:?} ({})", tm.ne, tm.ty.name()),
                ));
            }
        } else if max_bias > 0.0 {
            return Err(shape_err("FLASH_ATTN_EXT", "max_bias needs a mask".into()));
        }
        if let Some(s) = sinks {
            let ts = self.tensor(s)?;
            if ts.ty != GgmlType::F32 || ts.ne[0] != tq.ne[2] {
                return Err(shape_err(
                    "FLASH_ATTN_EXT",
                    format!("sinks {:?} for {} heads", ts.ne, tq.ne[2]),
                ));
            }
        }
        let ne = [tv.ne[0], tq.ne[2], tq.ne[1], tq.ne[3]];
        let op = Op::FlashAttnExt {
            scale,
            max_bias,
            softcap,
        };
        let mut src = vec![q, k, v, mask.unwrap_or(q)];
        if let Some(s) = sinks {
            src.push(s);
        }
        let id = self.node(op, GgmlType::F32, ne, &src)?;
        if mask.is_none() {
            self.clear_src(id, 3);
        }
        Ok(id)
    }
}

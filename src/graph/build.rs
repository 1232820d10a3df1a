//! Op constructors, part 1: element-wise, normalization, matmul, rows, copies, reductions.
//! Shape rules are ggml's (`ggml.c`); each constructor returns an error instead of asserting.

use super::{GluOp, Graph, Op, SortOrder, UnaryOp};
use crate::error::{Error, Result};
use crate::quant::GgmlType;
use crate::tensor::{Storage, TensorId};

/// `b` can be tiled to fill `a` (every dim of `a` is a multiple of `b`'s).
pub(crate) fn can_repeat(b: &[i64; 4], a: &[i64; 4]) -> bool {
    (0..4).all(|i| b[i] > 0 && a[i] % b[i] == 0) || a.contains(&0)
}

fn shape_err(op: &str, msg: String) -> Error {
    Error::invalid(format!("{op}: {msg}"))
}

impl<'a> Graph<'a> {
    fn binary(&mut self, op: Op, a: TensorId, b: TensorId) -> Result<TensorId> {
        let (ta, tb) = (self.tensor(a)?, self.tensor(b)?);
        if !can_repeat(&tb.ne, &ta.ne) {
            return Err(shape_err(
                op.name(),
                format!("{:?} cannot broadcast over {:?}", tb.ne, ta.ne),
            ));
        }
        let (ty, ne) = (ta.ty, ta.ne);
        self.node(op, ty, ne, &[a, b])
    }

    /// `a + b`, `b` broadcast over `a` (`ggml_add`).
    pub fn add(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.binary(Op::Add, a, b)
    }

    /// `a - b` (`ggml_sub`).
    pub fn sub(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.binary(Op::Sub, a, b)
    }

    /// `a * b` element-wise (`ggml_mul`).
    pub fn mul(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.binary(Op::Mul, a, b)
    }

    /// `a / b` element-wise (`ggml_div`).
    pub fn div(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.binary(Op::Div, a, b)
    }

    fn same_shape_op(&mut self, op: Op, a: TensorId) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let (ty, ne) = (t.ty, t.ne);
        self.node(op, ty, ne, &[a])
    }

    /// `a * s` (`ggml_scale`).
    pub fn scale(&mut self, a: TensorId, s: f32) -> Result<TensorId> {
        self.same_shape_op(Op::Scale { s, b: 0.0 }, a)
    }

    /// `a * s + b` (`ggml_scale_bias`).
    pub fn scale_bias(&mut self, a: TensorId, s: f32, b: f32) -> Result<TensorId> {
        self.same_shape_op(Op::Scale { s, b }, a)
    }

    /// `clamp(a, min, max)` (`ggml_clamp`).
    pub fn clamp(&mut self, a: TensorId, min: f32, max: f32) -> Result<TensorId> {
        self.same_shape_op(Op::Clamp { min, max }, a)
    }

    /// RMS norm over `ne[0]` (`ggml_rms_norm`).
    pub fn rms_norm(&mut self, a: TensorId, eps: f32) -> Result<TensorId> {
        self.same_shape_op(Op::RmsNorm { eps }, a)
    }

    /// Mean/variance norm over `ne[0]` (`ggml_norm`).
    pub fn norm(&mut self, a: TensorId, eps: f32) -> Result<TensorId> {
        self.same_shape_op(Op::Norm { eps }, a)
    }

    /// An element-wise function (`ggml_unary`).
    pub fn unary(&mut self, a: TensorId, f: UnaryOp) -> Result<TensorId> {
        self.same_shape_op(Op::Unary(f), a)
    }

    /// `ggml_silu`.
    pub fn silu(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Silu)
    }
    /// `ggml_gelu` (tanh approximation, f16 table as upstream's CPU backend).
    pub fn gelu(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Gelu)
    }
    /// `ggml_gelu_erf`.
    pub fn gelu_erf(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::GeluErf)
    }
    /// `ggml_sigmoid`.
    pub fn sigmoid(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Sigmoid)
    }
    /// `ggml_tanh`.
    pub fn tanh(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Tanh)
    }
    /// `ggml_relu`.
    pub fn relu(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Relu)
    }
    /// `ggml_exp`.
    pub fn exp(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Exp)
    }
    /// `ggml_log`.
    pub fn log(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Log)
    }
    /// `ggml_sqr`.
    pub fn sqr(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Sqr)
    }
    /// `ggml_sqrt`.
    pub fn sqrt(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Sqrt)
    }
    /// `ggml_neg`.
    pub fn neg(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Neg)
    }
    /// `ggml_abs`.
    pub fn abs(&mut self, a: TensorId) -> Result<TensorId> {
        self.unary(a, UnaryOp::Abs)
    }

    /// Logit soft-capping `cap * tanh(a / cap)`, as three nodes (scale, tanh, scale).
    pub fn softcap(&mut self, a: TensorId, cap: f32) -> Result<TensorId> {
        if cap == 0.0 {
            return Err(Error::invalid("softcap: cap must be non-zero"));
        }
        let x = self.scale(a, 1.0 / cap)?;
        let x = self.tanh(x)?;
        self.scale(x, cap)
    }

    /// A gated unit (`ggml_glu` / `ggml_glu_split`). With `b == None`, `a`'s rows hold the gate
    /// and up halves (gate first unless `swapped`) and the result has half of `a`'s `ne[0]`;
    /// with `b`, the result is `act(a) * b` and both have the same shape.
    pub fn glu(
        &mut self,
        a: TensorId,
        b: Option<TensorId>,
        op: GluOp,
        swapped: bool,
    ) -> Result<TensorId> {
        let ta = self.tensor(a)?.clone();
        if !ta.is_contiguous_rows() {
            return Err(shape_err("GLU", "rows of a must be contiguous".into()));
        }
        let mut ne = ta.ne;
        match b {
            Some(b) => {
                let tb = self.tensor(b)?;
                if tb.ne != ta.ne || tb.ty != ta.ty || !tb.is_contiguous_rows() {
                    return Err(shape_err(
                        "GLU",
                        format!("gate {:?} and up {:?} differ", ta.ne, tb.ne),
                    ));
                }
                self.node(Op::Glu { op, swapped }, ta.ty, ne, &[a, b])
            }
            None => {
                if ta.ne[0] % 2 != 0 {
                    return Err(shape_err("GLU", format!("ne[0] = {} is odd", ta.ne[0])));
                }
                ne[0] /= 2;
                self.node(Op::Glu { op, swapped }, ta.ty, ne, &[a])
            }
        }
    }

    /// `silu(a[:n/2]) * a[n/2:]` (`ggml_swiglu`).
    pub fn swiglu(&mut self, a: TensorId) -> Result<TensorId> {
        self.glu(a, None, GluOp::Swiglu, false)
    }
    /// `silu(gate) * up` (`ggml_swiglu_split`).
    pub fn swiglu_split(&mut self, gate: TensorId, up: TensorId) -> Result<TensorId> {
        self.glu(gate, Some(up), GluOp::Swiglu, false)
    }
    /// `gelu(a[:n/2]) * a[n/2:]` (`ggml_geglu`).
    pub fn geglu(&mut self, a: TensorId) -> Result<TensorId> {
        self.glu(a, None, GluOp::Geglu, false)
    }
    /// `gelu(gate) * up` (`ggml_geglu_split`).
    pub fn geglu_split(&mut self, gate: TensorId, up: TensorId) -> Result<TensorId> {
        self.glu(gate, Some(up), GluOp::Geglu, false)
    }

    /// `a[K, M, ..] x b[K, N, ..] -> [M, N, ..]` (`ggml_mul_mat`); `a` broadcasts over `b`'s
    /// dims 2 and 3.
    pub fn mul_mat(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        let (ta, tb) = (self.tensor(a)?, self.tensor(b)?);
        if ta.ne[0] != tb.ne[0]
            || tb.ne[2] % ta.ne[2].max(1) != 0
            || tb.ne[3] % ta.ne[3].max(1) != 0
        {
            return Err(shape_err(
                "MUL_MAT",
                format!("cannot multiply {:?} by {:?}", ta.ne, tb.ne),
            ));
        }
        if ta.is_transposed() {
            return Err(shape_err("MUL_MAT", format!("{} is transposed", ta.name)));
        }
        let ne = [ta.ne[1], tb.ne[1], tb.ne[2], tb.ne[3]];
        self.node(Op::MulMat, GgmlType::F32, ne, &[a, b])
    }

    /// Expert matmul (`ggml_mul_mat_id`): `as_[K, M, n_expert]`, `b[K, n_b, n_tokens]` with
    /// `n_used % n_b == 0`, `ids` I32 `[n_used, n_tokens]` → `[M, n_used, n_tokens]`.
    pub fn mul_mat_id(&mut self, as_: TensorId, b: TensorId, ids: TensorId) -> Result<TensorId> {
        let (ta, tb, ti) = (self.tensor(as_)?, self.tensor(b)?, self.tensor(ids)?);
        let ok = !ta.is_transposed()
            && ti.ty == GgmlType::I32
            && ta.ne[3] == 1
            && tb.ne[3] == 1
            && ti.ne[2] == 1
            && ti.ne[3] == 1
            && ti.ne[1] == tb.ne[2]
            && ta.ne[0] == tb.ne[0]
            && tb.ne[1] > 0
            && ti.ne[0] % tb.ne[1] == 0;
        if !ok {
            return Err(shape_err(
                "MUL_MAT_ID",
                format!(
                    "experts {:?} x {:?} with ids {:?} {}",
                    ta.ne,
                    tb.ne,
                    ti.ne,
                    ti.ty.name()
                ),
            ));
        }
        let ne = [ta.ne[1], ti.ne[0], tb.ne[2], 1];
        self.node(Op::MulMatId, GgmlType::F32, ne, &[as_, b, ids])
    }

    /// Rows of `a` picked by `b` (I32 `[n, a.ne2, a.ne3]`), as f32 (`ggml_get_rows`).
    pub fn get_rows(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        let (ta, tb) = (self.tensor(a)?, self.tensor(b)?);
        if ta.ne[2] != tb.ne[1] || ta.ne[3] != tb.ne[2] || tb.ne[3] != 1 || tb.ty != GgmlType::I32 {
            return Err(shape_err(
                "GET_ROWS",
                format!("rows {:?} of {:?} ({})", tb.ne, ta.ne, tb.ty.name()),
            ));
        }
        let ty = if ta.ty == GgmlType::I32 {
            GgmlType::I32
        } else {
            GgmlType::F32
        };
        let ne = [ta.ne[0], tb.ne[0], tb.ne[1], tb.ne[2]];
        self.node(Op::GetRows, ty, ne, &[a, b])
    }

    /// Writes the rows of `src` (F32) into `dst` at row indices `idx` (I32 or I64
    /// `[src.ne1, ..]`), converting to `dst`'s type (`ggml_set_rows`). Returns a view of `dst`
    /// that depends on the write.
    pub fn set_rows(&mut self, dst: TensorId, src: TensorId, idx: TensorId) -> Result<TensorId> {
        let (a, b, c) = (self.tensor(dst)?, self.tensor(src)?, self.tensor(idx)?);
        let ok = a.ne[0] == b.ne[0]
            && a.ne[2] == b.ne[2]
            && a.ne[3] == b.ne[3]
            && b.ne[1] == c.ne[0]
            && c.ne[1] > 0
            && c.ne[2] > 0
            && b.ne[2] % c.ne[1] == 0
            && b.ne[3] % c.ne[2] == 0
            && c.ne[3] == 1
            && matches!(b.ty, GgmlType::F32 | GgmlType::F16)
            && matches!(c.ty, GgmlType::I32 | GgmlType::I64)
            && (a.is_contiguous_rows() || (a.ty.block_size() == 1 && a.ty.type_size() <= 4))
            && b.is_contiguous_rows();
        if !ok {
            return Err(shape_err(
                "SET_ROWS",
                format!(
                    "rows {:?} ({}) at {:?} ({}) into {:?}",
                    b.ne,
                    b.ty.name(),
                    c.ne,
                    c.ty.name(),
                    a.ne
                ),
            ));
        }
        self.node_into(Op::SetRows, dst, &[src, idx, dst])
    }

    /// Copies `a` into `b` converting types; element counts must match (`ggml_cpy`). Returns a
    /// view of `b` that depends on the write.
    pub fn cpy(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        let (ta, tb) = (self.tensor(a)?, self.tensor(b)?);
        if ta.nelements() != tb.nelements() {
            return Err(shape_err(
                "CPY",
                format!("{:?} and {:?} differ in size", ta.ne, tb.ne),
            ));
        }
        if ta.ty.is_quantized() && ta.ty != tb.ty && !ta.is_contiguous_rows() {
            return Err(shape_err(
                "CPY",
                "quantized source rows must be contiguous".into(),
            ));
        }
        self.node_into(Op::Cpy, b, &[a, b])
    }

    /// A contiguous copy of `a` (`ggml_cont`).
    pub fn cont(&mut self, a: TensorId) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let (ty, ne) = (t.ty, t.ne);
        self.node(Op::Cpy, ty, ne, &[a])
    }

    /// A contiguous copy of `a` with a new shape of the same element count (`ggml_cont_4d`).
    pub fn cont_nd(&mut self, a: TensorId, ne: &[i64]) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let ty = t.ty;
        let ne = crate::tensor::ne4(ne)?;
        if ne.iter().product::<i64>() != t.nelements() {
            return Err(shape_err(
                "CONT",
                format!("{:?} -> {ne:?}: element counts differ", t.ne),
            ));
        }
        self.node(Op::Cpy, ty, ne, &[a])
    }

    /// A contiguous copy of `a` converted to `ty` (`ggml_cast`).
    pub fn cast(&mut self, a: TensorId, ty: GgmlType) -> Result<TensorId> {
        let ne = self.tensor(a)?.ne;
        self.node(Op::Cpy, ty, ne, &[a])
    }

    /// `a` tiled to the shape `ne` (each dim a multiple of `a`'s) (`ggml_repeat_4d`).
    pub fn repeat_nd(&mut self, a: TensorId, ne: &[i64]) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let ty = t.ty;
        let ne = crate::tensor::ne4(ne)?;
        if !can_repeat(&t.ne, &ne) {
            return Err(shape_err(
                "REPEAT",
                format!("{:?} does not tile {ne:?}", t.ne),
            ));
        }
        self.node(Op::Repeat, ty, ne, &[a])
    }

    /// `a` tiled to `b`'s shape (`ggml_repeat`).
    pub fn repeat(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        let ne = self.tensor(b)?.ne;
        self.repeat_nd(a, &ne)
    }

    /// `a` and `b` joined along `dim` (`ggml_concat`).
    pub fn concat(&mut self, a: TensorId, b: TensorId, dim: usize) -> Result<TensorId> {
        let (ta, tb) = (self.tensor(a)?, self.tensor(b)?);
        if dim >= 4 || ta.ty != tb.ty || (0..4).any(|d| d != dim && ta.ne[d] != tb.ne[d]) {
            return Err(shape_err(
                "CONCAT",
                format!("{:?} and {:?} along {dim}", ta.ne, tb.ne),
            ));
        }
        if ta.ty.is_quantized() {
            return Err(shape_err(
                "CONCAT",
                "quantized types are not supported".into(),
            ));
        }
        let mut ne = ta.ne;
        ne[dim] += tb.ne[dim];
        let ty = ta.ty;
        self.node(Op::Concat(dim as i32), ty, ne, &[a, b])
    }

    /// Row sums: `[1, ne1, ne2, ne3]` (`ggml_sum_rows`).
    pub fn sum_rows(&mut self, a: TensorId) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let ne = [1, t.ne[1], t.ne[2], t.ne[3]];
        let ty = t.ty;
        self.node(Op::SumRows, ty, ne, &[a])
    }

    /// Row means: `[1, ne1, ne2, ne3]` (`ggml_mean`).
    pub fn mean(&mut self, a: TensorId) -> Result<TensorId> {
        let t = self.tensor(a)?;
        let ne = [1, t.ne[1], t.ne[2], t.ne[3]];
        let ty = t.ty;
        self.node(Op::Mean, ty, ne, &[a])
    }

    /// Index of the largest value of each row of a matrix: I32 `[ne1]` (`ggml_argmax`).
    pub fn argmax(&mut self, a: TensorId) -> Result<TensorId> {
        let t = self.tensor(a)?;
        if t.ne[2] != 1 || t.ne[3] != 1 {
            return Err(shape_err("ARGMAX", format!("{:?} is not a matrix", t.ne)));
        }
        let ne = [t.ne[1], 1, 1, 1];
        self.node(Op::Argmax, GgmlType::I32, ne, &[a])
    }

    /// Indices (I32) that sort each row (`ggml_argsort`).
    pub fn argsort(&mut self, a: TensorId, order: SortOrder) -> Result<TensorId> {
        let ne = self.tensor(a)?.ne;
        self.node(Op::Argsort(order), GgmlType::I32, ne, &[a])
    }

    /// Indices (I32) of the `k` largest values of each row (`ggml_top_k`): largest first with
    /// the first two swapped, the order upstream's CPU backend produces.
    pub fn top_k(&mut self, a: TensorId, k: i64) -> Result<TensorId> {
        let t = self.tensor(a)?;
        if k < 1 || k > t.ne[0] || k > i32::MAX as i64 {
            return Err(shape_err(
                "TOP_K",
                format!("k = {k} with rows of {}", t.ne[0]),
            ));
        }
        let ne = [k, t.ne[1], t.ne[2], t.ne[3]];
        self.node(Op::TopK(k as i32), GgmlType::I32, ne, &[a])
    }

    /// True when `id`'s bytes are written by an op or supplied as input (not a weight).
    pub fn is_writable(&self, id: TensorId) -> bool {
        let (r, _) = self.root(id);
        !matches!(
            self.tensors.get(r.index()).map(|t| t.storage),
            Some(Storage::Weight(_))
        )
    }
}

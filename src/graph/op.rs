//! The operations a graph node can perform, with their parameters (ggml's `op` + `op_params`).

/// Element-wise unary functions (`GGML_UNARY_OP_*` and the plain element-wise ops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `x * sigmoid(x)`.
    Silu,
    /// tanh-approximated GELU, computed as ggml's CPU backend does (f16 table).
    Gelu,
    /// Exact (erf) GELU.
    GeluErf,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `exp(x)`.
    Exp,
    /// `ln(x)`.
    Log,
    /// `x * x`.
    Sqr,
    /// `sqrt(x)`.
    Sqrt,
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
}

/// Gated linear units (`GGML_GLU_OP_*`): `act(gate) * up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GluOp {
    /// `relu(gate) * up`.
    Reglu,
    /// tanh-GELU gate.
    Geglu,
    /// SiLU gate.
    Swiglu,
    /// erf-GELU gate.
    GegluErf,
}

/// Sort order for [`Op::Argsort`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Rope modes (`GGML_ROPE_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeMode {
    /// Rotate adjacent pairs `(x[2i], x[2i+1])` (`GGML_ROPE_TYPE_NORMAL` = 0).
    Normal,
    /// Rotate `(x[i], x[i + n_dims/2])` (`GGML_ROPE_TYPE_NEOX` = 2).
    Neox,
}

impl RopeMode {
    /// From llama.h's `llama_rope_type` / ggml's mode integer (0 normal, 2 neox).
    pub fn from_i32(mode: i32) -> Option<RopeMode> {
        match mode {
            0 => Some(RopeMode::Normal),
            2 => Some(RopeMode::Neox),
            _ => None,
        }
    }
}

/// Parameters of [`Op::Rope`] (as `ggml_rope_ext`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeParams {
    /// Number of leading dims of each head that are rotated (the rest is copied).
    pub n_dims: i32,
    /// Pair layout.
    pub mode: RopeMode,
    /// Original training context (YaRN).
    pub n_ctx_orig: i32,
    /// Base of the frequencies (`rope_freq_base`).
    pub freq_base: f32,
    /// Position scale (`rope_freq_scale`; 1/linear factor).
    pub freq_scale: f32,
    /// YaRN extrapolation mix factor (0 disables YaRN ramp).
    pub ext_factor: f32,
    /// YaRN magnitude scale.
    pub attn_factor: f32,
    /// YaRN low correction dim parameter.
    pub beta_fast: f32,
    /// YaRN high correction dim parameter.
    pub beta_slow: f32,
}

impl RopeParams {
    /// Plain rope with the given base: no scaling, no YaRN.
    pub fn simple(n_dims: i32, mode: RopeMode, freq_base: f32) -> RopeParams {
        RopeParams {
            n_dims,
            mode,
            n_ctx_orig: 0,
            freq_base,
            freq_scale: 1.0,
            ext_factor: 0.0,
            attn_factor: 1.0,
            beta_fast: 32.0,
            beta_slow: 1.0,
        }
    }
}

/// What a node computes. Sources are listed per variant; their order is the order of the
/// node's `src` array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// A leaf: weight, input, external buffer. Nothing to compute.
    None,
    /// A view (view/reshape/permute/transpose): shares its source's bytes. Nothing to compute.
    View,
    /// `[rows of src0 picked by src1 (I32)]`, converted to f32.
    GetRows,
    /// `src0 + src1` (src1 broadcast over src0).
    Add,
    /// `src0 - src1`.
    Sub,
    /// `src0 * src1`.
    Mul,
    /// `src0 / src1`.
    Div,
    /// `src0 * s + b`.
    Scale {
        /// Multiplier.
        s: f32,
        /// Bias.
        b: f32,
    },
    /// `clamp(src0, min, max)`.
    Clamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// RMS normalization over `ne[0]`.
    RmsNorm {
        /// Epsilon added to the mean square.
        eps: f32,
    },
    /// Mean/variance normalization over `ne[0]`.
    Norm {
        /// Epsilon added to the variance.
        eps: f32,
    },
    /// `src0[K,M] x src1[K,N] -> [M,N]`, batched with broadcasting over dims 2 and 3.
    MulMat,
    /// Expert matmul: src0 experts `[K,M,n_expert]`, src1 `[K, 1 or n_used, n_tokens]`,
    /// src2 ids I32 `[n_used, n_tokens]`.
    MulMatId,
    /// Rotary embedding: src0 `[head_dim, n_head, n_tokens, 1]`, src1 positions I32, optional
    /// src2 frequency factors F32.
    Rope(RopeParams),
    /// `softmax(src0 * scale + mask (+ ALiBi slope))` over `ne[0]`; src1 optional mask,
    /// src2 optional sinks F32 `[n_head]`.
    SoftMax {
        /// Logit scale.
        scale: f32,
        /// ALiBi maximum bias (0 disables).
        max_bias: f32,
    },
    /// Fused attention: src0 q, src1 k, src2 v, src3 optional mask (F16), src4 optional sinks.
    FlashAttnExt {
        /// Logit scale.
        scale: f32,
        /// ALiBi maximum bias.
        max_bias: f32,
        /// Logit soft-capping value (0 disables).
        softcap: f32,
    },
    /// An element-wise function.
    Unary(UnaryOp),
    /// A gated unit; src1 is the separate `up` half when present.
    Glu {
        /// Activation.
        op: GluOp,
        /// Gate is the second half (only for the single-tensor form).
        swapped: bool,
    },
    /// Indices (I32) sorting each row.
    Argsort(SortOrder),
    /// Indices (I32) of the `k` largest values of each row: sorted largest first, then the
    /// first two swapped, exactly as upstream's CPU `top_k` orders them.
    TopK(i32),
    /// Sum of each row: `[1, ne1, ne2, ne3]`.
    SumRows,
    /// Mean of each row: `[1, ne1, ne2, ne3]`.
    Mean,
    /// Index (I32) of the maximum of each row of a matrix: `[ne1]`.
    Argmax,
    /// `src0` and `src1` concatenated along `dim`.
    Concat(i32),
    /// `src0` tiled to the shape of the node.
    Repeat,
    /// Copy `src0` into the node's bytes, converting types (cpy / cont / cast).
    Cpy,
    /// Write rows of src0 (F32) into the node (a view of src2) at row indices src1 (I32/I64).
    SetRows,
}

impl Op {
    /// Short name, as ggml's `ggml_op_name` spells the corresponding op.
    pub fn name(&self) -> &'static str {
        match self {
            Op::None => "NONE",
            Op::View => "VIEW",
            Op::GetRows => "GET_ROWS",
            Op::Add => "ADD",
            Op::Sub => "SUB",
            Op::Mul => "MUL",
            Op::Div => "DIV",
            Op::Scale { .. } => "SCALE",
            Op::Clamp { .. } => "CLAMP",
            Op::RmsNorm { .. } => "RMS_NORM",
            Op::Norm { .. } => "NORM",
            Op::MulMat => "MUL_MAT",
            Op::MulMatId => "MUL_MAT_ID",
            Op::Rope(_) => "ROPE",
            Op::SoftMax { .. } => "SOFT_MAX",
            Op::FlashAttnExt { .. } => "FLASH_ATTN_EXT",
            Op::Unary(_) => "UNARY",
            Op::Glu { .. } => "GLU",
            Op::Argsort(_) => "ARGSORT",
            Op::TopK(_) => "TOP_K",
            Op::SumRows => "SUM_ROWS",
            Op::Mean => "MEAN",
            Op::Argmax => "ARGMAX",
            Op::Concat(_) => "CONCAT",
            Op::Repeat => "REPEAT",
            Op::Cpy => "CPY",
            Op::SetRows => "SET_ROWS",
        }
    }

    /// True for nodes that compute something (not leaves, not views).
    pub fn is_compute(&self) -> bool {
        !matches!(self, Op::None | Op::View)
    }
}

//! `llama_model_quantize` for the file types whose tensor mix needs no per-layer rules: F32,
//! F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL. Which tensors are quantized and to what
//! follows upstream's `llama-quant.cpp`:
//! - only tensors of two or more dimensions whose name ends in `weight`, and never norms,
//!   `ffn_gate_inp`, position / token-type embeddings or `ssm_conv1d`; `output.weight` only
//!   with `quantize_output_tensor`;
//! - the caller's `token_embedding_type` / `output_tensor_type` win for those two tensors;
//! - for the quantized types, the output tensor (or the token embedding when the model ties
//!   them) takes Q6_K, or Q8_0 when its rows are not a multiple of the type's block or the type
//!   is Q8_0 already (unless `pure`);
//! - a tensor whose rows do not fit the type's blocks falls back to a type that fits.
//!
//! The k-quant and i-quant mixes (Q2_K … Q6_K, IQ*) choose types per layer and are refused
//! with an error for now. The quantizers themselves are bit-exact with upstream (see
//! `crate::quant::quantize`), so the output tensors are too.

use std::path::Path;

use crate::error::{Error, Result};
use crate::gguf::{GgufFile, GgufWriter, Value};
use crate::quant::dequant::dequantize_row;
use crate::quant::quantize::quantize_rows;
use crate::quant::GgmlType;

/// What the caller asked for (the parts of `llama_model_quantize_params` honoured).
#[derive(Clone, Copy, Debug)]
pub struct QuantizeOptions {
    /// `llama_ftype`.
    pub ftype: i32,
    /// Type for `output.weight` (`None`: the rules above).
    pub output_tensor_type: Option<GgmlType>,
    /// Type for `token_embd.weight` (`None`: the file type's).
    pub token_embedding_type: Option<GgmlType>,
    /// Quantize `output.weight` too.
    pub quantize_output_tensor: bool,
    /// Tensors already quantized may be re-quantized.
    pub allow_requantize: bool,
    /// Copy tensors as they are (change only the metadata).
    pub only_copy: bool,
    /// Every quantized tensor takes the file type's type (no output-tensor rule).
    pub pure: bool,
}

/// The tensor type of a file type this module handles.
fn default_type(ftype: i32) -> Result<GgmlType> {
    Ok(match ftype {
        0 => GgmlType::F32,
        1 => GgmlType::F16,
        2 => GgmlType::Q4_0,
        3 => GgmlType::Q4_1,
        7 => GgmlType::Q8_0,
        8 => GgmlType::Q5_0,
        9 => GgmlType::Q5_1,
        25 => GgmlType::IQ4_NL,
        32 => GgmlType::BF16,
        other => {
            return Err(Error::unsupported(format!(
                "quantizing to file type {other} (a per-layer k-quant / i-quant mix); F32, F16, \
                 BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL are supported"
            )))
        }
    })
}

/// Whether upstream would quantize tensor `name` of `n_dims` dimensions.
fn allows_quantization(name: &str, n_dims: usize, o: &QuantizeOptions) -> bool {
    !o.only_copy
        && n_dims >= 2
        && name.ends_with("weight")
        && !name.contains("_norm.weight")
        && (o.quantize_output_tensor || name != "output.weight")
        && !name.contains("ffn_gate_inp.weight")
        && name != "position_embd.weight"
        && name != "token_types.weight"
        && !name.contains("ssm_conv1d")
}

/// A type whose blocks fit rows of `nx` values, for a type whose blocks do not.
fn fallback(ty: GgmlType, nx: u64) -> GgmlType {
    let fits = |t: GgmlType| nx.is_multiple_of(t.block_size() as u64);
    if fits(ty) {
        return ty;
    }
    let alt = match ty {
        GgmlType::Q6_K => GgmlType::Q8_0,
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::IQ4_NL => GgmlType::Q5_0,
        _ => GgmlType::F16,
    };
    if fits(alt) {
        alt
    } else {
        GgmlType::F16
    }
}

/// The type tensor `name` (rows of `nx`) gets.
fn tensor_type(
    name: &str,
    cur: GgmlType,
    n_dims: usize,
    nx: u64,
    tied: bool,
    def: GgmlType,
    o: &QuantizeOptions,
) -> GgmlType {
    if !allows_quantization(name, n_dims, o) {
        return cur;
    }
    let output = name == "output.weight" || (tied && name == "token_embd.weight");
    if name == "token_embd.weight" {
        if let Some(t) = o.token_embedding_type {
            return t;
        }
    }
    if name == "output.weight" {
        if let Some(t) = o.output_tensor_type {
            return t;
        }
    }
    if !def.is_quantized() {
        return def;
    }
    let mut t = def;
    if output && !o.pure {
        t = if !nx.is_multiple_of(def.block_size() as u64) || def == GgmlType::Q8_0 {
            GgmlType::Q8_0
        } else {
            GgmlType::Q6_K
        };
    }
    fallback(t, nx)
}

/// Quantizes the model at `inp` (one file or the first of its splits) into `out`.
pub fn quantize_file(inp: &Path, out: &Path, o: &QuantizeOptions) -> Result<()> {
    let def = default_type(o.ftype)?;
    let g = GgufFile::open(inp)?;
    let tied = !g.tensors().iter().any(|t| t.name == "output.weight");
    let mut w = GgufWriter::new();
    for (k, v) in g.metadata() {
        if !k.starts_with("split.") {
            w.set(k, v.clone());
        }
    }
    w.set("general.quantization_version", Value::U32(2));
    w.set("general.file_type", Value::U32(o.ftype as u32));
    for t in g.tensors() {
        let nx = t.ne.first().copied().unwrap_or(1);
        let n_dims = t.ne.iter().rposition(|&d| d > 1).map_or(1, |i| i + 1);
        let ty = tensor_type(&t.name, t.ty, n_dims, nx, tied, def, o);
        let data = g.tensor_data(t);
        if ty == t.ty {
            w.add_tensor(&t.name, ty, &t.ne, data.to_vec())?;
            continue;
        }
        if t.ty.is_quantized() && !o.allow_requantize {
            return Err(Error::invalid(format!(
                "{}: requantizing from {} is disabled (allow_requantize)",
                t.name,
                t.ty.name()
            )));
        }
        let n = t.n_elements() as usize;
        let mut f32s = vec![0f32; n];
        let row_in = t.ty.row_size(nx)? as usize;
        for (src, dst) in data
            .chunks_exact(row_in)
            .zip(f32s.chunks_exact_mut(nx as usize))
        {
            dequantize_row(t.ty, src, dst)?;
        }
        let rows = (n as u64 / nx.max(1)) as usize;
        let mut q = vec![0u8; rows * ty.row_size(nx)? as usize];
        quantize_rows(ty, &f32s, nx as usize, &mut q).map_err(|e| e.within(&t.name))?;
        w.add_tensor(&t.name, ty, &t.ne, q)?;
    }
    w.write_to(out)
}

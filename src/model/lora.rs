//! LoRA adapters (`llama_adapter_lora_*`): a GGUF file with `general.type = adapter`,
//! `adapter.type = lora`, `adapter.lora.alpha`, and for each adapted base tensor `<name>` a
//! pair `<name>.lora_a` / `<name>.lora_b`. Their data stays in the adapter's own file mapping
//! (or, for a `FILE *`, the bytes read from it), in the file's types, on the host.
//!
//! A weight `W` (`ne = [n_in, n_out]`) with `A` (`[n_in, r]`) and `B` (`[r, n_out]`) computes
//! `W·x + s·B·(A·x)`, `s = scale·alpha/r` (or `scale` when alpha is 0); the token embeddings take
//! `A` as `[r, n_vocab]` rows and `B` as `[r, n_embd]` (upstream's flipped layout); expert
//! tensors (`*_exps`, 3-D) have one `A`/`B` per expert.

use std::collections::HashMap;
use std::path::Path;

use super::Model;
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, TensorInfo, Value};
use crate::quant::GgmlType;

/// One adapted base tensor: indices of its `A` and `B` in the adapter file.
#[derive(Clone, Copy, Debug)]
pub struct LoraWeight {
    a: usize,
    b: usize,
    /// Adapts `token_embd.weight` (rows gathered from `A`).
    pub token_embd: bool,
}

/// A loaded LoRA adapter.
pub struct LoraAdapter {
    gguf: GgufFile,
    alpha: f32,
    meta_str: Vec<(String, String)>,
    alora_invocation_tokens: Vec<i32>,
    weights: HashMap<String, LoraWeight>,
}

/// A LoRA tensor as the graph sees it.
pub struct LoraTensor<'a> {
    /// Name in the adapter file.
    pub name: &'a str,
    /// Element type.
    pub ty: GgmlType,
    /// Shape (missing dims are 1).
    pub ne: [i64; 4],
    /// Its bytes.
    pub data: &'a [u8],
}

fn ne4(t: &TensorInfo) -> [i64; 4] {
    let mut ne = [1i64; 4];
    for (d, &n) in ne.iter_mut().zip(&t.ne) {
        *d = n as i64;
    }
    ne
}

impl LoraAdapter {
    /// Loads an adapter file for `model`.
    pub fn open(model: &Model, path: &Path) -> Result<LoraAdapter> {
        let g = GgufFile::open(path)?;
        Self::from_gguf(model, g).map_err(|e| e.within(path.display()))
    }

    /// Parses an adapter held in memory (the rest of a `FILE *`).
    pub fn from_bytes(model: &Model, name: &str, bytes: Vec<u8>) -> Result<LoraAdapter> {
        let g = GgufFile::parse_bytes(name, bytes)?;
        Self::from_gguf(model, g).map_err(|e| e.within(name))
    }

    fn from_gguf(model: &Model, g: GgufFile) -> Result<LoraAdapter> {
        let general_type = g.get_str("general.type")?.unwrap_or("");
        if general_type != "adapter" {
            return Err(Error::invalid(format!(
                "expect general.type to be 'adapter', but got: '{general_type}'"
            )));
        }
        let arch = g.get_str("general.architecture")?.unwrap_or("");
        if arch != model.arch_name() {
            return Err(Error::invalid(format!(
                "model arch '{}' and LoRA arch '{arch}' mismatch",
                model.arch_name()
            )));
        }
        let adapter_type = g.get_str("adapter.type")?.unwrap_or("");
        if adapter_type != "lora" {
            return Err(Error::invalid(format!(
                "expect adapter.type to be 'lora', but got: '{adapter_type}'"
            )));
        }
        let alpha = match g.get("adapter.lora.alpha") {
            None => 0.0,
            Some(Value::F32(a)) => *a,
            Some(v) => {
                return Err(Error::invalid(format!(
                    "adapter.lora.alpha has type {}, expected f32",
                    v.value_type().name()
                )))
            }
        };
        let key = "adapter.alora.invocation_tokens";
        let alora_invocation_tokens = match g.get(key) {
            None => Vec::new(),
            Some(Value::Array(a)) if a.elem_type() == crate::gguf::ValueType::U32 => (0..a.len())
                .map(|i| a.int_at(i).map(|v| v as u32 as i32))
                .collect::<Option<Vec<i32>>>()
                .ok_or_else(|| Error::invalid(format!("{key}: unreadable element")))?,
            Some(_) => return Err(Error::invalid(format!("{key} must be an array of uint32"))),
        };
        let meta_str = g
            .metadata()
            .iter()
            .filter_map(|(k, v)| super::model::value_to_string(v).map(|s| (k.clone(), s)))
            .collect();
        // pair the A and B tensors by base name
        let mut pairs: HashMap<String, (Option<usize>, Option<usize>)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for (i, t) in g.tensors().iter().enumerate() {
            let (base, is_a) = if let Some(b) = t.name.strip_suffix(".lora_a") {
                (b, true)
            } else if let Some(b) = t.name.strip_suffix(".lora_b") {
                (b, false)
            } else if t.name.ends_with("_norm.weight") {
                // upstream ignores norm vectors in adapters too
                continue;
            } else {
                return Err(Error::invalid(format!(
                    "LoRA tensor '{}' has unexpected suffix",
                    t.name
                )));
            };
            let e = pairs.entry(base.to_string()).or_insert_with(|| {
                order.push(base.to_string());
                (None, None)
            });
            let slot = if is_a { &mut e.0 } else { &mut e.1 };
            if slot.is_some() {
                return Err(Error::invalid(format!(
                    "LoRA tensor '{}' appears twice",
                    t.name
                )));
            }
            *slot = Some(i);
        }
        let base_g = model.gguf();
        let mut weights = HashMap::new();
        for name in order {
            let (Some(a), Some(b)) = pairs[&name] else {
                return Err(Error::invalid(format!(
                    "LoRA tensor pair for '{name}' is missing one component"
                )));
            };
            let base = base_g.tensor(&name).ok_or_else(|| {
                Error::invalid(format!(
                    "LoRA tensor '{name}' does not exist in base model (hint: maybe wrong base model?)"
                ))
            })?;
            let (ta, tb) = (&g.tensors()[a], &g.tensors()[b]);
            let (w, an, bn) = (ne4(base), ne4(ta), ne4(tb));
            let token_embd = name.ends_with("token_embd.weight");
            let bad_shape = || {
                Error::invalid(format!(
                    "tensor '{name}' has incorrect shape (base {:?}, lora_a {:?}, lora_b {:?}; \
                     hint: maybe wrong base model?)",
                    base.ne, ta.ne, tb.ne
                ))
            };
            if token_embd {
                // A: [r, n_vocab] rows, B: [r, n_embd]
                if w[0] != bn[1] || w[1] != an[1] || an[0] != bn[0] || an[2..] != [1, 1] {
                    return Err(bad_shape());
                }
                if bn[2..] != [1, 1] {
                    return Err(bad_shape());
                }
            } else {
                if w[0] != an[0] || w[1] != bn[1] || w[2..] != an[2..] || w[2..] != bn[2..] {
                    return Err(bad_shape());
                }
                if an[1] != bn[0] {
                    return Err(Error::invalid(format!(
                        "tensor '{name}': lora_a is not transposed (its ne[1] {} is not lora_b's \
                         ne[0] {}; adapters from the old \"finetune\" example are not supported)",
                        an[1], bn[0]
                    )));
                }
            }
            for t in [ta, tb] {
                let ok = matches!(
                    t.ty,
                    GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8_0
                );
                if !ok {
                    return Err(Error::unsupported(format!(
                        "LoRA tensor '{}' has type {}; F32, F16, BF16 and Q8_0 are supported",
                        t.name,
                        t.ty.name()
                    )));
                }
                if t.ty == GgmlType::Q8_0 && t.ne[0] % 32 != 0 {
                    return Err(Error::invalid(format!(
                        "LoRA tensor '{}': Q8_0 rows of {} elements",
                        t.name, t.ne[0]
                    )));
                }
            }
            weights.insert(name, LoraWeight { a, b, token_embd });
        }
        Ok(LoraAdapter {
            gguf: g,
            alpha,
            meta_str,
            alora_invocation_tokens,
            weights,
        })
    }

    /// `adapter.lora.alpha` (0 when absent).
    pub fn alpha(&self) -> f32 {
        self.alpha
    }
    /// Scalar metadata as strings, in file order (arrays left out, as upstream).
    pub fn metadata_str(&self) -> &[(String, String)] {
        &self.meta_str
    }
    /// `adapter.alora.invocation_tokens` (empty for a plain LoRA).
    pub fn alora_invocation_tokens(&self) -> &[i32] {
        &self.alora_invocation_tokens
    }
    /// Number of adapted base tensors.
    pub fn n_weights(&self) -> usize {
        self.weights.len()
    }
    /// Names of the adapted base tensors.
    pub fn weight_names(&self) -> impl Iterator<Item = &str> {
        self.weights.keys().map(|s| s.as_str())
    }
    /// The pair adapting base tensor `name`, if any.
    pub fn weight(&self, name: &str) -> Option<&LoraWeight> {
        self.weights.get(name)
    }

    fn tensor(&self, idx: usize) -> LoraTensor<'_> {
        let t = &self.gguf.tensors()[idx];
        LoraTensor {
            name: &t.name,
            ty: t.ty,
            ne: ne4(t),
            data: self.gguf.tensor_data(t),
        }
    }

    /// `A` and `B` of `w`, and the effective scale for an adapter scale `scale`
    /// (`scale·alpha/rank`, or `scale` when alpha is 0; rank = `B.ne[0]`).
    pub fn pair(&self, w: &LoraWeight, scale: f32) -> (LoraTensor<'_>, LoraTensor<'_>, f32) {
        let (a, b) = (self.tensor(w.a), self.tensor(w.b));
        let rank = b.ne[0] as f32;
        let s = if self.alpha != 0.0 {
            scale * self.alpha / rank
        } else {
            scale
        };
        (a, b, s)
    }
}

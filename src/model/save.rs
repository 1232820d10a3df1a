//! `llama_model_save_to_file`: the loaded model written back as one GGUF file — every metadata
//! key (split keys dropped: the result is one file) and every tensor as loaded, in file order.
//! Tensors placed on a memory-backed simulated GPU are read from there; a model on
//! accounting-only devices has no data to write and is refused.

use std::path::Path;

use super::Model;
use crate::error::{Error, Result};
use crate::gguf::GgufWriter;

/// Writes `m` to `path` as GGUF v3.
pub fn save_gguf(m: &Model, path: &Path) -> Result<()> {
    let g = m.gguf();
    let mut w = GgufWriter::new();
    for (k, v) in g.metadata() {
        if !k.starts_with("split.") {
            w.set(k, v.clone());
        }
    }
    for (i, t) in g.tensors().iter().enumerate() {
        let data = m.tensor_bytes(i).ok_or_else(|| {
            Error::invalid(format!(
                "{}: the tensor is on an accounting-only simulated device; there is no data to save",
                t.name
            ))
        })?;
        w.add_tensor(&t.name, t.ty, &t.ne, data.to_vec())?;
    }
    w.write_to(path)
}

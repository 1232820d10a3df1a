//! Tutorial 1: open a GGUF file, read its metadata, and load it as a model.
//!
//! ```text
//! cargo run --release --example 01_load_gguf -- [model.gguf]
//! ```
//! Prints the metadata (arrays summarised), the tensors with their types and shapes, and the
//! typed hyper-parameters the loader derived. Weights are not copied: they stay in the mapping.

use std::path::PathBuf;

use llama::gguf::{GgufFile, Value};
use llama::model::{Model, ModelParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let embedded =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/tiny-llama-spm-Q8_0.gguf");
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or(embedded);

    let g = GgufFile::open(&path)?;
    println!(
        "{}: GGUF v{}, {} metadata keys, {} tensors",
        path.display(),
        g.version(),
        g.metadata().len(),
        g.tensors().len()
    );
    for (k, v) in g.metadata() {
        match v {
            Value::Array(a) => println!("  {k} = [{} values]", a.len()),
            Value::String(s) if s.len() > 60 => {
                println!("  {k} = \"{}...\"", String::from_utf8_lossy(&s[..60]))
            }
            Value::String(s) => println!("  {k} = \"{}\"", String::from_utf8_lossy(s)),
            other => println!("  {k} = {other:?}"),
        }
    }
    for t in g.tensors().iter().take(12) {
        println!("  {:<32} {:<6} {:?}", t.name, t.ty.name(), t.ne);
    }
    if g.tensors().len() > 12 {
        println!("  ... {} more", g.tensors().len() - 12);
    }

    let model = Model::from_gguf(g, &ModelParams::default())?;
    println!(
        "\n{}: {} parameters, {} bytes of weights",
        model.desc(),
        model.n_params(),
        model.size()
    );
    if let Some(hp) = model.hparams() {
        println!(
            "n_embd {}  n_layer {}  n_head {}  n_head_kv {}  head_k {}  n_rot {}  n_ff {}  n_expert {}/{}  rope base {} scale {}  n_swa {}",
            hp.n_embd,
            hp.n_layer,
            hp.n_head(0),
            hp.n_head_kv(0),
            hp.n_embd_head_k,
            hp.n_rot,
            hp.n_ff(0),
            hp.n_expert_used,
            hp.n_expert,
            hp.rope_freq_base_train,
            hp.rope_freq_scale_train,
            hp.n_swa
        );
    }
    println!("vocabulary: {} tokens", model.vocab().n_tokens());
    Ok(())
}

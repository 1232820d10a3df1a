//! Tutorial 3: decode token ids with a model and read the logits.
//!
//! ```text
//! cargo run --release --example 03_decode -- MODEL.gguf "1 15043 3186" [--f32-kv] [--ubatch N] [--out logits.f32]
//! ```
//! Decodes the ids as one sequence with an output for every position, prints the argmax of each
//! row, and optionally writes all rows (`n_tokens x n_vocab` little-endian f32) to a file.

use std::path::PathBuf;
use std::sync::Arc;

use llama::context::{BatchView, Context, ContextParams};
use llama::model::{Model, ModelParams};
use llama::quant::GgmlType;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: 03_decode MODEL.gguf \"TOKEN IDS\" [--f32-kv] [--ubatch N] [--out FILE]");
        std::process::exit(2);
    }
    let model = Arc::new(Model::load(
        &[PathBuf::from(&args[0])],
        &ModelParams::default(),
    )?);
    let tokens: Vec<i32> = args[1]
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let mut params = ContextParams {
        n_ctx: 512,
        n_batch: 512,
        n_ubatch: 512,
        flash_attn: 0,
        ..Default::default()
    };
    let mut out = None;
    let mut i = 2;
    while i < args.len() {
        match args[i].as_str() {
            "--f32-kv" => {
                params.type_k = GgmlType::F32;
                params.type_v = GgmlType::F32;
            }
            "--flash" => params.flash_attn = 1,
            "--ubatch" => {
                i += 1;
                params.n_ubatch = args.get(i).ok_or("--ubatch needs a value")?.parse()?;
            }
            "--out" => {
                i += 1;
                out = Some(args.get(i).ok_or("--out needs a value")?.clone());
            }
            other => return Err(format!("unknown option {other}").into()),
        }
        i += 1;
    }
    let mut ctx = Context::new(model.clone(), &params)?;
    let n = tokens.len();
    let pos: Vec<i32> = (0..n as i32).collect();
    let outputs = vec![1i8; n];
    let mut all = Vec::new();
    // decode in batches of n_batch
    for start in (0..n).step_by(params.n_batch as usize) {
        let end = (start + params.n_batch as usize).min(n);
        let b = BatchView {
            n_tokens: (end - start) as i32,
            token: Some(&tokens[start..end]),
            pos: Some(&pos[start..end]),
            logits: Some(&outputs[start..end]),
            ..Default::default()
        };
        let rc = ctx.decode(&b)?;
        if rc != 0 {
            return Err(format!("decode returned {rc}").into());
        }
        all.extend_from_slice(ctx.logits());
    }
    let n_vocab = model.n_vocab() as usize;
    let argmax: Vec<usize> = all
        .chunks(n_vocab)
        .map(|r| {
            r.iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > r[b] { j } else { b })
        })
        .collect();
    println!("argmax per position: {argmax:?}");
    if let Some(path) = out {
        let bytes: Vec<u8> = all.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, bytes)?;
        println!("wrote {} rows x {n_vocab} to {path}", all.len() / n_vocab);
    }
    Ok(())
}

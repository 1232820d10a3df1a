//! Greedy text generation — the README's main command:
//!
//! ```text
//! cargo run --release --example generate -- [model.gguf] [prompt] [-n N]
//! ```
//! With no model it runs the small model embedded in the repository
//! (`assets/tiny-llama-spm-Q8_0.gguf`, random weights: the text is gibberish, the pipeline is
//! real). The prompt is tokenized with the model's vocabulary, decoded in one batch, then each
//! next token is the argmax of the logits (lowest id on ties) until an end-of-generation token
//! or N tokens (default 32).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use llama::context::{BatchView, Context, ContextParams};
use llama::model::{Model, ModelParams};

fn argmax(row: &[f32]) -> i32 {
    row.iter()
        .enumerate()
        .fold(0, |b, (j, &v)| if v > row[b] { j } else { b }) as i32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut n_gen = 32usize;
    if let Some(i) = args.iter().position(|a| a == "-n") {
        n_gen = args.get(i + 1).ok_or("-n needs a value")?.parse()?;
        args.drain(i..i + 2);
    }
    let embedded =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/tiny-llama-spm-Q8_0.gguf");
    let path = args.first().map(PathBuf::from).unwrap_or(embedded);
    let prompt = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "Once upon a time".to_string());

    let t0 = Instant::now();
    let model = Arc::new(Model::load(
        std::slice::from_ref(&path),
        &ModelParams::default(),
    )?);
    let vocab = model.vocab();
    eprintln!(
        "loaded {} ({}) in {:.2?}",
        path.display(),
        model.desc(),
        t0.elapsed()
    );

    let tokens = vocab.tokenize(prompt.as_bytes(), true, false);
    if tokens.is_empty() {
        return Err("the prompt tokenized to nothing".into());
    }
    let n_threads = std::thread::available_parallelism().map_or(4, |n| n.get()) as i32;
    let params = ContextParams {
        n_ctx: (tokens.len() + n_gen + 1) as u32,
        n_batch: tokens.len().max(1) as u32,
        n_ubatch: 512,
        n_threads,
        n_threads_batch: n_threads,
        ..Default::default()
    };
    let mut ctx = Context::new(model.clone(), &params)?;

    let mut out = std::io::stdout().lock();
    out.write_all(&vocab.detokenize(&tokens, false, false))?;
    out.flush()?;

    // prompt: one batch, logits of the last token only (the default output flags)
    let b = BatchView {
        n_tokens: tokens.len() as i32,
        token: Some(&tokens),
        ..Default::default()
    };
    if ctx.decode(&b)? != 0 {
        return Err("the prompt does not fit in the context".into());
    }
    let t1 = Instant::now();
    let mut n_done = 0;
    for _ in 0..n_gen {
        let next = argmax(ctx.logits_ith(-1).ok_or("no logits")?);
        if vocab.is_eog(next) {
            break;
        }
        out.write_all(&vocab.token_to_piece(next, 0, false))?;
        out.flush()?;
        let one = [next];
        let b = BatchView {
            n_tokens: 1,
            token: Some(&one),
            ..Default::default()
        };
        if ctx.decode(&b)? != 0 {
            break;
        }
        n_done += 1;
    }
    writeln!(out)?;
    let dt = t1.elapsed().as_secs_f64();
    eprintln!(
        "{n_done} tokens in {dt:.2} s ({:.1} tokens/s)",
        n_done as f64 / dt.max(1e-9)
    );
    Ok(())
}

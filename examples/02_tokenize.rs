//! Tokenize text with a model's vocabulary and time it.
//!
//! ```text
//! cargo run --release --example 02_tokenize -- MODEL.gguf [TEXT | @FILE] [--special] [--bench N]
//! ```
//! Prints the token ids and pieces (or, with `--bench N`, the best of N timings of tokenizing the
//! text; without TEXT the benchmark uses about 1 MB of mixed text built from the vocab's own
//! `.inp` test strings when they exist next to the model).

use std::path::PathBuf;
use std::time::Instant;

use llama::gguf::GgufFile;
use llama::vocab::Vocab;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn mixed_text(model: &std::path::Path, n: usize) -> Vec<u8> {
    let inp = std::fs::read(format!("{}.inp", model.display())).unwrap_or_else(|_| {
        "Hello world! ¿Qué tal? 你好，世界 🦙 fn main() { let x = 42; }\n\t  \n"
            .as_bytes()
            .to_vec()
    });
    let mut t = Vec::with_capacity(n + inp.len());
    while t.len() < n {
        t.extend_from_slice(&inp);
    }
    t.truncate(n);
    while t.last().is_some_and(|&b| b >= 0x80) {
        t.pop();
    }
    t
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = PathBuf::from(
        args.first()
            .ok_or("usage: 02_tokenize MODEL.gguf [TEXT|@FILE] [--special] [--bench N]")?,
    );
    let special = args.iter().any(|a| a == "--special");
    let bench: Option<usize> = args
        .iter()
        .position(|a| a == "--bench")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    let text_arg = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with("--") && a.parse::<usize>().is_err());
    let t0 = Instant::now();
    let g = GgufFile::open(&model)?;
    let vocab = Vocab::from_gguf(&g)?;
    eprintln!(
        "loaded {} tokens (type {}, pre {:?}) in {:.1} ms",
        vocab.n_tokens(),
        vocab.vocab_type(),
        vocab.pre_type(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    let text: Vec<u8> = match text_arg {
        Some(a) if a.starts_with('@') => std::fs::read(&a[1..])?,
        Some(a) => a.as_bytes().to_vec(),
        None => mixed_text(&model, 1_000_000),
    };
    if let Some(n) = bench {
        let mut best = f64::MAX;
        let mut toks = Vec::new();
        for _ in 0..n.max(1) {
            let t = Instant::now();
            toks = vocab.tokenize(&text, true, special);
            best = best.min(t.elapsed().as_secs_f64());
        }
        let count = toks.len();
        // checksum comparable with scripts/bench_tokenize.py
        let sum = toks.iter().enumerate().fold(0u64, |s, (i, &t)| {
            s.wrapping_add((i as u64 + 1).wrapping_mul(t as u64))
        });
        println!("checksum {sum}");
        println!(
            "{} bytes -> {count} tokens: best {:.1} ms ({:.2} MB/s)",
            text.len(),
            best * 1e3,
            text.len() as f64 / best / 1e6
        );
        return Ok(());
    }
    let toks = vocab.tokenize(&text, true, special);
    for &t in &toks {
        println!(
            "{t:8} {:?}",
            String::from_utf8_lossy(&vocab.token_to_piece(t, 0, special))
        );
    }
    println!(
        "{} tokens; detokenized: {:?}",
        toks.len(),
        String::from_utf8_lossy(&vocab.detokenize(&toks, false, special))
    );
    Ok(())
}

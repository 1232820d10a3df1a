//! Opens a GGUF file (mapping it, reading no tensor data) and prints how long that took,
//! its metadata and a tensor summary.
//!
//! `cargo run --release --example gguf_info -- model.gguf`

use std::time::Instant;

use llama::gguf::{GgufFile, Value};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: gguf_info MODEL.gguf");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let g = match GgufFile::open(std::path::Path::new(&path)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let open_ms = t0.elapsed().as_secs_f64() * 1e3;
    println!(
        "{path}: GGUF v{}, {} keys, {} tensors, {:.1} MiB, opened in {open_ms:.2} ms",
        g.version(),
        g.metadata().len(),
        g.tensors().len(),
        g.file_size() as f64 / 1048576.0
    );
    for (k, v) in g.metadata() {
        let shown = match v {
            Value::String(s) => format!(
                "{:?}",
                String::from_utf8_lossy(s)
                    .chars()
                    .take(60)
                    .collect::<String>()
            ),
            Value::Array(a) => format!("[{}; {}]", a.elem_type().name(), a.len()),
            other => format!("{other:?}"),
        };
        println!("  {k} = {shown}");
    }
    let mut by_type = std::collections::BTreeMap::new();
    for t in g.tensors() {
        let e = by_type.entry(t.ty.name()).or_insert((0usize, 0u64));
        e.0 += 1;
        e.1 += t.n_bytes;
    }
    for (ty, (n, bytes)) in by_type {
        println!(
            "  {n:5} tensors of {ty:8} {:10.1} MiB",
            bytes as f64 / 1048576.0
        );
    }
}

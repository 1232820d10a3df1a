//! Decoding never allocates (issue 4, "must show" 4): after `Context::new` the context's
//! allocation counter (KV cache, compute arena) is sealed; decoding a prompt and then one token
//! at a time until the context is full must not move it, and the next decode reports a full
//! cache (`1`) instead of allocating.

use std::path::PathBuf;
use std::sync::Arc;

use llama::context::{BatchView, Context, ContextParams};
use llama::model::{Model, ModelParams};

fn shared_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if d.join("data/models").is_dir() {
        return Some(d);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", d.display());
    }
    eprintln!("skipping: {} not found", d.display());
    None
}

fn decode_one(c: &mut Context, tokens: &[i32], pos0: i32) -> i32 {
    let pos: Vec<i32> = (0..tokens.len() as i32).map(|i| pos0 + i).collect();
    let b = BatchView {
        n_tokens: tokens.len() as i32,
        token: Some(tokens),
        pos: Some(&pos),
        ..Default::default()
    };
    c.decode(&b).expect("decode")
}

#[test]
fn decoding_to_a_full_context_allocates_nothing() {
    let Some(dir) = shared_dir() else { return };
    for (name, flash) in [
        ("llama-spm-F32", 0),
        ("gemma3-F32", 0),
        ("deepseek2-F32", 0),
        ("qwen3moe-F32", 1),
    ] {
        let path = dir.join("data/models").join(format!("{name}.gguf"));
        let m = Arc::new(Model::load(&[path], &ModelParams::default()).expect("model"));
        let p = ContextParams {
            n_ctx: 256,
            n_batch: 64,
            n_ubatch: 32,
            flash_attn: flash,
            n_threads: 2,
            n_threads_batch: 2,
            ..Default::default()
        };
        let mut c = match Context::new(m.clone(), &p) {
            Ok(c) => c,
            Err(e) => panic!("{name}: {e}"),
        };
        let before = c.alloc_counter().stats();
        assert!(before.sealed);
        let n_ctx = c.n_ctx() as i32;
        let prompt: Vec<i32> = (0..50).map(|i| 1 + (i * 7) % (m.n_vocab() - 1)).collect();
        assert_eq!(decode_one(&mut c, &prompt, 0), 0);
        let mut pos = prompt.len() as i32;
        let mut tok = 1;
        while pos < n_ctx {
            assert_eq!(
                decode_one(&mut c, &[tok], pos),
                0,
                "{name}: decode at {pos}"
            );
            let row = c.logits_ith(-1).expect("logits");
            tok = row
                .iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > row[b] { j } else { b }) as i32;
            pos += 1;
        }
        assert_eq!(
            decode_one(&mut c, &[tok], pos),
            1,
            "{name}: a full cache must report 1"
        );
        let after = c.alloc_counter().stats();
        eprintln!("{name}: {} allocations / {} bytes at creation; after {pos} positions: {} / {}, denied {}",
            before.count, before.bytes, after.count, after.bytes, after.denied);
        assert_eq!(
            (after.count, after.bytes, after.denied),
            (before.count, before.bytes, 0),
            "{name}"
        );
    }
}

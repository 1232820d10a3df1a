//! Embeddings output: with `embeddings = true` every token has an output row (the final hidden
//! state after the output norm), and the pooled sequence embedding is the mean / first / last of
//! the sequence's rows for pooling types mean / cls / last.

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

#[test]
fn pooled_embeddings_match_the_token_rows() {
    let Some(dir) = shared_dir() else { return };
    let m = Arc::new(
        Model::load(
            &[dir.join("data/models/qwen2-F32.gguf")],
            &ModelParams::default(),
        )
        .expect("model"),
    );
    let n_embd = m.n_embd() as usize;
    let toks: Vec<i32> = (0..12).map(|i| 3 + i * 11).collect();
    for pooling in [0, 1, 2, 3] {
        let p = ContextParams {
            n_ctx: 256,
            n_batch: 64,
            n_ubatch: 64,
            embeddings: true,
            pooling_type: pooling,
            n_threads: 2,
            n_threads_batch: 2,
            ..Default::default()
        };
        let mut c = Context::new(m.clone(), &p).expect("ctx");
        let b = BatchView {
            n_tokens: toks.len() as i32,
            token: Some(&toks),
            ..Default::default()
        };
        assert_eq!(c.decode(&b).expect("decode"), 0);
        assert_eq!(
            c.n_outputs(),
            toks.len(),
            "embeddings mode outputs every token"
        );
        let rows: Vec<Vec<f32>> = (0..toks.len() as i32)
            .map(|i| c.embeddings_ith(i).expect("row").to_vec())
            .collect();
        assert!(rows
            .iter()
            .all(|r| r.len() == n_embd && r.iter().all(|x| x.is_finite())));
        let want: Option<Vec<f32>> = match pooling {
            1 => Some(
                (0..n_embd)
                    .map(|j| rows.iter().map(|r| r[j]).sum::<f32>() / rows.len() as f32)
                    .collect(),
            ),
            2 => Some(rows[0].clone()),
            3 => Some(rows[rows.len() - 1].clone()),
            _ => None,
        };
        match want {
            None => assert!(c.embeddings_seq(0).is_none()),
            Some(w) => {
                let got = c.embeddings_seq(0).expect("pooled");
                let err = got
                    .iter()
                    .zip(&w)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(err < 1e-5, "pooling {pooling}: {err}");
                assert!(c.embeddings_seq(1).is_none());
            }
        }
    }
}

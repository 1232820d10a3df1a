//! State save/load round trip (`llama_state_get_data` / `llama_state_set_data`): a state saved
//! after a prompt, loaded into a fresh context, gives the same logits for the same next token
//! as continuing the original context.

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

fn decode(c: &mut Context, tokens: &[i32], pos0: i32) -> Vec<f32> {
    let pos: Vec<i32> = (0..tokens.len() as i32).map(|i| pos0 + i).collect();
    let b = BatchView {
        n_tokens: tokens.len() as i32,
        token: Some(tokens),
        pos: Some(&pos),
        ..Default::default()
    };
    assert_eq!(c.decode(&b).expect("decode"), 0);
    c.logits_ith(-1).expect("logits").to_vec()
}

#[test]
fn state_round_trip_reproduces_logits() {
    let Some(dir) = shared_dir() else { return };
    for name in ["llama-spm-F32", "gemma3-F32", "deepseek2-Q8_0"] {
        let m = Arc::new(
            Model::load(
                &[dir.join(format!("data/models/{name}.gguf"))],
                &ModelParams::default(),
            )
            .expect("model"),
        );
        let p = ContextParams {
            n_ctx: 256,
            n_batch: 64,
            n_ubatch: 64,
            flash_attn: 0,
            n_threads: 2,
            n_threads_batch: 2,
            ..Default::default()
        };
        let prompt: Vec<i32> = (0..40).map(|i| 1 + (i * 13) % (m.n_vocab() - 1)).collect();
        let mut a = Context::new(m.clone(), &p).expect("ctx");
        let last = decode(&mut a, &prompt, 0);
        let state = a.state_save();
        let next_a = decode(&mut a, &[5], 40);

        let mut b = Context::new(m.clone(), &p).expect("ctx");
        assert_eq!(b.state_load(&state).expect("load"), state.len());
        assert_eq!(
            b.logits_ith(-1).expect("restored logits"),
            &last[..],
            "{name}: restored outputs"
        );
        assert_eq!(b.memory_seq_pos_max(0), 39);
        let next_b = decode(&mut b, &[5], 40);
        assert_eq!(next_a, next_b, "{name}: logits after a state round trip");
        // a truncated state is refused
        let mut c = Context::new(m.clone(), &p).expect("ctx");
        assert!(c.state_load(&state[..state.len() / 2]).is_err());
    }
}

#[test]
fn session_file_round_trip() {
    let Some(dir) = shared_dir() else { return };
    let m = Arc::new(
        Model::load(
            &[dir.join("data/models/llama-spm-Q8_0.gguf")],
            &ModelParams::default(),
        )
        .expect("model"),
    );
    let p = ContextParams {
        n_ctx: 256,
        n_batch: 64,
        n_ubatch: 64,
        n_threads: 2,
        n_threads_batch: 2,
        ..Default::default()
    };
    let prompt: Vec<i32> = (0..20).map(|i| 1 + i * 17).collect();
    let mut a = Context::new(m.clone(), &p).expect("ctx");
    decode(&mut a, &prompt, 0);
    let path = std::env::temp_dir().join(format!("ferrollama-session-{}.bin", std::process::id()));
    a.state_save_file(&path, &prompt).expect("save");
    let next_a = decode(&mut a, &[9], 20);
    let mut b = Context::new(m.clone(), &p).expect("ctx");
    assert!(
        b.state_load_file(&path, 5).is_err(),
        "too small a token buffer is refused"
    );
    let toks = b.state_load_file(&path, 64).expect("load");
    let _ = std::fs::remove_file(&path);
    assert_eq!(toks, prompt);
    assert_eq!(decode(&mut b, &[9], 20), next_a);
}

//! The loader on the shared corpus: every model loads with the hyper-parameters its file
//! describes; an unknown architecture or a missing tensor is an error naming it.

use std::path::PathBuf;

use llama::gguf::{GgufFile, GgufWriter, Value};
use llama::model::hparams::{Gating, RopeScaling};
use llama::model::{Arch, Model, ModelParams};

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

fn model_path(name: &str) -> Option<PathBuf> {
    Some(
        shared_dir()?
            .join("data/models")
            .join(format!("{name}.gguf")),
    )
}

fn load(name: &str) -> Option<Model> {
    let p = model_path(name)?;
    Some(Model::load(&[p], &ModelParams::default()).unwrap_or_else(|e| panic!("{name}: {e}")))
}

#[test]
fn every_corpus_model_loads() {
    let Some(dir) = shared_dir() else { return };
    let mut n = 0;
    for e in std::fs::read_dir(dir.join("data/models")).expect("models dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "gguf") {
            let m = Model::load(std::slice::from_ref(&p), &ModelParams::default());
            assert!(m.is_ok(), "{}: {:?}", p.display(), m.err());
            n += 1;
        }
    }
    assert!(n >= 42, "only {n} models");
}

#[test]
fn hyper_parameters_as_upstream_reads_them() {
    let Some(m) = load("deepseek2-F32") else {
        return;
    };
    let hp = m.hparams().expect("hparams");
    assert_eq!(hp.arch, Arch::Deepseek2);
    assert!(hp.is_mla());
    assert_eq!(
        (
            hp.n_lora_q,
            hp.n_lora_kv,
            hp.n_embd_head_k_mla,
            hp.n_embd_head_v_mla
        ),
        (128, 128, 96, 64)
    );
    assert_eq!(
        (hp.n_embd_head_k, hp.n_embd_head_v, hp.n_rot),
        (160, 128, 32)
    );
    assert_eq!(
        (
            hp.n_expert,
            hp.n_expert_used,
            hp.n_expert_shared,
            hp.n_layer_dense_lead
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(hp.expert_gating, Gating::Sigmoid);
    assert!(hp.expert_weights_norm && hp.expert_weights_scale == 2.5);
    assert_eq!(hp.rope_scaling_type_train, RopeScaling::Yarn);
    assert!(
        (hp.rope_yarn_log_mul - 0.707).abs() < 1e-5,
        "log_mul divided by 0.1 as upstream"
    );
    assert!(m.core().expect("core").weights.layers[1]
        .ffn_exp_probs_b
        .is_some());

    let Some(m) = load("deepseek2-lite-F32") else {
        return;
    };
    let hp = m.hparams().expect("hparams");
    assert_eq!((hp.n_lora_q, hp.expert_gating), (0, Gating::Softmax));
    assert!(m.core().expect("core").weights.layers[0].wq.is_some());

    let Some(m) = load("gemma3-F32") else { return };
    let hp = m.hparams().expect("hparams");
    assert_eq!((hp.n_swa, hp.is_swa.clone()), (32, vec![true, false]));
    assert_eq!(
        (hp.rope_freq_base_train, hp.rope_freq_base_train_swa),
        (1e6, 1e4)
    );

    let Some(m) = load("phi3-F32") else { return };
    let w = &m.core().expect("core").weights;
    assert!(w.rope_long.is_some() && w.rope_short.is_some());
    assert!((m.hparams().expect("hp").rope_attn_factor - 1.2247449).abs() < 1e-6);

    let Some(m) = load("llama3-F32") else { return };
    assert!(m.core().expect("core").weights.rope_freqs.is_some());
    let Some(m) = load("qwen3-F32") else { return };
    assert_eq!(m.hparams().expect("hp").n_embd_head_k, 128);
    let Some(m) = load("llama-moe-Q8_0") else {
        return;
    };
    assert_eq!(m.hparams().expect("hp").n_ff_exp, 128);
}

/// Rewrites `src` with `edit` applied to the metadata and without the tensors `drop` names.
fn rewrite(src: &std::path::Path, drop: &str, edit: &dyn Fn(&str, &Value) -> Value) -> PathBuf {
    let g = GgufFile::open(src).expect("open");
    let mut w = GgufWriter::new();
    for (k, v) in g.metadata() {
        w.set(k, edit(k, v));
    }
    for t in g.tensors() {
        if t.name != drop {
            w.add_tensor(&t.name, t.ty, &t.ne, g.tensor_data(t).to_vec())
                .expect("tensor");
        }
    }
    let out = std::env::temp_dir().join(format!(
        "ferrollama-loader-{}-{drop}.gguf",
        std::process::id()
    ));
    w.write_to(&out).expect("write");
    out
}

#[test]
fn missing_tensor_and_unknown_arch_are_named() {
    let Some(src) = model_path("llama-spm-F32") else {
        return;
    };
    let p = rewrite(&src, "blk.1.ffn_up.weight", &|_, v| v.clone());
    let e = Model::load(std::slice::from_ref(&p), &ModelParams::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let _ = std::fs::remove_file(&p);
    assert!(
        e.contains("blk.1.ffn_up.weight"),
        "error does not name the tensor: {e}"
    );

    let p = rewrite(&src, "", &|k, v| {
        if k == "general.architecture" {
            Value::String(b"mamba9".to_vec())
        } else {
            v.clone()
        }
    });
    let e = Model::load(std::slice::from_ref(&p), &ModelParams::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    // vocab-only loading does not need the architecture's hyper-parameters
    let vocab_only = Model::load(
        std::slice::from_ref(&p),
        &ModelParams {
            vocab_only: true,
            ..Default::default()
        },
    );
    let _ = std::fs::remove_file(&p);
    assert!(
        e.contains("mamba9"),
        "error does not name the architecture: {e}"
    );
    assert!(vocab_only.is_ok());
}

#[test]
fn vocab_only_model_gets_a_context_that_cannot_decode() {
    let Some(p) = model_path("llama-spm-F32") else {
        return;
    };
    let params = ModelParams {
        vocab_only: true,
        ..Default::default()
    };
    let m = std::sync::Arc::new(Model::load(&[p], &params).expect("vocab-only load"));
    let toks = m.vocab().tokenize(b"Hello World", true, false);
    assert!(toks.len() > 1 && toks[0] == m.vocab().bos());
    let mut c = llama::context::Context::new(m, &Default::default()).expect("context");
    let toks = [1, 2];
    let b = llama::context::BatchView {
        n_tokens: 2,
        token: Some(&toks),
        ..Default::default()
    };
    assert!(c.decode(&b).is_err());
}

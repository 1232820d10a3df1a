//! Generation end to end through the C API: the tokens `llama_sampler_sample` chooses on the
//! ../shared models (greedy, llama-cpp-python's default chain, plain dist) must be the ones
//! upstream's library chose (tests/sampling_ref/e2e.txt, written by gen_ref_e2e.py). This checks
//! the sampler plumbing (logits of the context, vocabulary size, accept) together with the
//! forward pass. Greedy sequences must match in full. Sampled sequences must match for their first
//! `SAMPLED_PREFIX` tokens: after that, a draw landing within ~1e-6 of a boundary between two
//! candidates can flip on last-bit differences of the logits (the samplers themselves are checked
//! bit for bit in sampling_upstream.rs), so later divergences are printed, not failed.
//! Skips with a notice when ../shared is absent, unless FERROLLAMA_REQUIRE_SHARED=1.

use std::ffi::CString;
use std::path::PathBuf;

use llama::ffi::batch::llama_batch_get_one;
use llama::ffi::context::{llama_decode, llama_free, llama_init_from_model};
use llama::ffi::model::{llama_model_free, llama_model_load_from_file};
use llama::ffi::params::{llama_context_default_params, llama_model_default_params};
use llama::ffi::sampler::more::*;
use llama::ffi::sampler::*;
use llama::ffi::types::*;

/// Tokens of a sampled (non-greedy) sequence that must match upstream exactly.
const SAMPLED_PREFIX: usize = 8;

fn shared_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("../shared is missing and FERROLLAMA_REQUIRE_SHARED=1");
    }
    eprintln!("skipping: ../shared not found");
    None
}

/// The chains of gen_ref_e2e.py.
///
/// # Safety
/// Plain constructors.
unsafe fn make_chain(name: &str, n_vocab: i32) -> *mut llama_sampler {
    unsafe {
        let ch = llama_sampler_chain_init(llama_sampler_chain_params { no_perf: true });
        let members: Vec<*mut llama_sampler> = match name {
            "greedy" => vec![llama_sampler_init_greedy()],
            "python-default" => vec![
                llama_sampler_init_penalties(n_vocab, 64, 1.1, 0.0, 0.0),
                llama_sampler_init_top_k(40),
                llama_sampler_init_typical(1.0, 1),
                llama_sampler_init_top_p(0.95, 1),
                llama_sampler_init_min_p(0.05, 1),
                llama_sampler_init_temp(0.8),
                llama_sampler_init_dist(1234),
            ],
            "dist7" => vec![llama_sampler_init_dist(7)],
            other => panic!("unknown chain {other}"),
        };
        for m in members {
            llama_sampler_chain_add(ch, m);
        }
        ch
    }
}

#[test]
fn generation_matches_upstream() {
    let Some(shared) = shared_dir() else { return };
    let mut failures = Vec::new();
    for line in include_str!("sampling_ref/e2e.txt").lines() {
        let (head, want) = line.split_once(" | ").unwrap();
        let mut f = head.split(' ');
        let (model_name, chain_name) = (f.next().unwrap(), f.next().unwrap());
        let mut prompt: Vec<i32> = f.map(|t| t.parse().unwrap()).collect();
        let want: Vec<i32> = want.split(' ').map(|t| t.parse().unwrap()).collect();
        let path = CString::new(
            shared
                .join("data/models")
                .join(model_name)
                .to_string_lossy()
                .as_bytes(),
        )
        .unwrap();
        // SAFETY: the test drives the C API as a C program would, freeing what it creates.
        unsafe {
            let model = llama_model_load_from_file(path.as_ptr(), llama_model_default_params());
            assert!(!model.is_null(), "{model_name}: load failed");
            let mut cp = llama_context_default_params();
            cp.n_ctx = 128;
            cp.n_batch = 64;
            cp.n_ubatch = 64;
            cp.n_threads = 1;
            cp.n_threads_batch = 1;
            cp.flash_attn_type = 0; // as gen_ref_e2e.py (the tools' Context default)
            let ctx = llama_init_from_model(model, cp);
            assert!(!ctx.is_null(), "{model_name}: context failed");
            let vocab = llama::ffi::model::llama_model_get_vocab(model);
            let n_vocab = llama::ffi::vocab::llama_vocab_n_tokens(vocab);
            let chain = make_chain(chain_name, n_vocab);
            assert_eq!(
                llama_decode(
                    ctx,
                    llama_batch_get_one(prompt.as_mut_ptr(), prompt.len() as i32)
                ),
                0
            );
            let mut got = Vec::new();
            for _ in 0..want.len() {
                let mut t = llama_sampler_sample(chain, ctx, -1);
                got.push(t);
                if t < 0 || llama_decode(ctx, llama_batch_get_one(&mut t, 1)) != 0 {
                    break;
                }
            }
            let n_strict = if chain_name == "greedy" {
                want.len()
            } else {
                SAMPLED_PREFIX
            };
            let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
            if got.len() < n_strict || first_diff.is_some_and(|i| i < n_strict) {
                failures.push(format!(
                    "{model_name} {chain_name}:\n  got  {got:?}\n  want {want:?}"
                ));
            } else if let Some(i) = first_diff {
                println!("note: {model_name} {chain_name} diverges from upstream at token {i} (after the checked prefix)");
            }
            llama_sampler_free(chain);
            llama_free(ctx);
            llama_model_free(model);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

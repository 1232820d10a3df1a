//! Vocabulary-dependent samplers through the C API (grammar, DRY), replayed against vectors
//! recorded from upstream's libllama over whole vocabularies (tests/sampling_ref/vocab-*.txt,
//! written by gen_ref_vocab.py): the ../shared vocab files are loaded with our GGUF reader and
//! tokenizer. Skips with a notice when ../shared is absent, unless FERROLLAMA_REQUIRE_SHARED=1.

#[path = "sampling_ref/common.rs"]
mod common;

use std::ffi::{c_char, CString};
use std::path::PathBuf;

use llama::ffi::sampler::more::*;
use llama::ffi::sampler::*;
use llama::ffi::types::*;
use llama::gguf::GgufFile;
use llama::sampling::TokenData;
use llama::vocab::Vocab;

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

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn make(spec: &str, vocab: *const llama_vocab) -> *mut llama_sampler {
    let p: Vec<&str> = spec.split(':').collect();
    // SAFETY: valid C strings and a live vocabulary.
    unsafe {
        match p[0] {
            "grammar" => {
                let g = CString::new(unhex(p[1])).unwrap();
                let root = CString::new(p[2]).unwrap();
                llama_sampler_init_grammar(vocab, g.as_ptr(), root.as_ptr())
            }
            "grammar_lazy" => {
                let g = CString::new(unhex(p[1])).unwrap();
                let root = CString::new(p[2]).unwrap();
                let triggers: Vec<i32> = p[3].split(',').map(|t| t.parse().unwrap()).collect();
                llama_sampler_init_grammar_lazy_patterns(
                    vocab,
                    g.as_ptr(),
                    root.as_ptr(),
                    std::ptr::null_mut(),
                    0,
                    triggers.as_ptr(),
                    triggers.len(),
                )
            }
            "dry" => {
                let breakers: Vec<CString> = if p[5] == "-" {
                    Vec::new()
                } else {
                    p[5].split(',')
                        .map(|h| CString::new(unhex(h)).unwrap())
                        .collect()
                };
                let mut ptrs: Vec<*const c_char> = breakers.iter().map(|c| c.as_ptr()).collect();
                llama_sampler_init_dry(
                    vocab,
                    p[1].parse().unwrap(),
                    p[2].parse().unwrap(),
                    p[3].parse().unwrap(),
                    p[4].parse().unwrap(),
                    ptrs.as_mut_ptr(),
                    ptrs.len(),
                )
            }
            "top_k" => llama_sampler_init_top_k(p[1].parse().unwrap()),
            "infill" => llama_sampler_init_infill(vocab),
            "logit_bias" => {
                let entries: Vec<llama_logit_bias> = p[2]
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(|e| {
                        let (t, b) = e.split_once('=').unwrap();
                        llama_logit_bias {
                            token: t.parse().unwrap(),
                            bias: b.parse().unwrap(),
                        }
                    })
                    .collect();
                llama_sampler_init_logit_bias(
                    p[1].parse().unwrap(),
                    entries.len() as i32,
                    entries.as_ptr(),
                )
            }
            other => panic!("unknown sampler {other}"),
        }
    }
}

/// One sampler, or a chain when the case lists several.
fn make_chain(specs: &[String], vocab: *const llama_vocab) -> *mut llama_sampler {
    if specs.len() == 1 {
        return make(&specs[0], vocab);
    }
    // SAFETY: plain constructor; the chain takes ownership of each member.
    unsafe {
        let chain = llama_sampler_chain_init(llama_sampler_chain_params { no_perf: true });
        for s in specs {
            llama_sampler_chain_add(chain, make(s, vocab));
        }
        chain
    }
}

fn replay(file: &str, text: &str) {
    let Some(shared) = shared_dir() else { return };
    let g = GgufFile::open(&shared.join("data/vocab").join(file)).unwrap();
    let vocab = Vocab::from_gguf(&g).unwrap();
    let vptr = (&vocab as *const Vocab).cast::<llama_vocab>();
    let mut failures = Vec::new();
    let mut n_rounds = 0;
    for case in common::cases_from(text) {
        let smpl = make_chain(&case.specs, vptr);
        assert!(!smpl.is_null(), "{}: sampler not created", case.name);
        for r in &case.rounds {
            n_rounds += 1;
            for &t in &r.accept {
                // SAFETY: live sampler.
                unsafe { llama_sampler_accept(smpl, t) };
            }
            let mut buf: Vec<llama_token_data> = r
                .logits
                .iter()
                .enumerate()
                .map(|(i, &l)| llama_token_data {
                    id: i as i32,
                    logit: l,
                    p: 0.0,
                })
                .collect();
            let mut arr = llama_token_data_array {
                data: buf.as_mut_ptr(),
                size: buf.len(),
                selected: -1,
                sorted: false,
            };
            // SAFETY: live sampler, valid array.
            unsafe { llama_sampler_apply(smpl, &mut arr) };
            // SAFETY: the array holds `size` candidates (same layout as TokenData).
            let data =
                unsafe { std::slice::from_raw_parts(arr.data.cast::<TokenData>(), arr.size) };
            let off =
                (arr.data as usize - buf.as_ptr() as usize) / std::mem::size_of::<TokenData>();
            if let Err(e) = common::check(r, data, arr.selected, arr.sorted, off) {
                let n_inf = data.iter().filter(|t| t.logit == f32::NEG_INFINITY).count();
                failures.push(format!(
                    "{} after {} accepted: {e} ({n_inf} masked)",
                    case.name,
                    r.accept.len()
                ));
            }
        }
        // SAFETY: we own it.
        unsafe { llama_sampler_free(smpl) };
    }
    assert!(n_rounds >= 50, "only {n_rounds} rounds");
    assert!(
        failures.is_empty(),
        "{file}: {} of {n_rounds} rounds differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn grammar_and_dry_match_upstream_llama_spm() {
    replay(
        "ggml-vocab-llama-spm.gguf",
        include_str!("sampling_ref/vocab-llama-spm.txt"),
    );
}

#[test]
fn grammar_and_dry_match_upstream_qwen2() {
    replay(
        "ggml-vocab-qwen2.gguf",
        include_str!("sampling_ref/vocab-qwen2.txt"),
    );
}

//! Backend sampling: `llama_set_sampler` / `llama_context_params.samplers` attach a sampler
//! chain to a sequence and `llama_decode` samples its output rows (on the CPU here); the
//! `llama_get_sampled_*` getters expose the result and `llama_sampler_sample` returns the token
//! decode already chose. A chain sampled inside decode must choose the same tokens as the same
//! chain applied through `llama_sampler_sample`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::CString;

use llama::ffi::batch::llama_batch_get_one;
use llama::ffi::context::{
    llama_decode, llama_free, llama_get_logits_ith, llama_get_model, llama_init_from_model,
    llama_set_sampler,
};
use llama::ffi::context_more::*;
use llama::ffi::model::{llama_model_free, llama_model_get_vocab, llama_model_load_from_file};
use llama::ffi::params::{
    llama_context_default_params, llama_model_default_params, llama_sampler_chain_default_params,
};
use llama::ffi::sampler::more::{
    llama_sampler_init_logit_bias, llama_sampler_init_penalties, llama_sampler_sample,
};
use llama::ffi::sampler::*;
use llama::ffi::types::*;
use llama::ffi::vocab::llama_vocab_n_tokens;

mod common;

/// Counts the allocations of the current thread (the one calling llama_decode, where the
/// chains run), so that tests running in parallel do not disturb each other.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(|c| c.get())
}

fn model_path() -> Option<CString> {
    common::shared_model_c("llama3-F32.gguf")
}

unsafe fn load() -> *mut llama_model {
    let path = model_path().expect("model");
    let mut mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    // SAFETY: a valid path.
    let m = unsafe { llama_model_load_from_file(path.as_ptr(), mp) };
    assert!(!m.is_null());
    m
}

fn cparams() -> llama_context_params {
    let mut cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 64;
    cp.n_ubatch = 32;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    cp
}

unsafe fn n_vocab(c: *mut llama_context) -> usize {
    // SAFETY: a live context.
    unsafe { llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(c))) as usize }
}

unsafe fn row(c: *mut llama_context, i: i32, n: usize) -> Vec<f32> {
    // SAFETY: a live context; the row holds `n` floats.
    unsafe {
        let p = llama_get_logits_ith(c, i);
        assert!(!p.is_null());
        std::slice::from_raw_parts(p, n).to_vec()
    }
}

unsafe fn name(s: *mut llama_sampler) -> String {
    // SAFETY: a live sampler; its name is a C string.
    unsafe { std::ffi::CStr::from_ptr(llama_sampler_name(s)) }
        .to_string_lossy()
        .into_owned()
}

fn argmax(v: &[f32]) -> i32 {
    let mut b = 0;
    for i in 1..v.len() {
        if v[i] > v[b] {
            b = i;
        }
    }
    b as i32
}

unsafe fn chain(parts: &[*mut llama_sampler]) -> *mut llama_sampler {
    // SAFETY: fresh samplers handed to a fresh chain.
    unsafe {
        let c = llama_sampler_chain_init(llama_sampler_chain_default_params());
        for &p in parts {
            llama_sampler_chain_add(c, p);
        }
        c
    }
}

unsafe fn seeded_chain() -> *mut llama_sampler {
    // SAFETY: constructors.
    unsafe {
        chain(&[
            llama_sampler_init_top_k(40),
            llama_sampler_init_temp(0.8),
            llama_sampler_init_dist(42),
        ])
    }
}

const PROMPT: [i32; 6] = [1, 15, 42, 99, 7, 300];

/// Decodes the prompt, then samples and decodes `n` tokens with `smpl`.
unsafe fn generate(c: *mut llama_context, smpl: *mut llama_sampler, n: usize) -> Vec<i32> {
    // SAFETY: a live context and sampler.
    unsafe {
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        let mut out = Vec::new();
        for _ in 0..n {
            let mut t = [llama_sampler_sample(smpl, c, -1)];
            assert_ne!(t[0], LLAMA_TOKEN_NULL);
            out.push(t[0]);
            assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
        }
        out
    }
}

/// The tokens `generate` gives for a fresh chain from `make` on a fresh context with
/// `cparams()`: the chain applied through `llama_sampler_sample` only (the CPU reference).
unsafe fn cpu_reference(
    m: *mut llama_model,
    make: impl Fn() -> *mut llama_sampler,
    n: usize,
) -> Vec<i32> {
    // SAFETY: a live model; the context and sampler are freed here.
    unsafe {
        let c = llama_init_from_model(m, cparams());
        let s = make();
        let out = generate(c, s, n);
        llama_sampler_free(s);
        llama_free(c);
        out
    }
}

/// `first` (already sampled after the prompt), then `n - 1` more steps of decoding the last
/// token and sampling with `s`. With `in_decode`, every step checks that
/// `llama_sampler_sample` returns the token decode already sampled.
unsafe fn continue_generation(
    c: *mut llama_context,
    s: *mut llama_sampler,
    first: i32,
    n: usize,
    in_decode: bool,
) -> Vec<i32> {
    // SAFETY: a live context and sampler.
    unsafe {
        let mut out = vec![first];
        for _ in 1..n {
            let mut t = [*out.last().unwrap()];
            assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
            let next = llama_sampler_sample(s, c, -1);
            if in_decode {
                assert_eq!(next, llama_get_sampled_token_ith(c, -1));
            }
            out.push(next);
        }
        out
    }
}

#[test]
fn greedy_chain_samples_the_argmax_in_decode() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        let c = llama_init_from_model(m, cparams());
        assert!(!c.is_null());
        let nv = n_vocab(c);

        // before any chain: upstream's "no backend sampling" values
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        assert_eq!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
        assert!(llama_get_sampled_probs_ith(c, -1).is_null());
        assert_eq!(llama_get_sampled_probs_count_ith(c, -1), 0);
        assert!(llama_get_sampled_logits_ith(c, -1).is_null());
        assert_eq!(llama_get_sampled_logits_count_ith(c, -1) as usize, nv);
        let all = llama_get_sampled_candidates_ith(c, -1);
        assert!(!all.is_null());
        assert_eq!(*all.add(nv - 1), nv as i32 - 1);
        assert_eq!(llama_get_sampled_candidates_count_ith(c, -1), 0);
        let raw = row(c, -1, nv);

        let g = chain(&[llama_sampler_init_greedy()]);
        assert!(llama_set_sampler(c, 0, g));
        llama_memory_clear_all(c);
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        let tok = llama_get_sampled_token_ith(c, -1);
        let logits = row(c, -1, nv);
        assert_eq!(logits, raw, "greedy keeps the whole row");
        assert_eq!(tok, argmax(&logits));
        assert_eq!(
            llama_get_sampled_token_ith(c, 5),
            tok,
            "batch index 5 is the output"
        );
        assert_eq!(
            llama_get_sampled_token_ith(c, 2),
            LLAMA_TOKEN_NULL,
            "no output"
        );
        assert_eq!(llama_get_sampled_logits_count_ith(c, -1) as usize, nv);
        assert_eq!(llama_get_sampled_candidates_count_ith(c, -1), 0);
        assert!(llama_get_sampled_probs_ith(c, -1).is_null());
        assert_eq!(llama_sampler_sample(g, c, -1), tok);

        // a few steps: always the argmax of that step's logits
        let mut t = [tok];
        for _ in 0..4 {
            assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
            let s = llama_get_sampled_token_ith(c, -1);
            assert_eq!(s, argmax(&row(c, -1, nv)));
            assert_eq!(llama_sampler_sample(g, c, -1), s);
            t[0] = s;
        }

        // detached: nothing sampled, and the chain samples normally again
        assert!(llama_set_sampler(c, 0, std::ptr::null_mut()));
        assert!(
            llama_set_sampler(c, 3, std::ptr::null_mut()),
            "nothing to remove"
        );
        assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
        assert_eq!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
        assert!(llama_get_sampled_logits_ith(c, -1).is_null());
        let r = row(c, -1, nv);
        assert_eq!(llama_sampler_sample(g, c, -1), argmax(&r));

        llama_sampler_free(g);
        llama_free(c);
        llama_model_free(m);
    }
}

unsafe fn llama_memory_clear_all(c: *mut llama_context) {
    // SAFETY: a live context.
    unsafe {
        llama::ffi::context::llama_memory_clear(llama::ffi::context::llama_get_memory(c), true)
    };
}

#[test]
fn seeded_dist_chain_matches_cpu_sampling() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        // the chain applied through llama_sampler_sample only
        let cpu = cpu_reference(m, || seeded_chain(), 16);
        // with several outputs allowed per sequence, dist draws from a copy of its generator
        // and accepting a token commits the draw (upstream's transactional mode): same tokens
        {
            let mut cp = cparams();
            cp.n_outputs_max_per_seq = 4;
            let c = llama_init_from_model(m, cp);
            let s = seeded_chain();
            assert!(llama_set_sampler(c, 0, s));
            assert_eq!(generate(c, s, 16), cpu, "transactional");
            llama_sampler_free(s);
            llama_free(c);
        }
        // the same chain attached to seq 0: sampled inside decode
        let c = llama_init_from_model(m, cparams());
        let s = seeded_chain();
        assert_eq!(name(llama_sampler_chain_get(s, 0)), "top-k");
        assert!(llama_set_sampler(c, 0, s));
        // as upstream, samplers prepared for the backend report it in their names
        assert_eq!(name(llama_sampler_chain_get(s, 0)), "+top-k");
        assert_eq!(name(llama_sampler_chain_get(s, 2)), "+dist");
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        // what decode exposes: top-k's 40 ids (best first), their tempered logits, dist's probs
        let tok = llama_get_sampled_token_ith(c, -1);
        assert_ne!(tok, LLAMA_TOKEN_NULL);
        let nv = n_vocab(c);
        assert_eq!(llama_get_sampled_candidates_count_ith(c, -1), 40);
        assert_eq!(llama_get_sampled_logits_count_ith(c, -1), 40);
        assert_eq!(llama_get_sampled_probs_count_ith(c, -1), 40);
        let ids = std::slice::from_raw_parts(llama_get_sampled_candidates_ith(c, -1), 40);
        let lg = std::slice::from_raw_parts(llama_get_sampled_logits_ith(c, -1), 40);
        let pr = std::slice::from_raw_parts(llama_get_sampled_probs_ith(c, -1), 40);
        assert!(ids.contains(&tok));
        assert!(lg.windows(2).all(|w| w[0] >= w[1]), "best first");
        assert!(pr.windows(2).all(|w| w[0] >= w[1]));
        assert!((pr.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert_eq!(
            llama_get_logits_ith(c, -1),
            llama_get_sampled_logits_ith(c, -1)
        );
        // the raw logits of the ids, divided by the temperature
        let mut sorted: Vec<(f32, i32)> = Vec::new();
        {
            let mut q = PROMPT;
            let c2 = llama_init_from_model(m, cparams());
            assert_eq!(llama_decode(c2, llama_batch_get_one(q.as_mut_ptr(), 6)), 0);
            let r = row(c2, -1, nv);
            for (i, &x) in r.iter().enumerate() {
                sorted.push((x, i as i32));
            }
            llama_free(c2);
        }
        sorted.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
        for j in 0..40 {
            assert_eq!(lg[j], sorted[j].0 / 0.8);
            assert_eq!(ids[j], sorted[j].1);
        }
        let first = llama_sampler_sample(s, c, -1);
        assert_eq!(first, tok);
        let out = continue_generation(c, s, first, 16, true);
        assert_eq!(out, cpu, "backend and CPU sampling choose the same tokens");
        assert!(llama_set_sampler(c, 0, std::ptr::null_mut()));
        llama_sampler_free(s);
        llama_free(c);
        llama_model_free(m);
    }
}

#[test]
fn penalties_bias_and_dynamic_temperature_run_in_decode() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        let make = |nv: i32| {
            let bias = [
                llama_logit_bias {
                    token: 42,
                    bias: 5.0,
                },
                llama_logit_bias {
                    token: 7,
                    bias: -100.0,
                },
            ];
            chain(&[
                llama_sampler_init_penalties(nv, 16, 1.5, 0.2, 0.2),
                llama_sampler_init_logit_bias(nv, 2, bias.as_ptr()),
                llama_sampler_init_top_k(40),
                llama_sampler_init_min_p(0.02, 1),
                llama_sampler_init_temp_ext(0.9, 0.3, 1.0),
                llama_sampler_init_dist(1234),
            ])
        };
        let nv = llama_vocab_n_tokens(llama_model_get_vocab(m));
        let cpu = cpu_reference(m, || make(nv), 16);
        let c = llama_init_from_model(m, cparams());
        let s = make(nv);
        assert!(llama_set_sampler(c, 0, s));
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        assert_ne!(
            llama_get_sampled_token_ith(c, -1),
            LLAMA_TOKEN_NULL,
            "all in decode"
        );
        let out = continue_generation(c, s, llama_sampler_sample(s, c, -1), 16, true);
        assert_eq!(out, cpu);
        assert!(!out.contains(&7), "biased out");
        llama_sampler_free(s);

        // penalties cannot run in decode with several outputs per sequence: the chain runs in
        // llama_sampler_sample from the first sampler on, with the same tokens
        llama_free(c);
        let mut cp = cparams();
        cp.n_outputs_max_per_seq = 2;
        let c = llama_init_from_model(m, cp);
        let s = make(nv);
        assert!(llama_set_sampler(c, 0, s));
        assert_eq!(name(llama_sampler_chain_get(s, 0)), "-penalties");
        assert_eq!(name(llama_sampler_chain_get(s, 1)), "logit-bias");
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        assert_eq!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
        assert_eq!(llama_get_sampled_logits_count_ith(c, -1) as i32, nv);
        let out = continue_generation(c, s, llama_sampler_sample(s, c, -1), 16, false);
        assert_eq!(out, cpu);
        llama_sampler_free(s);
        llama_free(c);
        llama_model_free(m);
    }
}

#[test]
fn partly_offloaded_chain_finishes_in_sampler_sample() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        let make = || {
            chain(&[
                llama_sampler_init_top_k(40),
                llama_sampler_init_typical(0.9, 1),
                llama_sampler_init_dist(7),
            ])
        };
        let cpu = cpu_reference(m, make, 12);
        let c = llama_init_from_model(m, cparams());
        let s = make();
        // top-k runs in decode; typical cannot, so it and dist run in llama_sampler_sample
        assert!(llama_set_sampler(c, 0, s));
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        assert_eq!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
        assert_eq!(llama_get_sampled_logits_count_ith(c, -1), 40);
        assert_eq!(llama_get_sampled_candidates_count_ith(c, -1), 40);
        assert!(llama_get_sampled_probs_ith(c, -1).is_null());
        let out = continue_generation(c, s, llama_sampler_sample(s, c, -1), 12, false);
        assert_eq!(out, cpu);
        llama_sampler_free(s);
        llama_free(c);
        llama_model_free(m);
    }
}

unsafe extern "C" fn user_apply(_s: *mut llama_sampler, cur: *mut llama_token_data_array) {
    // SAFETY: the array llama_sampler_apply passes.
    unsafe { (*cur).selected = 0 };
}

static USER_IFACE: llama_sampler_i = llama_sampler_i {
    name: None,
    accept: None,
    apply: Some(user_apply),
    reset: None,
    clone: None,
    free: None,
    backend_init: None,
    backend_accept: None,
    backend_apply: None,
    backend_set_input: None,
    backend_reset: None,
    copy_state: None,
};

#[test]
fn unsupported_samplers_are_refused() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        let c = llama_init_from_model(m, cparams());
        let user = llama_sampler_init(
            std::ptr::addr_of!(USER_IFACE).cast_mut(),
            std::ptr::null_mut(),
        );
        assert!(
            !llama_set_sampler(c, 0, user),
            "a user sampler without backend hooks"
        );
        let greedy = llama_sampler_init_greedy();
        assert!(!llama_set_sampler(c, 0, greedy), "not a chain");
        let empty = chain(&[]);
        assert!(!llama_set_sampler(c, 0, empty), "an empty chain");
        let g = chain(&[llama_sampler_init_greedy()]);
        assert!(!llama_set_sampler(std::ptr::null_mut(), 0, g), "NULL ctx");
        assert!(!llama_set_sampler(
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut()
        ));
        // NULL ctx getters: failure values, no panic
        assert_eq!(
            llama_get_sampled_token_ith(std::ptr::null_mut(), 0),
            LLAMA_TOKEN_NULL
        );
        assert!(llama_get_sampled_candidates_ith(std::ptr::null_mut(), 0).is_null());

        // a refused sampler replaces nothing silently: the attached chain is removed
        assert!(llama_set_sampler(c, 0, g));
        assert!(!llama_set_sampler(c, 0, user));
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        assert_eq!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
        // the user sampler still samples on the CPU
        assert_eq!(llama_sampler_sample(user, c, -1), 0);

        llama_sampler_free(user);
        llama_sampler_free(greedy);
        llama_sampler_free(empty);
        llama_sampler_free(g);
        llama_free(c);
        llama_model_free(m);
    }
}

/// A batch with explicit positions, sequence ids and output flags.
struct Batch {
    token: Vec<i32>,
    pos: Vec<i32>,
    n_seq: Vec<i32>,
    seq: Vec<i32>,
    seq_ptr: Vec<*mut i32>,
    logits: Vec<i8>,
}

impl Batch {
    fn new(items: &[(i32, i32, i32, bool)]) -> Self {
        let mut b = Batch {
            token: items.iter().map(|x| x.0).collect(),
            pos: items.iter().map(|x| x.1).collect(),
            n_seq: vec![1; items.len()],
            seq: items.iter().map(|x| x.2).collect(),
            seq_ptr: Vec::new(),
            logits: items.iter().map(|x| x.3 as i8).collect(),
        };
        b.seq_ptr = (0..items.len()).map(|i| b.seq[i..].as_mut_ptr()).collect();
        b
    }

    fn raw(&mut self) -> llama_batch {
        llama_batch {
            n_tokens: self.token.len() as i32,
            token: self.token.as_mut_ptr(),
            embd: std::ptr::null_mut(),
            pos: self.pos.as_mut_ptr(),
            n_seq_id: self.n_seq.as_mut_ptr(),
            seq_id: self.seq_ptr.as_mut_ptr(),
            logits: self.logits.as_mut_ptr(),
        }
    }
}

#[test]
fn outputs_per_sequence_and_context_params() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        // default n_outputs_max_per_seq = 1: two outputs of a sampled sequence are refused
        let mut cp = cparams();
        cp.n_seq_max = 2;
        let c = llama_init_from_model(m, cp);
        let nv = n_vocab(c);
        let g = chain(&[llama_sampler_init_greedy()]);
        assert!(llama_set_sampler(c, 0, g));
        let mut b = Batch::new(&[(1, 0, 0, false), (5, 1, 0, true), (9, 2, 0, true)]);
        assert_eq!(llama_decode(c, b.raw()), -1);
        // other sequences may have any number of outputs
        let mut b = Batch::new(&[
            (1, 0, 1, true),
            (5, 1, 1, true),
            (1, 0, 0, false),
            (9, 1, 0, true),
        ]);
        assert_eq!(llama_decode(c, b.raw()), 0);
        assert_eq!(llama_get_sampled_token_ith(c, 0), LLAMA_TOKEN_NULL);
        assert_eq!(llama_get_sampled_token_ith(c, 1), LLAMA_TOKEN_NULL);
        assert_eq!(llama_get_sampled_logits_count_ith(c, 1), 0);
        assert_eq!(
            llama_get_sampled_token_ith(c, 2),
            LLAMA_TOKEN_NULL,
            "no output"
        );
        let r3 = row(c, 3, nv);
        assert_eq!(llama_get_sampled_token_ith(c, 3), argmax(&r3));
        // the attached chain used on an output decode did not sample runs whole
        assert_eq!(llama_sampler_sample(g, c, 1), argmax(&row(c, 1, nv)));
        assert_eq!(llama_sampler_sample(g, c, 3), argmax(&r3));
        llama_free(c);

        // chains given at creation, several outputs per sequence
        let g1 = chain(&[llama_sampler_init_greedy()]);
        let mut cfg = [
            llama_sampler_seq_config {
                seq_id: 0,
                sampler: g,
            },
            llama_sampler_seq_config {
                seq_id: 1,
                sampler: g1,
            },
        ];
        let mut cp = cparams();
        cp.n_seq_max = 2;
        cp.n_outputs_max_per_seq = 3;
        cp.samplers = cfg.as_mut_ptr();
        cp.n_samplers = 2;
        let c = llama_init_from_model(m, cp);
        assert!(!c.is_null());
        let mut b = Batch::new(&[
            (1, 0, 0, true),
            (3, 0, 1, true),
            (5, 1, 0, true),
            (7, 1, 1, false),
            (9, 2, 0, true),
            (11, 2, 1, true),
        ]);
        assert_eq!(llama_decode(c, b.raw()), 0);
        for i in [0, 1, 2, 4, 5] {
            let r = row(c, i, nv);
            assert_eq!(llama_get_sampled_token_ith(c, i), argmax(&r), "output {i}");
        }
        assert_eq!(llama_get_sampled_token_ith(c, 3), LLAMA_TOKEN_NULL);
        assert_eq!(llama_sampler_sample(g1, c, 5), argmax(&row(c, 5, nv)));
        llama_free(c);

        // a sampler in the parameters that is not a chain fails the context, as upstream
        let greedy = llama_sampler_init_greedy();
        let mut bad = [llama_sampler_seq_config {
            seq_id: 0,
            sampler: greedy,
        }];
        let mut cp = cparams();
        cp.samplers = bad.as_mut_ptr();
        cp.n_samplers = 1;
        assert!(llama_init_from_model(m, cp).is_null());

        llama_sampler_free(greedy);
        llama_sampler_free(g);
        llama_sampler_free(g1);
        llama_model_free(m);
    }
}

#[test]
fn sampling_in_decode_allocates_nothing_more() {
    if model_path().is_none() {
        return;
    }
    // SAFETY: handles are live until freed at the end.
    unsafe {
        let m = load();
        let mut cp = cparams();
        cp.n_threads = 1;
        cp.n_threads_batch = 1;
        let c = llama_init_from_model(m, cp);
        let mut p = PROMPT;
        assert_eq!(llama_decode(c, llama_batch_get_one(p.as_mut_ptr(), 6)), 0);
        // one-token decodes without a chain: what decode itself allocates on this thread
        let mut t = [11i32];
        let mut base = Vec::new();
        for _ in 0..3 {
            let a = allocs();
            assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
            base.push(allocs() - a);
        }
        // the buffers are sized when the chain is attached; decoding allocates nothing more
        let nv = n_vocab(c) as i32;
        let bias = [llama_logit_bias {
            token: 3,
            bias: 1.0,
        }];
        let s = chain(&[
            llama_sampler_init_penalties(nv, 8, 1.2, 0.0, 0.0),
            llama_sampler_init_top_k(40),
            llama_sampler_init_logit_bias(nv, 1, bias.as_ptr()),
            llama_sampler_init_top_p(0.9, 1),
            llama_sampler_init_min_p(0.05, 1),
            llama_sampler_init_temp_ext(0.8, 0.2, 1.0),
            llama_sampler_init_temp(0.9),
            llama_sampler_init_dist(3),
        ]);
        assert!(llama_set_sampler(c, 0, s));
        for _ in 0..3 {
            let a = allocs();
            assert_eq!(llama_decode(c, llama_batch_get_one(t.as_mut_ptr(), 1)), 0);
            let n = allocs() - a;
            assert!(
                base.iter().all(|&b| b == n),
                "decode allocated {n} times, {base:?} without a chain"
            );
            assert_ne!(llama_get_sampled_token_ith(c, -1), LLAMA_TOKEN_NULL);
            t[0] = llama_sampler_sample(s, c, -1);
        }
        llama_sampler_free(s);
        llama_free(c);
        llama_model_free(m);
    }
}

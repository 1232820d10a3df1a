//! Issue 6: per-sequence state (`llama_state_seq_*`) and the size-less `llama_set_state_data`,
//! through the C API.
//!
//! The oracle is the context itself: a sequence's state copied into another sequence (of the
//! same or of a fresh context) must continue exactly as the original sequence continues. The
//! copied cells hold the same K/V bytes at the same positions, and the attention mask hides
//! every other cell (its softmax weight is exactly 0), so the logits are compared bit for bit.

use std::ffi::CString;

use llama::ffi::batch::{llama_batch_free, llama_batch_init};
use llama::ffi::context::{
    llama_decode, llama_free, llama_get_logits_ith, llama_get_memory, llama_init_from_model,
    llama_memory_seq_pos_max, llama_state_get_data, llama_state_get_size,
};
use llama::ffi::model::{llama_model_free, llama_model_get_vocab, llama_model_load_from_file};
use llama::ffi::params::{llama_context_default_params, llama_model_default_params};
use llama::ffi::state::*;
use llama::ffi::types::*;
use llama::ffi::vocab::llama_vocab_n_tokens;

mod common;

struct Model(*mut llama_model);
impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: a model from llama_model_load_from_file, freed once.
        unsafe { llama_model_free(self.0) }
    }
}
struct Ctx(*mut llama_context);
impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: a context from llama_init_from_model, freed once.
        unsafe { llama_free(self.0) }
    }
}

fn load(name: &str) -> Option<Model> {
    let path = common::shared_model_c(name)?;
    let mut mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    // SAFETY: a valid path.
    let m = unsafe { llama_model_load_from_file(path.as_ptr(), mp) };
    assert!(!m.is_null(), "{name} loads");
    Some(Model(m))
}

fn context(m: &Model) -> Ctx {
    let mut cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 64;
    cp.n_ubatch = 64;
    cp.n_seq_max = 2;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    // SAFETY: a live model.
    let c = unsafe { llama_init_from_model(m.0, cp) };
    assert!(!c.is_null());
    Ctx(c)
}

/// Decodes `toks` at positions `p0..` of sequence `seq`; returns the last token's logits.
fn decode(c: &Ctx, toks: &[i32], p0: i32, seq: i32) -> Vec<f32> {
    // SAFETY: a batch of toks.len() entries, filled in range and freed at the end.
    unsafe {
        let mut b = llama_batch_init(toks.len() as i32, 0, 1);
        b.n_tokens = toks.len() as i32;
        for (i, &t) in toks.iter().enumerate() {
            *b.token.add(i) = t;
            *b.pos.add(i) = p0 + i as i32;
            *b.n_seq_id.add(i) = 1;
            **b.seq_id.add(i) = seq;
            *b.logits.add(i) = (i + 1 == toks.len()) as i8;
        }
        assert_eq!(llama_decode(c.0, b), 0);
        llama_batch_free(b);
        let n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model_of(c)));
        let l = llama_get_logits_ith(c.0, -1);
        assert!(!l.is_null());
        std::slice::from_raw_parts(l, n_vocab as usize).to_vec()
    }
}

fn llama_get_model_of(c: &Ctx) -> *const llama_model {
    // SAFETY: a live context.
    unsafe { llama::ffi::context::llama_get_model(c.0) }
}

fn seq_state(c: &Ctx, seq: i32, flags: u32) -> Vec<u8> {
    // SAFETY: a live context; the buffer holds the size asked for.
    unsafe {
        let n = llama_state_seq_get_size_ext(c.0, seq, flags);
        assert!(n > 0);
        let mut buf = vec![0u8; n];
        assert_eq!(
            llama_state_seq_get_data_ext(c.0, buf.as_mut_ptr(), n, seq, flags),
            n
        );
        assert_eq!(
            llama_state_seq_get_data_ext(c.0, buf.as_mut_ptr(), n - 1, seq, flags),
            0,
            "a buffer one byte short is refused"
        );
        buf
    }
}

const PROMPT: [i32; 12] = [1, 15, 27, 3, 99, 41, 7, 250, 12, 8, 77, 60];
const NEXT: [i32; 3] = [33, 5, 101];

/// Decodes PROMPT into seq 0 of `c`, saves its state, then continues seq 0 with NEXT; returns
/// the state and the continuation's logits.
fn reference(c: &Ctx, flags: u32) -> (Vec<u8>, Vec<f32>) {
    decode(c, &PROMPT, 0, 0);
    let state = seq_state(c, 0, flags);
    let cont = decode(c, &NEXT, PROMPT.len() as i32, 0);
    (state, cont)
}

fn check_model(name: &str) {
    let Some(m) = load(name) else { return };
    let c = context(&m);
    let (state, want) = reference(&c, 0);

    // into seq 1 of the same context (seq 0's cells stay, masked out)
    // SAFETY: a live context and a buffer of state.len() bytes.
    let n = unsafe { llama_state_seq_set_data(c.0, state.as_ptr(), state.len(), 1) };
    assert_eq!(n, state.len());
    // SAFETY: a live context.
    let mem = unsafe { llama_get_memory(c.0) };
    // SAFETY: a live memory handle.
    assert_eq!(
        unsafe { llama_memory_seq_pos_max(mem, 1) },
        PROMPT.len() as i32 - 1
    );
    let got = decode(&c, &NEXT, PROMPT.len() as i32, 1);
    assert_eq!(
        got, want,
        "{name}: state copied into seq 1 continues as seq 0 did"
    );

    // into seq 0 of a fresh context
    let c2 = context(&m);
    // SAFETY: as above.
    let n = unsafe { llama_state_seq_set_data(c2.0, state.as_ptr(), state.len(), 0) };
    assert_eq!(n, state.len());
    assert_eq!(
        decode(&c2, &NEXT, PROMPT.len() as i32, 0),
        want,
        "{name}: fresh context"
    );

    // through a file, with its tokens
    // one folder per model: the tests of this file run in parallel and each removes its own
    let dir =
        std::env::temp_dir().join(format!("ferrollama-seqstate-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = CString::new(dir.join(format!("{name}.seq")).to_str().unwrap()).unwrap();
    let c3 = context(&m);
    decode(&c3, &PROMPT, 0, 1);
    // SAFETY: live context, NUL-terminated path, PROMPT.len() tokens.
    let written =
        unsafe { llama_state_seq_save_file(c3.0, file.as_ptr(), 1, PROMPT.as_ptr(), PROMPT.len()) };
    assert!(written > state.len());
    let c4 = context(&m);
    let mut toks = [0i32; 32];
    let mut n_toks = 0usize;
    // SAFETY: live context, path, a 32-token buffer and a count out-parameter.
    let read = unsafe {
        llama_state_seq_load_file(
            c4.0,
            file.as_ptr(),
            0,
            toks.as_mut_ptr(),
            toks.len(),
            &mut n_toks,
        )
    };
    assert_eq!(read, written);
    assert_eq!(&toks[..n_toks], &PROMPT);
    assert_eq!(
        decode(&c4, &NEXT, PROMPT.len() as i32, 0),
        want,
        "{name}: file"
    );
    // a capacity below the token count is refused
    // SAFETY: as above, with a 4-token capacity.
    let read = unsafe {
        llama_state_seq_load_file(c4.0, file.as_ptr(), 0, toks.as_mut_ptr(), 4, &mut n_toks)
    };
    assert_eq!(read, 0);
    std::fs::remove_dir_all(&dir).ok();

    // the whole state through the deprecated size-less setter
    let c5 = context(&m);
    decode(&c5, &PROMPT, 0, 0);
    // SAFETY: a live context and a buffer of the size it asked for.
    let whole = unsafe {
        let n = llama_state_get_size(c5.0);
        let mut buf = vec![0u8; n];
        assert_eq!(llama_state_get_data(c5.0, buf.as_mut_ptr(), n), n);
        buf
    };
    let c6 = context(&m);
    // SAFETY: `whole` is a complete state.
    assert_eq!(
        unsafe { llama_set_state_data(c6.0, whole.as_ptr()) },
        whole.len()
    );
    assert_eq!(
        decode(&c6, &NEXT, PROMPT.len() as i32, 0),
        want,
        "{name}: set_state_data"
    );
}

#[test]
fn seq_state_round_trips_llama3() {
    check_model("llama3-F32.gguf");
}

#[test]
fn seq_state_round_trips_gemma3_swa() {
    // gemma3 has a sliding-window cache beside the full one: both sections travel
    check_model("gemma3-F32.gguf");
    let Some(m) = load("gemma3-F32.gguf") else {
        return;
    };
    let c = context(&m);
    let (partial, _) = reference(&c, 1);
    let full = seq_state(&c, 0, 0);
    assert!(
        partial.len() < full.len(),
        "PARTIAL_ONLY keeps only the SWA cache"
    );
    // a partial state is refused without the flag, and accepted with it
    // SAFETY: live context, buffers of the given sizes.
    unsafe {
        assert_eq!(
            llama_state_seq_set_data(c.0, partial.as_ptr(), partial.len(), 1),
            0
        );
        assert_eq!(
            llama_state_seq_set_data_ext(c.0, partial.as_ptr(), partial.len(), 1, 1),
            partial.len()
        );
    }
}

#[test]
fn seq_state_refuses_bad_input() {
    let Some(m) = load("llama3-F32.gguf") else {
        return;
    };
    let c = context(&m);
    decode(&c, &PROMPT, 0, 0);
    let state = seq_state(&c, 0, 0);
    // SAFETY: each call gets a live context or NULL, and buffers of the sizes given.
    unsafe {
        assert_eq!(llama_state_seq_get_size(c.0, 2), 0, "seq 2 >= n_seq_max");
        assert_eq!(llama_state_seq_get_size(c.0, -1), 0);
        assert_eq!(llama_state_seq_get_size(std::ptr::null_mut(), 0), 0);
        assert_eq!(
            llama_state_seq_get_data(c.0, std::ptr::null_mut(), 1 << 20, 0),
            0
        );
        assert_eq!(llama_state_seq_set_data(c.0, std::ptr::null(), 10, 1), 0);
        let mut bad = state.clone();
        bad[0] ^= 0xff;
        assert_eq!(llama_state_seq_set_data(c.0, bad.as_ptr(), bad.len(), 1), 0);
        for cut in [3, 12, state.len() / 2, state.len() - 1] {
            assert_eq!(
                llama_state_seq_set_data(c.0, state.as_ptr(), cut, 1),
                0,
                "a state cut at {cut} bytes is refused"
            );
        }
        assert_eq!(
            llama_state_seq_set_data(c.0, state.as_ptr(), state.len(), 5),
            0
        );
        assert_eq!(llama_set_state_data(c.0, std::ptr::null()), 0);
        assert_eq!(
            llama_set_state_data(c.0, state.as_ptr()),
            0,
            "not a whole state"
        );
        let no_file = CString::new("/nonexistent/dir/x.seq").unwrap();
        assert_eq!(
            llama_state_seq_save_file(c.0, no_file.as_ptr(), 0, PROMPT.as_ptr(), 0),
            0
        );
        let mut n = 0usize;
        assert_eq!(
            llama_state_seq_load_file(c.0, no_file.as_ptr(), 0, std::ptr::null_mut(), 0, &mut n),
            0
        );
    }
    // a state of another model is refused (qwen2's cells have another size)
    let Some(other) = load("qwen2-F32.gguf") else {
        return;
    };
    let c2 = context(&other);
    // SAFETY: a live context and a buffer of state.len() bytes.
    assert_eq!(
        unsafe { llama_state_seq_set_data(c2.0, state.as_ptr(), state.len(), 0) },
        0
    );
}

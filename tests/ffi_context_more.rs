//! Issue 6: the context functions that were `not supported yet` and are real now —
//! `llama_perf_context` (counts and times as upstream accumulates them), the abort callback
//! (`llama_decode` returns 2, the aborted micro-batches stay out of the cache), causal-attention
//! and recurrent-state queries, classifier labels, thread-pool attach/detach, and the
//! backend-sampling getters' "nothing sampled" values.

use std::ffi::{c_void, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use llama::ffi::batch::llama_batch_get_one;
use llama::ffi::context::llama_memory_seq_pos_max;
use llama::ffi::context::{llama_decode, llama_free, llama_get_memory, llama_init_from_model};
use llama::ffi::context_more::*;
use llama::ffi::model::{
    llama_model_cls_label, llama_model_free, llama_model_load_from_file, llama_model_n_cls_out,
};
use llama::ffi::params::{llama_context_default_params, llama_model_default_params};
use llama::ffi::types::*;

fn model_path() -> Option<CString> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models/llama-spm-F32.gguf");
    if !p.is_file() {
        if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", p.display());
        }
        eprintln!("skipping: {} not found", p.display());
        return None;
    }
    CString::new(p.to_str()?).ok()
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_then_abort(data: *mut c_void) -> bool {
    let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    // SAFETY: the test passes a pointer to a usize limit.
    let limit = unsafe { *(data as *const usize) };
    n > limit
}

#[test]
fn perf_abort_and_queries() {
    let Some(path) = model_path() else { return };
    let mut mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    // SAFETY: a valid path and params; handles are freed at the end.
    unsafe {
        let m = llama_model_load_from_file(path.as_ptr(), mp);
        assert!(!m.is_null());
        assert_eq!(
            llama_model_n_cls_out(m),
            1,
            "no labels: upstream's default 1"
        );
        assert!(llama_model_cls_label(m, 0).is_null());
        let mut cp = llama_context_default_params();
        cp.n_ctx = 256;
        cp.n_batch = 128;
        cp.n_ubatch = 32;
        cp.no_perf = false;
        let c = llama_init_from_model(m, cp);
        assert!(!c.is_null());
        assert!(llama_get_causal_attn(c));
        assert_eq!(llama_n_rs_seq(c), 0);
        llama_attach_threadpool(c, std::ptr::null_mut(), std::ptr::null_mut());
        llama_detach_threadpool(c);

        // a 5-token prompt, then one token: upstream counts 5 prompt tokens and 1 eval
        let mut prompt = [1i32, 5, 9, 13, 17];
        assert_eq!(
            llama_decode(c, llama_batch_get_one(prompt.as_mut_ptr(), 5)),
            0
        );
        let mut one = [21i32];
        assert_eq!(llama_decode(c, llama_batch_get_one(one.as_mut_ptr(), 1)), 0);
        let d = llama_perf_context(c);
        assert_eq!((d.n_p_eval, d.n_eval), (5, 1));
        assert!(
            d.t_p_eval_ms > 0.0 && d.t_eval_ms > 0.0 && d.t_load_ms > 0.0,
            "{d:?}"
        );
        llama_perf_context_print(c);
        llama_perf_context_reset(c);
        let d = llama_perf_context(c);
        // upstream reports at least 1 of each so that rates stay finite
        assert_eq!((d.n_p_eval, d.n_eval, d.t_eval_ms), (1, 1, 0.0));

        // no sampler chain is attached: nothing is sampled inside decode (upstream's values:
        // the logits count is the vocabulary size, the candidates are all vocabulary ids)
        assert_eq!(llama_get_sampled_token_ith(c, 0), LLAMA_TOKEN_NULL);
        assert!(llama_get_sampled_probs_ith(c, 0).is_null());
        assert!(llama_get_sampled_logits_ith(c, 0).is_null());
        assert!(llama_get_sampled_logits_count_ith(c, 0) > 0);
        assert!(!llama_get_sampled_candidates_ith(c, 0).is_null());
        assert_eq!(llama_get_sampled_candidates_count_ith(c, 0), 0);

        // abort before the third of four micro-batches: decode returns 2, the first two stay
        let mem = llama_get_memory(c);
        let before = llama_memory_seq_pos_max(mem, 0);
        let mut limit = 2usize;
        CALLS.store(0, Ordering::SeqCst);
        llama_set_abort_callback(
            c,
            Some(count_then_abort),
            &mut limit as *mut usize as *mut c_void,
        );
        let mut long: Vec<i32> = (0..128).map(|i| 1 + (i % 200)).collect();
        let rc = llama_decode(c, llama_batch_get_one(long.as_mut_ptr(), 128));
        assert_eq!(rc, 2, "aborted decode");
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            3,
            "asked before each micro-batch"
        );
        assert_eq!(
            llama_memory_seq_pos_max(mem, 0),
            before + 64,
            "two micro-batches kept"
        );
        // cleared: decoding runs to the end
        llama_set_abort_callback(c, None, std::ptr::null_mut());
        let mut tail = [7i32; 8];
        assert_eq!(
            llama_decode(c, llama_batch_get_one(tail.as_mut_ptr(), 8)),
            0
        );

        llama_free(c);
        llama_model_free(m);
    }
}

#[test]
fn save_to_file_round_trips_metadata_and_tensors() {
    use llama::ffi::model::llama_model_save_to_file;
    use llama::model::{Model, ModelParams};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models");
    if !dir.is_dir() {
        assert_ne!(
            std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref(),
            Ok("1")
        );
        return;
    }
    for name in ["llama-spm-Q8_0", "gemma3-Q4_K_M", "deepseek2-F32"] {
        let src = dir.join(format!("{name}.gguf"));
        let out = std::env::temp_dir().join(format!(
            "ferrollama-save-{}-{name}.gguf",
            std::process::id()
        ));
        let c_src = CString::new(src.to_str().expect("utf-8")).expect("path");
        let c_out = CString::new(out.to_str().expect("utf-8")).expect("path");
        let mut mp = llama_model_default_params();
        mp.n_gpu_layers = 0;
        // SAFETY: valid paths and params; the model is freed after saving.
        unsafe {
            let m = llama_model_load_from_file(c_src.as_ptr(), mp);
            assert!(!m.is_null());
            llama_model_save_to_file(m, c_out.as_ptr());
            llama_model_free(m);
        }
        let a = Model::load(&[src], &ModelParams::default()).expect("original");
        let b = Model::load(std::slice::from_ref(&out), &ModelParams::default()).expect("saved");
        let _ = std::fs::remove_file(&out);
        assert_eq!(a.gguf().metadata(), b.gguf().metadata(), "{name}: metadata");
        let (ta, tb) = (a.gguf().tensors(), b.gguf().tensors());
        assert_eq!(ta.len(), tb.len(), "{name}: tensor count");
        for (i, (x, y)) in ta.iter().zip(tb).enumerate() {
            assert_eq!(
                (&x.name, x.ty, &x.ne),
                (&y.name, y.ty, &y.ne),
                "{name}: tensor {i}"
            );
            assert!(
                a.tensor_bytes(i) == b.tensor_bytes(i),
                "{name}: {} data",
                x.name
            );
        }
    }
}

#[test]
fn control_vector_adds_to_layer_outputs_and_clears() {
    use llama::ffi::context::{llama_get_logits_ith, llama_memory_clear, llama_set_adapter_cvec};
    use llama::ffi::model::llama_model_n_embd;
    let Some(path) = model_path() else { return };
    let mut mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    // SAFETY: valid path and params; handles freed at the end; logits read right after decode.
    unsafe {
        let m = llama_model_load_from_file(path.as_ptr(), mp);
        let mut cp = llama_context_default_params();
        cp.n_ctx = 128;
        let c = llama_init_from_model(m, cp);
        assert!(!c.is_null());
        let n_embd = llama_model_n_embd(m);
        let run = |c: *mut llama_context| {
            llama_memory_clear(llama_get_memory(c), true);
            let mut toks = [1i32, 7, 42, 99, 3];
            assert_eq!(
                llama_decode(c, llama_batch_get_one(toks.as_mut_ptr(), 5)),
                0
            );
            let p = llama_get_logits_ith(c, -1);
            std::slice::from_raw_parts(p, 8).to_vec()
        };
        let plain = run(c);
        let zeros = vec![0f32; n_embd as usize * 4];
        assert_eq!(
            llama_set_adapter_cvec(c, zeros.as_ptr(), zeros.len(), n_embd, 1, 4),
            0
        );
        assert_eq!(run(c), plain, "a zero control vector changes nothing");
        let v: Vec<f32> = (0..n_embd * 4)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1)
            .collect();
        assert_eq!(
            llama_set_adapter_cvec(c, v.as_ptr(), v.len(), n_embd, 1, 4),
            0
        );
        assert_ne!(run(c), plain, "a control vector moves the logits");
        assert_eq!(
            llama_set_adapter_cvec(c, std::ptr::null(), 0, n_embd, 0, 0),
            0
        );
        assert_eq!(run(c), plain, "NULL turns it off");
        assert_eq!(
            llama_set_adapter_cvec(c, v.as_ptr(), v.len(), n_embd + 1, 1, 4),
            -1
        );
        llama_free(c);
        llama_model_free(m);
    }
}

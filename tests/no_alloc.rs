//! Issue 7: `llama_model_params.no_alloc` plans without allocating. A load and a context with
//! `no_alloc` on memory-backed simulated GPUs take nothing from them (`ggml_backend_dev_memory`
//! stays at its baseline), `ferrollama_memory_breakdown` reports the plan, decoding is refused
//! with an error, and the same load without `no_alloc` then allocates exactly those bytes.
//!
//! This file is its own process: the device registry reads the environment once.

use std::ffi::CString;

use llama::ffi::devices::{ggml_backend_dev_count, ggml_backend_dev_get, ggml_backend_dev_memory};
use llama::ffi::ferrollama::ferrollama_memory_breakdown;
use llama::ffi::ferrollama_types::*;
use llama::ffi::{batch, context, model, params};

mod common;

fn used(i: usize) -> u64 {
    let (mut free, mut total) = (0usize, 0usize);
    // SAFETY: a device handle of the registry and two writable size_t.
    unsafe { ggml_backend_dev_memory(ggml_backend_dev_get(i), &mut free, &mut total) };
    (total - free) as u64
}

/// Loads llama3-F32 on both GPUs (layer split) and makes a context; returns the per-GPU
/// planned bytes from the breakdown and the decode status.
fn load_plan_decode(path: &CString, no_alloc: bool) -> (Vec<u64>, Vec<u64>, i32) {
    let mut mp = params::llama_model_default_params();
    mp.n_gpu_layers = 999;
    mp.no_alloc = no_alloc;
    let mut cp = params::llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_batch = 128;
    cp.n_ubatch = 64;
    cp.n_threads = 2;
    // SAFETY: a valid path and params; handles are freed below.
    unsafe {
        let m = model::llama_model_load_from_file(path.as_ptr(), mp);
        assert!(!m.is_null());
        let c = context::llama_init_from_model(m, cp);
        assert!(!c.is_null());
        let mut rows = vec![ferrollama_device_memory::default(); 4];
        let n = ferrollama_memory_breakdown(c, rows.as_mut_ptr(), rows.len());
        assert_eq!(n, 3, "two GPUs and the host");
        let planned: Vec<u64> = rows[..2]
            .iter()
            .map(|r| r.weights + r.kv + r.compute + r.other)
            .collect();
        // the tiny model's layers all land on SIM0 (upstream's split by free memory)
        assert!(rows[0].weights > 0 && rows[0].kv > 0 && rows[0].compute > 0);
        let usage = vec![used(0), used(1)];
        let mut tok = [1i32, 2, 3];
        let rc = context::llama_decode(c, batch::llama_batch_get_one(tok.as_mut_ptr(), 3));
        context::llama_free(c);
        model::llama_model_free(m);
        assert_eq!((used(0), used(1)), (0, 0), "freed: back at baseline");
        (planned, usage, rc)
    }
}

#[test]
fn no_alloc_plans_without_allocating() {
    // SAFETY: set before any thread of this process reads the environment (the registry is
    // read lazily by the first device call below).
    unsafe { std::env::set_var("FERROLLAMA_SIM_DEVICES", "256MiB,256MiB") };
    let Some(path) = common::shared_model_c("llama3-F32.gguf") else {
        return;
    };
    assert_eq!(ggml_backend_dev_count(), 3, "2 simulated GPUs and the CPU");

    let (planned, usage, rc) = load_plan_decode(&path, true);
    assert_eq!(usage, vec![0, 0], "no_alloc takes nothing from the devices");
    assert_ne!(rc, 0, "decoding a no_alloc model is refused");

    let (planned_real, usage_real, rc) = load_plan_decode(&path, false);
    assert_eq!(rc, 0, "the real load decodes");
    assert_eq!(
        planned_real, planned,
        "the same plan with and without no_alloc"
    );
    assert_eq!(
        usage_real, planned,
        "the real load allocates exactly that plan"
    );
}

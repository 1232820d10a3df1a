//! Issue 7, must-show 3 and 4 through the C API and the real loader: the seed scenarios on
//! accounting-only simulated devices (`FERROLLAMA_SIM_DEVICES`, `FERROLLAMA_SIM_BACKING=none`)
//! with sparse GGUFs of the real shapes. For each: `ferrollama_fit` succeeds in under a second;
//! `llama_model_load_from_file` + `llama_init_from_model` with the fitted parameters allocate
//! on every simulated GPU exactly the fitted plan's bytes (`ggml_backend_dev_memory`), which is
//! within its budget (free − margin) and fills the GPUs to within 2% of their total budget;
//! `llama_decode` is refused with an error (no memory behind the devices); freeing the context
//! and the model returns every device to 0 bytes used. The tables are printed.
//!
//! This file is its own process: the device registry reads the environment once.

#[path = "fit_util.rs"]
mod fit_util;

use std::ffi::CString;
use std::time::Instant;

use llama::ffi::devices::{ggml_backend_dev_count, ggml_backend_dev_get, ggml_backend_dev_memory};
use llama::ffi::ferrollama::{ferrollama_fit, ferrollama_memory_breakdown};
use llama::ffi::ferrollama_types::*;
use llama::ffi::misc::{LLAMA_MAX_DEVICES, LLAMA_MAX_TENSOR_BUFT_OVERRIDES};
use llama::ffi::types::*;
use llama::ffi::{batch, context, model, params};

const GPUS: &str = "32110MiB,32110MiB,32110MiB,32110MiB,24082MiB,24082MiB,48541MiB,48541MiB,24GiB";

fn used(i: usize) -> (u64, u64) {
    let (mut free, mut total) = (0usize, 0usize);
    // SAFETY: a device handle of the registry and two writable size_t.
    unsafe { ggml_backend_dev_memory(ggml_backend_dev_get(i), &mut free, &mut total) };
    ((total - free) as u64, total as u64)
}

struct Scenario {
    name: &'static str,
    kimi: bool,
    devices: std::ops::Range<usize>,
    n_ctx: u32,
    n_batch: u32,
    n_ubatch: u32,
    n_seq: u32,
}

#[test]
fn seeds_fit_load_and_allocate_exactly_the_plan() {
    // SAFETY: set before any thread of this process reads the environment (first thing here;
    // the registry is read lazily by the first device call below).
    unsafe {
        std::env::set_var("FERROLLAMA_SIM_DEVICES", GPUS);
        std::env::set_var("FERROLLAMA_SIM_BACKING", "none");
    }
    let Some((kimi, r1)) = fit_util::sparse_models() else {
        return;
    };
    assert_eq!(ggml_backend_dev_count(), 10, "9 simulated GPUs and the CPU");
    let scenarios = [
        Scenario {
            name: "a: Kimi-K2 on 4x32110 + 2x24082 + 2x48541 MiB, -c 32768 -ub 2560",
            kimi: true,
            devices: 0..8,
            n_ctx: 32768,
            n_batch: 4096,
            n_ubatch: 2560,
            n_seq: 1,
        },
        Scenario {
            name: "b: DeepSeek-R1 Q2_K on 1x24 GiB + host, -c 163840, 4 sequences",
            kimi: false,
            devices: 8..9,
            n_ctx: 163840,
            n_batch: 2048,
            n_ubatch: 512,
            n_seq: 4,
        },
        Scenario {
            name: "c: Kimi-K2 -b 4096 -ub 4096 -c 128000",
            kimi: true,
            devices: 0..8,
            n_ctx: 128000,
            n_batch: 4096,
            n_ubatch: 4096,
            n_seq: 1,
        },
    ];
    for sc in &scenarios {
        let path =
            CString::new(if sc.kimi { &kimi } else { &r1 }.to_str().expect("utf-8")).expect("path");
        let mut devs: Vec<ggml_backend_dev_t> = sc
            .devices
            .clone()
            .map(|i| ggml_backend_dev_get(i))
            .collect();
        devs.push(std::ptr::null_mut());
        let mut mp = params::llama_model_default_params();
        mp.devices = devs.as_mut_ptr();
        let mut cp = params::llama_context_default_params();
        cp.n_ctx = sc.n_ctx;
        cp.n_batch = sc.n_batch;
        cp.n_ubatch = sc.n_ubatch;
        cp.n_seq_max = sc.n_seq;
        cp.flash_attn_type = 1;
        let mut split = [0f32; LLAMA_MAX_DEVICES];
        let empty = llama_model_tensor_buft_override {
            pattern: std::ptr::null(),
            buft: std::ptr::null_mut(),
        };
        let mut ot = vec![empty; LLAMA_MAX_TENSOR_BUFT_OVERRIDES];
        let t0 = Instant::now();
        // SAFETY: valid path, params and buffers of the documented sizes.
        let st = unsafe {
            ferrollama_fit(
                path.as_ptr(),
                &mut mp,
                &mut cp,
                split.as_mut_ptr(),
                ot.as_mut_ptr(),
                std::ptr::null(),
                4096,
            )
        };
        let t_fit = t0.elapsed();
        assert_eq!(st, FERROLLAMA_FIT_STATUS_SUCCESS, "{}", sc.name);
        assert!(t_fit.as_secs_f64() < 1.0, "{}: fit took {t_fit:?}", sc.name);
        // SAFETY: fitted params; the override and split buffers outlive the load.
        let m = unsafe { model::llama_model_load_from_file(path.as_ptr(), mp) };
        assert!(!m.is_null(), "{}: load failed", sc.name);
        // SAFETY: a live model.
        let c = unsafe { context::llama_init_from_model(m, cp) };
        assert!(!c.is_null(), "{}: context failed", sc.name);
        let mut rows = vec![ferrollama_device_memory::default(); 16];
        // SAFETY: a live context and 16 writable rows.
        let n = unsafe { ferrollama_memory_breakdown(c, rows.as_mut_ptr(), rows.len()) };
        assert_eq!(n as usize, sc.devices.len() + 1, "{}: GPUs + host", sc.name);
        eprintln!("\n{} (fit {:.1} ms)", sc.name, t_fit.as_secs_f64() * 1e3);
        eprintln!(
            "{:<6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
            "device", "total MiB", "used MiB", "weights", "kv", "compute", "other", "free"
        );
        let (mut placed, mut budget) = (0u64, 0u64);
        for (k, i) in sc.devices.clone().enumerate() {
            let r = &rows[k];
            let (u, total) = used(i);
            let planned = r.weights + r.kv + r.compute + r.other;
            assert_eq!(u, planned, "{}: device {i} usage vs plan", sc.name);
            // the fit's margin (the default: the test passes no margins)
            let margin = llama::fit::DEFAULT_MARGIN;
            assert!(
                u + margin <= total,
                "{}: device {i} inside its margin",
                sc.name
            );
            placed += u;
            budget += total - margin;
            let mib = |x: u64| x as f64 / (1u64 << 20) as f64;
            eprintln!(
                "SIM{i:<3} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>8.0}",
                mib(total),
                mib(u),
                mib(r.weights),
                mib(r.kv),
                mib(r.compute),
                mib(r.other),
                mib(total - u)
            );
        }
        let fill = placed as f64 / budget as f64;
        eprintln!("GPU fill: {:.2}% of the budget", fill * 100.0);
        assert!(fill >= 0.98, "{}: fill {fill}", sc.name);
        // decoding on accounting-only devices is refused, not a crash
        let mut tok = [1i32];
        // SAFETY: a one-token batch over a live array.
        let rc =
            unsafe { context::llama_decode(c, batch::llama_batch_get_one(tok.as_mut_ptr(), 1)) };
        assert_ne!(rc, 0, "{}: decode must be refused", sc.name);
        // SAFETY: live handles, freed once.
        unsafe {
            context::llama_free(c);
            model::llama_model_free(m);
        }
        for i in sc.devices.clone() {
            assert_eq!(used(i).0, 0, "{}: device {i} not back at 0", sc.name);
        }
    }
}

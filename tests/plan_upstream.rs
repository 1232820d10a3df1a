//! The plan against upstream libllama (CPU only, llama.cpp as vendored by llama-cpp-python
//! 0.3.36): KV bytes must match upstream's "KV buffer size" exactly (to the 0.01 MiB upstream
//! prints), and the analytic compute arena must be an upper bound of upstream's "CPU compute
//! buffer size" (which upstream reserves for one worst-case micro-batch) for every model of
//! ../shared/data/models and several context shapes.
//!
//! The reference rows were produced by loading each model with upstream's library through
//! llama-cpp-python and reading its log lines (`llama_context_default_params()` with n_ctx,
//! n_batch, n_ubatch, n_seq_max, flash_attn_type and swa_full set as in each row; nothing
//! offloaded). Columns: model, n_ctx, n_batch, n_ubatch, n_seq_max, flash_attn, swa_full,
//! KV MiB, CPU compute buffer MiB.

#[path = "fit_util.rs"]
mod fit_util;

use llama::fit::{
    self, plan, AnalyticOracle, Category, CtxParams, DeviceDesc, PlaceParams, PlanInput,
};

type Row = (&'static str, u32, u32, u32, u32, bool, bool, f64, f64);

#[rustfmt::skip]
const UPSTREAM: &[Row] = &[
    ("llama3-F32", 4096, 2048, 512, 1, false, true, 2.00, 42.76),
    ("llama3-F32", 4096, 2048, 512, 1, true, true, 2.00, 6.51),
    ("llama3-F32", 1024, 512, 128, 2, false, false, 0.50, 1.94),
    ("llama3-F32", 8192, 4096, 4096, 1, true, false, 4.00, 84.11),
    ("llama3-F32", 2048, 2048, 1, 1, false, true, 1.00, 0.04),
    ("llama3-F32", 3000, 1024, 256, 3, true, true, 1.50, 1.77),
    ("qwen2-Q8_0", 4096, 2048, 512, 1, false, true, 4.00, 43.01),
    ("qwen2-Q8_0", 4096, 2048, 512, 1, true, true, 4.00, 6.51),
    ("qwen2-Q8_0", 1024, 512, 128, 2, false, false, 1.00, 2.00),
    ("qwen2-Q8_0", 8192, 4096, 4096, 1, true, false, 8.00, 84.11),
    ("qwen2-Q8_0", 2048, 2048, 1, 1, false, true, 2.00, 0.05),
    ("qwen2-Q8_0", 3000, 1024, 256, 3, true, true, 3.00, 1.77),
    ("qwen3-Q4_K_M", 4096, 2048, 512, 1, false, true, 4.00, 44.51),
    ("qwen3-Q4_K_M", 4096, 2048, 512, 1, true, true, 4.00, 7.51),
    ("qwen3-Q4_K_M", 1024, 512, 128, 2, false, false, 1.00, 2.38),
    ("qwen3-Q4_K_M", 8192, 4096, 4096, 1, true, false, 8.00, 92.11),
    ("qwen3-Q4_K_M", 2048, 2048, 1, 1, false, true, 2.00, 0.05),
    ("qwen3-Q4_K_M", 3000, 1024, 256, 3, true, true, 3.00, 2.27),
    ("qwen3moe-Q4_K_M", 4096, 2048, 512, 1, false, true, 4.00, 43.01),
    ("qwen3moe-Q4_K_M", 4096, 2048, 512, 1, true, true, 4.00, 8.01),
    ("qwen3moe-Q4_K_M", 1024, 512, 128, 2, false, false, 1.00, 2.00),
    ("qwen3moe-Q4_K_M", 8192, 4096, 4096, 1, true, false, 8.00, 96.11),
    ("qwen3moe-Q4_K_M", 2048, 2048, 1, 1, false, true, 2.00, 0.05),
    ("qwen3moe-Q4_K_M", 3000, 1024, 256, 3, true, true, 3.00, 2.53),
    ("llama-moe-Q8_0", 4096, 2048, 512, 1, false, true, 4.00, 43.01),
    ("llama-moe-Q8_0", 4096, 2048, 512, 1, true, true, 4.00, 7.01),
    ("llama-moe-Q8_0", 1024, 512, 128, 2, false, false, 1.00, 2.00),
    ("llama-moe-Q8_0", 8192, 4096, 4096, 1, true, false, 8.00, 88.11),
    ("llama-moe-Q8_0", 2048, 2048, 1, 1, false, true, 2.00, 0.05),
    ("llama-moe-Q8_0", 3000, 1024, 256, 3, true, true, 3.00, 2.02),
    ("deepseek2-Q4_K_M", 4096, 2048, 512, 1, false, true, 2.50, 45.01),
    ("deepseek2-Q4_K_M", 4096, 2048, 512, 1, true, true, 2.50, 8.76),
    ("deepseek2-Q4_K_M", 1024, 512, 128, 2, false, false, 0.62, 2.50),
    ("deepseek2-Q4_K_M", 8192, 4096, 4096, 1, true, false, 5.00, 102.08),
    ("deepseek2-Q4_K_M", 2048, 2048, 1, 1, false, true, 1.25, 0.55),
    ("deepseek2-Q4_K_M", 3000, 1024, 256, 3, true, true, 1.88, 2.90),
    ("deepseek2-lite-Q8_0", 4096, 2048, 512, 1, false, true, 2.50, 45.01),
    ("deepseek2-lite-Q8_0", 4096, 2048, 512, 1, true, true, 2.50, 8.76),
    ("deepseek2-lite-Q8_0", 1024, 512, 128, 2, false, false, 0.62, 2.50),
    ("deepseek2-lite-Q8_0", 8192, 4096, 4096, 1, true, false, 5.00, 102.08),
    ("deepseek2-lite-Q8_0", 2048, 2048, 1, 1, false, true, 1.25, 0.55),
    ("deepseek2-lite-Q8_0", 3000, 1024, 256, 3, true, true, 1.88, 2.90),
    ("gemma3-Q8_0", 4096, 2048, 512, 1, false, true, 2.00, 51.01),
    ("gemma3-Q8_0", 4096, 2048, 512, 1, true, true, 2.00, 10.52),
    ("gemma3-Q8_0", 1024, 512, 128, 2, false, false, 0.37, 2.00),
    ("gemma3-Q8_0", 8192, 4096, 4096, 1, true, false, 3.06, 118.17),
    ("gemma3-Q8_0", 2048, 2048, 1, 1, false, true, 1.00, 0.05),
    ("gemma3-Q8_0", 3000, 1024, 256, 3, true, true, 1.50, 2.28),
    ("phi3-Q8_0", 4096, 2048, 512, 1, false, true, 8.00, 43.51),
    ("phi3-Q8_0", 4096, 2048, 512, 1, true, true, 8.00, 7.01),
    ("phi3-Q8_0", 1024, 512, 128, 2, false, false, 2.00, 2.13),
    ("phi3-Q8_0", 8192, 4096, 4096, 1, true, false, 16.00, 88.11),
    ("phi3-Q8_0", 2048, 2048, 1, 1, false, true, 4.00, 0.05),
    ("phi3-Q8_0", 3000, 1024, 256, 3, true, true, 6.00, 2.02),
];

#[test]
fn kv_exact_and_compute_bounded_against_upstream() {
    let Some(shared) = fit_util::shared_dir() else {
        return;
    };
    let mut worst: f64 = 0.0;
    let mut loosest: f64 = 0.0;
    for &(name, n_ctx, n_batch, n_ubatch, n_seq, fa, swa_full, kv_mib, compute_mib) in UPSTREAM {
        let m = fit::ModelDesc::open(&shared.join(format!("data/models/{name}.gguf"))).unwrap();
        let ctx = CtxParams {
            n_ctx,
            n_batch,
            n_ubatch,
            n_seq_max: n_seq,
            flash_attn: fa,
            swa_full,
            ..Default::default()
        };
        let host = DeviceDesc::new("CPU", 1 << 40);
        let inp = PlanInput {
            model: &m,
            ctx: &ctx,
            gpus: &[],
            host: &host,
            use_mmap: true,
            oracle: &AnalyticOracle,
            analytic: true,
        };
        let pl = fit::placement::resolve(&m, &PlaceParams::default(), &[]).unwrap();
        let p = plan::compute_plan(&inp, &pl, 1).unwrap();
        let d = &p.devices[0];
        let kv = d.get(Category::Kv) as f64 / (1u64 << 20) as f64;
        assert!(
            (kv - kv_mib).abs() <= 0.0051,
            "{name} c{n_ctx} ub{n_ubatch} np{n_seq}: KV {kv:.3} MiB, upstream {kv_mib}"
        );
        let ours = d.get(Category::Compute) as f64 / (1u64 << 20) as f64;
        let ratio = ours / compute_mib.max(0.01);
        println!(
            "{name:<20} c{n_ctx:<5} b{n_batch:<5} ub{n_ubatch:<5} np{n_seq} fa{} kv {kv:8.2} MiB | compute: analytic {ours:9.2} MiB, upstream {compute_mib:8.2} MiB (x{ratio:.2})",
            fa as u8
        );
        assert!(
            ours + 0.005 >= compute_mib,
            "{name} c{n_ctx} b{n_batch} ub{n_ubatch} np{n_seq} fa{fa}: analytic compute {ours:.2} MiB below upstream {compute_mib} MiB"
        );
        worst = worst.max(ratio);
        if compute_mib > 1.0 {
            loosest = loosest.max(ratio);
        }
    }
    println!("largest analytic/upstream ratio {worst:.2} (buffers over 1 MiB: {loosest:.2})");
}

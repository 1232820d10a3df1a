//! The plan against our own engine: for every model of ../shared/data/models and several
//! context shapes, a CPU [`llama::context::Context`] (which plans its arena with the engine's
//! liveness planner over its worst-case graphs, then seals its allocator) must not hold more
//! bytes than the memory plan gives the host for KV + compute + kernel scratch. Prints the
//! engine's arena next to the analytic bound.

#[path = "fit_util.rs"]
mod fit_util;

use std::sync::Arc;

use llama::context::{Context, ContextParams};
use llama::fit::{
    self, plan, AnalyticOracle, Category, CtxParams, DeviceDesc, PlaceParams, PlanInput,
};
use llama::model::{Model, ModelParams};

#[test]
fn engine_allocation_within_plan() {
    let models = fit_util::shared_models();
    if models.is_empty() {
        return;
    }
    // n_ctx, n_batch, n_ubatch, n_seq_max, flash_attn
    let shapes = [
        (512, 512, 128, 1, false),
        (1024, 512, 512, 2, true),
        (2048, 256, 64, 1, false),
    ];
    let mut worst = 0f64;
    for path in models.iter().filter(|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        n.ends_with("Q8_0.gguf") || n.ends_with("Q4_K_M.gguf")
    }) {
        let model = match Model::load(std::slice::from_ref(path), &ModelParams::default()) {
            Ok(m) => Arc::new(m),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let desc = fit::ModelDesc::open(path).unwrap();
        for &(n_ctx, n_batch, n_ubatch, n_seq, fa) in &shapes {
            let cp = ContextParams {
                n_ctx,
                n_batch,
                n_ubatch,
                n_seq_max: n_seq,
                flash_attn: fa as i32,
                n_threads: 1,
                n_threads_batch: 1,
                ..Default::default()
            };
            let ctx = match Context::new(model.clone(), &cp) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "{}: context {n_ctx}/{n_ubatch}: {e} (skipped)",
                        path.display()
                    );
                    continue;
                }
            };
            let engine = ctx.alloc_counter().stats().live_bytes;
            let ours = CtxParams {
                n_ctx,
                n_batch,
                n_ubatch,
                n_seq_max: n_seq,
                flash_attn: fa,
                swa_full: false,
                ..Default::default()
            };
            let host = DeviceDesc::new("CPU", 1 << 40);
            let inp = PlanInput {
                model: &desc,
                ctx: &ours,
                gpus: &[],
                host: &host,
                use_mmap: true,
                oracle: &AnalyticOracle,
                analytic: true,
            };
            let pl = fit::placement::resolve(&desc, &PlaceParams::default(), &[]).unwrap();
            let p = plan::compute_plan(&inp, &pl, 1).unwrap();
            let d = &p.devices[0];
            let kv = d.get(Category::Kv);
            let planned = kv + d.get(Category::Compute) + d.get(Category::KernelScratch);
            let engine_arena = engine.saturating_sub(kv);
            let ratio = d.get(Category::Compute) as f64 / engine_arena.max(1) as f64;
            println!(
                "{:<24} c{n_ctx:<5} ub{n_ubatch:<4} np{n_seq} fa{}: engine {engine:>10} B (arena ~{engine_arena:>9}), plan kv {kv:>9} + compute {:>9} + scratch {:>8} (analytic/engine arena x{ratio:.2})",
                path.file_name().unwrap().to_string_lossy(),
                fa as u8,
                d.get(Category::Compute),
                d.get(Category::KernelScratch)
            );
            assert!(
                engine <= planned,
                "{}: the engine holds {engine} bytes, the plan gives the host {planned}",
                path.display()
            );
            worst = worst.max(ratio);
        }
    }
    println!("largest analytic/engine arena ratio x{worst:.2}");
}

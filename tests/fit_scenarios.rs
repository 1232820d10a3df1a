//! The seed scenarios of issue 7, replayed with accounting-only simulated devices
//! (`FERROLLAMA_SIM_BACKING=none` semantics) and sparse GGUFs of the real shapes:
//! a. Kimi-K2-like on 4×32110 + 2×24082 + 2×48541 MiB, `-c 32768 -ub 2560`;
//! b. DeepSeek-R1 Q2_K on 1×24 GiB plus host, `-c 163840`, 4 sequences;
//! c. Kimi-K2 at `-b 4096 -ub 4096 -c 128000` (ik_llama.cpp#687).
//! Each must fit, leave every device within its margin, fill the GPUs to within 2% of their
//! budget, take under a second, and allocate on the simulated devices exactly as planned.

#[path = "fit_util.rs"]
mod fit_util;

use std::time::Instant;

use llama::backend::sim::{parse_devices, SimDevice};
use llama::fit::{
    self, alloc, placement, plan, table, AnalyticOracle, CtxParams, DeviceDesc, FitRequest,
    PlaceParams, PlanInput,
};

const MIB: u64 = 1 << 20;
const HOST: u64 = 512 << 30;

struct Scenario {
    name: &'static str,
    kimi: bool,
    gpus: &'static str,
    ctx: CtxParams,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "a: Kimi-K2 on 8 mixed GPUs, -c 32768 -ub 2560",
            kimi: true,
            gpus: "32110MiB,32110MiB,32110MiB,32110MiB,24082MiB,24082MiB,48541MiB,48541MiB",
            // -b 4096 so that the micro-batch really is 2560 (upstream clamps n_ubatch to n_batch)
            ctx: CtxParams {
                n_ctx: 32768,
                n_batch: 4096,
                n_ubatch: 2560,
                flash_attn: true,
                ..Default::default()
            },
        },
        Scenario {
            name: "b: DeepSeek-R1 Q2_K on 1x24 GiB + host, -c 163840, 4 sequences",
            kimi: false,
            gpus: "24GiB",
            ctx: CtxParams {
                n_ctx: 163840,
                n_seq_max: 4,
                flash_attn: true,
                ..Default::default()
            },
        },
        Scenario {
            name: "c: Kimi-K2 -b 4096 -ub 4096 -c 128000",
            kimi: true,
            gpus: "32110MiB,32110MiB,32110MiB,32110MiB,24082MiB,24082MiB,48541MiB,48541MiB",
            ctx: CtxParams {
                n_ctx: 128000,
                n_batch: 4096,
                n_ubatch: 4096,
                flash_attn: true,
                ..Default::default()
            },
        },
    ]
}

#[test]
fn seed_scenarios_fit() {
    let Some((kimi, r1)) = fit_util::sparse_models() else {
        return;
    };
    let kimi = fit::ModelDesc::open(&kimi).expect("kimi header");
    let r1 = fit::ModelDesc::open(&r1).expect("r1 header");
    assert_eq!((kimi.n_layer, kimi.n_expert), (61, 384));
    assert_eq!((r1.n_layer, r1.n_expert), (61, 256));
    for sc in scenarios() {
        let model = if sc.kimi { &kimi } else { &r1 };
        let sims = parse_devices(sc.gpus, false).unwrap();
        let req = FitRequest {
            model,
            ctx: sc.ctx.clone(),
            place: PlaceParams::default(),
            gpus: alloc::describe(&sims, fit::DEFAULT_MARGIN),
            host: DeviceDesc::new("CPU", HOST).with_margin(fit::DEFAULT_MARGIN),
            oracle: &AnalyticOracle,
            analytic: true,
            n_ctx_min: 0,
            user_set_n_ubatch: true,
        };
        let t0 = Instant::now();
        let r = fit::fit(&req).unwrap_or_else(|e| panic!("{}: {e}", sc.name));
        let dt = t0.elapsed();
        println!(
            "\n{} (fit {:.1} ms, {} plans)",
            sc.name,
            dt.as_secs_f64() * 1e3,
            r.n_probes
        );
        print!("{}", table::table(&r.plan));
        for n in &r.notes {
            println!("note: {n}");
        }
        println!("-ot {}", r.ot);
        assert!(dt.as_secs_f64() < 1.0, "{}: fit took {dt:?}", sc.name);
        // never a silent change of what the user set
        assert_eq!(r.ctx.n_ctx, sc.ctx.n_ctx, "{}", sc.name);
        assert_eq!(r.plan.sizes.n_ubatch, sc.ctx.n_ubatch, "{}", sc.name);
        for d in &r.plan.devices {
            assert!(
                d.total_bytes() + d.margin <= d.free,
                "{}: {} over budget",
                sc.name,
                d.name
            );
        }
        let (placed, budget) = (r.plan.gpu_bytes(), r.plan.gpu_budget());
        assert!(
            placed as f64 >= 0.98 * budget as f64,
            "{}: GPUs filled {} of {} MiB",
            sc.name,
            placed / MIB,
            budget / MIB
        );
        // every layer's dense part on a GPU
        assert!(r.placement.layer_dev.iter().all(|&d| d < sims.len()));
        // the resolved parameters reproduce the placement (upstream's resolution rules)
        let again = placement::resolve(model, &r.place, &req.gpus).unwrap();
        assert_eq!(again.layer_dev, r.placement.layer_dev, "{}", sc.name);
        assert_eq!(again.weight_dev, r.placement.weight_dev, "{}", sc.name);
        let inp = PlanInput {
            model,
            ctx: &r.ctx,
            gpus: &req.gpus,
            host: &req.host,
            use_mmap: true,
            oracle: &AnalyticOracle,
            analytic: true,
        };
        let p2 = plan::compute_plan(&inp, &again, r.plan.n_copies).unwrap();
        assert_eq!(p2, r.plan, "{}", sc.name);
        // the arena covers every graph shape the context can run: KV lengths up to n_ctx,
        // micro-batches up to n_ubatch (the planned value is the maximum over the grid)
        let sizes = r.plan.sizes;
        let full = plan::arena_shape(model, &r.ctx, &sizes);
        let works = plan::device_works(model, &r.placement, r.ctx.offload_kqv);
        for w in &works {
            let planned = r.plan.devices[w.device].get(fit::Category::Compute);
            for n_kv in [256, 4096, 57344, sizes.n_ctx_seq / 2, sizes.n_ctx_seq] {
                for ub in [1, 32, 512, sizes.n_ubatch] {
                    let sh = fit::ArenaShape {
                        max_ubatch: ub.min(full.max_ubatch),
                        n_kv: n_kv.min(full.n_kv),
                        n_kv_swa: n_kv.min(full.n_kv_swa),
                        n_outputs: ub.min(full.n_outputs),
                        ..full
                    };
                    let need = fit::ArenaOracle::arena_bytes(&AnalyticOracle, model, w, &sh);
                    assert!(need.compute <= planned, "{}: shape {sh:?}", sc.name);
                }
            }
        }
        // allocate on accounting-only devices: exactly the plan, then sealed
        let mut devs = sims.clone();
        devs.push(SimDevice::new("CPU".into(), HOST, false));
        let a = alloc::allocate_plan(&r.plan, &devs).unwrap();
        for (d, p) in devs.iter().zip(&r.plan.devices) {
            assert_eq!(d.stats().peak, p.total_bytes(), "{}: {}", sc.name, d.name());
            assert!(d.alloc(1).is_err(), "sealed");
        }
        drop(a);
        for d in &devs {
            assert_eq!(d.stats().allocated, 0);
        }
    }
}

#[test]
fn fit_keeps_what_the_caller_set() {
    let Some((kimi, r1)) = fit_util::sparse_models() else {
        return;
    };
    let kimi = fit::ModelDesc::open(&kimi).unwrap();
    let r1 = fit::ModelDesc::open(&r1).unwrap();
    let sims = parse_devices(scenarios()[0].gpus, false).unwrap();
    let base = |model: &'static fit::ModelDesc, ctx: CtxParams| FitRequest {
        model,
        ctx,
        place: PlaceParams::default(),
        gpus: alloc::describe(&sims, fit::DEFAULT_MARGIN),
        host: DeviceDesc::new("CPU", HOST).with_margin(fit::DEFAULT_MARGIN),
        oracle: &AnalyticOracle,
        analytic: true,
        n_ctx_min: 0,
        user_set_n_ubatch: true,
    };
    let kimi: &'static fit::ModelDesc = Box::leak(Box::new(kimi));
    let r1: &'static fit::ModelDesc = Box::leak(Box::new(r1));
    // n_gpu_layers set by the caller: exactly that many positions (layers + output) on GPUs
    let mut req = base(kimi, scenarios()[0].ctx.clone());
    req.place.n_gpu_layers = 30;
    let r = fit::fit(&req).unwrap();
    let on_gpu = r.placement.layer_dev.iter().filter(|&&d| d < 8).count()
        + (r.placement.output_dev < 8) as usize;
    assert_eq!(on_gpu, 30);
    assert_eq!(r.place.n_gpu_layers, 30);
    assert!(r.plan.fits());
    // tensor_split set by the caller: the layer split is upstream's for those proportions
    let mut req = base(kimi, scenarios()[0].ctx.clone());
    req.place.tensor_split = vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 2.0, 2.0];
    let r = fit::fit(&req).unwrap();
    let want = placement::assign_layers(
        61,
        62,
        &(0..8).collect::<Vec<_>>(),
        &req.place.tensor_split,
        8,
    );
    assert_eq!(&r.placement.layer_dev[..], &want[..61]);
    assert_eq!(r.place.tensor_split, req.place.tensor_split);
    // a context the caller set that cannot fit: an error naming the value and the shortfall
    let mut req = base(
        r1,
        CtxParams {
            n_ctx: 163840,
            n_seq_max: 4,
            type_k: llama::quant::GgmlType::F32,
            ..Default::default()
        },
    );
    req.gpus = vec![DeviceDesc::new("SIM0", 24 << 30).with_margin(fit::DEFAULT_MARGIN)];
    req.host = DeviceDesc::new("CPU", 16 << 30);
    let e = fit::fit(&req).unwrap_err();
    println!("{e}");
    assert!(
        e.context.contains("n_ctx=163840") && e.context.contains("short by"),
        "{e}"
    );
    // left at 0 with a floor: the fit reduces the context and says so
    let mut req = base(
        r1,
        CtxParams {
            n_ctx: 0,
            n_seq_max: 1,
            type_k: llama::quant::GgmlType::F32,
            ..Default::default()
        },
    );
    req.gpus = vec![DeviceDesc::new("SIM0", 24 << 30).with_margin(fit::DEFAULT_MARGIN)];
    req.n_ctx_min = 4096;
    let r = fit::fit(&req).unwrap();
    assert!(
        r.ctx.n_ctx < 163840 && r.ctx.n_ctx >= 4096,
        "{}",
        r.ctx.n_ctx
    );
    assert!(
        r.notes.iter().any(|n| n.contains("n_ctx reduced")),
        "{:?}",
        r.notes
    );
    print!("{}", table::table(&r.plan));
}

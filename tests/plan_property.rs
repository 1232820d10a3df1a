//! Property test of the memory plan over random configurations: the models of
//! ../shared/data/models and the generated sparse Kimi-K2 / DeepSeek-R1 GGUFs; 1–8 simulated
//! devices with random budgets; random n_ctx, n_batch, n_ubatch, n_seq_max, cache types, flash
//! attention, offload_kqv, overrides, n_cpu_moe, n_gpu_layers, split mode and tensor_split.
//!
//! For each: the plan's per-device bytes equal the simulated devices' peak usage after
//! allocating it; a plan that does not fit is refused with every device left at its baseline;
//! stale free-memory figures (another process took memory) make the allocation fail cleanly,
//! also leaving every device at baseline. Independent checks against upstream's formulas:
//! weights add up to the file's tensors, KV bytes are upstream's `ggml_row_size(type,
//! n_embd_k_gqa) * kv_size * n_stream` (+ V unless MLA) with its context padding rules.

#[path = "fit_util.rs"]
mod fit_util;

use fit_util::Rng;
use llama::backend::sim::SimDevice;
use llama::fit::{
    self, alloc, placement, plan, AnalyticOracle, Category, CtxParams, DeviceDesc, FitRequest,
    PlaceParams, PlanInput, SplitMode,
};
use llama::quant::GgmlType;
use llama::ErrorKind;

const MIB: u64 = 1 << 20;

/// Upstream's KV size, written from llama-context.cpp / llama-kv-cache*.cpp independently of
/// the library.
fn upstream_kv(m: &fit::ModelDesc, c: &CtxParams) -> Option<u64> {
    let pad = |x: u64, n: u64| x.div_ceil(n) * n;
    let n_seq = c.n_seq_max.max(1) as u64;
    let mut n_ctx = if c.n_ctx == 0 { m.n_ctx_train } else { c.n_ctx } as u64;
    let n_batch = (c.n_batch as u64).min(n_ctx);
    let n_ubatch = if c.n_ubatch == 0 {
        n_batch
    } else {
        (c.n_ubatch as u64).min(n_batch)
    };
    n_ctx = pad(n_ctx, 256);
    let (kv_size, n_stream) = if c.kv_unified {
        (n_ctx, 1)
    } else {
        (pad(n_ctx / n_seq, 256), n_seq)
    };
    let swa_size = if c.swa_full {
        kv_size
    } else {
        let mult = if c.kv_unified { n_seq } else { 1 };
        pad(kv_size.min(m.n_swa as u64 * mult + n_ubatch), 256)
    };
    let mut total = 0;
    for il in 0..m.n_layer {
        let size = if m.is_swa(il) { swa_size } else { kv_size };
        let k = c.type_k.row_size(m.n_embd_k_gqa(il) as u64).ok()?;
        let v = if m.is_mla {
            0
        } else {
            c.type_v.row_size(m.n_embd_v_gqa(il) as u64).ok()?
        };
        total += (k + v) * size * n_stream;
    }
    Some(total)
}

fn random_ctx(r: &mut Rng, big: bool) -> CtxParams {
    let fa = r.bool();
    let kt = [
        GgmlType::F16,
        GgmlType::F32,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
    ];
    let vt_nofa = [GgmlType::F16, GgmlType::F32, GgmlType::BF16];
    let ctxs: &[u32] = if big {
        &[4096, 32768, 131072, 163840]
    } else {
        &[0, 1, 256, 300, 1000, 2048, 4096, 8192]
    };
    CtxParams {
        n_ctx: *r.pick(ctxs),
        n_batch: *r.pick(&[1, 32, 512, 2048, 4096]),
        n_ubatch: *r.pick(&[0, 1, 7, 64, 512, 2560, 4096]),
        n_seq_max: r.range(1, 4) as u32,
        type_k: *r.pick(&kt),
        type_v: if fa { *r.pick(&kt) } else { *r.pick(&vt_nofa) },
        flash_attn: fa,
        offload_kqv: r.range(0, 4) != 0,
        kv_unified: r.bool(),
        swa_full: r.range(0, 3) == 0,
        embeddings: r.bool(),
        n_outputs_max: *r.pick(&[0, 1, 64]),
        op_offload: r.bool(),
    }
}

fn random_place(r: &mut Rng, n_layer: u32, n_gpu: usize) -> PlaceParams {
    let pats = [
        "exps=CPU".to_string(),
        r"blk\.(1[0-9]|2[0-9])\.ffn_.*_exps\.=CPU".to_string(),
        r"blk\.0\.=CPU".to_string(),
        r"attn_.*=CPU".to_string(),
        format!(r"blk\.1\.ffn_.*=SIM{}", r.range(0, n_gpu as u64 - 1)),
        format!(r"^output\.=SIM{}", r.range(0, n_gpu as u64 - 1)),
    ];
    let mut overrides = Vec::new();
    for p in &pats {
        if r.range(0, 5) == 0 {
            overrides.extend(fit::params::parse_overrides(p).unwrap());
        }
    }
    PlaceParams {
        n_gpu_layers: if r.bool() {
            -1
        } else {
            r.range(0, n_layer as u64 + 1) as i32
        },
        split_mode: match r.range(0, 19) {
            0 => SplitMode::Row,
            1..=3 => SplitMode::None,
            _ => SplitMode::Layer,
        },
        main_gpu: r.range(0, n_gpu as u64 - 1) as i32,
        tensor_split: if r.bool() {
            Vec::new()
        } else {
            (0..n_gpu).map(|_| r.range(0, 4) as f32).collect()
        },
        overrides,
        n_cpu_moe: if r.bool() {
            0
        } else {
            r.range(0, n_layer as u64) as u32
        },
        use_mmap: r.range(0, 3) != 0,
        n_copies: None,
    }
}

#[test]
fn plan_equals_peak_usage() {
    let mut models = Vec::new();
    for p in fit_util::shared_models() {
        models.push((fit::ModelDesc::open(&p).expect("shared model"), false));
    }
    if models.is_empty() {
        return;
    }
    if let Some((k, r1)) = fit_util::sparse_models() {
        models.push((fit::ModelDesc::open(&k).unwrap(), true));
        models.push((fit::ModelDesc::open(&r1).unwrap(), true));
    }
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut allocated, mut rejected, mut stale, mut refused_params, mut fitted) = (0, 0, 0, 0, 0);
    for case in 0..400 {
        let (m, big) = &models[r.range(0, models.len() as u64 - 1) as usize];
        let n_gpu = r.range(1, 8) as usize;
        let scale = if *big {
            1 << 30
        } else {
            m.total_bytes().max(MIB) / 2
        };
        let budgets: Vec<u64> = (0..n_gpu)
            .map(|_| r.range(0, 80) * scale / 4 + r.range(0, MIB))
            .collect();
        // tiny models get real memory behind the simulated devices half of the time
        let backed = !*big && r.bool();
        let sims: Vec<SimDevice> = budgets
            .iter()
            .enumerate()
            .map(|(i, &b)| SimDevice::new(format!("SIM{i}"), b, backed))
            .collect();
        let host_budget = if *big {
            r.range(64, 1024) << 30
        } else {
            r.range(1, 512) * MIB
        };
        let margin = r.range(0, 4) * MIB;
        let mut gpus = alloc::describe(&sims, margin);
        let lie = r.range(0, 6) == 0;
        if lie {
            // stale figures: the devices really have less than they reported
            for g in &mut gpus {
                g.free = g.free.saturating_mul(2) + 64 * MIB;
                g.total = g.free;
            }
        }
        let host = DeviceDesc::new("CPU", host_budget).with_margin(margin);
        let ctx = random_ctx(&mut r, *big);
        let place = random_place(&mut r, m.n_layer, n_gpu);
        let inp = PlanInput {
            model: m,
            ctx: &ctx,
            gpus: &gpus,
            host: &host,
            use_mmap: place.use_mmap,
            oracle: &AnalyticOracle,
            analytic: true,
        };
        let use_fit = r.range(0, 3) == 0;
        let planned = if use_fit {
            let req = FitRequest {
                model: m,
                ctx: ctx.clone(),
                place: PlaceParams {
                    split_mode: SplitMode::Layer,
                    ..place.clone()
                },
                gpus: gpus.clone(),
                host: host.clone(),
                oracle: &AnalyticOracle,
                analytic: true,
                n_ctx_min: 256,
                user_set_n_ubatch: r.bool(),
            };
            let t0 = std::time::Instant::now();
            let res = fit::fit(&req);
            assert!(
                t0.elapsed().as_secs_f64() < 1.0,
                "case {case}: fit too slow"
            );
            res.map(|f| {
                fitted += 1;
                assert!(
                    f.plan.fits(),
                    "case {case}: fit returned a plan that does not fit"
                );
                (f.placement, f.plan)
            })
        } else {
            placement::resolve(m, &place, &gpus).and_then(|pl| {
                let n = plan::default_copies(m, &pl, ctx.offload_kqv);
                plan::compute_plan(&inp, &pl, n).map(|p| (pl, p))
            })
        };
        let (pl, p) = match planned {
            Ok(x) => x,
            Err(e) => {
                refused_params += 1;
                if place.split_mode == SplitMode::Row && !use_fit {
                    assert_eq!(e.kind, ErrorKind::Unsupported, "case {case}: {e}");
                }
                continue;
            }
        };
        // independent checks against upstream's formulas
        let w: u64 = p
            .devices
            .iter()
            .map(|d| d.get(Category::Weights) + d.mapped)
            .sum();
        // each tensor once; on a GPU padded to the weights buffer's alignment
        let expect: u64 = m
            .weights
            .iter()
            .zip(&pl.weight_dev)
            .map(|(t, &d)| {
                if d == pl.host() {
                    t.n_bytes
                } else {
                    t.n_bytes
                        .next_multiple_of(llama::fit::plan::WEIGHT_ALIGNMENT)
                }
            })
            .sum();
        assert_eq!(w, expect, "case {case}: weights");
        let kv: u64 = p.devices.iter().map(|d| d.get(Category::Kv)).sum();
        let pctx = if use_fit { None } else { Some(&ctx) };
        if let Some(c) = pctx {
            assert_eq!(Some(kv), upstream_kv(m, c), "case {case}: kv");
        }
        assert_eq!(pl.weight_dev.len(), m.weights.len());
        let mut devs = sims.clone();
        devs.push(SimDevice::new("CPU".into(), host_budget, false));
        for d in &devs {
            d.reset_peak();
        }
        let before: Vec<u64> = devs.iter().map(|d| d.stats().allocated).collect();
        match alloc::allocate_plan(&p, &devs) {
            Ok(a) => {
                assert!(p.fits(), "case {case}: allocated a plan that does not fit");
                for (d, dp) in devs.iter().zip(&p.devices) {
                    assert_eq!(
                        d.stats().peak,
                        dp.total_bytes(),
                        "case {case}: {}",
                        d.name()
                    );
                    assert_eq!(
                        a.bytes_on(devs.iter().position(|x| x.name() == d.name()).unwrap()),
                        dp.total_bytes()
                    );
                }
                allocated += 1;
                drop(a);
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::OutOfMemory, "case {case}: {e}");
                if p.fits() {
                    assert!(
                        lie,
                        "case {case}: a fitting plan failed on honest figures: {e}"
                    );
                    stale += 1;
                } else {
                    rejected += 1;
                }
            }
        }
        let after: Vec<u64> = devs.iter().map(|d| d.stats().allocated).collect();
        assert_eq!(before, after, "case {case}: devices not back at baseline");
        for d in &devs {
            assert!(d.alloc(0).is_ok(), "case {case}: {} left sealed", d.name());
        }
    }
    println!(
        "allocated {allocated}, rejected {rejected}, stale-figure failures {stale}, \
         refused parameters {refused_params}, fitted {fitted}"
    );
    assert!(
        allocated + rejected + stale >= 200,
        "too few configurations reached allocation"
    );
    assert!(allocated >= 60 && rejected >= 20 && stale >= 5);
}

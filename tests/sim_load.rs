//! Issue 7, must-show 1 and 2 through the real loader and context: models from
//! `../shared/data/models` placed on 1–8 memory-backed simulated GPUs with random budgets.
//!
//! Property (≥ 200 random configurations: model, devices, n_gpu_layers, overrides, n_ctx,
//! n_ubatch, n_seq_max, cache types, flash attention):
//! - a configuration is either loaded, and then every device's usage — and its peak — equals
//!   the plan's bytes for it to the byte (weights from the loader, the rest from the context),
//!   or refused with an error, and then every device is back at its baseline (0 bytes);
//! - decoding random batches over random sequences until the cache is full allocates nothing
//!   more on any device (simulated GPUs: allocation count and peak unchanged; host: the
//!   context's sealed counter refuses nothing);
//! - logits with weights on the simulated GPUs equal the host-only logits bit for bit (same
//!   kernels, same order), checked on the first batch.
//!
//! Faults: for every N, making the N-th allocation on a device fail during load or context
//! creation gives an error, no panic, and usage back at baseline.

#[path = "fit_util.rs"]
mod fit_util;

use std::path::PathBuf;
use std::sync::Arc;

use fit_util::Rng;

use llama::backend::sim::SimDevice;
use llama::context::{BatchView, Context, ContextParams};
use llama::fit::PlaceParams;
use llama::model::{Model, ModelParams};
use llama::quant::GgmlType;
use llama::ErrorKind;

fn models_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", d.display());
    }
    eprintln!("skipping: {} not found", d.display());
    None
}

/// Uniform in `0..n`.
fn below(r: &mut Rng, n: u64) -> u64 {
    r.next_u64() % n.max(1)
}

const MODELS: &[&str] = &[
    "llama-spm-F32",
    "llama-spm-Q8_0",
    "llama-spm-Q4_K_M",
    "llama3-Q8_0",
    "llama-moe-Q8_0",
    "qwen2-Q8_0",
    "qwen3-Q4_K_M",
    "qwen3moe-Q8_0",
    "deepseek2-Q8_0",
    "gemma3-Q8_0",
    "phi3-Q8_0",
];

struct Config {
    model: &'static str,
    budgets: Vec<u64>,
    place: PlaceParams,
    ctx: ContextParams,
}

fn random_config(r: &mut Rng) -> Config {
    let model = *r.pick(MODELS);
    let n_dev = 1 + below(r, 8) as usize;
    // 256 KiB .. 6 MiB each: the tiny models weigh 0.5–5 MiB, so some configurations fit
    // and some are refused
    let budgets = (0..n_dev)
        .map(|_| (256 << 10) + below(r, 6 << 20))
        .collect::<Vec<_>>();
    let overrides = match below(r, 4) {
        0 => vec![("ffn_.*_exps".to_string(), "CPU".to_string())],
        1 => vec![(
            r"blk\.0\.".to_string(),
            format!("SIM{}", below(r, n_dev as u64)),
        )],
        _ => Vec::new(),
    };
    let place = PlaceParams {
        n_gpu_layers: below(r, 6) as i32 - 1,
        overrides,
        ..Default::default()
    };
    let flash = below(r, 2) as i32;
    let types = [GgmlType::F16, GgmlType::F32, GgmlType::Q8_0];
    let type_k = *r.pick(&types);
    let type_v = if flash == 1 {
        *r.pick(&types)
    } else {
        *r.pick(&types[..2])
    };
    let n_ubatch = *r.pick(&[8u32, 16, 32, 64]);
    let ctx = ContextParams {
        n_ctx: 64 + 32 * below(r, 8) as u32,
        n_batch: n_ubatch * (1 + below(r, 2) as u32),
        n_ubatch,
        n_seq_max: 1 + below(r, 4) as u32,
        flash_attn: flash,
        type_k,
        type_v,
        n_threads: 2,
        n_threads_batch: 2,
        ..Default::default()
    };
    Config {
        model,
        budgets,
        place,
        ctx,
    }
}

fn devices(budgets: &[u64]) -> Vec<SimDevice> {
    budgets
        .iter()
        .enumerate()
        .map(|(i, &b)| SimDevice::new(format!("SIM{i}"), b, true))
        .collect()
}

fn load(dir: &std::path::Path, cfg: &Config, gpus: &[SimDevice]) -> llama::Result<Context> {
    let mp = ModelParams {
        gpus: gpus.to_vec(),
        place: cfg.place.clone(),
        ..Default::default()
    };
    let m = Model::load(&[dir.join(format!("{}.gguf", cfg.model))], &mp)?;
    Context::new(Arc::new(m), &cfg.ctx)
}

/// Decodes a batch; returns llama_decode's status and the last row's logits.
fn decode(c: &mut Context, toks: &[i32], pos: &[i32], seq: &[i32], what: &str) -> (i32, Vec<f32>) {
    let n_seq = vec![1i32; toks.len()];
    let seq_ptrs: Vec<&[i32]> = seq.chunks(1).collect();
    let mut logits = vec![0i8; toks.len()];
    if let Some(l) = logits.last_mut() {
        *l = 1;
    }
    let b = BatchView {
        n_tokens: toks.len() as i32,
        token: Some(toks),
        pos: Some(pos),
        n_seq_id: Some(&n_seq),
        seq_id: Some(seq_ptrs),
        logits: Some(&logits),
        ..Default::default()
    };
    let rc = c
        .decode(&b)
        .unwrap_or_else(|e| panic!("{what}: decode of {} tokens: {e}", toks.len()));
    let row = if rc == 0 {
        c.logits_ith(-1).map(|r| r.to_vec()).unwrap_or_default()
    } else {
        Vec::new()
    };
    (rc, row)
}

#[test]
fn plan_equals_device_usage_and_decode_allocates_nothing() {
    let Some(dir) = models_dir() else { return };
    // FERROLLAMA_SIM_SEED explores other configurations (CI runs the default seed)
    let seed = std::env::var("FERROLLAMA_SIM_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x5eed_1234_abcd_0007);
    let mut r = Rng(seed | 1);
    let (mut loaded, mut refused, mut refused_oom) = (0, 0, 0);
    for case in 0..220 {
        let cfg = random_config(&mut r);
        let gpus = devices(&cfg.budgets);
        let what = format!(
            "case {case}: {} on {:?} ngl {} ot {:?} ctx {}/{}/{} seq {} {:?}/{:?} fa {}",
            cfg.model,
            cfg.budgets,
            cfg.place.n_gpu_layers,
            cfg.place.overrides,
            cfg.ctx.n_ctx,
            cfg.ctx.n_batch,
            cfg.ctx.n_ubatch,
            cfg.ctx.n_seq_max,
            cfg.ctx.type_k,
            cfg.ctx.type_v,
            cfg.ctx.flash_attn
        );
        let mut c = match load(&dir, &cfg, &gpus) {
            Ok(c) => c,
            Err(e) => {
                // a refusal is for memory; any other error must not depend on the devices
                // (the same configuration on the host alone fails too)
                if e.kind == ErrorKind::OutOfMemory {
                    refused_oom += 1;
                } else {
                    let host_cfg = Config {
                        budgets: Vec::new(),
                        place: PlaceParams::default(),
                        ctx: cfg.ctx.clone(),
                        model: cfg.model,
                    };
                    assert!(
                        load(&dir, &host_cfg, &[]).is_err(),
                        "{what}: refused with {e}"
                    );
                }
                for d in &gpus {
                    assert_eq!(
                        d.stats().allocated,
                        0,
                        "{what}: refused ({e}) but not at baseline"
                    );
                }
                refused += 1;
                continue;
            }
        };
        loaded += 1;
        let plan = c
            .device_plan()
            .expect("a model on GPUs has a device plan")
            .clone();
        for (i, d) in gpus.iter().enumerate() {
            let s = d.stats();
            let planned = plan.devices[i].total_bytes();
            assert_eq!(s.allocated, planned, "{what}: {} usage vs plan", d.name());
            assert_eq!(s.peak, planned, "{what}: {} peak vs plan", d.name());
        }
        let before: Vec<_> = gpus.iter().map(SimDevice::stats).collect();
        // host-only twin for the first batch's logits
        let host_cfg = Config {
            budgets: Vec::new(),
            place: PlaceParams::default(),
            ctx: cfg.ctx.clone(),
            model: cfg.model,
        };
        let mut host = load(&dir, &host_cfg, &[]).expect("host-only twin");
        let n_vocab = c.model().n_vocab().max(2) as u64;
        let n_seq = cfg.ctx.n_seq_max as u64;
        let mut next_pos = vec![0i32; n_seq as usize];
        let mut first = true;
        loop {
            let n = 1 + below(&mut r, cfg.ctx.n_batch as u64) as usize;
            let mut toks = Vec::with_capacity(n);
            let mut pos = Vec::with_capacity(n);
            let mut seq = Vec::with_capacity(n);
            for _ in 0..n {
                let s = below(&mut r, n_seq) as usize;
                toks.push(1 + below(&mut r, n_vocab - 1) as i32);
                pos.push(next_pos[s]);
                next_pos[s] += 1;
                seq.push(s as i32);
            }
            let (rc, row) = decode(&mut c, &toks, &pos, &seq, &what);
            if first {
                let (rc2, row2) = decode(&mut host, &toks, &pos, &seq, &what);
                assert_eq!(
                    (rc, &row),
                    (rc2, &row2),
                    "{what}: logits differ from host-only"
                );
                first = false;
            }
            if rc != 0 {
                assert_eq!(rc, 1, "{what}: decode status");
                break;
            }
        }
        for (d, b) in gpus.iter().zip(&before) {
            let s = d.stats();
            assert_eq!(
                s.n_allocs,
                b.n_allocs,
                "{what}: {} allocated while decoding",
                d.name()
            );
            assert_eq!(
                s.peak,
                b.peak,
                "{what}: {} peak moved while decoding",
                d.name()
            );
        }
        let host_stats = c.alloc_counter().stats();
        assert!(
            host_stats.sealed && host_stats.denied == 0,
            "{what}: host {host_stats:?}"
        );
        drop(c);
        drop(host);
        for d in &gpus {
            assert_eq!(d.stats().allocated, 0, "{what}: {} not freed", d.name());
        }
    }
    eprintln!(
        "{loaded} configurations loaded and decoded to a full cache, {refused} refused \
         ({refused_oom} for memory)"
    );
    assert!(
        loaded >= 60 && refused_oom >= 20,
        "loaded {loaded}, refused {refused} ({refused_oom} for memory)"
    );
}

#[test]
fn failing_any_allocation_during_load_or_context_is_a_clean_error() {
    let Some(dir) = models_dir() else { return };
    for model in ["llama-moe-Q8_0", "deepseek2-Q8_0", "gemma3-Q8_0"] {
        let cfg = Config {
            model,
            budgets: vec![3 << 20, 2 << 20, 4 << 20],
            place: PlaceParams::default(),
            ctx: ContextParams {
                n_ctx: 128,
                n_batch: 32,
                n_ubatch: 32,
                n_threads: 1,
                n_threads_batch: 1,
                ..Default::default()
            },
        };
        let mut injected = 0;
        for dev in 0..cfg.budgets.len() {
            for n in 1.. {
                let gpus = devices(&cfg.budgets);
                gpus[dev].fail_nth_alloc(Some(n));
                let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    load(&dir, &cfg, &gpus).map(drop)
                }));
                let res =
                    res.unwrap_or_else(|_| panic!("{model}: panic with SIM{dev} #{n} failing"));
                for d in &gpus {
                    assert_eq!(d.stats().allocated, 0, "{model}: {} leaked", d.name());
                }
                let failed = gpus[dev].stats().n_failed > 0;
                // an injected failure is retried once after re-reading free memory, so a load
                // may still succeed; either way nothing is left over (checked above)
                match (res, failed) {
                    (Err(e), false) => panic!("{model}: error without the injected failure: {e}"),
                    (_, true) => injected += 1,
                    (Ok(()), false) => break,
                }
            }
        }
        assert!(injected > 0, "{model}: no injected failure was ever hit");
    }
}

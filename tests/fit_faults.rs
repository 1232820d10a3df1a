//! Fault injection on plan allocation: for every device and every N, failing the N-th
//! allocation gives a clean out-of-memory error and leaves every device at its baseline
//! (nothing leaked, nothing sealed); memory taken by "another process" between the plan and
//! the allocation triggers one re-query and re-plan; when even that cannot fit, the error names
//! the device, the bytes needed and the bytes free.

#[path = "fit_util.rs"]
mod fit_util;

use llama::backend::sim::SimDevice;
use llama::fit::{self, alloc, AnalyticOracle, CtxParams, DeviceDesc, FitRequest, PlaceParams};
use llama::ErrorKind;

const MIB: u64 = 1 << 20;

fn model() -> Option<fit::ModelDesc> {
    let p = fit_util::shared_models()
        .into_iter()
        .find(|p| p.ends_with("qwen3moe-F32.gguf"))?;
    Some(fit::ModelDesc::open(&p).expect("qwen3moe"))
}

fn request<'a>(m: &'a fit::ModelDesc, gpus: Vec<DeviceDesc>, host: u64) -> FitRequest<'a> {
    FitRequest {
        model: m,
        ctx: CtxParams {
            n_ctx: 2048,
            n_ubatch: 64,
            n_seq_max: 2,
            embeddings: true,
            ..Default::default()
        },
        place: PlaceParams::default(),
        gpus,
        host: DeviceDesc::new("CPU", host),
        oracle: &AnalyticOracle,
        analytic: true,
        n_ctx_min: 0,
        user_set_n_ubatch: true,
    }
}

#[test]
fn every_failed_allocation_is_clean() {
    let Some(m) = model() else { return };
    let mut devs: Vec<SimDevice> = [5 * MIB, 4 * MIB, 6 * MIB]
        .iter()
        .enumerate()
        .map(|(i, &b)| SimDevice::new(format!("SIM{i}"), b, true))
        .collect();
    devs.push(SimDevice::new("CPU".into(), 256 * MIB, true));
    let gpus = alloc::describe(&devs[..3], 0);
    let r = fit::fit(&request(&m, gpus, 256 * MIB)).expect("fit");
    print!("{}", fit::table::table(&r.plan));
    let per_dev: Vec<u64> = r
        .plan
        .devices
        .iter()
        .map(|d| d.bytes.iter().filter(|&&b| b > 0).count() as u64)
        .collect();
    assert!(per_dev.iter().sum::<u64>() >= 8, "{per_dev:?}");
    let mut injected = 0;
    for (di, &n_allocs) in per_dev.iter().enumerate() {
        for n in 1..=n_allocs + 1 {
            devs[di].fail_nth_alloc(Some(n));
            let res = alloc::allocate_plan(&r.plan, &devs);
            devs[di].fail_nth_alloc(None);
            match res {
                Err(e) => {
                    assert!(n <= n_allocs, "device {di}: failure {n} of {n_allocs}");
                    assert_eq!(e.kind, ErrorKind::OutOfMemory);
                    assert!(e.context.contains(devs[di].name()), "{e}");
                    injected += 1;
                }
                Ok(a) => {
                    assert_eq!(n, n_allocs + 1, "device {di}: injected failure {n} ignored");
                    drop(a);
                }
            }
            for d in &devs {
                assert_eq!(d.stats().allocated, 0, "{} leaked", d.name());
                let b = d.alloc(0).expect("not sealed after failure");
                drop(b);
            }
        }
    }
    assert_eq!(injected, per_dev.iter().sum::<u64>());
}

#[test]
fn memory_taken_meanwhile_replans_once() {
    let Some(m) = model() else { return };
    let mut devs: Vec<SimDevice> = (0..2)
        .map(|i| SimDevice::new(format!("SIM{i}"), 3 * MIB, false))
        .collect();
    devs.push(SimDevice::new("CPU".into(), 256 * MIB, false));
    let gpus = alloc::describe(&devs[..2], 0);
    let r = fit::fit(&request(&m, gpus, 256 * MIB)).expect("fit");
    // another process takes most of SIM1 after the plan was made
    assert!(
        r.plan.devices[1].total_bytes() > 0,
        "the first plan uses SIM1"
    );
    let thief = devs[1].alloc(devs[1].free() - 1000).unwrap();
    let baseline: Vec<u64> = devs.iter().map(|d| d.stats().allocated).collect();
    let mut replans = 0;
    let (p2, a) = alloc::allocate_with_replan(r.plan.clone(), &devs, 0, |fresh| {
        replans += 1;
        let gpus = fresh[..2].to_vec();
        fit::fit(&request(&m, gpus, 256 * MIB)).map(|f| f.plan)
    })
    .expect("re-plan fits");
    assert_eq!(replans, 1);
    assert_ne!(p2, r.plan);
    for (d, dp) in devs.iter().zip(&p2.devices) {
        let base = baseline[devs.iter().position(|x| x.name() == d.name()).unwrap()];
        assert_eq!(d.stats().allocated, base + dp.total_bytes(), "{}", d.name());
    }
    drop(a);
    // now the host is gone too: a clean error naming a device, its need and its free bytes
    let host_thief = devs[2].alloc(256 * MIB - MIB).unwrap();
    let err = alloc::allocate_with_replan(r.plan.clone(), &devs, 0, |fresh| {
        let req = FitRequest {
            host: fresh[2].clone(),
            ..request(&m, fresh[..2].to_vec(), 0)
        };
        fit::fit(&req).map(|f| f.plan)
    })
    .expect_err("nothing fits");
    assert_eq!(err.kind, ErrorKind::OutOfMemory);
    println!("{err}");
    assert!(
        err.context.contains("bytes") && err.context.contains("free"),
        "{err}"
    );
    for (d, &b) in devs.iter().zip(&baseline) {
        let extra = if d.name() == "CPU" {
            256 * MIB - MIB
        } else {
            0
        };
        assert_eq!(
            d.stats().allocated,
            b + extra,
            "{} not at baseline",
            d.name()
        );
    }
    drop((thief, host_thief));
}

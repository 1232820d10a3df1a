//! Prints the fitted memory plan of a GGUF on a set of (simulated) devices: the per-device
//! table, the `-ot` string and how long the fit took.
//!
//! ```text
//! cargo run --release --example fit -- MODEL.gguf [options]
//!   --gpus 32110MiB,24082MiB   GPU sizes (default: FERROLLAMA_SIM_DEVICES)
//!   --host 512GiB              host RAM (default 512GiB)
//!   -c N  -b N  -ub N  -np N   context, batch, micro-batch, sequences (-c 0: model's, may shrink)
//!   -ctk T -ctv T -fa          cache types, flash attention
//!   --margin 128MiB            per-device margin
//!   -ot PATTERN=BUFT,...       overrides kept as given
//!   --no-alloc                 plan only (default: also allocate on accounting-only devices)
//! ```

use std::path::PathBuf;
use std::time::Instant;

use llama::backend::sim::{parse_devices, parse_size, SimDevice};
use llama::fit::{self, alloc, plan, table, AnalyticOracle, CtxParams, DeviceDesc, FitRequest};

fn main() {
    if let Err(e) = run() {
        eprintln!("fit: {e}");
        std::process::exit(1);
    }
}

fn run() -> llama::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut path = None;
    let mut gpus = std::env::var("FERROLLAMA_SIM_DEVICES").unwrap_or_default();
    let mut host = 512u64 << 30;
    let mut margin = fit::DEFAULT_MARGIN;
    let mut ctx = CtxParams {
        n_ctx: 0,
        ..Default::default()
    };
    let mut place = fit::PlaceParams::default();
    let mut user_ub = false;
    let mut no_alloc = false;
    let mut i = 0;
    let bad = |s: &str| llama::Error::invalid(format!("bad value for {s}"));
    while i < args.len() {
        let a = args[i].as_str();
        let mut val = || -> llama::Result<String> {
            i += 1;
            args.get(i).cloned().ok_or_else(|| bad(a))
        };
        match a {
            "--gpus" => gpus = val()?,
            "--host" => host = parse_size(&val()?)?,
            "--margin" => margin = parse_size(&val()?)?,
            "-c" => ctx.n_ctx = val()?.parse().map_err(|_| bad(a))?,
            "-b" => ctx.n_batch = val()?.parse().map_err(|_| bad(a))?,
            "-ub" => {
                ctx.n_ubatch = val()?.parse().map_err(|_| bad(a))?;
                user_ub = true;
            }
            "-np" => ctx.n_seq_max = val()?.parse().map_err(|_| bad(a))?,
            "-ctk" => ctx.type_k = plan::cache_type(&val()?)?,
            "-ctv" => ctx.type_v = plan::cache_type(&val()?)?,
            "-fa" => ctx.flash_attn = true,
            "-ot" => place.overrides = fit::params::parse_overrides(&val()?)?,
            "--no-alloc" => no_alloc = true,
            p if path.is_none() => path = Some(PathBuf::from(p)),
            other => return Err(llama::Error::invalid(format!("unknown argument {other}"))),
        }
        i += 1;
    }
    let path = path.ok_or_else(|| llama::Error::invalid("usage: fit MODEL.gguf [options]"))?;
    let t0 = Instant::now();
    let model = fit::ModelDesc::open(&path)?;
    let t_read = t0.elapsed();
    let sims = parse_devices(&gpus, false)?;
    let gpu_descs: Vec<DeviceDesc> = alloc::describe(&sims, margin);
    let req = FitRequest {
        model: &model,
        ctx,
        place,
        gpus: gpu_descs,
        host: DeviceDesc::new("CPU", host).with_margin(margin),
        oracle: &AnalyticOracle,
        analytic: true,
        n_ctx_min: 4096,
        user_set_n_ubatch: user_ub,
    };
    let t1 = Instant::now();
    let r = fit::fit(&req)?;
    let t_fit = t1.elapsed();
    println!(
        "{}: {} layers, {} weights, {:.1} GiB",
        path.display(),
        model.n_layer,
        model.weights.len(),
        model.total_bytes() as f64 / (1u64 << 30) as f64
    );
    print!("{}", table::table(&r.plan));
    for n in &r.notes {
        println!("note: {n}");
    }
    println!("-ot {}", r.ot);
    println!(
        "read {:.1} ms, fit {:.1} ms ({} plans)",
        t_read.as_secs_f64() * 1e3,
        t_fit.as_secs_f64() * 1e3,
        r.n_probes
    );
    if !no_alloc {
        let mut devs = sims;
        devs.push(SimDevice::new("CPU".into(), host, false));
        let a = alloc::allocate_plan(&r.plan, &devs)?;
        for (d, p) in devs.iter().zip(&r.plan.devices) {
            println!(
                "{}: allocated {} bytes (plan {}), peak {}",
                d.name(),
                d.stats().allocated,
                p.total_bytes(),
                d.stats().peak
            );
        }
        drop(a);
    }
    Ok(())
}

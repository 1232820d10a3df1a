//! ferrollama's own C extensions (`include/ferrollama.h`, names prefixed `ferrollama_` so that
//! upstream never takes them):
//! - [`ferrollama_fit`]: upstream `common_fit_params`' contract over the memory plan — the
//!   model's header is read once and every probe asks the planner; no model is loaded.
//! - [`ferrollama_memory_breakdown`]: the per-device table of a context (what it allocated).

use std::ffi::{c_char, CString};
use std::sync::Mutex;

use once_cell::sync::Lazy;

use super::boundary::{c_str, ffi_guard, require_non_null};
use super::context::LlamaContext;
use super::devices::{self, Dev};
use super::ferrollama_types::*;
use super::log::{log_error, log_info};
use super::misc::{LLAMA_MAX_DEVICES, LLAMA_MAX_TENSOR_BUFT_OVERRIDES};
use super::types::*;
use crate::error::{Error, Result};
use crate::fit::{
    self, placement, plan, table, AnalyticOracle, CtxParams, DeviceDesc, FitRequest, ModelDesc,
    PlaceParams, PlanInput,
};
use crate::quant::GgmlType;

/// Pattern strings handed out through `tensor_buft_overrides` (valid until the next fit).
static PATTERNS: Lazy<Mutex<Vec<CString>>> = Lazy::new(|| Mutex::new(Vec::new()));

/// The plan's context parameters from `llama_context_params`.
fn ctx_params(p: &llama_context_params, has_swa: bool) -> Result<CtxParams> {
    let ty = |v: ggml_type, what: &str| {
        u32::try_from(v)
            .ok()
            .and_then(GgmlType::from_u32)
            .ok_or_else(|| Error::invalid(format!("invalid {what} {v}")))
    };
    Ok(CtxParams {
        n_ctx: p.n_ctx,
        n_batch: p.n_batch,
        n_ubatch: p.n_ubatch,
        n_seq_max: p.n_seq_max,
        type_k: ty(p.type_k, "type_k")?,
        type_v: ty(p.type_v, "type_v")?,
        // auto means on for the CPU kernels
        flash_attn: p.flash_attn_type != 0,
        offload_kqv: p.offload_kqv,
        // as the context plans it (see `context::devices::ctx_params`)
        kv_unified: p.kv_unified || has_swa,
        swa_full: p.swa_full,
        embeddings: p.embeddings,
        n_outputs_max: 0,
        // as the context plans it: host weights are never staged on a simulated GPU
        op_offload: false,
    })
}

/// GPUs as the fit sees them: free now, the caller's margin (or the default).
fn gpu_descs(gpus: &[crate::backend::sim::SimDevice], margins: *const usize) -> Vec<DeviceDesc> {
    gpus.iter()
        .enumerate()
        .map(|(i, d)| {
            let margin = if margins.is_null() {
                fit::DEFAULT_MARGIN
            } else {
                // SAFETY: `margins` holds one entry per device (the contract).
                unsafe { *margins.add(i) as u64 }
            };
            let mut desc = DeviceDesc::new(d.name(), d.budget()).with_margin(margin);
            desc.free = d.free();
            desc
        })
        .collect()
}

/// The host as the fit sees it: unlimited, as upstream's fit assumes.
fn host_desc() -> DeviceDesc {
    DeviceDesc::new("CPU", u64::MAX / 4).with_margin(0)
}

fn log_plan(plan: &fit::MemoryPlan, ot: &str) {
    log_info!("ferrollama_fit: memory plan:\n{}", table::table(plan));
    log_info!("ferrollama_fit: -ot {ot}");
}

/// Writes the fitted overrides into the caller's buffer (terminated by a NULL pattern).
///
/// # Safety
/// `buf` holds `LLAMA_MAX_TENSOR_BUFT_OVERRIDES` writable entries.
unsafe fn write_overrides(
    buf: *mut llama_model_tensor_buft_override,
    overrides: &[(String, String)],
    gpus: &[crate::backend::sim::SimDevice],
) -> Result<()> {
    if overrides.len() >= LLAMA_MAX_TENSOR_BUFT_OVERRIDES {
        return Err(Error::invalid(format!(
            "{} overrides do not fit the buffer of {LLAMA_MAX_TENSOR_BUFT_OVERRIDES}",
            overrides.len()
        )));
    }
    let all = devices::sim_devices();
    let mut store = PATTERNS.lock().unwrap_or_else(|p| p.into_inner());
    store.clear();
    for (i, (pat, buft)) in overrides.iter().enumerate() {
        let dev = if buft == "CPU" {
            Dev::Cpu
        } else {
            let k = gpus
                .iter()
                .find(|d| d.name() == buft)
                .and_then(|d| all.iter().position(|a| a.name() == d.name()))
                .ok_or_else(|| Error::internal(format!("fit placed weights on unknown {buft}")))?;
            Dev::Sim(k)
        };
        let c = CString::new(pat.as_str()).map_err(|_| Error::invalid("NUL in a pattern"))?;
        let entry = llama_model_tensor_buft_override {
            pattern: c.as_ptr(),
            buft: devices::buft_handle(dev),
        };
        store.push(c);
        // SAFETY: i < len < capacity (checked above).
        unsafe { buf.add(i).write(entry) };
    }
    // SAFETY: as above; the terminator.
    unsafe {
        buf.add(overrides.len())
            .write(llama_model_tensor_buft_override {
                pattern: std::ptr::null(),
                buft: std::ptr::null_mut(),
            })
    };
    Ok(())
}

/// The fit proper; `Ok(false)` is FAILURE (logged), an error is ERROR.
///
/// # Safety
/// As [`ferrollama_fit`].
unsafe fn run_fit(
    path: &str,
    mparams: &mut llama_model_params,
    cparams: &mut llama_context_params,
    tensor_split: *mut f32,
    overrides: *mut llama_model_tensor_buft_override,
    margins: *const usize,
    n_ctx_min: u32,
) -> Result<bool> {
    let model = ModelDesc::open(std::path::Path::new(path))?;
    // SAFETY: per this function's contract.
    let (gpus, place) = unsafe { super::placement::from_params(mparams)? };
    let descs = gpu_descs(&gpus, margins);
    let ctx = ctx_params(cparams, model.n_swa > 0)?;
    let host = host_desc();
    let user_ngl = mparams.n_gpu_layers != -1;
    let user_split = place.tensor_split.iter().any(|&x| x != 0.0);
    if user_ngl || user_split || gpus.is_empty() {
        // nothing left to choose: check the caller's placement
        let pl = placement::resolve(&model, &place, &descs)?;
        let inp = PlanInput {
            model: &model,
            ctx: &ctx,
            gpus: &descs,
            host: &host,
            use_mmap: true,
            oracle: &AnalyticOracle,
            analytic: true,
        };
        let copies = plan::default_copies(&model, &pl, ctx.offload_kqv);
        let p = plan::compute_plan(&inp, &pl, copies)?;
        log_plan(&p, &placement::override_string(&model, &pl, &descs));
        if let Some(e) = p.overflow_error() {
            let what = if user_ngl {
                format!("n_gpu_layers = {}", mparams.n_gpu_layers)
            } else {
                "tensor_split".to_string()
            };
            log_error!("ferrollama_fit: {what} was set by the caller and does not fit: {e}");
            return Ok(false);
        }
        return Ok(true);
    }
    let req = FitRequest {
        model: &model,
        ctx,
        place: PlaceParams { ..place },
        gpus: descs,
        host,
        oracle: &AnalyticOracle,
        analytic: true,
        n_ctx_min,
        user_set_n_ubatch: cparams.n_ubatch != 512,
    };
    let r = match fit::fit(&req) {
        Ok(r) => r,
        Err(e) if e.kind == crate::ErrorKind::OutOfMemory => {
            log_error!("ferrollama_fit: no placement fits: {e}");
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    log_plan(&r.plan, &r.ot);
    for n in &r.notes {
        log_info!("ferrollama_fit: {n}");
    }
    if !r.place.overrides.is_empty() {
        if overrides.is_null() {
            return Err(Error::invalid(
                "the fit needs overrides but tensor_buft_overrides is NULL",
            ));
        }
        // SAFETY: a writable buffer of LLAMA_MAX_TENSOR_BUFT_OVERRIDES entries (contract).
        unsafe { write_overrides(overrides, &r.place.overrides, &gpus)? };
        mparams.tensor_buft_overrides = overrides;
    }
    if !tensor_split.is_null() && !r.place.tensor_split.is_empty() {
        for i in 0..LLAMA_MAX_DEVICES {
            let v = r.place.tensor_split.get(i).copied().unwrap_or(0.0);
            // SAFETY: LLAMA_MAX_DEVICES writable floats (contract).
            unsafe { *tensor_split.add(i) = v };
        }
        mparams.tensor_split = tensor_split;
    }
    mparams.n_gpu_layers = r.place.n_gpu_layers;
    cparams.n_ctx = r.ctx.n_ctx;
    cparams.n_batch = r.ctx.n_batch;
    cparams.n_ubatch = r.ctx.n_ubatch;
    Ok(true)
}

/// Fits `mparams` and `cparams` to the free memory of the devices, as upstream's
/// `common_fit_params`: only parameters left at their defaults are changed (`n_gpu_layers`
/// −1, `tensor_split` all zero, `n_ubatch` 512, and `n_ctx` only when 0, down to `n_ctx_min`);
/// the caller's overrides are kept and the fitted expert overrides are written into
/// `tensor_buft_overrides` (at least `llama_max_tensor_buft_overrides()` entries), the split
/// into `tensor_split` (at least `llama_max_devices()` floats); `margins` (one per device, NULL:
/// the default) is left free on each GPU. The table and the equivalent `-ot` string are logged.
/// A value the caller set that does not fit is FAILURE, with the device and the shortfall.
///
/// # Safety
/// Pointers are NULL or valid as described; `mparams`' own lists follow llama.h.
#[no_mangle]
pub unsafe extern "C" fn ferrollama_fit(
    path_model: *const c_char,
    mparams: *mut llama_model_params,
    cparams: *mut llama_context_params,
    tensor_split: *mut f32,
    tensor_buft_overrides: *mut llama_model_tensor_buft_override,
    margins: *const usize,
    n_ctx_min: u32,
) -> ferrollama_fit_status {
    ffi_guard!("ferrollama_fit", FERROLLAMA_FIT_STATUS_ERROR, {
        require_non_null!(
            "ferrollama_fit",
            FERROLLAMA_FIT_STATUS_ERROR,
            path_model,
            mparams,
            cparams
        );
        // SAFETY: non-NULL, NUL-terminated (contract).
        let path = unsafe { c_str(path_model) }
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // SAFETY: non-NULL and writable (contract).
        let (mp, cp) = unsafe { (&mut *mparams, &mut *cparams) };
        // SAFETY: forwarded contract.
        match unsafe {
            run_fit(
                &path,
                mp,
                cp,
                tensor_split,
                tensor_buft_overrides,
                margins,
                n_ctx_min,
            )
        } {
            Ok(true) => FERROLLAMA_FIT_STATUS_SUCCESS,
            Ok(false) => FERROLLAMA_FIT_STATUS_FAILURE,
            Err(e) => {
                log_error!("ferrollama_fit: {path}: {e}");
                FERROLLAMA_FIT_STATUS_ERROR
            }
        }
    })
}

/// Fills up to `n_max` rows of `ctx`'s per-device memory table (simulated GPUs, then the
/// host): what the context and its model allocated, which is the plan. Returns the number of
/// rows (call with `n_max` 0 to size the buffer), −1 for a NULL context.
///
/// # Safety
/// `ctx` is NULL or a live context; `out` is NULL or holds `n_max` writable rows.
#[no_mangle]
pub unsafe extern "C" fn ferrollama_memory_breakdown(
    ctx: *const llama_context,
    out: *mut ferrollama_device_memory,
    n_max: usize,
) -> i32 {
    ffi_guard!("ferrollama_memory_breakdown", -1, {
        require_non_null!("ferrollama_memory_breakdown", -1, ctx);
        // SAFETY: a live context from llama_init_from_model (contract).
        let Some(h) = (unsafe { (ctx as *const LlamaContext).as_ref() }) else {
            return -1;
        };
        let rows = h.ctx.memory_rows();
        if !out.is_null() {
            for (i, r) in rows.iter().take(n_max).enumerate() {
                let mut name = [0 as c_char; 32];
                for (d, &b) in name.iter_mut().zip(r.name.as_bytes().iter().take(31)) {
                    *d = b as c_char;
                }
                let row = ferrollama_device_memory {
                    name,
                    is_host: r.is_host,
                    total: r.total,
                    free: r.free,
                    weights: r.weights,
                    kv: r.kv,
                    compute: r.compute,
                    other: r.other,
                    margin: r.margin,
                };
                // SAFETY: i < n_max rows, writable (contract).
                unsafe { out.add(i).write(row) };
            }
        }
        i32::try_from(rows.len()).unwrap_or(i32::MAX)
    })
}

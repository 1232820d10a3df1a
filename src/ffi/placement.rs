//! `llama_model_params` → where the loader places weights: the simulated GPUs to use
//! (`devices`, default: all of them) and the placement parameters (`n_gpu_layers`, `split_mode`,
//! `main_gpu`, `tensor_split`, `tensor_buft_overrides`).

use super::boundary::c_str;
use super::devices::{self, Dev};
use super::types::*;
use crate::backend::sim::SimDevice;
use crate::error::{Error, Result};
use crate::fit::{PlaceParams, SplitMode};

/// Upper bound on the entries read from the NULL-terminated `devices` and override lists.
const MAX_LIST: usize = 4096;

/// The GPUs and placement parameters `params` asks for.
///
/// # Safety
/// The pointers in `params` must follow llama.h's contract: `devices` NULL or NULL-terminated,
/// `tensor_buft_overrides` NULL or terminated by an entry with a NULL pattern, `tensor_split`
/// NULL or holding one float per device.
pub unsafe fn from_params(params: &llama_model_params) -> Result<(Vec<SimDevice>, PlaceParams)> {
    let all = devices::sim_devices();
    let mut gpus = Vec::new();
    if params.devices.is_null() {
        gpus = all.clone();
    } else {
        for i in 0..MAX_LIST {
            // SAFETY: NULL-terminated list per the contract; reading stops at the NULL.
            let h = unsafe { *params.devices.add(i) };
            if h.is_null() {
                break;
            }
            match devices::resolve_dev(h) {
                Some(Dev::Sim(k)) => gpus.push(all[k].clone()),
                Some(Dev::Cpu) => {}
                None => {
                    return Err(Error::invalid(format!(
                        "devices[{i}]: unknown device {h:p}"
                    )))
                }
            }
        }
    }
    let split_mode = match params.split_mode {
        LLAMA_SPLIT_MODE_NONE => SplitMode::None,
        LLAMA_SPLIT_MODE_LAYER => SplitMode::Layer,
        LLAMA_SPLIT_MODE_ROW => SplitMode::Row,
        other => {
            return Err(Error::unsupported(format!(
                "split_mode {other} is not supported (use none or layer)"
            )))
        }
    };
    let tensor_split = if params.tensor_split.is_null() {
        Vec::new()
    } else {
        // SAFETY: one float per device per the contract; we read one per GPU in use.
        (0..gpus.len())
            .map(|i| unsafe { *params.tensor_split.add(i) })
            .collect()
    };
    let mut overrides = Vec::new();
    if !params.tensor_buft_overrides.is_null() {
        for i in 0..MAX_LIST {
            // SAFETY: the list ends with an entry whose pattern is NULL (contract).
            let o = unsafe { *params.tensor_buft_overrides.add(i) };
            // SAFETY: a non-NULL pattern is a NUL-terminated string (contract).
            let Some(pat) = (unsafe { c_str(o.pattern) }) else {
                break;
            };
            let dev = devices::resolve_buft(o.buft).ok_or_else(|| {
                Error::invalid(format!(
                    "tensor_buft_overrides[{i}] ({}): unknown buffer type",
                    pat.to_string_lossy()
                ))
            })?;
            let name = match dev {
                Dev::Cpu => "CPU".to_string(),
                Dev::Sim(k) => all[k].name().to_string(),
            };
            overrides.push((pat.to_string_lossy().into_owned(), name));
        }
    }
    let place = PlaceParams {
        n_gpu_layers: params.n_gpu_layers,
        split_mode,
        main_gpu: params.main_gpu,
        tensor_split,
        overrides,
        n_cpu_moe: 0,
        use_mmap: true,
        n_copies: None,
    };
    Ok((gpus, place))
}

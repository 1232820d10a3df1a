//! llama.h functions that need no model: version, backend init, capabilities, time, names of enum
//! values, split-path helpers, system info, and the training entry points.

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Mutex;

use super::boundary::{c_str, ffi_guard, require_non_null, unsupported, write_c_string};
use super::log::log_error;
use super::types::*;

/// The version string (upstream's `LLAMA_VERSION` for the pinned commit).
pub const LLAMA_VERSION: &CStr = c"0.5.0-dev";
/// `llama_max_devices()`.
pub const LLAMA_MAX_DEVICES: usize = 16;
/// `llama_max_parallel_sequences()` (upstream's `LLAMA_MAX_SEQ`).
pub const LLAMA_MAX_SEQ: usize = 256;
/// `llama_max_tensor_buft_overrides()`.
pub const LLAMA_MAX_TENSOR_BUFT_OVERRIDES: usize = 4096;

/// The display name of a file type, as upstream spells it (with "(guessed) " for guessed types).
pub fn ftype_name(ftype: llama_ftype) -> &'static CStr {
    let guessed = ftype & LLAMA_FTYPE_GUESSED != 0;
    let name: &'static CStr = match ftype & !LLAMA_FTYPE_GUESSED {
        LLAMA_FTYPE_ALL_F32 => c"all F32",
        LLAMA_FTYPE_MOSTLY_F16 => c"F16",
        LLAMA_FTYPE_MOSTLY_BF16 => c"BF16",
        LLAMA_FTYPE_MOSTLY_Q1_0 => c"Q1_0",
        LLAMA_FTYPE_MOSTLY_Q2_0 => c"Q2_0",
        LLAMA_FTYPE_MOSTLY_Q4_0 => c"Q4_0",
        LLAMA_FTYPE_MOSTLY_Q4_1 => c"Q4_1",
        LLAMA_FTYPE_MOSTLY_Q5_0 => c"Q5_0",
        LLAMA_FTYPE_MOSTLY_Q5_1 => c"Q5_1",
        LLAMA_FTYPE_MOSTLY_Q8_0 => c"Q8_0",
        LLAMA_FTYPE_MOSTLY_MXFP4_MOE => c"MXFP4 MoE",
        LLAMA_FTYPE_MOSTLY_NVFP4 => c"NVFP4",
        LLAMA_FTYPE_MOSTLY_Q2_K => c"Q2_K - Medium",
        LLAMA_FTYPE_MOSTLY_Q2_K_S => c"Q2_K - Small",
        LLAMA_FTYPE_MOSTLY_Q3_K_S => c"Q3_K - Small",
        LLAMA_FTYPE_MOSTLY_Q3_K_M => c"Q3_K - Medium",
        LLAMA_FTYPE_MOSTLY_Q3_K_L => c"Q3_K - Large",
        LLAMA_FTYPE_MOSTLY_Q4_K_S => c"Q4_K - Small",
        LLAMA_FTYPE_MOSTLY_Q4_K_M => c"Q4_K - Medium",
        LLAMA_FTYPE_MOSTLY_Q5_K_S => c"Q5_K - Small",
        LLAMA_FTYPE_MOSTLY_Q5_K_M => c"Q5_K - Medium",
        LLAMA_FTYPE_MOSTLY_Q6_K => c"Q6_K",
        LLAMA_FTYPE_MOSTLY_TQ1_0 => c"TQ1_0 - 1.69 bpw ternary",
        LLAMA_FTYPE_MOSTLY_TQ2_0 => c"TQ2_0 - 2.06 bpw ternary",
        LLAMA_FTYPE_MOSTLY_IQ2_XXS => c"IQ2_XXS - 2.0625 bpw",
        LLAMA_FTYPE_MOSTLY_IQ2_XS => c"IQ2_XS - 2.3125 bpw",
        LLAMA_FTYPE_MOSTLY_IQ2_S => c"IQ2_S - 2.5 bpw",
        LLAMA_FTYPE_MOSTLY_IQ2_M => c"IQ2_M - 2.7 bpw",
        LLAMA_FTYPE_MOSTLY_IQ3_XS => c"IQ3_XS - 3.3 bpw",
        LLAMA_FTYPE_MOSTLY_IQ3_XXS => c"IQ3_XXS - 3.0625 bpw",
        LLAMA_FTYPE_MOSTLY_IQ1_S => c"IQ1_S - 1.5625 bpw",
        LLAMA_FTYPE_MOSTLY_IQ1_M => c"IQ1_M - 1.75 bpw",
        LLAMA_FTYPE_MOSTLY_IQ4_NL => c"IQ4_NL - 4.5 bpw",
        LLAMA_FTYPE_MOSTLY_IQ4_XS => c"IQ4_XS - 4.25 bpw",
        LLAMA_FTYPE_MOSTLY_IQ3_S => c"IQ3_S - 3.4375 bpw",
        LLAMA_FTYPE_MOSTLY_IQ3_M => c"IQ3_S mix - 3.66 bpw",
        _ => c"unknown, may not work",
    };
    if !guessed {
        return name;
    }
    // The guessed variants are few and fixed: intern them once.
    static GUESSED: Mutex<Vec<(&'static CStr, &'static CStr)>> = Mutex::new(Vec::new());
    let mut cache = match GUESSED.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some((_, g)) = cache.iter().find(|(k, _)| *k == name) {
        return g;
    }
    let text = format!("(guessed) {}", name.to_string_lossy());
    let leaked: &'static CStr =
        Box::leak(CString::new(text).unwrap_or_default().into_boxed_c_str());
    cache.push((name, leaked));
    leaked
}

/// Name of a file type, e.g. "Q4_K - Medium".
#[no_mangle]
pub extern "C" fn llama_ftype_name(ftype: llama_ftype) -> *const c_char {
    ffi_guard!("llama_ftype_name", std::ptr::null(), {
        ftype_name(ftype).as_ptr()
    })
}

/// "auto", "disabled" or "enabled"; NULL (with a log line) for other values.
#[no_mangle]
pub extern "C" fn llama_flash_attn_type_name(
    flash_attn_type: llama_flash_attn_type,
) -> *const c_char {
    ffi_guard!("llama_flash_attn_type_name", std::ptr::null(), {
        match flash_attn_type {
            LLAMA_FLASH_ATTN_TYPE_AUTO => c"auto".as_ptr(),
            LLAMA_FLASH_ATTN_TYPE_DISABLED => c"disabled".as_ptr(),
            LLAMA_FLASH_ATTN_TYPE_ENABLED => c"enabled".as_ptr(),
            other => {
                log_error!("llama_flash_attn_type_name: invalid value {other}");
                std::ptr::null()
            }
        }
    })
}

const LOAD_MODES: [(llama_load_mode, &CStr); 6] = [
    (LLAMA_LOAD_MODE_AUTO, c"auto"),
    (LLAMA_LOAD_MODE_NONE, c"none"),
    (LLAMA_LOAD_MODE_MMAP, c"mmap"),
    (LLAMA_LOAD_MODE_MLOCK, c"mlock"),
    (LLAMA_LOAD_MODE_MMAP_MLOCK, c"mmap+mlock"),
    (LLAMA_LOAD_MODE_DIRECT_IO, c"dio"),
];

/// Name of a load mode ("auto", "mmap", ...); NULL (with a log line) for other values.
#[no_mangle]
pub extern "C" fn llama_load_mode_name(load_mode: llama_load_mode) -> *const c_char {
    ffi_guard!("llama_load_mode_name", std::ptr::null(), {
        match LOAD_MODES.iter().find(|(m, _)| *m == load_mode) {
            Some((_, n)) => n.as_ptr(),
            None => {
                log_error!("llama_load_mode_name: invalid value {load_mode}");
                std::ptr::null()
            }
        }
    })
}

/// Parses a load mode name. Upstream throws on an unknown name; here it logs an error and returns
/// `LLAMA_LOAD_MODE_AUTO`.
#[no_mangle]
pub unsafe extern "C" fn llama_load_mode_from_str(str: *const c_char) -> llama_load_mode {
    ffi_guard!("llama_load_mode_from_str", LLAMA_LOAD_MODE_AUTO, {
        require_non_null!("llama_load_mode_from_str", LLAMA_LOAD_MODE_AUTO, str);
        // SAFETY: non-NULL, NUL-terminated per the llama.h contract.
        let s = unsafe { c_str(str) }.unwrap_or_default();
        match LOAD_MODES.iter().find(|(_, n)| *n == s) {
            Some((m, _)) => *m,
            None => {
                log_error!(
                    "llama_load_mode_from_str: unknown load mode: {}",
                    s.to_string_lossy()
                );
                LLAMA_LOAD_MODE_AUTO
            }
        }
    })
}

/// The library version ("0.5.0-dev", as upstream's build of the pinned commit).
#[no_mangle]
pub extern "C" fn llama_version() -> *const c_char {
    LLAMA_VERSION.as_ptr()
}

/// Backends are built in; nothing to initialise.
#[no_mangle]
pub extern "C" fn llama_backend_init() {
    ffi_guard!("llama_backend_init", (), {
        super::boundary::install_panic_hook()
    })
}

/// Nothing to free.
#[no_mangle]
pub extern "C" fn llama_backend_free() {}

/// Accepted; NUMA placement is not implemented (see `ggml_numa_init`).
#[no_mangle]
pub extern "C" fn llama_numa_init(numa: ggml_numa_strategy) {
    super::ggml::ggml_numa_init(numa)
}

/// Microseconds of the monotonic clock (same clock as `ggml_time_us`).
#[no_mangle]
pub extern "C" fn llama_time_us() -> i64 {
    ffi_guard!("llama_time_us", 0, { super::ggml::time_us() })
}

/// 16, as upstream.
#[no_mangle]
pub extern "C" fn llama_max_devices() -> usize {
    LLAMA_MAX_DEVICES
}

/// 256, as upstream.
#[no_mangle]
pub extern "C" fn llama_max_parallel_sequences() -> usize {
    LLAMA_MAX_SEQ
}

/// 4096, as upstream.
#[no_mangle]
pub extern "C" fn llama_max_tensor_buft_overrides() -> usize {
    LLAMA_MAX_TENSOR_BUFT_OVERRIDES
}

/// Models are memory-mapped: true.
#[no_mangle]
pub extern "C" fn llama_supports_mmap() -> bool {
    true
}

/// `mlock` is available on this platform: true.
#[no_mangle]
pub extern "C" fn llama_supports_mlock() -> bool {
    true
}

/// True when a GPU device (a simulated one) is registered.
#[no_mangle]
pub extern "C" fn llama_supports_gpu_offload() -> bool {
    ffi_guard!("llama_supports_gpu_offload", false, {
        super::devices::count() > 1
    })
}

/// No RPC backend: false.
#[no_mangle]
pub extern "C" fn llama_supports_rpc() -> bool {
    false
}

/// The GGUF key of a sampling metadata entry; NULL for other values.
#[no_mangle]
pub extern "C" fn llama_model_meta_key_str(key: llama_model_meta_key) -> *const c_char {
    ffi_guard!("llama_model_meta_key_str", std::ptr::null(), {
        let s: &CStr = match key {
            LLAMA_MODEL_META_KEY_SAMPLING_SEQUENCE => c"general.sampling.sequence",
            LLAMA_MODEL_META_KEY_SAMPLING_TOP_K => c"general.sampling.top_k",
            LLAMA_MODEL_META_KEY_SAMPLING_TOP_P => c"general.sampling.top_p",
            LLAMA_MODEL_META_KEY_SAMPLING_MIN_P => c"general.sampling.min_p",
            LLAMA_MODEL_META_KEY_SAMPLING_XTC_PROBABILITY => c"general.sampling.xtc_probability",
            LLAMA_MODEL_META_KEY_SAMPLING_XTC_THRESHOLD => c"general.sampling.xtc_threshold",
            LLAMA_MODEL_META_KEY_SAMPLING_TEMP => c"general.sampling.temp",
            LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_LAST_N => c"general.sampling.penalty_last_n",
            LLAMA_MODEL_META_KEY_SAMPLING_PENALTY_REPEAT => c"general.sampling.penalty_repeat",
            LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT => c"general.sampling.mirostat",
            LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_TAU => c"general.sampling.mirostat_tau",
            LLAMA_MODEL_META_KEY_SAMPLING_MIROSTAT_ETA => c"general.sampling.mirostat_eta",
            _ => return std::ptr::null(),
        };
        s.as_ptr()
    })
}

/// Writes "<prefix>-NNNNN-of-MMMMM.gguf" (split_no counted from 0) like `snprintf`; returns its
/// length, or 0 if it did not fit in `maxlen` bytes (a truncated string is still written).
#[no_mangle]
pub unsafe extern "C" fn llama_split_path(
    split_path: *mut c_char,
    maxlen: usize,
    path_prefix: *const c_char,
    split_no: i32,
    split_count: i32,
) -> i32 {
    ffi_guard!("llama_split_path", 0, {
        require_non_null!("llama_split_path", 0, path_prefix);
        // SAFETY: non-NULL, NUL-terminated per the llama.h contract.
        let prefix = unsafe { c_str(path_prefix) }.unwrap_or_default().to_bytes();
        let mut s = prefix.to_vec();
        s.extend_from_slice(
            format!("-{:05}-of-{:05}.gguf", i64::from(split_no) + 1, split_count).as_bytes(),
        );
        // SAFETY: `split_path` is NULL or has `maxlen` writable bytes per the llama.h contract.
        let n = unsafe { write_c_string(split_path, maxlen, &s) };
        if n < 0 || n as usize >= maxlen {
            0
        } else {
            n
        }
    })
}

/// If `split_path` ends with "-NNNNN-of-MMMMM.gguf" for these numbers, writes the prefix before it
/// (snprintf-style, truncated to `maxlen`) and returns the prefix length; otherwise returns 0.
#[no_mangle]
pub unsafe extern "C" fn llama_split_prefix(
    split_prefix: *mut c_char,
    maxlen: usize,
    split_path: *const c_char,
    split_no: i32,
    split_count: i32,
) -> i32 {
    ffi_guard!("llama_split_prefix", 0, {
        require_non_null!("llama_split_prefix", 0, split_path);
        // SAFETY: non-NULL, NUL-terminated per the llama.h contract.
        let path = unsafe { c_str(split_path) }.unwrap_or_default().to_bytes();
        let postfix = format!("-{:05}-of-{:05}.gguf", i64::from(split_no) + 1, split_count);
        if path.len() <= postfix.len() || !path.ends_with(postfix.as_bytes()) {
            return 0;
        }
        let prefix = &path[..path.len() - postfix.len()];
        // SAFETY: `split_prefix` is NULL or has `maxlen` writable bytes per the llama.h contract.
        unsafe { write_c_string(split_prefix, maxlen, prefix) }
    })
}

/// "CPU : SSE3 = 1 | AVX = 1 | ... | ": the CPU features found at run time. The string stays valid
/// until the next call.
#[no_mangle]
pub extern "C" fn llama_print_system_info() -> *const c_char {
    static INFO: Mutex<Option<CString>> = Mutex::new(None);
    ffi_guard!("llama_print_system_info", std::ptr::null(), {
        let mut g = match INFO.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let s = g.insert(CString::new(super::ggml::system_info()).unwrap_or_default());
        s.as_ptr()
    })
}

/// Always true (every tensor is trainable).
#[no_mangle]
pub extern "C" fn llama_opt_param_filter_all(
    tensor: *const ggml_tensor,
    userdata: *mut c_void,
) -> bool {
    let _ = (tensor, userdata);
    true
}

/// Training (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_opt_init(
    lctx: *mut llama_context,
    model: *mut llama_model,
    lopt_params: llama_opt_params,
) {
    unsupported!("llama_opt_init", (), lctx, model, lopt_params)
}

/// Training (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_opt_epoch(
    lctx: *mut llama_context,
    dataset: ggml_opt_dataset_t,
    result_train: ggml_opt_result_t,
    result_eval: ggml_opt_result_t,
    idata_split: i64,
    callback_train: ggml_opt_epoch_callback,
    callback_eval: ggml_opt_epoch_callback,
) {
    unsupported!(
        "llama_opt_epoch",
        (),
        lctx,
        dataset,
        result_train,
        result_eval,
        idata_split,
        callback_train,
        callback_eval
    )
}

//! The ggml-side functions clients call through libllama: time, logging, type names, and device /
//! the CPU registry's feature list. Devices, registries and buffer types are in [`super::devices`].

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use super::boundary::{c_str, ffi_guard, require_non_null};
use super::devices::{is_cpu_reg, known_reg};
use super::log::log_error;
use super::types::*;
use crate::quant::types::GgmlType;

// ----- time -------------------------------------------------------------------------------------

/// Nanoseconds in a timespec (the casts matter on 32-bit targets).
#[allow(clippy::unnecessary_cast)]
fn timespec_ns(ts: &libc::timespec) -> i64 {
    ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64
}

fn monotonic_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    timespec_ns(&ts)
}

/// Microseconds of the monotonic clock (as upstream's `ggml_time_us`).
pub fn time_us() -> i64 {
    monotonic_ns() / 1000
}

/// Nothing to initialise on Linux.
#[no_mangle]
pub extern "C" fn ggml_time_init() {}

/// Milliseconds of the monotonic clock.
#[no_mangle]
pub extern "C" fn ggml_time_ms() -> i64 {
    ffi_guard!("ggml_time_ms", 0, { monotonic_ns() / 1_000_000 })
}

/// Microseconds of the monotonic clock.
#[no_mangle]
pub extern "C" fn ggml_time_us() -> i64 {
    ffi_guard!("ggml_time_us", 0, { time_us() })
}

/// Processor time in `clock()` ticks (microseconds on POSIX, where CLOCKS_PER_SEC is 1e6).
#[no_mangle]
pub extern "C" fn ggml_cycles() -> i64 {
    ffi_guard!("ggml_cycles", 0, {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        timespec_ns(&ts) / 1000
    })
}

/// Ticks of [`ggml_cycles`] per millisecond (1000).
#[no_mangle]
pub extern "C" fn ggml_cycles_per_ms() -> i64 {
    1000
}

// ----- logging ----------------------------------------------------------------------------------

/// Same logger as `llama_log_set` (one logger serves both libraries here).
#[no_mangle]
pub unsafe extern "C" fn ggml_log_set(log_callback: ggml_log_callback, user_data: *mut c_void) {
    // SAFETY: same contract as llama_log_set.
    unsafe { super::log::llama_log_set(log_callback, user_data) }
}

/// Same logger as `llama_log_get`.
#[no_mangle]
pub unsafe extern "C" fn ggml_log_get(
    log_callback: *mut ggml_log_callback,
    user_data: *mut *mut c_void,
) {
    // SAFETY: same contract as llama_log_get.
    unsafe { super::log::llama_log_get(log_callback, user_data) }
}

// ----- types ------------------------------------------------------------------------------------

fn ggml_type_of(ty: ggml_type) -> Option<GgmlType> {
    u32::try_from(ty).ok().and_then(GgmlType::from_u32)
}

/// NUL-terminated names of the ggml types, built once.
fn type_name_cstr(t: GgmlType) -> *const c_char {
    static NAMES: OnceLock<Vec<(GgmlType, std::ffi::CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (0..GGML_TYPE_COUNT as u32)
            .filter_map(GgmlType::from_u32)
            .map(|t| (t, std::ffi::CString::new(t.name()).unwrap_or_default()))
            .collect()
    });
    names
        .iter()
        .find(|(k, _)| *k == t)
        .map_or(c"NONE".as_ptr(), |(_, n)| n.as_ptr())
}

/// The name of a ggml type ("f32", "q4_K", ...); "NONE" for unknown values.
#[no_mangle]
pub extern "C" fn ggml_type_name(r#type: ggml_type) -> *const c_char {
    ffi_guard!("ggml_type_name", c"NONE".as_ptr(), {
        match ggml_type_of(r#type) {
            Some(t) => type_name_cstr(t),
            None => c"NONE".as_ptr(),
        }
    })
}

/// Elements per block of a ggml type (0 for unknown values).
#[no_mangle]
pub extern "C" fn ggml_blck_size(r#type: ggml_type) -> i64 {
    ffi_guard!("ggml_blck_size", 0, {
        ggml_type_of(r#type).map_or(0, |t| t.block_size() as i64)
    })
}

/// Bytes per block of a ggml type (0 for unknown values).
#[no_mangle]
pub extern "C" fn ggml_type_size(r#type: ggml_type) -> usize {
    ffi_guard!("ggml_type_size", 0, {
        ggml_type_of(r#type).map_or(0, |t| t.type_size())
    })
}

/// Bytes per element as a float (0 for unknown values).
#[no_mangle]
pub extern "C" fn ggml_type_sizef(r#type: ggml_type) -> f64 {
    ffi_guard!("ggml_type_sizef", 0.0, {
        ggml_type_of(r#type).map_or(0.0, |t| t.type_size() as f64 / t.block_size() as f64)
    })
}

/// Bytes of a row of `ne` elements (0 for unknown types or invalid lengths).
#[no_mangle]
pub extern "C" fn ggml_row_size(r#type: ggml_type, ne: i64) -> usize {
    ffi_guard!("ggml_row_size", 0, {
        match (ggml_type_of(r#type), u64::try_from(ne)) {
            (Some(t), Ok(n)) => t
                .row_size(n)
                .ok()
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(0),
            _ => 0,
        }
    })
}

/// Whether a ggml type is block-quantized.
#[no_mangle]
pub extern "C" fn ggml_is_quantized(r#type: ggml_type) -> bool {
    ffi_guard!("ggml_is_quantized", false, {
        ggml_type_of(r#type).is_some_and(|t| t.is_quantized())
    })
}

// ----- NUMA -------------------------------------------------------------------------------------

/// Accepted and ignored: the CPU backend does not place memory per NUMA node yet.
#[no_mangle]
pub extern "C" fn ggml_numa_init(numa: ggml_numa_strategy) {
    ffi_guard!("ggml_numa_init", (), {
        if !(GGML_NUMA_STRATEGY_DISABLED..GGML_NUMA_STRATEGY_COUNT).contains(&numa) {
            log_error!("ggml_numa_init: invalid strategy {numa}");
        }
    })
}

/// Always false (see [`ggml_numa_init`]).
#[no_mangle]
pub extern "C" fn ggml_is_numa() -> bool {
    false
}

// ----- CPU registry extras (devices, registries and buffer types: see `devices`) -----------------

/// The CPU features this build detects at run time, as (name, "1") pairs ending with a NULL name.
fn cpu_features() -> &'static [ggml_backend_feature] {
    struct Features(Vec<ggml_backend_feature>);
    // SAFETY: the pointers in the list point to 'static string literals; the list is never mutated.
    unsafe impl Send for Features {}
    // SAFETY: as above, read-only after construction.
    unsafe impl Sync for Features {}
    static LIST: OnceLock<Features> = OnceLock::new();
    &LIST
        .get_or_init(|| {
            let mut v: Vec<ggml_backend_feature> = Vec::new();
            #[cfg(target_arch = "x86_64")]
            {
                let checks: [(&'static CStr, bool); 12] = [
                    (c"SSE3", std::arch::is_x86_feature_detected!("sse3")),
                    (c"SSSE3", std::arch::is_x86_feature_detected!("ssse3")),
                    (c"AVX", std::arch::is_x86_feature_detected!("avx")),
                    (c"AVX_VNNI", std::arch::is_x86_feature_detected!("avxvnni")),
                    (c"AVX2", std::arch::is_x86_feature_detected!("avx2")),
                    (c"F16C", std::arch::is_x86_feature_detected!("f16c")),
                    (c"FMA", std::arch::is_x86_feature_detected!("fma")),
                    (c"BMI2", std::arch::is_x86_feature_detected!("bmi2")),
                    (c"AVX512", std::arch::is_x86_feature_detected!("avx512f")),
                    (
                        c"AVX512_VBMI",
                        std::arch::is_x86_feature_detected!("avx512vbmi"),
                    ),
                    (
                        c"AVX512_VNNI",
                        std::arch::is_x86_feature_detected!("avx512vnni"),
                    ),
                    (
                        c"AVX512_BF16",
                        std::arch::is_x86_feature_detected!("avx512bf16"),
                    ),
                ];
                for (name, present) in checks {
                    if present {
                        v.push(ggml_backend_feature {
                            name: name.as_ptr(),
                            value: c"1".as_ptr(),
                        });
                    }
                }
            }
            v.push(ggml_backend_feature {
                name: std::ptr::null(),
                value: std::ptr::null(),
            });
            Features(v)
        })
        .0
}

/// `ggml_backend_get_features` of the CPU registry (reached through `ggml_backend_reg_get_proc_address`).
unsafe extern "C" fn cpu_get_features(reg: ggml_backend_reg_t) -> *mut ggml_backend_feature {
    let _ = reg;
    ffi_guard!("ggml_backend_get_features", std::ptr::null_mut(), {
        cpu_features().as_ptr().cast_mut()
    })
}

/// Text of `llama_print_system_info`: "CPU : SSE3 = 1 | AVX = 1 | ... | ".
pub fn system_info() -> String {
    let mut s = String::from("CPU : ");
    for f in cpu_features().iter().take_while(|f| !f.name.is_null()) {
        // SAFETY: the names and values are 'static NUL-terminated literals.
        let (n, v) = unsafe { (CStr::from_ptr(f.name), CStr::from_ptr(f.value)) };
        s.push_str(&format!(
            "{} = {} | ",
            n.to_string_lossy(),
            v.to_string_lossy()
        ));
    }
    s
}

/// Extra entry points of a registry: only `ggml_backend_get_features` for the CPU; NULL otherwise.
#[no_mangle]
pub unsafe extern "C" fn ggml_backend_reg_get_proc_address(
    reg: ggml_backend_reg_t,
    name: *const c_char,
) -> *mut c_void {
    ffi_guard!("ggml_backend_reg_get_proc_address", std::ptr::null_mut(), {
        require_non_null!(
            "ggml_backend_reg_get_proc_address",
            std::ptr::null_mut(),
            name
        );
        if known_reg("ggml_backend_reg_get_proc_address", reg).is_none() || !is_cpu_reg(reg) {
            return std::ptr::null_mut();
        }
        // SAFETY: non-NULL C string per the ggml contract.
        let n = unsafe { c_str(name) }
            .map(|s| s.to_bytes())
            .unwrap_or_default();
        if n == b"ggml_backend_get_features" {
            cpu_get_features as *mut c_void
        } else {
            std::ptr::null_mut()
        }
    })
}

/// Backends are built in: nothing to load.
#[no_mangle]
pub extern "C" fn ggml_backend_load_all() {}

/// Backends are built in: nothing to load.
#[no_mangle]
pub extern "C" fn ggml_backend_load_all_from_path(dir_path: *const c_char) {
    let _ = dir_path;
}

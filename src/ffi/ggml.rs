//! The ggml-side functions clients call through libllama: time, logging, type names, and device /
//! registry enumeration (one CPU device, one "CPU" registry, one "CPU" buffer type for now).
//!
//! Device, registry and buffer-type handles are addresses of statics in this file; every function
//! checks that a handle it receives is one of them before using it.

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use super::boundary::{c_str, ffi_guard, require_non_null};
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

// ----- devices, registries, buffer types ----------------------------------------------------------

/// Backing storage for the handle statics (their addresses are the handles).
struct Handle(#[allow(dead_code)] u8);

static CPU_DEVICE: Handle = Handle(0);
static CPU_REG: Handle = Handle(1);
static CPU_BUFT: Handle = Handle(2);

fn cpu_dev() -> ggml_backend_dev_t {
    std::ptr::addr_of!(CPU_DEVICE) as ggml_backend_dev_t
}
fn cpu_reg() -> ggml_backend_reg_t {
    std::ptr::addr_of!(CPU_REG) as ggml_backend_reg_t
}
fn cpu_buft() -> ggml_backend_buffer_type_t {
    std::ptr::addr_of!(CPU_BUFT) as ggml_backend_buffer_type_t
}

/// Checks that `dev` is a device handle of this library (logs when it is not).
fn known_dev(name: &str, dev: ggml_backend_dev_t) -> bool {
    let ok = dev == cpu_dev();
    if !ok {
        log_error!("{name}: unknown device handle {dev:p}");
    }
    ok
}

fn known_reg(name: &str, reg: ggml_backend_reg_t) -> bool {
    let ok = reg == cpu_reg();
    if !ok {
        log_error!("{name}: unknown backend registry handle {reg:p}");
    }
    ok
}

fn known_buft(name: &str, buft: ggml_backend_buffer_type_t) -> bool {
    let ok = buft == cpu_buft();
    if !ok {
        log_error!("{name}: unknown buffer type handle {buft:p}");
    }
    ok
}

/// The CPU's model name from /proc/cpuinfo, or "CPU".
fn cpu_description() -> &'static CStr {
    static DESC: OnceLock<std::ffi::CString> = OnceLock::new();
    DESC.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = text
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "CPU".to_string());
        std::ffi::CString::new(model).unwrap_or_default()
    })
}

/// Total physical memory in bytes (upstream reports all of it as free, too).
fn physical_memory() -> usize {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGE_SIZE),
        )
    };
    if pages <= 0 || page <= 0 {
        0
    } else {
        (pages as usize).saturating_mul(page as usize)
    }
}

/// Number of devices: 1 (the CPU).
#[no_mangle]
pub extern "C" fn ggml_backend_dev_count() -> usize {
    1
}

/// Device `index` (only 0 exists); NULL otherwise.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_get(index: usize) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_dev_get", std::ptr::null_mut(), {
        if index == 0 {
            cpu_dev()
        } else {
            log_error!("ggml_backend_dev_get: index {index} out of range");
            std::ptr::null_mut()
        }
    })
}

/// The device called `name` (case-insensitive, as upstream); NULL if none.
#[no_mangle]
pub unsafe extern "C" fn ggml_backend_dev_by_name(name: *const c_char) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_dev_by_name", std::ptr::null_mut(), {
        require_non_null!("ggml_backend_dev_by_name", std::ptr::null_mut(), name);
        // SAFETY: non-NULL C string per the ggml contract.
        let n = unsafe { c_str(name) }
            .map(|s| s.to_bytes())
            .unwrap_or_default();
        if n.eq_ignore_ascii_case(b"CPU") {
            cpu_dev()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// The first device of type `type`; NULL if none.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_by_type(r#type: ggml_backend_dev_type) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_dev_by_type", std::ptr::null_mut(), {
        if r#type == GGML_BACKEND_DEVICE_TYPE_CPU {
            cpu_dev()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// The device's name ("CPU"); NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_name(device: ggml_backend_dev_t) -> *const c_char {
    ffi_guard!("ggml_backend_dev_name", std::ptr::null(), {
        if known_dev("ggml_backend_dev_name", device) {
            c"CPU".as_ptr()
        } else {
            std::ptr::null()
        }
    })
}

/// The device's description (the CPU model name); NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_description(device: ggml_backend_dev_t) -> *const c_char {
    ffi_guard!("ggml_backend_dev_description", std::ptr::null(), {
        if known_dev("ggml_backend_dev_description", device) {
            cpu_description().as_ptr()
        } else {
            std::ptr::null()
        }
    })
}

/// Free and total memory of the device (0 and 0 for an unknown handle).
#[no_mangle]
pub unsafe extern "C" fn ggml_backend_dev_memory(
    device: ggml_backend_dev_t,
    free: *mut usize,
    total: *mut usize,
) {
    ffi_guard!("ggml_backend_dev_memory", (), {
        let mem = if known_dev("ggml_backend_dev_memory", device) {
            physical_memory()
        } else {
            0
        };
        // SAFETY (both): non-NULL outputs point to writable size_t per the ggml contract.
        if !free.is_null() {
            unsafe { *free = mem };
        }
        if !total.is_null() {
            unsafe { *total = mem };
        }
    })
}

/// The device's type (CPU).
#[no_mangle]
pub extern "C" fn ggml_backend_dev_type(device: ggml_backend_dev_t) -> ggml_backend_dev_type {
    ffi_guard!("ggml_backend_dev_type", GGML_BACKEND_DEVICE_TYPE_CPU, {
        known_dev("ggml_backend_dev_type", device);
        GGML_BACKEND_DEVICE_TYPE_CPU
    })
}

/// Fills `props` for the device (nothing is written for an unknown handle or NULL `props`).
#[no_mangle]
pub unsafe extern "C" fn ggml_backend_dev_get_props(
    device: ggml_backend_dev_t,
    props: *mut ggml_backend_dev_props,
) {
    ffi_guard!("ggml_backend_dev_get_props", (), {
        if props.is_null() {
            log_error!("ggml_backend_dev_get_props: props is NULL");
            return;
        }
        if !known_dev("ggml_backend_dev_get_props", device) {
            return;
        }
        let mem = physical_memory();
        let p = ggml_backend_dev_props {
            name: c"CPU".as_ptr(),
            description: cpu_description().as_ptr(),
            memory_free: mem,
            memory_total: mem,
            r#type: GGML_BACKEND_DEVICE_TYPE_CPU,
            device_id: std::ptr::null(),
            caps: ggml_backend_dev_caps {
                r#async: false,
                host_buffer: false,
                buffer_from_host_ptr: true,
                events: false,
                mmap_support: true,
            },
        };
        // SAFETY: non-NULL and writable per the ggml contract.
        unsafe { props.write(p) };
    })
}

/// The registry a device belongs to.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_backend_reg(device: ggml_backend_dev_t) -> ggml_backend_reg_t {
    ffi_guard!("ggml_backend_dev_backend_reg", std::ptr::null_mut(), {
        if known_dev("ggml_backend_dev_backend_reg", device) {
            cpu_reg()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// The device's default buffer type.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_buffer_type(
    device: ggml_backend_dev_t,
) -> ggml_backend_buffer_type_t {
    ffi_guard!("ggml_backend_dev_buffer_type", std::ptr::null_mut(), {
        if known_dev("ggml_backend_dev_buffer_type", device) {
            cpu_buft()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// The device's pinned host buffer type: none for the CPU (NULL).
#[no_mangle]
pub extern "C" fn ggml_backend_dev_host_buffer_type(
    device: ggml_backend_dev_t,
) -> ggml_backend_buffer_type_t {
    let _ = device;
    std::ptr::null_mut()
}

/// The CPU buffer type.
#[no_mangle]
pub extern "C" fn ggml_backend_cpu_buffer_type() -> ggml_backend_buffer_type_t {
    cpu_buft()
}

/// A buffer type's name ("CPU"); NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_name(buft: ggml_backend_buffer_type_t) -> *const c_char {
    ffi_guard!("ggml_backend_buft_name", std::ptr::null(), {
        if known_buft("ggml_backend_buft_name", buft) {
            c"CPU".as_ptr()
        } else {
            std::ptr::null()
        }
    })
}

/// Whether buffers of this type live in host memory (true for the CPU).
#[no_mangle]
pub extern "C" fn ggml_backend_buft_is_host(buft: ggml_backend_buffer_type_t) -> bool {
    ffi_guard!("ggml_backend_buft_is_host", false, {
        known_buft("ggml_backend_buft_is_host", buft)
    })
}

/// The device a buffer type belongs to.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_device(
    buft: ggml_backend_buffer_type_t,
) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_buft_get_device", std::ptr::null_mut(), {
        if known_buft("ggml_backend_buft_get_device", buft) {
            cpu_dev()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// Alignment of buffers of this type (64 bytes for the CPU, as upstream's TENSOR_ALIGNMENT... of 32
/// rounded up to a cache line); 0 for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_alignment(buft: ggml_backend_buffer_type_t) -> usize {
    ffi_guard!("ggml_backend_buft_get_alignment", 0, {
        if known_buft("ggml_backend_buft_get_alignment", buft) {
            64
        } else {
            0
        }
    })
}

/// Largest single buffer of this type (no limit for the CPU); 0 for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_max_size(buft: ggml_backend_buffer_type_t) -> usize {
    ffi_guard!("ggml_backend_buft_get_max_size", 0, {
        if known_buft("ggml_backend_buft_get_max_size", buft) {
            usize::MAX
        } else {
            0
        }
    })
}

/// Number of backend registries: 1 (CPU).
#[no_mangle]
pub extern "C" fn ggml_backend_reg_count() -> usize {
    1
}

/// Registry `index` (only 0 exists).
#[no_mangle]
pub extern "C" fn ggml_backend_reg_get(index: usize) -> ggml_backend_reg_t {
    ffi_guard!("ggml_backend_reg_get", std::ptr::null_mut(), {
        if index == 0 {
            cpu_reg()
        } else {
            log_error!("ggml_backend_reg_get: index {index} out of range");
            std::ptr::null_mut()
        }
    })
}

/// The registry called `name` (case-insensitive); NULL if none.
#[no_mangle]
pub unsafe extern "C" fn ggml_backend_reg_by_name(name: *const c_char) -> ggml_backend_reg_t {
    ffi_guard!("ggml_backend_reg_by_name", std::ptr::null_mut(), {
        require_non_null!("ggml_backend_reg_by_name", std::ptr::null_mut(), name);
        // SAFETY: non-NULL C string per the ggml contract.
        let n = unsafe { c_str(name) }
            .map(|s| s.to_bytes())
            .unwrap_or_default();
        if n.eq_ignore_ascii_case(b"CPU") {
            cpu_reg()
        } else {
            std::ptr::null_mut()
        }
    })
}

/// A registry's name ("CPU").
#[no_mangle]
pub extern "C" fn ggml_backend_reg_name(reg: ggml_backend_reg_t) -> *const c_char {
    ffi_guard!("ggml_backend_reg_name", std::ptr::null(), {
        if known_reg("ggml_backend_reg_name", reg) {
            c"CPU".as_ptr()
        } else {
            std::ptr::null()
        }
    })
}

/// Number of devices in a registry.
#[no_mangle]
pub extern "C" fn ggml_backend_reg_dev_count(reg: ggml_backend_reg_t) -> usize {
    ffi_guard!("ggml_backend_reg_dev_count", 0, {
        usize::from(known_reg("ggml_backend_reg_dev_count", reg))
    })
}

/// Device `index` of a registry.
#[no_mangle]
pub extern "C" fn ggml_backend_reg_dev_get(
    reg: ggml_backend_reg_t,
    index: usize,
) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_reg_dev_get", std::ptr::null_mut(), {
        if known_reg("ggml_backend_reg_dev_get", reg) && index == 0 {
            cpu_dev()
        } else {
            std::ptr::null_mut()
        }
    })
}

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
        if !known_reg("ggml_backend_reg_get_proc_address", reg) {
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

//! The ggml device registry as C clients see it: simulated GPUs (`SIM0`, `SIM1`, ... from
//! `FERROLLAMA_SIM_DEVICES`) first, as upstream lists CUDA devices before the CPU, then the CPU.
//! Two registries ("SIM" when simulated devices exist, then "CPU"), one buffer type per device
//! (named after it, "CPU" for the host).
//!
//! Handles are addresses of statics in this file; every function checks that a handle it
//! receives is one of them before using it. `ggml_backend_dev_memory` on a simulated device
//! reports its budget as total and budget minus the bytes allocated on it as free.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use once_cell::sync::Lazy;

use super::boundary::{c_str, ffi_guard, require_non_null};
use super::log::log_error;
use super::types::*;
use crate::backend::sim::{self, SimDevice, SIM_ALIGNMENT};

/// Most simulated devices the C registry lists (further ones are ignored with a log line).
pub const MAX_SIM_DEVICES: usize = 16;

/// Backing storage for the handle statics (their addresses are the handles).
struct Handle(#[allow(dead_code)] u8);

static CPU_DEVICE: Handle = Handle(0);
static CPU_REG: Handle = Handle(1);
static CPU_BUFT: Handle = Handle(2);
static SIM_REG: Handle = Handle(3);
static SIM_DEVS: [Handle; MAX_SIM_DEVICES] = [const { Handle(4) }; MAX_SIM_DEVICES];
static SIM_BUFTS: [Handle; MAX_SIM_DEVICES] = [const { Handle(5) }; MAX_SIM_DEVICES];

/// A device of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    /// The host.
    Cpu,
    /// Simulated GPU `i`.
    Sim(usize),
}

struct SimEntry {
    dev: SimDevice,
    name: CString,
    desc: CString,
}

/// The simulated devices of this process, read once from the environment.
fn sim_table() -> &'static [SimEntry] {
    static TABLE: Lazy<Vec<SimEntry>> = Lazy::new(|| {
        let devs = match sim::devices_from_env() {
            Ok(d) => d,
            Err(e) => {
                log_error!("simulated devices ignored: {e}");
                Vec::new()
            }
        };
        if devs.len() > MAX_SIM_DEVICES {
            log_error!(
                "FERROLLAMA_SIM_DEVICES lists {} devices; only the first {MAX_SIM_DEVICES} are used",
                devs.len()
            );
        }
        devs.into_iter()
            .take(MAX_SIM_DEVICES)
            .map(|dev| {
                let kind = if dev.is_backed() {
                    "memory-backed"
                } else {
                    "accounting-only"
                };
                let desc = format!("simulated GPU ({} MiB, {kind})", dev.budget() >> 20);
                SimEntry {
                    name: CString::new(dev.name()).unwrap_or_default(),
                    desc: CString::new(desc).unwrap_or_default(),
                    dev,
                }
            })
            .collect()
    });
    &TABLE
}

/// The simulated devices the C API lists, in order (`SIM0` first).
pub fn sim_devices() -> Vec<SimDevice> {
    sim_table().iter().map(|e| e.dev.clone()).collect()
}

/// Number of devices: the simulated GPUs, then the CPU.
pub fn count() -> usize {
    sim_table().len() + 1
}

/// The device at registry index `i`.
pub fn by_index(i: usize) -> Option<Dev> {
    let n = sim_table().len();
    match i.cmp(&n) {
        std::cmp::Ordering::Less => Some(Dev::Sim(i)),
        std::cmp::Ordering::Equal => Some(Dev::Cpu),
        std::cmp::Ordering::Greater => None,
    }
}

/// The handle of a device.
pub fn dev_handle(d: Dev) -> ggml_backend_dev_t {
    match d {
        Dev::Cpu => std::ptr::addr_of!(CPU_DEVICE) as ggml_backend_dev_t,
        Dev::Sim(i) => std::ptr::addr_of!(SIM_DEVS[i]) as ggml_backend_dev_t,
    }
}

/// The handle of a device's buffer type.
pub fn buft_handle(d: Dev) -> ggml_backend_buffer_type_t {
    match d {
        Dev::Cpu => std::ptr::addr_of!(CPU_BUFT) as ggml_backend_buffer_type_t,
        Dev::Sim(i) => std::ptr::addr_of!(SIM_BUFTS[i]) as ggml_backend_buffer_type_t,
    }
}

fn cpu_reg() -> ggml_backend_reg_t {
    std::ptr::addr_of!(CPU_REG) as ggml_backend_reg_t
}

fn sim_reg() -> ggml_backend_reg_t {
    std::ptr::addr_of!(SIM_REG) as ggml_backend_reg_t
}

/// The device a handle refers to (`None`: not one of ours).
pub fn resolve_dev(h: ggml_backend_dev_t) -> Option<Dev> {
    (0..count())
        .filter_map(by_index)
        .find(|&d| dev_handle(d) == h)
}

/// The device whose buffer type a handle is.
pub fn resolve_buft(h: ggml_backend_buffer_type_t) -> Option<Dev> {
    (0..count())
        .filter_map(by_index)
        .find(|&d| buft_handle(d) == h)
}

/// Whether `reg` is the CPU registry.
pub fn is_cpu_reg(reg: ggml_backend_reg_t) -> bool {
    reg == cpu_reg()
}

/// The registries: "SIM" (when simulated devices exist), then "CPU".
fn regs() -> Vec<ggml_backend_reg_t> {
    let mut v = Vec::with_capacity(2);
    if !sim_table().is_empty() {
        v.push(sim_reg());
    }
    v.push(cpu_reg());
    v
}

/// The devices of a registry.
fn reg_devs(reg: ggml_backend_reg_t) -> Option<Vec<Dev>> {
    if reg == cpu_reg() {
        Some(vec![Dev::Cpu])
    } else if reg == sim_reg() && !sim_table().is_empty() {
        Some((0..sim_table().len()).map(Dev::Sim).collect())
    } else {
        None
    }
}

/// Checks a device handle, logging when it is not one of ours.
pub fn known_dev(name: &str, h: ggml_backend_dev_t) -> Option<Dev> {
    let d = resolve_dev(h);
    if d.is_none() {
        log_error!("{name}: unknown device handle {h:p}");
    }
    d
}

fn known_buft(name: &str, h: ggml_backend_buffer_type_t) -> Option<Dev> {
    let d = resolve_buft(h);
    if d.is_none() {
        log_error!("{name}: unknown buffer type handle {h:p}");
    }
    d
}

/// Checks a registry handle, logging when it is not one of ours.
pub fn known_reg(name: &str, reg: ggml_backend_reg_t) -> Option<Vec<Dev>> {
    let d = reg_devs(reg);
    if d.is_none() {
        log_error!("{name}: unknown backend registry handle {reg:p}");
    }
    d
}

/// The CPU's model name from /proc/cpuinfo, or "CPU".
fn cpu_description() -> &'static CStr {
    static DESC: OnceLock<CString> = OnceLock::new();
    DESC.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = text
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "CPU".to_string());
        CString::new(model).unwrap_or_default()
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

fn dev_name(d: Dev) -> *const c_char {
    match d {
        Dev::Cpu => c"CPU".as_ptr(),
        Dev::Sim(i) => sim_table()[i].name.as_ptr(),
    }
}

fn dev_description(d: Dev) -> *const c_char {
    match d {
        Dev::Cpu => cpu_description().as_ptr(),
        Dev::Sim(i) => sim_table()[i].desc.as_ptr(),
    }
}

/// `(free, total)` bytes of a device.
pub fn dev_memory(d: Dev) -> (usize, usize) {
    match d {
        Dev::Cpu => {
            let m = physical_memory();
            (m, m)
        }
        Dev::Sim(i) => {
            let s = &sim_table()[i].dev;
            (s.free() as usize, s.budget() as usize)
        }
    }
}

fn dev_type(d: Dev) -> ggml_backend_dev_type {
    match d {
        Dev::Cpu => GGML_BACKEND_DEVICE_TYPE_CPU,
        Dev::Sim(_) => GGML_BACKEND_DEVICE_TYPE_GPU,
    }
}

/// Number of devices: the simulated GPUs, then the CPU.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_count() -> usize {
    ffi_guard!("ggml_backend_dev_count", 1, { count() })
}

/// Device `index`; NULL when out of range.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_get(index: usize) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_dev_get", std::ptr::null_mut(), {
        match by_index(index) {
            Some(d) => dev_handle(d),
            None => {
                log_error!("ggml_backend_dev_get: index {index} out of range");
                std::ptr::null_mut()
            }
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
        (0..count())
            .filter_map(by_index)
            .find(|&d| {
                // SAFETY: dev_name returns a NUL-terminated string that lives for the process.
                let dn = unsafe { CStr::from_ptr(dev_name(d)) };
                dn.to_bytes().eq_ignore_ascii_case(n)
            })
            .map(dev_handle)
            .unwrap_or(std::ptr::null_mut())
    })
}

/// The first device of type `type`; NULL if none.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_by_type(r#type: ggml_backend_dev_type) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_dev_by_type", std::ptr::null_mut(), {
        (0..count())
            .filter_map(by_index)
            .find(|&d| dev_type(d) == r#type)
            .map(dev_handle)
            .unwrap_or(std::ptr::null_mut())
    })
}

/// The device's name ("CPU", "SIM0"); NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_name(device: ggml_backend_dev_t) -> *const c_char {
    ffi_guard!("ggml_backend_dev_name", std::ptr::null(), {
        known_dev("ggml_backend_dev_name", device)
            .map(dev_name)
            .unwrap_or(std::ptr::null())
    })
}

/// The device's description; NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_description(device: ggml_backend_dev_t) -> *const c_char {
    ffi_guard!("ggml_backend_dev_description", std::ptr::null(), {
        known_dev("ggml_backend_dev_description", device)
            .map(dev_description)
            .unwrap_or(std::ptr::null())
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
        let (f, t) = known_dev("ggml_backend_dev_memory", device)
            .map(dev_memory)
            .unwrap_or((0, 0));
        // SAFETY (both): non-NULL outputs point to writable size_t per the ggml contract.
        if !free.is_null() {
            unsafe { *free = f };
        }
        if !total.is_null() {
            unsafe { *total = t };
        }
    })
}

/// The device's type (CPU or GPU).
#[no_mangle]
pub extern "C" fn ggml_backend_dev_type(device: ggml_backend_dev_t) -> ggml_backend_dev_type {
    ffi_guard!("ggml_backend_dev_type", GGML_BACKEND_DEVICE_TYPE_CPU, {
        known_dev("ggml_backend_dev_type", device)
            .map(dev_type)
            .unwrap_or(GGML_BACKEND_DEVICE_TYPE_CPU)
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
        let Some(d) = known_dev("ggml_backend_dev_get_props", device) else {
            return;
        };
        let (free, total) = dev_memory(d);
        let p = ggml_backend_dev_props {
            name: dev_name(d),
            description: dev_description(d),
            memory_free: free,
            memory_total: total,
            r#type: dev_type(d),
            device_id: std::ptr::null(),
            caps: ggml_backend_dev_caps {
                r#async: false,
                host_buffer: false,
                buffer_from_host_ptr: d == Dev::Cpu,
                events: false,
                mmap_support: d == Dev::Cpu,
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
        match known_dev("ggml_backend_dev_backend_reg", device) {
            Some(Dev::Cpu) => cpu_reg(),
            Some(Dev::Sim(_)) => sim_reg(),
            None => std::ptr::null_mut(),
        }
    })
}

/// The device's default buffer type.
#[no_mangle]
pub extern "C" fn ggml_backend_dev_buffer_type(
    device: ggml_backend_dev_t,
) -> ggml_backend_buffer_type_t {
    ffi_guard!("ggml_backend_dev_buffer_type", std::ptr::null_mut(), {
        known_dev("ggml_backend_dev_buffer_type", device)
            .map(buft_handle)
            .unwrap_or(std::ptr::null_mut())
    })
}

/// The device's pinned host buffer type: none (NULL).
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
    buft_handle(Dev::Cpu)
}

/// A buffer type's name (its device's: "CPU", "SIM0"); NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_name(buft: ggml_backend_buffer_type_t) -> *const c_char {
    ffi_guard!("ggml_backend_buft_name", std::ptr::null(), {
        known_buft("ggml_backend_buft_name", buft)
            .map(dev_name)
            .unwrap_or(std::ptr::null())
    })
}

/// Whether buffers of this type live in host memory (the CPU's only: a simulated GPU's memory
/// is not addressable by the client, as a real GPU's is not).
#[no_mangle]
pub extern "C" fn ggml_backend_buft_is_host(buft: ggml_backend_buffer_type_t) -> bool {
    ffi_guard!("ggml_backend_buft_is_host", false, {
        known_buft("ggml_backend_buft_is_host", buft) == Some(Dev::Cpu)
    })
}

/// The device a buffer type belongs to.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_device(
    buft: ggml_backend_buffer_type_t,
) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_buft_get_device", std::ptr::null_mut(), {
        known_buft("ggml_backend_buft_get_device", buft)
            .map(dev_handle)
            .unwrap_or(std::ptr::null_mut())
    })
}

/// Alignment of buffers of this type (64 bytes for the CPU, 256 for a simulated GPU as CUDA's);
/// 0 for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_alignment(buft: ggml_backend_buffer_type_t) -> usize {
    ffi_guard!("ggml_backend_buft_get_alignment", 0, {
        match known_buft("ggml_backend_buft_get_alignment", buft) {
            Some(Dev::Cpu) => 64,
            Some(Dev::Sim(_)) => SIM_ALIGNMENT,
            None => 0,
        }
    })
}

/// Largest single buffer of this type (no limit for the CPU, the budget for a simulated GPU);
/// 0 for an unknown handle.
#[no_mangle]
pub extern "C" fn ggml_backend_buft_get_max_size(buft: ggml_backend_buffer_type_t) -> usize {
    ffi_guard!("ggml_backend_buft_get_max_size", 0, {
        match known_buft("ggml_backend_buft_get_max_size", buft) {
            Some(Dev::Cpu) => usize::MAX,
            Some(d @ Dev::Sim(_)) => dev_memory(d).1,
            None => 0,
        }
    })
}

/// Number of backend registries ("SIM" when simulated devices exist, "CPU").
#[no_mangle]
pub extern "C" fn ggml_backend_reg_count() -> usize {
    ffi_guard!("ggml_backend_reg_count", 1, { regs().len() })
}

/// Registry `index`; NULL when out of range.
#[no_mangle]
pub extern "C" fn ggml_backend_reg_get(index: usize) -> ggml_backend_reg_t {
    ffi_guard!("ggml_backend_reg_get", std::ptr::null_mut(), {
        match regs().get(index) {
            Some(&r) => r,
            None => {
                log_error!("ggml_backend_reg_get: index {index} out of range");
                std::ptr::null_mut()
            }
        }
    })
}

fn reg_name(reg: ggml_backend_reg_t) -> *const c_char {
    if reg == cpu_reg() {
        c"CPU".as_ptr()
    } else {
        c"SIM".as_ptr()
    }
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
        regs()
            .into_iter()
            .find(|&r| {
                // SAFETY: reg_name returns a static NUL-terminated literal.
                unsafe { CStr::from_ptr(reg_name(r)) }
                    .to_bytes()
                    .eq_ignore_ascii_case(n)
            })
            .unwrap_or(std::ptr::null_mut())
    })
}

/// A registry's name ("CPU", "SIM").
#[no_mangle]
pub extern "C" fn ggml_backend_reg_name(reg: ggml_backend_reg_t) -> *const c_char {
    ffi_guard!("ggml_backend_reg_name", std::ptr::null(), {
        match known_reg("ggml_backend_reg_name", reg) {
            Some(_) => reg_name(reg),
            None => std::ptr::null(),
        }
    })
}

/// Number of devices in a registry.
#[no_mangle]
pub extern "C" fn ggml_backend_reg_dev_count(reg: ggml_backend_reg_t) -> usize {
    ffi_guard!("ggml_backend_reg_dev_count", 0, {
        known_reg("ggml_backend_reg_dev_count", reg).map_or(0, |d| d.len())
    })
}

/// Device `index` of a registry.
#[no_mangle]
pub extern "C" fn ggml_backend_reg_dev_get(
    reg: ggml_backend_reg_t,
    index: usize,
) -> ggml_backend_dev_t {
    ffi_guard!("ggml_backend_reg_dev_get", std::ptr::null_mut(), {
        known_reg("ggml_backend_reg_dev_get", reg)
            .and_then(|d| d.get(index).copied())
            .map(dev_handle)
            .unwrap_or(std::ptr::null_mut())
    })
}

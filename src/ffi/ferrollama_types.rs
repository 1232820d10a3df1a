//! Types of ferrollama's own C extensions (`include/ferrollama.h`): the fit status and the
//! per-device memory table.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};

/// `enum ferrollama_fit_status` (the values of upstream's `common_params_fit_status`).
pub type ferrollama_fit_status = c_int;
/// Parameters were found (or already were) that fit every device.
pub const FERROLLAMA_FIT_STATUS_SUCCESS: ferrollama_fit_status = 0;
/// No parameters fit (the log says which device misses by how much).
pub const FERROLLAMA_FIT_STATUS_FAILURE: ferrollama_fit_status = 1;
/// A hard error (bad path or arguments, unreadable model).
pub const FERROLLAMA_FIT_STATUS_ERROR: ferrollama_fit_status = 2;

/// `struct ferrollama_device_memory`: one row of the memory plan, in bytes (`Default`: all
/// zero, an empty row for callers to fill).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ferrollama_device_memory {
    /// Device name ("SIM0", "CPU"), NUL-terminated.
    pub name: [c_char; 32],
    /// The host (RAM).
    pub is_host: bool,
    /// Device total.
    pub total: u64,
    /// Free when planned (before this model and context).
    pub free: u64,
    /// Weights allocated on the device (host weights served from the file mapping: 0).
    pub weights: u64,
    /// KV cache.
    pub kv: u64,
    /// Compute arena.
    pub compute: u64,
    /// Everything else: pipeline copies, kernel scratch, workspaces, output, staging, driver.
    pub other: u64,
    /// Margin left free.
    pub margin: u64,
}

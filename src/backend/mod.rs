//! Backends: devices, buffer types, buffers, the registry and the scheduler.
//!
//! The shape follows ggml's: a [`Registry`] lists [`Device`]s; a device offers a
//! [`BufferType`] that allocates [`Buffer`]s. Every allocation goes through one
//! [`AllocCounter`] per device, which counts allocations and bytes and can be *sealed*: once a
//! context is built, the counter is sealed and any further allocation fails and is counted, so
//! tests can assert "no allocation after init". The CPU device ([`cpu`]) runs graphs with a
//! thread pool; simulated GPUs ([`sim`]) add a byte budget.

pub mod buffer;
pub mod cpu;
pub mod sim;

use std::sync::Arc;

use once_cell::sync::Lazy;

pub use buffer::{AllocCounter, AllocStats, HostBuffer};

use crate::error::Result;

/// What kind of device this is (as `ggml_backend_dev_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The host CPU.
    Cpu,
    /// A discrete GPU (real or simulated).
    Gpu,
}

/// A region of device memory.
pub trait Buffer: Send {
    /// Size in bytes.
    fn size(&self) -> usize;
    /// Host address of the bytes, when the device memory is host-visible.
    fn host_ptr(&self) -> Option<*mut u8>;
}

/// A way of allocating buffers on one device.
pub trait BufferType: Send + Sync {
    /// Name, as `ggml_backend_buft_name` ("CPU").
    fn name(&self) -> &str;
    /// Alignment every buffer (and every planned offset) honours.
    fn alignment(&self) -> usize;
    /// Allocates `size` bytes, counted by the device's counter.
    fn alloc(&self, size: usize) -> Result<Box<dyn Buffer>>;
}

/// A compute device.
pub trait Device: Send + Sync {
    /// Short name ("CPU", "SIM0").
    fn name(&self) -> &str;
    /// Human-readable description.
    fn description(&self) -> String;
    /// Kind of device.
    fn kind(&self) -> DeviceKind;
    /// `(free, total)` bytes of device memory.
    fn memory(&self) -> (u64, u64);
    /// The default buffer type.
    fn buffer_type(&self) -> &dyn BufferType;
    /// The allocation counter every buffer of this device goes through.
    fn counter(&self) -> &Arc<AllocCounter>;
}

/// The devices of this process.
pub struct Registry {
    devices: Vec<Arc<dyn Device>>,
}

impl Registry {
    /// A registry holding the given devices.
    pub fn new(devices: Vec<Arc<dyn Device>>) -> Registry {
        Registry { devices }
    }

    /// The process-wide registry (the CPU device).
    pub fn global() -> &'static Registry {
        static REG: Lazy<Registry> =
            Lazy::new(|| Registry::new(vec![Arc::new(cpu::CpuDevice::new())]));
        &REG
    }

    /// All devices.
    pub fn devices(&self) -> &[Arc<dyn Device>] {
        &self.devices
    }

    /// The device named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn Device>> {
        self.devices.iter().find(|d| d.name() == name)
    }
}

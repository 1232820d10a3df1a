//! Backends: devices, buffer types, buffers, the registry and the scheduler.

pub mod cpu;
pub mod sim;

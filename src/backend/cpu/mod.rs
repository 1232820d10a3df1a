//! The CPU backend: thread pool, ops, and the SIMD kernels they call.

pub mod kernels;

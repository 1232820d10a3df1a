//! Simulated GPUs: a byte budget, every allocation counted, failure injection (not yet built;
//! the [`super::Device`] / [`super::BufferType`] traits and [`super::AllocCounter`] are the
//! seams it plugs into).

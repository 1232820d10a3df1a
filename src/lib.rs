//! # ferrollama
//!
//! llama.cpp's `libllama`, rewritten in Rust: one shared library, `libllama.so`, with the C API of
//! upstream's `llama.h` (pinned: llama.cpp `0c1e57098`, as vendored by llama-cpp-python 0.3.36).
//!
//! ## Map
//! - [`error`] — `Error { kind, context }`, the one error type.
//! - [`gguf`] — the file format (reader over mmap, writer).
//! - [`quant`] — `GgmlType`, block layouts, scalar quantize/dequantize references.
//! - [`tensor`], [`graph`] — tensor descriptors and compute graphs (no data).
//! - [`alloc`] — the memory planner (pure offset arithmetic).
//! - [`backend`] — devices, buffers, the CPU backend (SIMD kernels, threads), simulated GPUs.
//! - [`fit`] — the exact memory plan per device, the fit search, allocating a plan.
//! - [`model`] — architectures, hyper-parameters, loader, graph builders.
//! - [`kv_cache`] — KV cells and storage.
//! - [`context`] — batches, micro-batches, decode, outputs.
//! - [`vocab`] — tokenizers.
//! - [`sampling`] — samplers.
//! - [`chat`] — chat templates.
//! - [`ffi`] — the `extern "C"` surface of llama.h.
//!
//! ## Dependency direction
//! ```text
//! ffi → context → model → graph → tensor → quant
//! context → kv_cache      context → backend → alloc
//! model → gguf            vocab → gguf            sampling: no tensor code
//! ```

pub mod alloc;
pub mod backend;
pub mod chat;
pub mod context;
pub mod error;
pub mod ffi;
pub mod fit;
pub mod gguf;
pub mod graph;
pub mod kv_cache;
pub mod model;
pub mod quant;
pub mod sampling;
pub mod tensor;
pub mod vocab;

pub use error::{Error, ErrorKind, Result};

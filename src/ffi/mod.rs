//! The C API of llama.h: the only module with `extern "C"`.
//!
//! It mirrors llama.h section by section, one file per area:
//! - [`types`], [`ggml_types`]: `#[repr(C)]` mirrors of every llama.h struct, enum (as `c_int` +
//!   constants) and typedef, and of the ggml-side types llama.h uses; layout asserted at compile
//!   time (and against upstream's header by `tests/abi.rs`).
//! - [`boundary`]: the panic boundary (`ffi_guard!`), NULL checks, buffer-writing helpers,
//!   `unsupported!` for functions whose feature is not built yet.
//! - [`log`]: `llama_log_set` / `llama_log_get` and the `log_error!`/`log_warn!`/`log_info!` macros.
//! - [`params`]: the `*_default_params` functions (upstream's values).
//! - [`misc`]: version, backend init, capabilities, time, enum names, split paths, system info.
//! - [`model`], [`context`], [`batch`]: model, context and batch functions (model helper);
//!   [`context_more`]: perf counters, abort callback, thread pools, backend-sampling getters;
//!   [`state`]: per-sequence state and the size-less `llama_set_state_data`;
//!   [`lora`]: LoRA adapters.
//! - [`devices`], [`placement`]: ggml devices (the CPU and simulated GPUs) and how
//!   `llama_model_params` places weights on them; [`ferrollama`], [`ferrollama_types`]: our own
//!   `include/ferrollama.h` (auto-fit, memory breakdown).
//! - [`sampler`], [`chat`]: samplers and chat templates (sampling helper).
//! - [`vocab`]: vocabulary and tokenization.
//! - [`ggml`]: the ggml-side functions (time, log, type names, one CPU device).
//!
//! ## Rules every exported function follows
//! - Its body runs inside `ffi_guard!(name, failure_value, { .. })` (or `unsupported!`): a panic
//!   becomes the documented failure value plus a log line, never an abort or a message on stderr.
//! - Pointers are NULL-checked (`require_non_null!`) before use; slices are built only after their
//!   length is checked; outputs are written only on success; buffer-filling functions write nothing
//!   past the caller's buffer and return the negative required size when it is too small.
//! - Integers passed for C enums arrive as `c_int` and are range-checked before use.
//! - Safety contracts are those llama.h documents for each function (hence the crate-wide
//!   `missing_safety_doc` allowance on this module).
//!
//! ## The header
//! `include/llama.h` and the ggml-side headers are generated from these files by cbindgen (pinned
//! in Cargo.toml) plus a post-processing step (`tests/ffi_common/header_gen.rs`: real C enums,
//! the anonymous union, `DEPRECATED(..)`, routing to the ggml headers). cbindgen does not expand
//! macros, so exported functions and mirrored types are written out in full. After changing an
//! exported signature, run `scripts/gen_header.sh` and commit `include/`; `tests/ffi_header.rs`
//! fails on any drift.
//!
//! ## What the opaque pointers are
//! - `*const llama_vocab` is a `*const crate::vocab::Vocab`, borrowed from the model that owns it
//!   (`llama_model_get_vocab` returns a pointer into the model; it is never freed on its own).
//! - `*mut llama_model`, `*mut llama_context`, `llama_memory_t`, `*mut llama_adapter_lora` and
//!   `*mut llama_batch_ext` are defined by their owning files (see each file's module docs);
//!   `*_free(NULL)` is always a no-op.
//! - `*mut llama_sampler` is the public C struct [`types::llama_sampler`] (vtable + context).

#![allow(clippy::missing_safety_doc)]

pub mod boundary;
pub mod ggml_types;
pub mod log;
pub mod types;

pub mod batch;
mod batch_ext;
pub mod chat;
pub mod context;
pub mod context_more;
pub mod devices;
pub mod ferrollama;
pub mod ferrollama_types;
pub mod ggml;
pub mod lora;
pub mod misc;
pub mod model;
pub mod params;
pub mod placement;
pub mod sampler;
pub mod state;
pub mod vocab;

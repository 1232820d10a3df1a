//! Models: architectures ([`arch`]), typed hyper-parameters ([`hparams`]), the loader and the
//! per-architecture graph builders.
//!
//! A [`Model`] holds the memory-mapped GGUF file, its hyper-parameters and, per layer, references
//! to the weight tensors inside the mapping (no copy). Forward graphs are built per micro-batch
//! by the architecture files on top of the engine's graph builder.

pub mod arch;
pub mod hparams;

pub use arch::Arch;
pub use hparams::HParams;

//! Models: architectures ([`arch`]), typed hyper-parameters ([`hparams`]), the loader
//! ([`loader`]: weights referenced in the file mapping, no copy) and the per-architecture forward
//! graphs built on the engine's graph builder ([`builders`] holds the shared pieces: attention
//! over the KV cache, FFN, MoE; then one file per architecture family). [`lora`] loads LoRA
//! adapters, which the builders apply to every projection that has a pair.
//!
//! [`build_graph`] dispatches on the architecture; the context calls it once per micro-batch.

pub mod arch;
pub mod builders;
pub mod deepseek2;
pub mod gemma3;
pub mod hparams;
pub mod llama;
pub mod loader;
pub mod lora;
#[allow(clippy::module_inception)]
mod model;
pub mod phi3;
pub mod placed;
pub mod quantize;
pub mod save;

pub use arch::Arch;
pub use builders::{CvecView, Fwd, Inputs, KvView, Outputs, RopeCfg, Shape};
pub use hparams::HParams;
pub use lora::LoraAdapter;
pub use model::{Core, Model, ModelParams};

use crate::error::Result;

/// Builds the forward graph of `f.m`'s architecture into `f.g`.
pub fn build_graph(f: &mut Fwd<'_, '_>) -> Result<Outputs> {
    match f.hp.arch {
        Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Qwen3Moe => llama::build(f),
        Arch::Gemma3 => gemma3::build(f),
        Arch::Phi3 => phi3::build(f),
        Arch::Deepseek2 => deepseek2::build(f),
    }
}

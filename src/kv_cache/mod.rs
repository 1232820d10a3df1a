//! The KV cache: cell metadata ([`cells`], pure integers, no tensors) kept apart from the
//! per-layer K/V storage ([`storage`]), as upstream separates `llama_kv_cells` from the tensors of
//! `llama_kv_cache`. The context owns one cache (two for sliding-window models) and uses the
//! cells to place each micro-batch and to build its attention mask.

pub mod cells;
pub mod storage;

pub use cells::{KvCells, SeqSet, MAX_SEQ};

//! The KV cache: cell metadata (positions, sequence sets) apart from per-layer storage.

//! Samplers: a `Sampler` trait, chains, and one file per sampler. No tensor code.

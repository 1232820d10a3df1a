//! A chain: samplers applied one after another, with upstream's perf counters.

use std::time::Instant;

use super::{Sampler, TokenDataArray, LLAMA_DEFAULT_SEED};
use crate::error::Result;

/// Sampling time and count (`llama_perf_sampler_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerfData {
    /// Time spent in apply/accept, in milliseconds.
    pub t_sample_ms: f64,
    /// Number of accepted tokens.
    pub n_sample: i32,
}

/// Samplers applied in order; accepting a token tells each of them.
pub struct Chain {
    samplers: Vec<Box<dyn Sampler>>,
    no_perf: bool,
    t_sample_us: i64,
    n_sample: i32,
    /// Set while the chain samples inside decode: how many leading samplers run there
    /// (`apply` then skips them, as upstream's chain does once `backend_init` ran).
    backend_prefix: Option<usize>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.samplers.iter().map(|s| s.name()).collect();
        f.debug_struct("Chain").field("samplers", &names).finish()
    }
}

impl Chain {
    /// An empty chain (`llama_sampler_chain_init`); `no_perf` disables timing.
    pub fn new(no_perf: bool) -> Self {
        Chain {
            samplers: Vec::new(),
            no_perf,
            t_sample_us: 0,
            n_sample: 0,
            backend_prefix: None,
        }
    }

    /// Marks the first `n` samplers as run inside decode (`None`: the chain runs whole again).
    pub fn set_backend_prefix(&mut self, n: Option<usize>) {
        self.backend_prefix = n.map(|n| n.min(self.samplers.len()));
    }

    /// The number of leading samplers run inside decode, when the chain is attached to a
    /// context.
    pub fn backend_prefix(&self) -> Option<usize> {
        self.backend_prefix
    }

    /// Appends a sampler; the chain owns it.
    pub fn add(&mut self, s: Box<dyn Sampler>) {
        self.samplers.push(s);
    }

    /// The `i`-th sampler.
    pub fn get(&self, i: usize) -> Option<&dyn Sampler> {
        self.samplers.get(i).map(|s| s.as_ref())
    }

    /// The `i`-th sampler, mutable.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Box<dyn Sampler>> {
        self.samplers.get_mut(i)
    }

    /// Removes and returns the `i`-th sampler (the chain no longer owns it).
    pub fn remove(&mut self, i: usize) -> Option<Box<dyn Sampler>> {
        if i >= self.samplers.len() {
            return None;
        }
        if let Some(n) = self.backend_prefix.as_mut() {
            if i < *n {
                *n -= 1;
            }
        }
        Some(self.samplers.remove(i))
    }

    /// Number of samplers.
    pub fn len(&self) -> usize {
        self.samplers.len()
    }

    /// Whether the chain has no samplers.
    pub fn is_empty(&self) -> bool {
        self.samplers.is_empty()
    }

    /// Whether timing is disabled.
    pub fn no_perf(&self) -> bool {
        self.no_perf
    }

    /// The perf counters (`llama_perf_sampler`).
    pub fn perf(&self) -> PerfData {
        PerfData {
            t_sample_ms: 1e-3 * self.t_sample_us as f64,
            n_sample: self.n_sample.max(0),
        }
    }

    /// Zeroes the perf counters (`llama_perf_sampler_reset`).
    pub fn perf_reset(&mut self) {
        self.t_sample_us = 0;
        self.n_sample = 0;
    }

    fn timed<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        if self.no_perf {
            return f(self);
        }
        let t0 = Instant::now();
        let r = f(self);
        self.t_sample_us += t0.elapsed().as_micros() as i64;
        r
    }
}

impl Sampler for Chain {
    fn name(&self) -> &str {
        "chain"
    }

    fn accept(&mut self, token: i32) {
        self.timed(|c| {
            for s in c.samplers.iter_mut() {
                s.accept(token);
            }
        });
        self.n_sample += 1;
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        self.timed(|c| {
            let skip = c.backend_prefix.unwrap_or(0);
            for s in c.samplers.iter_mut().skip(skip) {
                s.apply(cur);
            }
        });
    }

    fn reset(&mut self) {
        for s in self.samplers.iter_mut() {
            s.reset();
        }
    }

    fn try_clone(&self) -> Result<Box<dyn Sampler>> {
        let mut c = Chain::new(self.no_perf);
        for s in &self.samplers {
            c.add(s.try_clone()?);
        }
        Ok(Box::new(c))
    }

    fn current_seed(&self) -> u32 {
        self.samplers
            .iter()
            .rev()
            .map(|s| s.current_seed())
            .find(|&s| s != LLAMA_DEFAULT_SEED)
            .unwrap_or(LLAMA_DEFAULT_SEED)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

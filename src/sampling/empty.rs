//! The no-op sampler upstream returns when parameters disable a sampler (`"?top-k"`, ...).

use super::{sampler_boilerplate, Sampler, TokenDataArray};

/// Does nothing; carries the name upstream gives a disabled sampler (e.g. `"?temp"`).
#[derive(Clone, Debug)]
pub struct Empty {
    name: &'static str,
}

impl Empty {
    /// A no-op sampler reporting `name`.
    pub fn new(name: &'static str) -> Self {
        Empty { name }
    }
}

impl Sampler for Empty {
    fn name(&self) -> &str {
        self.name
    }
    fn apply(&mut self, _cur: &mut TokenDataArray<'_>) {}
    sampler_boilerplate!();
}

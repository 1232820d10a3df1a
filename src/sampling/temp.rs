//! Temperature: divide the logits by `t`; `t <= 0` keeps only the best token.

use super::{sampler_boilerplate, temp_impl, Empty, Sampler, TokenDataArray};

/// Scales logits by `1/t`.
#[derive(Clone, Debug)]
pub struct Temp {
    temp: f32,
}

impl Temp {
    /// `llama_sampler_init_temp(t)`: `t == 1` gives the no-op `"?temp"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(temp: f32) -> Box<dyn Sampler> {
        if temp == 1.0 {
            return Box::new(Empty::new("?temp"));
        }
        Box::new(Temp { temp })
    }
}

impl Temp {
    /// The temperature.
    pub fn temp(&self) -> f32 {
        self.temp
    }
}

impl Sampler for Temp {
    fn name(&self) -> &str {
        "temp"
    }
    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        temp_impl(cur, self.temp);
    }
    sampler_boilerplate!();
}

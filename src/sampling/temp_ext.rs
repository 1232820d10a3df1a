//! Dynamic temperature (entropy-based): the temperature moves within `t ± delta` with the
//! normalised entropy raised to `exponent`.

use super::{sampler_boilerplate, softmax_impl, temp_impl, Empty, Sampler, TokenDataArray};

/// Entropy-driven temperature.
#[derive(Clone, Debug)]
pub struct TempExt {
    temp: f32,
    delta: f32,
    exponent: f32,
}

impl TempExt {
    /// `llama_sampler_init_temp_ext(t, delta, exponent)`: `t == 1 && delta <= 0` gives `"?temp-ext"`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(temp: f32, delta: f32, exponent: f32) -> Box<dyn Sampler> {
        if temp == 1.0 && delta <= 0.0 {
            return Box::new(Empty::new("?temp-ext"));
        }
        Box::new(TempExt {
            temp,
            delta,
            exponent,
        })
    }
}

impl TempExt {
    /// The base temperature, its range (`delta`) and the entropy exponent.
    pub fn params(&self) -> (f32, f32, f32) {
        (self.temp, self.delta, self.exponent)
    }
}

impl Sampler for TempExt {
    fn name(&self) -> &str {
        "temp-ext"
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if self.delta <= 0.0 {
            temp_impl(cur, self.temp);
            return;
        }
        let min_temp = (self.temp - self.delta).max(0.0);
        let max_temp = self.temp + self.delta;
        if cur.data.len() <= 1 {
            return;
        }
        let max_entropy = -(1.0f32 / cur.data.len() as f32).ln();
        softmax_impl(cur, true);

        let mut entropy = 0.0f32;
        for t in cur.data.iter() {
            if t.p > 0.0 {
                entropy -= t.p * t.p.ln();
            }
        }
        let normalized_entropy = entropy / max_entropy;
        let dyn_temp = min_temp + (max_temp - min_temp) * normalized_entropy.powf(self.exponent);

        temp_impl(cur, dyn_temp);

        // re-normalise in double, as upstream
        let max_l = f64::from(cur.data[0].logit);
        let mut cum_sum = 0.0f64;
        for t in cur.data.iter_mut() {
            let p = (f64::from(t.logit) - max_l).exp();
            t.p = p as f32;
            cum_sum += p;
        }
        for t in cur.data.iter_mut() {
            t.p = (f64::from(t.p) / cum_sum) as f32;
        }
    }

    sampler_boilerplate!();
}

//! The random numbers upstream uses: `std::mt19937` and libstdc++'s distributions over it.
//!
//! - [`Mt19937`]: the standard 32-bit Mersenne Twister (check value: the first output for the
//!   default seed 5489 is 3499211612, the 10000th is 4123659995).
//! - [`Mt19937::canonical_f64`]: `std::generate_canonical<double, 53>` as libstdc++ computes it —
//!   two draws `x1 + x2 * 2^32` summed in double, divided by 2^64, clamped below 1. This is what
//!   `std::uniform_real_distribution<double>(0, 1)` returns.
//! - [`Mt19937::canonical_f32`]: `std::generate_canonical<float, 24>`: one draw, converted to float,
//!   divided by 2^32, clamped below 1 (`uniform_real_distribution<float>(0, 1)`).
//! - [`discrete`]: `std::discrete_distribution<int>` (normalise in double, partial sums, last one
//!   forced to 1, `lower_bound` of a canonical double; fewer than two weights draw nothing).

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `std::mt19937`.
#[derive(Clone)]
pub struct Mt19937 {
    mt: Box<[u32; N]>,
    idx: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mt19937 {{ idx: {} }}", self.idx)
    }
}

impl Mt19937 {
    /// The default seed of `std::mt19937`.
    pub const DEFAULT_SEED: u32 = 5489;

    /// An engine seeded like `std::mt19937(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut r = Mt19937 {
            mt: Box::new([0u32; N]),
            idx: N,
        };
        r.seed(seed);
        r
    }

    /// Re-seeds like `rng.seed(seed)`.
    pub fn seed(&mut self, seed: u32) {
        self.mt[0] = seed;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.idx = N;
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.mt[i] & UPPER_MASK) | (self.mt[(i + 1) % N] & LOWER_MASK);
            let mut v = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= MATRIX_A;
            }
            self.mt[i] = v;
        }
        self.idx = 0;
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx >= N {
            self.twist();
        }
        let mut y = self.mt[self.idx];
        self.idx += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `std::uniform_real_distribution<double>(0, 1)(rng)` under libstdc++.
    pub fn canonical_f64(&mut self) -> f64 {
        let x1 = self.next_u32() as f64;
        let x2 = self.next_u32() as f64;
        let sum = x1 + x2 * 4_294_967_296.0;
        let r = sum / 18_446_744_073_709_551_616.0;
        if r >= 1.0 {
            1.0 - f64::EPSILON / 2.0
        } else {
            r
        }
    }

    /// `std::uniform_real_distribution<float>(0, 1)(rng)` under libstdc++.
    pub fn canonical_f32(&mut self) -> f32 {
        let x = self.next_u32() as f32;
        let r = x / 4_294_967_296.0f32;
        if r >= 1.0 {
            1.0 - f32::EPSILON / 2.0
        } else {
            r
        }
    }
}

/// `std::discrete_distribution<int>(weights)(rng)` under libstdc++: the chosen index.
pub fn discrete(weights: impl Iterator<Item = f32>, rng: &mut Mt19937) -> usize {
    let prob: Vec<f64> = weights.map(f64::from).collect();
    if prob.len() < 2 {
        return 0;
    }
    let sum: f64 = prob.iter().fold(0.0, |a, &b| a + b);
    let mut cp = Vec::with_capacity(prob.len());
    let mut acc = 0.0f64;
    for &p in &prob {
        acc += p / sum;
        cp.push(acc);
    }
    if let Some(last) = cp.last_mut() {
        *last = 1.0;
    }
    let u = rng.canonical_f64();
    // lower_bound: first position with cp >= u
    cp.partition_point(|&c| c < u)
}

/// The seed upstream's `get_rng_seed` resolves: `LLAMA_DEFAULT_SEED` becomes a random one.
pub fn resolve_seed(seed: u32) -> u32 {
    if seed != super::LLAMA_DEFAULT_SEED {
        return seed;
    }
    // std::random_device reads the OS entropy source; fall back to the clock.
    let mut buf = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        if f.read_exact(&mut buf).is_ok() {
            return u32::from_le_bytes(buf);
        }
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u32)
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_check_values() {
        let mut r = Mt19937::new(Mt19937::DEFAULT_SEED);
        assert_eq!(r.next_u32(), 3_499_211_612);
        let mut r = Mt19937::new(Mt19937::DEFAULT_SEED);
        let mut last = 0;
        for _ in 0..10_000 {
            last = r.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }
}

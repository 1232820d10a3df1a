//! Single-thread throughput of the scalar reference dequantizers, per type.
//!
//! `cargo run --release --example bench_dequant [-- MIB_OF_OUTPUT]`
//!
//! For each type: 1M elements (4 MiB of f32 output) of random blocks with realistic scales,
//! dequantized repeatedly for ~0.25 s; the best pass is reported as GB/s of quantized input
//! read and of f32 output written.

use llama::quant::blocks::*;
use llama::quant::float::f32_to_fp16;
use llama::quant::{dequantize_fn, GgmlType};
use std::hint::black_box;
use std::mem::offset_of;
use std::time::{Duration, Instant};

/// xorshift64*: deterministic filler, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Byte offsets of the f16 scale fields of each block type.
fn f16_fields(ty: GgmlType) -> Vec<usize> {
    use GgmlType as T;
    match ty {
        T::Q1_0 | T::Q2_0 | T::Q4_0 | T::Q5_0 | T::Q8_0 | T::IQ4_NL => vec![0],
        T::Q4_1 | T::Q5_1 | T::Q8_1 | T::Q4_K | T::Q5_K => vec![0, 2],
        T::IQ2_XXS | T::IQ2_XS | T::IQ2_S | T::IQ3_XXS | T::IQ3_S | T::IQ1_S | T::IQ4_XS => vec![0],
        T::Q2_K => vec![offset_of!(BlockQ2_K, d), offset_of!(BlockQ2_K, dmin)],
        T::Q3_K => vec![offset_of!(BlockQ3_K, d)],
        T::Q6_K => vec![offset_of!(BlockQ6_K, d)],
        T::TQ1_0 => vec![offset_of!(BlockTq1_0, d)],
        T::TQ2_0 => vec![offset_of!(BlockTq2_0, d)],
        _ => vec![],
    }
}

/// Random blocks whose scales are small normal numbers (no inf/NaN/subnormal slow paths).
fn make_input(ty: GgmlType, n: usize, rng: &mut Rng) -> Vec<u8> {
    let ts = ty.type_size();
    let nb = n / ty.block_size();
    let mut v: Vec<u8> = (0..nb * ts).map(|_| rng.next() as u8).collect();
    match ty {
        GgmlType::F32 => {
            for c in v.chunks_exact_mut(4) {
                c.copy_from_slice(&(rng.unit() - 0.5).to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for c in v.chunks_exact_mut(2) {
                c.copy_from_slice(&f32_to_fp16(rng.unit() - 0.5).to_le_bytes());
            }
        }
        _ => {}
    }
    for blk in v.chunks_exact_mut(ts.max(1)) {
        if !ty.is_quantized() {
            break;
        }
        for off in f16_fields(ty) {
            let h = f32_to_fp16(0.001 + 0.01 * rng.unit());
            blk[off..off + 2].copy_from_slice(&h.to_le_bytes());
        }
        match ty {
            GgmlType::Q8_K => blk[..4].copy_from_slice(&(0.01f32 * rng.unit()).to_le_bytes()),
            GgmlType::MXFP4 => blk[0] = 110 + (rng.next() % 20) as u8,
            GgmlType::NVFP4 => blk[..4].iter_mut().for_each(|b| *b = 0x20 + (*b & 0x3f)),
            GgmlType::IQ1_M => {
                // top nibble of scale word 3 holds exponent bits 12..14 and the sign
                let off = offset_of!(BlockIq1_M, scales) + 7;
                blk[off] = (blk[off] & 0x0f) | 0x20;
            }
            _ => {}
        }
    }
    v
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let n = (mib << 20) / 4; // f32 elements
    let budget = Duration::from_millis(250);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    println!("scalar dequantize_row, 1 thread, {n} elements per pass ({mib} MiB of f32 out)");
    println!(
        "{:9} {:>10} {:>10} {:>10} {:>9}",
        "type", "in MB", "in GB/s", "out GB/s", "Melem/s"
    );
    for &ty in GgmlType::ALL {
        let Some(f) = dequantize_fn(ty) else { continue };
        let n = n - n % 256;
        let src = make_input(ty, n, &mut rng);
        let mut dst = vec![0f32; n];
        let mut best = f64::INFINITY;
        let start = Instant::now();
        let mut passes = 0;
        while passes < 3 || start.elapsed() < budget {
            let t = Instant::now();
            f(black_box(&src), black_box(&mut dst));
            best = best.min(t.elapsed().as_secs_f64());
            passes += 1;
        }
        black_box(&dst);
        println!(
            "{:9} {:>10.2} {:>10.2} {:>10.2} {:>9.0}",
            ty.name(),
            src.len() as f64 / 1e6,
            src.len() as f64 / best / 1e9,
            (n * 4) as f64 / best / 1e9,
            n as f64 / best / 1e6
        );
    }
}

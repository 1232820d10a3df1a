//! Micro-benchmark of the CPU `mul_mat` op on bench-1b shapes (Llama-3.2-1B: n_embd 2048,
//! n_ff 8192, n_vocab 128256), measured through the graph executor (plan, arena, thread pool).
//!
//! Questions it answers:
//! 1. GEMV (one token, generation): how many GB/s of weights does the op stream per weight
//!    type, next to this machine's measured read and copy bandwidth with the same threads?
//! 2. GEMM (a 512-row batch, prompt processing): how many GFLOP/s?
//! 3. Synchronisation: what does a node cost in a ~300-node graph of trivial ops (the
//!    per-token barrier overhead)?
//!
//! Usage: `cargo run --release --example bench_matmul -- [n_threads=2] [types=all] [--vocab]`
//! e.g. `-- 2 q4_0,q8_0,q4_K,f16`.

use std::time::Instant;

use llama::backend::cpu::{as_bytes, CpuBackend};
use llama::graph::Graph;
use llama::quant::{quantize_row, GgmlType};

const N_EMBD: usize = 2048;
const N_FF: usize = 8192;
const N_VOCAB: usize = 128256;

fn rng_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Weight bytes for `rows` rows of `k`: 16 distinct rows quantized properly, then tiled.
fn weight_bytes(ty: GgmlType, k: usize, rows: usize) -> Vec<u8> {
    let rs = ty.row_size(k as u64).expect("row size") as usize;
    let mut distinct = vec![0u8; rs * 16];
    let v = rng_vec(k * 16, 7);
    for r in 0..16 {
        let src = &v[r * k..(r + 1) * k];
        let dst = &mut distinct[r * rs..(r + 1) * rs];
        match ty {
            GgmlType::F32 => dst.copy_from_slice(as_bytes(src)),
            _ => quantize_row(ty, src, dst).expect("quantize"),
        }
    }
    let mut out = Vec::with_capacity(rs * rows);
    for r in 0..rows {
        out.extend_from_slice(&distinct[(r % 16) * rs..(r % 16 + 1) * rs]);
    }
    out
}

/// Fastest of `reps` runs after one warm-up (the machine may be shared: the minimum is the
/// closest to what the code can do).
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// `copies` mul_mats (each with its own copy of the weights, so that together they exceed the
/// last-level cache as a model's layers do) through the executor: seconds per mul_mat.
#[allow(clippy::too_many_arguments)]
fn bench_mul_mat(
    cpu: &mut CpuBackend,
    ty: GgmlType,
    k: usize,
    m: usize,
    n: usize,
    nth: usize,
    reps: usize,
    copies: usize,
) -> f64 {
    let ws: Vec<Vec<u8>> = (0..copies).map(|_| weight_bytes(ty, k, m)).collect();
    let x = rng_vec(k * n, 3);
    let mut g = Graph::new();
    let xi = g
        .input("x", GgmlType::F32, &[k as i64, n as i64])
        .expect("input");
    for w in &ws {
        let wt = g.weight("w", ty, &[k as i64, m as i64], w).expect("weight");
        let y = g.mul_mat(wt, xi).expect("mul_mat");
        g.set_output(y).expect("output");
    }
    let plan = cpu.plan(&g, nth).expect("plan");
    let mut arena = cpu.alloc_arena(plan.size).expect("arena");
    let xb = as_bytes(&x);
    time(reps, || {
        cpu.compute(&g, &plan, &mut arena, &[(xi, xb)], nth)
            .expect("compute")
    }) / copies as f64
}

/// Read bandwidth (GB/s): `nth` threads summing disjoint halves of a 512 MiB buffer.
fn read_bandwidth(nth: usize) -> (f64, f64) {
    let n = 512 << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    let chunk = n / nth;
    let read = time(3, || {
        std::thread::scope(|s| {
            for part in src.chunks(chunk) {
                s.spawn(move || {
                    let words: &[u64] = {
                        // SAFETY: u8 buffer reinterpreted as u64 words over its aligned middle.
                        let (_, w, _) = unsafe { part.align_to::<u64>() };
                        w
                    };
                    let mut acc = [0u64; 4];
                    for c in words.chunks_exact(4) {
                        for j in 0..4 {
                            acc[j] = acc[j].wrapping_add(c[j]);
                        }
                    }
                    std::hint::black_box(acc);
                });
            }
        })
    });
    let copy = time(3, || {
        std::thread::scope(|s| {
            for (d, sp) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
                s.spawn(move || d.copy_from_slice(sp));
            }
        })
    });
    (n as f64 / read / 1e9, n as f64 / copy / 1e9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nth: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let vocab = args.iter().any(|a| a == "--vocab");
    let all = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::IQ4_NL,
        GgmlType::IQ4_XS,
    ];
    let types: Vec<GgmlType> = match args.get(1).filter(|a| !a.starts_with("--")) {
        Some(list) if list != "all" => list
            .split(',')
            .filter_map(|n| {
                all.iter()
                    .copied()
                    .find(|t| t.name().eq_ignore_ascii_case(n))
            })
            .collect(),
        _ => all.to_vec(),
    };
    let mut cpu = CpuBackend::new(nth).expect("backend");
    println!(
        "# bench_matmul: n_threads = {nth}, kernels = {:?}",
        llama::backend::cpu::kernels::table().isa
    );
    let (rd, cp) = read_bandwidth(nth);
    println!(
        "memory: read {rd:.1} GB/s, memcpy {cp:.1} GB/s (bytes copied; {nth} threads, 512 MiB)"
    );
    let per_barrier = cpu.barrier_cost(nth, 20_000).expect("barrier");
    println!(
        "sync: {:.2} us per barrier; 300 barriers (one per op of a 16-layer token) = {:.3} ms",
        per_barrier * 1e6,
        per_barrier * 300.0 * 1e3
    );
    println!();
    println!(
        "{:<8} {:>12} {:>12} {:>12} {:>14}",
        "type", "GEMV up GB/s", "GEMV dn GB/s", "% of read", "GEMM512 GFLOP/s"
    );
    for ty in types {
        let up_bytes = ty.row_size(N_EMBD as u64).expect("row") as f64 * N_FF as f64;
        // Enough copies for >= 192 MiB of weights per GEMV graph (6x the 32 MiB L3 here).
        let copies = ((192u64 << 20) as f64 / up_bytes).ceil() as usize;
        let t_up = bench_mul_mat(&mut cpu, ty, N_EMBD, N_FF, 1, nth, 7, copies);
        let t_dn = bench_mul_mat(&mut cpu, ty, N_FF, N_EMBD, 1, nth, 7, copies);
        let gemm = bench_mul_mat(&mut cpu, ty, N_EMBD, N_FF, 512, nth, 2, 1);
        let up = up_bytes / t_up / 1e9;
        let dn = up_bytes / t_dn / 1e9;
        let flops = 2.0 * N_EMBD as f64 * N_FF as f64 * 512.0 / gemm / 1e9;
        println!(
            "{:<8} {:>12.1} {:>12.1} {:>11.0}% {:>14.1}",
            ty.name(),
            up,
            dn,
            100.0 * up.max(dn) / rd,
            flops
        );
        if vocab {
            let t = bench_mul_mat(&mut cpu, ty, N_EMBD, N_VOCAB, 1, nth, 3, 1);
            let b = ty.row_size(N_EMBD as u64).expect("row") as f64 * N_VOCAB as f64;
            println!(
                "{:<8} output.weight GEMV [2048 x 128256]: {:.1} GB/s, {:.2} ms",
                "",
                b / t / 1e9,
                t * 1e3
            );
        }
    }
}

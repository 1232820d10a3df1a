//! Shared helpers for the op tests: a seeded RNG, a plain f64 tensor for references, NMSE,
//! and a runner that plans, allocates and computes a graph on the CPU backend.
#![allow(dead_code)]

use llama::backend::cpu::{as_bytes, CpuBackend};
use llama::graph::Graph;
use llama::quant::GgmlType;
use llama::tensor::TensorId;

/// xorshift64*: deterministic test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A dense f64 tensor in ggml order (`ne[0]` fastest).
#[derive(Clone, Debug)]
pub struct RefT {
    pub ne: [usize; 4],
    pub d: Vec<f64>,
}

impl RefT {
    pub fn new(ne: [usize; 4]) -> RefT {
        RefT {
            ne,
            d: vec![0.0; ne.iter().product()],
        }
    }
    pub fn from_f32(ne: [usize; 4], v: &[f32]) -> RefT {
        assert_eq!(v.len(), ne.iter().product::<usize>());
        RefT {
            ne,
            d: v.iter().map(|&x| x as f64).collect(),
        }
    }
    pub fn idx(&self, i: [usize; 4]) -> usize {
        i[0] + self.ne[0] * (i[1] + self.ne[1] * (i[2] + self.ne[2] * i[3]))
    }
    pub fn at(&self, i: [usize; 4]) -> f64 {
        self.d[self.idx(i)]
    }
    pub fn set(&mut self, i: [usize; 4], v: f64) {
        let k = self.idx(i);
        self.d[k] = v;
    }
    /// ggml_permute semantics: axis `k` moves to `axes[k]`.
    pub fn permute(&self, axes: [usize; 4]) -> RefT {
        let mut ne = [0; 4];
        for k in 0..4 {
            ne[axes[k]] = self.ne[k];
        }
        let mut out = RefT::new(ne);
        for_each(self.ne, |i| {
            let mut j = [0; 4];
            for k in 0..4 {
                j[axes[k]] = i[k];
            }
            out.set(j, self.at(i));
        });
        out
    }
    pub fn to_f32(&self) -> Vec<f32> {
        self.d.iter().map(|&x| x as f32).collect()
    }
}

/// Calls `f` for every index of `ne` in ggml order.
pub fn for_each(ne: [usize; 4], mut f: impl FnMut([usize; 4])) {
    for i3 in 0..ne[3] {
        for i2 in 0..ne[2] {
            for i1 in 0..ne[1] {
                for i0 in 0..ne[0] {
                    f([i0, i1, i2, i3]);
                }
            }
        }
    }
}

/// Normalised mean squared error of `out` against `reference`.
pub fn nmse(out: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(out.len(), reference.len(), "length mismatch");
    let mut num = 0.0;
    let mut den = 0.0;
    for (&o, &r) in out.iter().zip(reference) {
        if o.is_nan() != r.is_nan() {
            return f64::INFINITY;
        }
        num += (o as f64 - r).powi(2);
        den += r * r;
    }
    if den == 0.0 {
        num
    } else {
        num / den
    }
}

/// Asserts the NMSE bound, printing the value.
pub fn check(what: &str, out: &[f32], reference: &[f64], bound: f64) {
    let e = nmse(out, reference);
    println!("{what}: nmse {e:.3e} (bound {bound:.0e})");
    assert!(e <= bound, "{what}: nmse {e:e} > {bound:e}");
}

pub fn f16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
        .collect()
}
pub fn bf16_bytes(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| half::bf16::from_f32(x).to_bits().to_le_bytes())
        .collect()
}
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    as_bytes(v).to_vec()
}

/// Encodes f32 values as `ty` bytes (plain types) and returns the values as stored.
pub fn encode(ty: GgmlType, v: &[f32]) -> (Vec<u8>, Vec<f32>) {
    match ty {
        GgmlType::F32 => (f32_bytes(v), v.to_vec()),
        GgmlType::F16 => (
            f16_bytes(v),
            v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect(),
        ),
        GgmlType::BF16 => (
            bf16_bytes(v),
            v.iter()
                .map(|&x| half::bf16::from_f32(x).to_f32())
                .collect(),
        ),
        _ => panic!("encode: plain types only"),
    }
}

/// Bytes with 8-byte alignment (inputs must be aligned to their element).
pub struct Aligned(Vec<u64>, usize);

impl Aligned {
    pub fn new(b: &[u8]) -> Aligned {
        let mut v = vec![0u64; b.len().div_ceil(8)];
        as_mut_bytes(&mut v)[..b.len()].copy_from_slice(b);
        Aligned(v, b.len())
    }
    pub fn bytes(&self) -> &[u8] {
        &as_bytes(&self.0)[..self.1]
    }
}

fn as_mut_bytes(v: &mut [u64]) -> &mut [u8] {
    // SAFETY: u64 storage viewed as bytes.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) }
}

/// Plans, allocates, computes; returns each requested output as f32 (made contiguous by the
/// caller's graph when needed).
pub fn run(
    g: &mut Graph<'_>,
    outs: &[TensorId],
    inputs: &[(TensorId, &[u8])],
    nth: usize,
) -> Vec<Vec<f32>> {
    for &o in outs {
        g.set_output(o).unwrap();
    }
    let mut cpu = CpuBackend::new(nth).unwrap();
    // Split every node across the threads, so the multi-threaded paths are what is tested.
    cpu.set_split_threshold(0);
    let plan = cpu.plan(g, nth).unwrap();
    let mut arena = cpu.alloc_arena(plan.size).unwrap();
    let owned: Vec<(TensorId, Aligned)> =
        inputs.iter().map(|(i, b)| (*i, Aligned::new(b))).collect();
    let bound: Vec<(TensorId, &[u8])> = owned.iter().map(|(i, a)| (*i, a.bytes())).collect();
    cpu.compute(g, &plan, &mut arena, &bound, nth).unwrap();
    outs.iter()
        .map(|&o| {
            let t = g.tensor(o).unwrap();
            match t.ty {
                GgmlType::I32 => {
                    let b = cpu.read_bytes(g, &plan, &mut arena, o).unwrap();
                    b.chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                        .collect()
                }
                _ => cpu.read_f32(g, &plan, &mut arena, o).unwrap().to_vec(),
            }
        })
        .collect()
}

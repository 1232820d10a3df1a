//! The kernels against upstream's own library (`libggml-cpu.so` of the pinned llama.cpp, as
//! llama-cpp-python builds it): activation quantization must be byte-identical to upstream's
//! `from_float`, and every dot product (ours, scalar and SIMD) must match an f64 dot of
//! upstream's dequantized weights (`to_float`) within a stated bound, as upstream's own
//! `vec_dot` does. Upstream's results come from its SIMD kernels (AVX2/AVX-512 on this machine).
//!
//! The library is looked up at `$FERROLLAMA_UPSTREAM_LIB_DIR` or the venv path below; when it is
//! missing the tests print a notice and pass, unless `FERROLLAMA_REQUIRE_UPSTREAM=1`.

#![allow(clippy::missing_transmute_annotations)] // each target type is the field's type

use std::ffi::{c_char, c_void, CString};

use llama::backend::cpu::kernels::quantize::{quantize_row_q8_0_ggml, quantize_row_q8_1_ggml};
use llama::backend::cpu::kernels::{
    act_row_size, all_tables, quantize_activations, scalar_table, table, vec_dot_type, Isa,
    SUPPORTED,
};
use llama::quant::GgmlType;

mod kernels_util;
use kernels_util::{random_weights, Rng};

const DEFAULT_DIR: &str = "/work/up/venv/lib/python3.11/site-packages/llama_cpp/lib";

type FromFloat = unsafe extern "C" fn(*const f32, *mut c_void, i64);
type ToFloat = unsafe extern "C" fn(*const c_void, *mut f32, i64);
type VecDot =
    unsafe extern "C" fn(i32, *mut f32, usize, *const c_void, usize, *const c_void, usize, i32);

#[repr(C)]
struct TraitsCpu {
    from_float: Option<FromFloat>,
    vec_dot: Option<VecDot>,
    vec_dot_type: i32,
    nrows: i64,
}

#[repr(C)]
struct Traits {
    type_name: *const c_char,
    blck_size: i64,
    blck_size_interleave: i64,
    type_size: usize,
    is_quantized: bool,
    to_float: Option<ToFloat>,
    from_float_ref: Option<FromFloat>,
}

struct Upstream {
    traits: unsafe extern "C" fn(i32) -> *const Traits,
    traits_cpu: unsafe extern "C" fn(i32) -> *const TraitsCpu,
}

fn upstream() -> Option<Upstream> {
    let dir =
        std::env::var("FERROLLAMA_UPSTREAM_LIB_DIR").unwrap_or_else(|_| DEFAULT_DIR.to_string());
    let path = CString::new(format!("{dir}/libggml-cpu.so")).ok()?;
    // SAFETY: dlopen/dlsym with NUL-terminated names; the symbols are upstream's documented
    // C functions with the signatures declared above (ggml.h / ggml-cpu.h of the pinned tree).
    unsafe {
        let h = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        if h.is_null() {
            let req = std::env::var("FERROLLAMA_REQUIRE_UPSTREAM").is_ok_and(|v| v == "1");
            assert!(!req, "upstream libggml-cpu.so not found in {dir}");
            println!("notice: upstream libggml-cpu.so not found in {dir}; skipping");
            return None;
        }
        let sym = |n: &str| {
            let c = CString::new(n).expect("symbol name");
            let p = libc::dlsym(h, c.as_ptr());
            assert!(!p.is_null(), "missing symbol {n}");
            p
        };
        let init: unsafe extern "C" fn() = std::mem::transmute(sym("ggml_cpu_init"));
        init();
        Some(Upstream {
            traits: std::mem::transmute(sym("ggml_get_type_traits")),
            traits_cpu: std::mem::transmute(sym("ggml_get_type_traits_cpu")),
        })
    }
}

impl Upstream {
    fn quantize_row(&self, ty: GgmlType, src: &[f32]) -> Vec<u8> {
        let mut out = vec![0u8; ty.row_size(src.len() as u64).expect("row") as usize];
        // SAFETY: upstream's CPU traits for a valid type; `from_float` writes exactly one row
        // of `src.len()` elements (a multiple of the block size) into `out`.
        unsafe {
            let f = (*(self.traits_cpu)(ty as i32))
                .from_float
                .expect("from_float");
            f(src.as_ptr(), out.as_mut_ptr().cast(), src.len() as i64);
        }
        out
    }

    fn to_float(&self, ty: GgmlType, row: &[u8], k: usize) -> Vec<f32> {
        if ty == GgmlType::F32 {
            return row[..4 * k]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        let mut out = vec![0f32; k];
        // SAFETY: `row` holds one row of `k` elements of `ty`; `to_float` writes `k` floats.
        unsafe {
            let f = (*(self.traits)(ty as i32)).to_float.expect("to_float");
            f(row.as_ptr().cast(), out.as_mut_ptr(), k as i64);
        }
        out
    }

    fn vec_dot(&self, ty: GgmlType, k: usize, w: &[u8], y: &[u8]) -> f32 {
        let mut s = 0f32;
        // SAFETY: one row each of `k` elements of `ty` and of its vec_dot type; nrc = 1.
        unsafe {
            let t = &*(self.traits_cpu)(ty as i32);
            assert_eq!(
                t.vec_dot_type,
                vec_dot_type(ty).expect("supported") as i32,
                "{}",
                ty.name()
            );
            let f = t.vec_dot.expect("vec_dot");
            f(
                k as i32,
                &mut s,
                0,
                w.as_ptr().cast(),
                0,
                y.as_ptr().cast(),
                0,
                1,
            );
        }
        s
    }
}

/// Our activation row converted back to ggml's plain layout, for upstream's kernels.
fn ggml_layout(vdt: GgmlType, src: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; vdt.row_size(src.len() as u64).expect("row") as usize];
    match vdt {
        GgmlType::Q8_0 => quantize_row_q8_0_ggml(src, &mut out),
        GgmlType::Q8_1 => quantize_row_q8_1_ggml(src, &mut out),
        _ => quantize_activations(vdt, src, &mut out).expect("convert"),
    }
    out
}

/// Values of an activation row in ggml layout (exact: d · q).
fn act_values(vdt: GgmlType, row: &[u8], k: usize) -> Vec<f64> {
    let f16 = |o: usize| half::f16::from_bits(u16::from_le_bytes([row[o], row[o + 1]])).to_f64();
    (0..k)
        .map(|i| match vdt {
            GgmlType::Q8_0 => f16(i / 32 * 34) * (row[i / 32 * 34 + 2 + i % 32] as i8) as f64,
            GgmlType::Q8_1 => f16(i / 32 * 36) * (row[i / 32 * 36 + 4 + i % 32] as i8) as f64,
            GgmlType::Q8_K => {
                let o = i / 256 * 292;
                f32::from_le_bytes([row[o], row[o + 1], row[o + 2], row[o + 3]]) as f64
                    * (row[o + 4 + i % 256] as i8) as f64
            }
            GgmlType::F16 => f16(2 * i),
            GgmlType::BF16 => {
                f32::from_bits((u16::from_le_bytes([row[2 * i], row[2 * i + 1]]) as u32) << 16)
                    as f64
            }
            _ => f32::from_le_bytes([row[4 * i], row[4 * i + 1], row[4 * i + 2], row[4 * i + 3]])
                as f64,
        })
        .collect()
}

#[test]
fn activation_quantization_is_bit_identical_to_upstream() {
    let Some(up) = upstream() else { return };
    let mut rng = Rng::new(3);
    for vdt in [
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q8_K,
        GgmlType::F16,
        GgmlType::BF16,
    ] {
        for trial in 0..50 {
            let k = 512;
            let scale = [1.0f32, 1e-3, 40.0][trial % 3];
            let mut src: Vec<f32> = (0..k).map(|_| rng.normal() * scale).collect();
            if trial % 5 == 0 {
                src[..32].fill(0.0); // an all-zero block
            }
            if trial % 7 == 1 {
                // Halfway cases: amax 127 → inverse scale exactly 1.
                src[64] = 127.0;
                for j in 1..32 {
                    src[64 + j] = (j as f32) - 15.5;
                }
            }
            assert_eq!(
                ggml_layout(vdt, &src),
                up.quantize_row(vdt, &src),
                "{} trial {trial}",
                vdt.name()
            );
        }
    }
}

#[test]
fn dot_products_match_f64_reference_and_upstream() {
    let Some(up) = upstream() else { return };
    let mut rng = Rng::new(5);
    for &ty in SUPPORTED {
        let vdt = vec_dot_type(ty).expect("supported");
        let k = if ty.block_size() == 1 {
            512
        } else {
            7 * 256 / ty.block_size().min(256) * ty.block_size()
        };
        let k = if ty.block_size() == 32 { 32 * 13 } else { k };
        for trial in 0..8 {
            let (w, ws) = random_weights(ty, 1, k, &mut rng);
            let w = &w[..ws];
            let src: Vec<f32> = (0..k).map(|_| rng.normal()).collect();
            let y_ggml = ggml_layout(vdt, &src);
            let mut y_ours = vec![0u8; act_row_size(ty, k).expect("act row")];
            quantize_activations(vdt, &src, &mut y_ours).expect("quantize");
            let wv = up.to_float(ty, w, k);
            let yv = act_values(vdt, &y_ggml, k);
            let reference: f64 = wv.iter().zip(&yv).map(|(&a, &b)| a as f64 * b).sum();
            let magnitude: f64 = wv
                .iter()
                .zip(&yv)
                .map(|(&a, &b)| (a as f64 * b).abs())
                .sum();
            // f32 accumulation of exact integer block sums: observed ≤ 2e-8 of the magnitude. The
            // Q8_1 types add the f16-rounded block sums `s` of the activations (2^-11 relative).
            let bound = magnitude * if vdt == GgmlType::Q8_1 { 1e-4 } else { 1e-6 } + 1e-9;
            let theirs = up.vec_dot(ty, k, w, &y_ggml) as f64;
            let simd = (table().get(ty).expect("kernel").vec_dot)(k, w, &y_ours) as f64;
            let scalar = (scalar_table().get(ty).expect("kernel").vec_dot)(k, w, &y_ours) as f64;
            for (who, v) in [("upstream", theirs), ("simd", simd), ("scalar", scalar)] {
                assert!(
                    (v - reference).abs() <= bound,
                    "{} trial {trial}: {who} {v} vs f64 reference {reference} (bound {bound})",
                    ty.name()
                );
            }
        }
    }
}

/// Q8_0 weights: the SIMD row kernels (any number of activation rows per call) give exactly
/// upstream's `ggml_vec_dot_q8_0_q8_0`, not just a close value, so that upstream's Q8
/// activation rounding downstream sees the same numbers (greedy parity at near-ties).
#[test]
fn q8_0_rows_are_bit_identical_to_upstream() {
    let Some(up) = upstream() else { return };
    let ty = GgmlType::Q8_0;
    let mut rng = Rng::new(11);
    for t in all_tables() {
        if t.isa == Isa::Scalar {
            continue; // the scalar kernel follows upstream's scalar (`_generic`) order instead
        }
        let kern = t.get(ty).expect("Q8_0 kernel");
        for &nb in &[1usize, 3, 4, 5, 8, 13, 24] {
            let k = 32 * nb;
            let (w, ws) = random_weights(ty, 1, k, &mut rng);
            let w = &w[..ws];
            let ny = 8;
            let ar = act_row_size(ty, k).expect("act row");
            let mut y_ours = vec![0u8; ny * ar];
            let mut theirs = vec![0f32; ny];
            for (j, th) in theirs.iter_mut().enumerate() {
                let src: Vec<f32> = (0..k).map(|_| rng.normal() * 3.0).collect();
                quantize_activations(GgmlType::Q8_0, &src, &mut y_ours[j * ar..(j + 1) * ar])
                    .expect("quantize");
                *th = up.vec_dot(ty, k, w, &ggml_layout(GgmlType::Q8_0, &src));
            }
            for n in 1..=ny {
                let mut out = vec![0f32; n];
                (kern.rows)(k, w, &y_ours, ar, &mut out);
                for (j, o) in out.iter().enumerate() {
                    assert_eq!(
                        o.to_bits(),
                        theirs[j].to_bits(),
                        "{:?} k={k} rows={n} row {j}: {o} vs upstream {}",
                        t.isa,
                        theirs[j]
                    );
                }
            }
        }
    }
}

//! Op tests, part 3: quantized weights and caches. Weights are quantized with the library's
//! reference quantizer; the f64 reference multiplies the *dequantized* weights (the values the
//! file stores) by the unquantized activations, so the error measured is the op's own: the
//! activation quantization to Q8_0 / Q8_1 / Q8_K that upstream also does, plus rounding.
//!
//! Bounds (NMSE): mul_mat 5e-4 for every quantized type (upstream test-backend-ops' bound for
//! mul_mat); get_rows exact (dequantization is deterministic); set_rows / cpy into Q8_0, Q4_0
//! (and the other quantizable types) exact against quantize-then-dequantize of the same rows.

mod ops_common;

use llama::backend::cpu::kernels;
use llama::graph::Graph;
use llama::quant::{dequantize_row, quantize::QUANTIZE_TYPES, quantize_row, GgmlType};
use ops_common::*;

const NTH: usize = 2;

fn quantized(ty: GgmlType, v: &[f32], row: usize) -> (Vec<u8>, Vec<f32>) {
    let rs = ty.row_size(row as u64).unwrap() as usize;
    let mut bytes = vec![0u8; rs * v.len() / row];
    let mut back = vec![0f32; v.len()];
    for (i, chunk) in v.chunks(row).enumerate() {
        quantize_row(ty, chunk, &mut bytes[i * rs..(i + 1) * rs]).unwrap();
        dequantize_row(
            ty,
            &bytes[i * rs..(i + 1) * rs],
            &mut back[i * row..(i + 1) * row],
        )
        .unwrap();
    }
    (bytes, back)
}

fn weight_types() -> Vec<GgmlType> {
    QUANTIZE_TYPES
        .iter()
        .copied()
        .filter(|t| t.is_quantized() && *t != GgmlType::Q8_1 && *t != GgmlType::Q8_K)
        .collect()
}

#[test]
fn mul_mat_every_quantized_type() {
    let mut rng = Rng::new(31);
    for ty in weight_types() {
        let bs = ty.block_size();
        let k = if bs == 256 { 512 } else { bs * 3 };
        for &(m, n, b2) in &[(13usize, 1usize, 1usize), (21, 9, 1), (7, 4, 3)] {
            let (wb, wv) = quantized(ty, &rng.vec(k * m, -1.0, 1.0), k);
            let x = rng.vec(k * n * b2, -1.0, 1.0);
            let mut g = Graph::new();
            let w = g.weight("w", ty, &[k as i64, m as i64], &wb).unwrap();
            let xi = g
                .input("x", GgmlType::F32, &[k as i64, n as i64, b2 as i64])
                .unwrap();
            let y = g.mul_mat(w, xi).unwrap();
            let got = run(&mut g, &[y], &[(xi, &f32_bytes(&x))], NTH);
            let mut r = vec![0f64; m * n * b2];
            for j in 0..n * b2 {
                for i in 0..m {
                    r[j * m + i] = (0..k)
                        .map(|c| wv[i * k + c] as f64 * x[j * k + c] as f64)
                        .sum();
                }
            }
            let path = if kernels::table().get(ty).is_some() {
                "kernel"
            } else {
                "dequant"
            };
            check(
                &format!("mul_mat {} ({path}) m{m} n{n} b{b2}", ty.name()),
                &got[0],
                &r,
                5e-4,
            );
        }
    }
}

#[test]
fn mul_mat_kernel_and_scalar_tables_agree_through_the_op() {
    // The op uses the best table; its result must match the scalar oracle table's result
    // computed on the same converted activations (kernels' own tests cover each kernel; this
    // checks the op wiring: tiles, strides, batches).
    let mut rng = Rng::new(32);
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
        GgmlType::F16,
    ] {
        let k = 256;
        let (m, n) = (33usize, 11usize);
        let (wb, _) = if ty.is_quantized() {
            quantized(ty, &rng.vec(k * m, -1.0, 1.0), k)
        } else {
            encode(ty, &rng.vec(k * m, -1.0, 1.0))
        };
        let x = rng.vec(k * n, -1.0, 1.0);
        let mut g = Graph::new();
        let w = g.weight("w", ty, &[k as i64, m as i64], &wb).unwrap();
        let xi = g.input("x", GgmlType::F32, &[k as i64, n as i64]).unwrap();
        let y = g.mul_mat(w, xi).unwrap();
        let got = run(&mut g, &[y], &[(xi, &f32_bytes(&x))], NTH);
        let vdt = kernels::vec_dot_type(ty).unwrap();
        let ars = kernels::act_row_size(ty, k).unwrap();
        let mut acts = vec![0u8; ars * n];
        for j in 0..n {
            kernels::quantize_activations(
                vdt,
                &x[j * k..(j + 1) * k],
                &mut acts[j * ars..(j + 1) * ars],
            )
            .unwrap();
        }
        let rs = ty.row_size(k as u64).unwrap() as usize;
        let kern = kernels::scalar_table().get(ty).unwrap();
        let mut r = vec![0f64; m * n];
        for j in 0..n {
            for i in 0..m {
                r[j * m + i] =
                    (kern.vec_dot)(k, &wb[i * rs..(i + 1) * rs], &acts[j * ars..(j + 1) * ars])
                        as f64;
            }
        }
        check(
            &format!("mul_mat {} op vs scalar table", ty.name()),
            &got[0],
            &r,
            1e-10,
        );
    }
}

#[test]
fn get_rows_every_quantized_type() {
    let mut rng = Rng::new(33);
    for ty in weight_types() {
        let ne0 = ty.block_size() * 2;
        let nr = 9;
        let (wb, wv) = quantized(ty, &rng.vec(ne0 * nr, -2.0, 2.0), ne0);
        let ids: Vec<i32> = (0..6).map(|_| rng.below(nr) as i32).collect();
        let mut g = Graph::new();
        let w = g
            .weight("token_embd.weight", ty, &[ne0 as i64, nr as i64], &wb)
            .unwrap();
        let ii = g.input("inp_tokens", GgmlType::I32, &[6]).unwrap();
        let y = g.get_rows(w, ii).unwrap();
        let got = run(
            &mut g,
            &[y],
            &[(ii, llama::backend::cpu::as_bytes(&ids))],
            NTH,
        );
        let r: Vec<f64> = ids
            .iter()
            .flat_map(|&i| {
                wv[i as usize * ne0..(i as usize + 1) * ne0]
                    .iter()
                    .map(|&x| x as f64)
            })
            .collect();
        check(&format!("get_rows {}", ty.name()), &got[0], &r, 0.0);
    }
}

#[test]
fn set_rows_and_cpy_into_quantized() {
    use llama::backend::{AllocCounter, HostBuffer};
    let mut rng = Rng::new(34);
    for ty in weight_types() {
        let ne0 = ty.block_size() * 2;
        let (n_cells, n) = (8usize, 3usize);
        let counter = AllocCounter::new();
        let kv = HostBuffer::new(
            &counter,
            ty.row_size(ne0 as u64).unwrap() as usize * n_cells,
            64,
        )
        .unwrap();
        let v = rng.vec(ne0 * n, -2.0, 2.0);
        let rows = [5i32, 0, 6];
        let mut g = Graph::new();
        let cache = g
            .external("cache_k_l0", ty, &[ne0 as i64, n_cells as i64], &kv, 0)
            .unwrap();
        let src = g
            .input("k_cur", GgmlType::F32, &[ne0 as i64, n as i64])
            .unwrap();
        let idx = g.input("k_idxs", GgmlType::I32, &[n as i64]).unwrap();
        let wr = g.set_rows(cache, src, idx).unwrap();
        let back = g.cast(wr, GgmlType::F32).unwrap();
        let q = g.cast(src, ty).unwrap();
        let q_back = g.cast(q, GgmlType::F32).unwrap();
        let got = run(
            &mut g,
            &[back, q_back],
            &[
                (src, &f32_bytes(&v)),
                (idx, llama::backend::cpu::as_bytes(&rows)),
            ],
            NTH,
        );
        // Upstream's CPU Q8_0 from_float rounds ties to even (AVX2); other types use the
        // reference quantizer. Compare against the op's documented quantizer per type.
        let stored: Vec<f32> = if ty == GgmlType::Q8_0 {
            let rs = ty.row_size(ne0 as u64).unwrap() as usize;
            let mut out = vec![0f32; v.len()];
            for (i, c) in v.chunks(ne0).enumerate() {
                let mut b = vec![0u8; rs];
                kernels::quantize::quantize_row_q8_0_ggml(c, &mut b);
                dequantize_row(ty, &b, &mut out[i * ne0..(i + 1) * ne0]).unwrap();
            }
            out
        } else {
            quantized(ty, &v, ne0).1
        };
        let mut r = vec![0f64; ne0 * n_cells];
        for (j, &row) in rows.iter().enumerate() {
            for c in 0..ne0 {
                r[row as usize * ne0 + c] = stored[j * ne0 + c] as f64;
            }
        }
        check(&format!("set_rows {}", ty.name()), &got[0], &r, 0.0);
        check(
            &format!("cpy f32->{}->f32", ty.name()),
            &got[1],
            &stored.iter().map(|&x| x as f64).collect::<Vec<_>>(),
            0.0,
        );
        let e = nmse(&got[1], &v.iter().map(|&x| x as f64).collect::<Vec<_>>());
        println!("  {} round-trip error vs original: nmse {e:.2e}", ty.name());
    }
}

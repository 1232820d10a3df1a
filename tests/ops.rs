//! Op tests, part 1: element-wise ops, norms, matmul, rows, copies, reductions — every op and
//! every supported type against a plain f64 reference on random data, with permuted
//! (non-contiguous) inputs and sizes that are not multiples of any SIMD width.
//!
//! Error bounds (normalised mean squared error):
//! - f32 ops: 1e-7 (upstream test-backend-ops' default).
//! - GELU (tanh): 1e-6 — upstream's CPU backend rounds input and output through an f16 table.
//! - mul_mat with F16 / BF16 weights: 5e-4 (activations rounded to the weight type, as upstream).
//! - get_rows / cpy of F16 / BF16: exact against the stored (rounded) values.

mod ops_common;

use llama::graph::{GluOp, Graph, SortOrder, UnaryOp};
use llama::quant::GgmlType;
use llama::tensor::TensorId;
use ops_common::*;

const NTH: usize = 3;

/// An input whose logical shape is `ne`, stored permuted so the graph sees a non-contiguous
/// view when `axes` is not the identity. Returns the view and the reference.
fn perm_input(
    g: &mut Graph<'_>,
    inputs: &mut Vec<(TensorId, Vec<u8>)>,
    rng: &mut Rng,
    ne: [usize; 4],
    axes: [usize; 4],
    lo: f32,
    hi: f32,
) -> (TensorId, RefT) {
    let mut base = [0usize; 4];
    for k in 0..4 {
        base[k] = ne[axes[k]];
    }
    let v = rng.vec(base.iter().product(), lo, hi);
    let id = g
        .input("x", GgmlType::F32, &base.map(|x| x as i64))
        .unwrap();
    inputs.push((id, f32_bytes(&v)));
    let r = RefT::from_f32(base, &v).permute(axes);
    let view = if axes == [0, 1, 2, 3] {
        id
    } else {
        g.permute(id, axes).unwrap()
    };
    assert_eq!(g.ne(view).unwrap(), ne.map(|x| x as i64));
    (view, r)
}

fn bind(inputs: &[(TensorId, Vec<u8>)]) -> Vec<(TensorId, &[u8])> {
    inputs.iter().map(|(i, b)| (*i, b.as_slice())).collect()
}

const PERMS: [[usize; 4]; 3] = [[0, 1, 2, 3], [1, 0, 2, 3], [0, 2, 1, 3]];

#[test]
fn binary_ops_broadcast() {
    let mut rng = Rng::new(1);
    for axes in PERMS {
        for bne in [[67, 5, 3, 2], [67, 1, 1, 1], [1, 5, 1, 2], [67, 5, 1, 1]] {
            let mut g = Graph::new();
            let mut inp = Vec::new();
            let (a, ra) = perm_input(&mut g, &mut inp, &mut rng, [67, 5, 3, 2], axes, -2.0, 2.0);
            let (b, rb) = perm_input(&mut g, &mut inp, &mut rng, bne, [0, 1, 2, 3], 0.5, 2.0);
            let outs = [
                g.add(a, b).unwrap(),
                g.sub(a, b).unwrap(),
                g.mul(a, b).unwrap(),
                g.div(a, b).unwrap(),
            ];
            let got = run(&mut g, &outs, &bind(&inp), NTH);
            for (k, name) in ["add", "sub", "mul", "div"].iter().enumerate() {
                let mut r = RefT::new(ra.ne);
                for_each(ra.ne, |i| {
                    let j = [i[0] % bne[0], i[1] % bne[1], i[2] % bne[2], i[3] % bne[3]];
                    let (x, y) = (ra.at(i), rb.at(j));
                    r.set(i, [x + y, x - y, x * y, x / y][k]);
                });
                check(&format!("{name} {axes:?} b{bne:?}"), &got[k], &r.d, 1e-7);
            }
        }
    }
}

fn gelu_ref(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * x * (1.0 + 0.044715 * x * x)).tanh())
}

fn erf_ref(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is too coarse; integrate the series instead (|x| < 6).
    let mut sum = 0.0f64;
    let mut term = x;
    let mut n = 0.0;
    while term.abs() > 1e-17 * sum.abs().max(1e-300) && n < 200.0 {
        sum += term / (2.0 * n + 1.0);
        n += 1.0;
        term *= -x * x / n;
    }
    2.0 / std::f64::consts::PI.sqrt() * sum
}

#[test]
fn unary_scale_clamp() {
    let mut rng = Rng::new(2);
    type Case = (UnaryOp, fn(f64) -> f64, f32, f32, f64);
    let fs: [Case; 12] = [
        (UnaryOp::Silu, |x| x / (1.0 + (-x).exp()), -6.0, 6.0, 1e-7),
        (UnaryOp::Gelu, gelu_ref, -6.0, 6.0, 1e-6),
        (
            UnaryOp::GeluErf,
            |x| 0.5 * x * (1.0 + erf_ref(x / 2f64.sqrt())),
            -4.0,
            4.0,
            1e-7,
        ),
        (
            UnaryOp::Sigmoid,
            |x| 1.0 / (1.0 + (-x).exp()),
            -6.0,
            6.0,
            1e-7,
        ),
        (UnaryOp::Tanh, f64::tanh, -3.0, 3.0, 1e-7),
        (UnaryOp::Relu, |x| x.max(0.0), -3.0, 3.0, 1e-7),
        (UnaryOp::Exp, f64::exp, -3.0, 3.0, 1e-7),
        (UnaryOp::Log, f64::ln, 0.1, 5.0, 1e-7),
        (UnaryOp::Sqr, |x| x * x, -3.0, 3.0, 1e-7),
        (UnaryOp::Sqrt, f64::sqrt, 0.0, 5.0, 1e-7),
        (UnaryOp::Neg, |x| -x, -3.0, 3.0, 1e-7),
        (UnaryOp::Abs, f64::abs, -3.0, 3.0, 1e-7),
    ];
    for axes in PERMS {
        for &(op, f, lo, hi, bound) in &fs {
            let mut g = Graph::new();
            let mut inp = Vec::new();
            let (a, ra) = perm_input(&mut g, &mut inp, &mut rng, [33, 7, 3, 1], axes, lo, hi);
            let y = g.unary(a, op).unwrap();
            let got = run(&mut g, &[y], &bind(&inp), NTH);
            let r: Vec<f64> = ra.d.iter().map(|&x| f(x)).collect();
            check(&format!("{op:?} {axes:?}"), &got[0], &r, bound);
        }
        let mut g = Graph::new();
        let mut inp = Vec::new();
        let (a, ra) = perm_input(&mut g, &mut inp, &mut rng, [33, 7, 3, 1], axes, -3.0, 3.0);
        let outs = [
            g.scale(a, 0.37).unwrap(),
            g.scale_bias(a, -1.5, 0.25).unwrap(),
            g.clamp(a, -1.0, 0.5).unwrap(),
        ];
        let sc = g.softcap(a, 2.5).unwrap();
        let got = run(&mut g, &[outs[0], outs[1], outs[2], sc], &bind(&inp), NTH);
        check(
            "scale",
            &got[0],
            &ra.d.iter().map(|&x| x * 0.37f32 as f64).collect::<Vec<_>>(),
            1e-7,
        );
        check(
            "scale_bias",
            &got[1],
            &ra.d.iter().map(|&x| x * -1.5 + 0.25).collect::<Vec<_>>(),
            1e-7,
        );
        check(
            "clamp",
            &got[2],
            &ra.d.iter().map(|&x| x.clamp(-1.0, 0.5)).collect::<Vec<_>>(),
            1e-7,
        );
        check(
            "softcap",
            &got[3],
            &ra.d
                .iter()
                .map(|&x| 2.5 * (x / 2.5).tanh())
                .collect::<Vec<_>>(),
            1e-7,
        );
    }
}

#[test]
fn norms() {
    let mut rng = Rng::new(3);
    for axes in PERMS {
        let mut g = Graph::new();
        let mut inp = Vec::new();
        let (a, ra) = perm_input(&mut g, &mut inp, &mut rng, [77, 6, 2, 1], axes, -2.0, 3.0);
        let outs = [g.rms_norm(a, 1e-6).unwrap(), g.norm(a, 1e-5).unwrap()];
        let got = run(&mut g, &outs, &bind(&inp), NTH);
        let n0 = ra.ne[0];
        let mut r1 = RefT::new(ra.ne);
        let mut r2 = RefT::new(ra.ne);
        for_each([1, ra.ne[1], ra.ne[2], ra.ne[3]], |i| {
            let row: Vec<f64> = (0..n0).map(|k| ra.at([k, i[1], i[2], i[3]])).collect();
            let ms = row.iter().map(|x| x * x).sum::<f64>() / n0 as f64;
            let mean = row.iter().sum::<f64>() / n0 as f64;
            let var = row.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n0 as f64;
            for (k, &x) in row.iter().enumerate() {
                r1.set([k, i[1], i[2], i[3]], x / (ms + 1e-6).sqrt());
                r2.set([k, i[1], i[2], i[3]], (x - mean) / (var + 1e-5).sqrt());
            }
        });
        check(&format!("rms_norm {axes:?}"), &got[0], &r1.d, 1e-7);
        check(&format!("norm {axes:?}"), &got[1], &r2.d, 1e-7);
    }
}

/// Reference matmul: `a` [K, M, a2, a3] (values as stored), `b` [K, N, b2, b3].
fn matmul_ref(a: &RefT, b: &RefT) -> RefT {
    let (k, m, n) = (a.ne[0], a.ne[1], b.ne[1]);
    let mut r = RefT::new([m, n, b.ne[2], b.ne[3]]);
    let (r2, r3) = (b.ne[2] / a.ne[2], b.ne[3] / a.ne[3]);
    for_each(r.ne, |i| {
        let s: f64 = (0..k)
            .map(|x| a.at([x, i[0], i[2] / r2, i[3] / r3]) * b.at([x, i[1], i[2], i[3]]))
            .sum();
        r.set(i, s);
    });
    r
}

#[test]
fn mul_mat_plain_types() {
    let mut rng = Rng::new(4);
    for (ty, bound) in [
        (GgmlType::F32, 1e-7),
        (GgmlType::F16, 5e-4),
        (GgmlType::BF16, 5e-4),
    ] {
        for &(k, m, n, a2, b2, b3, baxes) in &[
            (
                67usize,
                13usize,
                1usize,
                1usize,
                1usize,
                1usize,
                [0usize, 1, 2, 3],
            ),
            (67, 13, 7, 1, 1, 1, [0, 1, 2, 3]),
            (64, 9, 5, 2, 4, 2, [0, 1, 2, 3]),
            (35, 6, 4, 1, 3, 1, [0, 2, 1, 3]),
            (35, 6, 4, 1, 1, 1, [1, 0, 2, 3]),
        ] {
            let wv = rng.vec(k * m * a2, -1.0, 1.0);
            let (wb, wstored) = encode(ty, &wv);
            let mut g = Graph::new();
            let w = g
                .weight("w", ty, &[k as i64, m as i64, a2 as i64], &wb)
                .unwrap();
            let mut inp = Vec::new();
            let (b, rb) = perm_input(&mut g, &mut inp, &mut rng, [k, n, b2, b3], baxes, -1.0, 1.0);
            let y = g.mul_mat(w, b).unwrap();
            let got = run(&mut g, &[y], &bind(&inp), NTH);
            let ra = RefT::from_f32([k, m, a2, 1], &wstored);
            let r = matmul_ref(&ra, &rb);
            check(
                &format!("mul_mat {} k{k} m{m} n{n} b{b2}x{b3} {baxes:?}", ty.name()),
                &got[0],
                &r.d,
                bound,
            );
        }
    }
}

#[test]
fn mul_mat_transposed_f32_weight_view() {
    // src0 a permuted (non-contiguous rows) F32 view: [K, M] taken from a [M, K] tensor's
    // batch permutation keeps rows; use a view with row stride larger than the row.
    let mut rng = Rng::new(5);
    let (k, m, n) = (40usize, 7usize, 3usize);
    let wv = rng.vec((k + 8) * m, -1.0, 1.0);
    let wb = f32_bytes(&wv);
    let mut g = Graph::new();
    let wfull = g
        .weight("w", GgmlType::F32, &[(k + 8) as i64, m as i64], &wb)
        .unwrap();
    let w = g
        .view_2d(wfull, k as i64, m as i64, (k + 8) * 4, 16)
        .unwrap();
    let mut inp = Vec::new();
    let (b, rb) = perm_input(
        &mut g,
        &mut inp,
        &mut rng,
        [k, n, 1, 1],
        [0, 1, 2, 3],
        -1.0,
        1.0,
    );
    let y = g.mul_mat(w, b).unwrap();
    let got = run(&mut g, &[y], &bind(&inp), 2);
    let mut ra = RefT::new([k, m, 1, 1]);
    for_each(ra.ne, |i| ra.set(i, wv[4 + i[0] + (k + 8) * i[1]] as f64));
    check(
        "mul_mat f32 strided view",
        &got[0],
        &matmul_ref(&ra, &rb).d,
        1e-7,
    );
}

#[test]
fn get_rows_plain_types() {
    let mut rng = Rng::new(6);
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        let (ne0, nr, b2) = (37usize, 11usize, 2usize);
        let v = rng.vec(ne0 * nr * b2, -3.0, 3.0);
        let (bytes, stored) = encode(ty, &v);
        let ids: Vec<i32> = (0..5 * b2).map(|_| rng.below(nr) as i32).collect();
        let mut g = Graph::new();
        let w = g
            .weight("emb", ty, &[ne0 as i64, nr as i64, b2 as i64], &bytes)
            .unwrap();
        let idx = g.input("ids", GgmlType::I32, &[5, b2 as i64]).unwrap();
        let y = g.get_rows(w, idx).unwrap();
        let got = run(
            &mut g,
            &[y],
            &[(idx, llama::backend::cpu::as_bytes(&ids))],
            NTH,
        );
        let mut r = Vec::new();
        for j in 0..b2 {
            for i in 0..5 {
                let row = ids[j * 5 + i] as usize;
                r.extend((0..ne0).map(|c| stored[c + ne0 * (row + nr * j)] as f64));
            }
        }
        check(&format!("get_rows {}", ty.name()), &got[0], &r, 0.0);
    }
}

#[test]
fn cpy_cont_cast() {
    let mut rng = Rng::new(7);
    for from in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        for to in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
            for axes in PERMS {
                let mut g = Graph::new();
                let mut inp = Vec::new();
                let (x, rx) =
                    perm_input(&mut g, &mut inp, &mut rng, [19, 6, 3, 1], axes, -4.0, 4.0);
                let src = if from == GgmlType::F32 {
                    x
                } else {
                    g.cast(x, from).unwrap()
                };
                let c = g.cast(src, to).unwrap();
                let back = g.cast(c, GgmlType::F32).unwrap();
                let got = run(&mut g, &[back], &bind(&inp), NTH);
                let round = |t: GgmlType, x: f64| -> f64 {
                    match t {
                        GgmlType::F16 => half::f16::from_f64(x).to_f64(),
                        GgmlType::BF16 => half::bf16::from_f32(x as f32).to_f64(),
                        _ => x as f32 as f64,
                    }
                };
                let r: Vec<f64> = rx.d.iter().map(|&v| round(to, round(from, v))).collect();
                check(
                    &format!("cpy {}->{} {axes:?}", from.name(), to.name()),
                    &got[0],
                    &r,
                    0.0,
                );
            }
        }
    }
    // cont of a transposed view, and cont_nd reshaping through it.
    let mut g = Graph::new();
    let mut inp = Vec::new();
    let (x, rx) = perm_input(
        &mut g,
        &mut inp,
        &mut rng,
        [5, 9, 2, 1],
        [1, 0, 2, 3],
        -1.0,
        1.0,
    );
    let c = g.cont(x).unwrap();
    let c2 = g.cont_nd(x, &[45, 2]).unwrap();
    let got = run(&mut g, &[c, c2], &bind(&inp), NTH);
    check("cont transposed", &got[0], &rx.d, 0.0);
    check("cont_nd transposed", &got[1], &rx.d, 0.0);
}

#[test]
fn set_rows_into_external() {
    use llama::backend::{AllocCounter, HostBuffer};
    let mut rng = Rng::new(8);
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        for idx_ty in [GgmlType::I32, GgmlType::I64] {
            let (ne0, n_cells, n) = (24usize, 10usize, 4usize);
            let counter = AllocCounter::new();
            let mut kv = HostBuffer::new(&counter, ty.type_size() * ne0 * n_cells, 64).unwrap();
            let v = rng.vec(ne0 * n, -2.0, 2.0);
            let rows: Vec<usize> = vec![7, 2, 9, 0];
            let idx_bytes: Vec<u8> = if idx_ty == GgmlType::I32 {
                rows.iter()
                    .flat_map(|&r| (r as i32).to_le_bytes())
                    .collect()
            } else {
                rows.iter()
                    .flat_map(|&r| (r as i64).to_le_bytes())
                    .collect()
            };
            {
                let mut g = Graph::new();
                let cache = g
                    .external("cache_k_l0", ty, &[ne0 as i64, n_cells as i64], &kv, 0)
                    .unwrap();
                let src = g
                    .input("k_cur", GgmlType::F32, &[ne0 as i64, n as i64])
                    .unwrap();
                let idx = g.input("k_idxs", idx_ty, &[n as i64]).unwrap();
                let w = g.set_rows(cache, src, idx).unwrap();
                // Read the cache back through the write's view, after the write.
                let back = g.cast(w, GgmlType::F32).unwrap();
                let got = run(
                    &mut g,
                    &[back],
                    &[(src, &f32_bytes(&v)), (idx, &idx_bytes)],
                    NTH,
                );
                let (_, stored) = encode(ty, &v);
                let mut r = vec![0.0f64; ne0 * n_cells];
                for (j, &row) in rows.iter().enumerate() {
                    for c in 0..ne0 {
                        r[row * ne0 + c] = stored[j * ne0 + c] as f64;
                    }
                }
                check(
                    &format!("set_rows {} idx {}", ty.name(), idx_ty.name()),
                    &got[0],
                    &r,
                    0.0,
                );
            }
            assert!(kv.as_slice().iter().any(|&b| b != 0));
        }
    }
}

/// The transposed V cache: rows written into a transposed view of `[n_cells, ne0]` (element `c`
/// of cell `i` at `c * n_cells + i`), `ne0` not a multiple of the 16-element conversion step.
#[test]
fn set_rows_into_transposed_external() {
    use llama::backend::{AllocCounter, HostBuffer};
    let mut rng = Rng::new(9);
    for ty in [GgmlType::F32, GgmlType::F16, GgmlType::BF16] {
        let (ne0, n_cells, n) = (37usize, 10usize, 3usize);
        let counter = AllocCounter::new();
        let kv = HostBuffer::new(&counter, ty.type_size() * ne0 * n_cells, 64).unwrap();
        let v = rng.vec(ne0 * n, -2.0, 2.0);
        let rows: Vec<usize> = vec![8, 1, 4];
        let idx_bytes: Vec<u8> = rows
            .iter()
            .flat_map(|&r| (r as i32).to_le_bytes())
            .collect();
        let mut g = Graph::new();
        let cache = g
            .external("cache_v_l0", ty, &[n_cells as i64, ne0 as i64], &kv, 0)
            .unwrap();
        let dst = g.transpose(cache).unwrap();
        let src = g
            .input("v_cur", GgmlType::F32, &[ne0 as i64, n as i64])
            .unwrap();
        let idx = g.input("v_idxs", GgmlType::I32, &[n as i64]).unwrap();
        g.set_rows(dst, src, idx).unwrap();
        // Read the cache back in its stored (transposed) order.
        let back = g.cast(cache, GgmlType::F32).unwrap();
        let got = run(
            &mut g,
            &[back],
            &[(src, &f32_bytes(&v)), (idx, &idx_bytes)],
            NTH,
        );
        let (_, stored) = encode(ty, &v);
        let mut r = vec![0.0f64; ne0 * n_cells];
        for (j, &cell) in rows.iter().enumerate() {
            for c in 0..ne0 {
                r[c * n_cells + cell] = stored[j * ne0 + c] as f64;
            }
        }
        check(
            &format!("set_rows transposed {}", ty.name()),
            &got[0],
            &r,
            0.0,
        );
    }
}

#[test]
fn reductions_concat_repeat() {
    let mut rng = Rng::new(9);
    for axes in PERMS {
        let mut g = Graph::new();
        let mut inp = Vec::new();
        let (a, ra) = perm_input(&mut g, &mut inp, &mut rng, [29, 4, 3, 1], axes, -2.0, 2.0);
        let (b, rb) = perm_input(
            &mut g,
            &mut inp,
            &mut rng,
            [29, 4, 3, 1],
            [0, 1, 2, 3],
            -2.0,
            2.0,
        );
        let s = g.sum_rows(a).unwrap();
        let m = g.mean(a).unwrap();
        let cats: Vec<TensorId> = (0..3).map(|d| g.concat(a, b, d).unwrap()).collect();
        let small = g
            .view_4d(
                b,
                [29, 2, 1, 1],
                [rb.ne[0] * 4, rb.ne[0] * 8, rb.ne[0] * 8],
                0,
            )
            .unwrap();
        let rep = g.repeat_nd(small, &[58, 4, 3, 1]).unwrap();
        let mut outs = vec![s, m];
        outs.extend(&cats);
        outs.push(rep);
        let got = run(&mut g, &outs, &bind(&inp), NTH);
        let n0 = ra.ne[0];
        let mut rs = Vec::new();
        for_each([1, 4, 3, 1], |i| {
            rs.push((0..n0).map(|k| ra.at([k, i[1], i[2], i[3]])).sum::<f64>())
        });
        check("sum_rows", &got[0], &rs, 1e-7);
        check(
            "mean",
            &got[1],
            &rs.iter().map(|x| x / n0 as f64).collect::<Vec<_>>(),
            1e-7,
        );
        for d in 0..3 {
            let mut ne = ra.ne;
            ne[d] += rb.ne[d];
            let mut r = RefT::new(ne);
            for_each(ne, |i| {
                let v = if i[d] < ra.ne[d] {
                    ra.at(i)
                } else {
                    let mut j = i;
                    j[d] -= ra.ne[d];
                    rb.at(j)
                };
                r.set(i, v);
            });
            check(&format!("concat dim {d} {axes:?}"), &got[2 + d], &r.d, 0.0);
        }
        let mut r = RefT::new([58, 4, 3, 1]);
        for_each(r.ne, |i| r.set(i, rb.at([i[0] % 29, i[1] % 2, 0, 0])));
        check("repeat", &got[5], &r.d, 0.0);
    }
}

#[test]
fn glu_variants() {
    let mut rng = Rng::new(10);
    let silu = |x: f64| x / (1.0 + (-x).exp());
    for (op, f, bound) in [
        (GluOp::Swiglu, silu as fn(f64) -> f64, 1e-7),
        (GluOp::Geglu, gelu_ref as fn(f64) -> f64, 1e-6),
        (GluOp::Reglu, (|x: f64| x.max(0.0)) as fn(f64) -> f64, 1e-7),
    ] {
        for swapped in [false, true] {
            let mut g = Graph::new();
            let mut inp = Vec::new();
            let (a, ra) = perm_input(
                &mut g,
                &mut inp,
                &mut rng,
                [2 * 21, 5, 2, 1],
                [0, 1, 2, 3],
                -3.0,
                3.0,
            );
            let (u, ru) = perm_input(
                &mut g,
                &mut inp,
                &mut rng,
                [2 * 21, 5, 2, 1],
                [0, 1, 2, 3],
                -3.0,
                3.0,
            );
            let fused = g.glu(a, None, op, swapped).unwrap();
            let split = g.glu(a, Some(u), op, false).unwrap();
            let got = run(&mut g, &[fused, split], &bind(&inp), NTH);
            let mut r = RefT::new([21, 5, 2, 1]);
            for_each(r.ne, |i| {
                let (gi, ui) = if swapped {
                    (i[0] + 21, i[0])
                } else {
                    (i[0], i[0] + 21)
                };
                r.set(
                    i,
                    f(ra.at([gi, i[1], i[2], i[3]])) * ra.at([ui, i[1], i[2], i[3]]),
                );
            });
            check(
                &format!("{op:?} fused swapped={swapped}"),
                &got[0],
                &r.d,
                bound,
            );
            let r2: Vec<f64> = ra.d.iter().zip(&ru.d).map(|(&x, &y)| f(x) * y).collect();
            check(&format!("{op:?} split"), &got[1], &r2, bound);
        }
    }
}

#[test]
fn argsort_top_k_argmax() {
    let mut rng = Rng::new(11);
    let mut g = Graph::new();
    let mut inp = Vec::new();
    let (a, ra) = perm_input(
        &mut g,
        &mut inp,
        &mut rng,
        [45, 6, 2, 1],
        [1, 0, 2, 3],
        -5.0,
        5.0,
    );
    let asc = g.argsort(a, SortOrder::Asc).unwrap();
    let desc = g.argsort(a, SortOrder::Desc).unwrap();
    let top = g.top_k(a, 8).unwrap();
    let a2 = g.cont_nd(a, &[45, 12]).unwrap();
    let am = g.argmax(a2).unwrap();
    // top-k as upstream's argsort_top_k: a strided I32 view of the sorted indices, made
    // contiguous.
    let dv = g
        .view_4d(desc, [8, 6, 2, 1], [45 * 4, 45 * 4 * 6, 45 * 4 * 12], 0)
        .unwrap();
    let dvc = g.cont(dv).unwrap();
    let got = run(&mut g, &[asc, desc, top, am, dvc], &bind(&inp), NTH);
    let mut r_asc = Vec::new();
    let mut r_desc = Vec::new();
    let mut r_top = Vec::new();
    let mut r_am = Vec::new();
    for_each([1, 6, 2, 1], |i| {
        let row: Vec<f64> = (0..45).map(|k| ra.at([k, i[1], i[2], 0])).collect();
        let mut idx: Vec<usize> = (0..45).collect();
        idx.sort_by(|&x, &y| row[x].partial_cmp(&row[y]).unwrap());
        r_asc.extend(idx.iter().map(|&x| x as f64));
        idx.reverse();
        r_desc.extend(idx.iter().map(|&x| x as f64));
        let mut t8: Vec<f64> = idx[..8].iter().map(|&x| x as f64).collect();
        t8.swap(0, 1); // upstream's CPU top_k order
        r_top.extend(t8);
        r_am.push(idx[0] as f64);
    });
    check("argsort asc", &got[0], &r_asc, 0.0);
    check("argsort desc", &got[1], &r_desc, 0.0);
    check("top_k", &got[2], &r_top, 0.0);
    check("argmax", &got[3], &r_am, 0.0);
    let mut r_view = r_top.clone();
    for c in r_view.chunks_mut(8) {
        c.swap(0, 1);
    }
    check("cont of an I32 view (argsort top-k)", &got[4], &r_view, 0.0);
}

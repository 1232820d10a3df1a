//! CPU matmul kernels: the SIMD table against the scalar oracle on random data with ragged
//! sizes, tile/partition behaviour and argument checks. The comparison with upstream's own
//! library (exact activation quantization, dot products against an f64 reference of upstream's
//! dequantized weights) lives in `kernels_upstream.rs`.

use llama::backend::cpu::kernels::{
    act_row_size, all_tables, mul_mat, mul_mat_raw, quantize_activations, scalar_table, table,
    vec_dot_type, Isa, KernelTable, MatMul, SUPPORTED,
};
use llama::quant::GgmlType;

mod kernels_util;
use kernels_util::{random_weights, Rng};

/// Converts `n` rows of `k` random floats to the activation type of `wty`.
fn random_acts(wty: GgmlType, n: usize, k: usize, rng: &mut Rng) -> (Vec<u8>, usize) {
    let vdt = vec_dot_type(wty).expect("supported");
    let row = act_row_size(wty, k).expect("row");
    let stride = row + 8; // not tightly packed on purpose
    let mut out = vec![0u8; stride * n];
    for j in 0..n {
        let src: Vec<f32> = (0..k).map(|_| rng.normal()).collect();
        quantize_activations(vdt, &src, &mut out[j * stride..j * stride + row]).expect("quantize");
    }
    (out, stride)
}

#[allow(clippy::too_many_arguments)]
fn run(
    t: &KernelTable,
    wty: GgmlType,
    w: &[u8],
    ws: usize,
    m: usize,
    k: usize,
    a: &[u8],
    s: usize,
    n: usize,
) -> Vec<f32> {
    let mm = MatMul::with_table(t, wty, w, ws, m, k, a, s, n).expect("matmul");
    let mut dst = vec![f32::NAN; n * m];
    mul_mat(&mm, 0..m, 0..n, &mut dst, m).expect("mul_mat");
    dst
}

/// Element sizes to try per type: ragged x4 groups for the 32-blocks, odd lengths for floats.
fn ks(ty: GgmlType) -> Vec<usize> {
    match ty.block_size() {
        1 => vec![1, 7, 67, 256, 261],
        32 => vec![32, 96, 224, 256, 416],
        _ => vec![256, 768],
    }
}

#[test]
fn simd_matches_scalar_for_every_type() {
    if table().isa == Isa::Scalar {
        println!("notice: no SIMD kernels on this CPU; comparing scalar with itself");
    }
    for best in all_tables() {
        println!("checking {:?} against scalar", best.isa);
        simd_matches_scalar(best);
    }
}

fn simd_matches_scalar(best: &KernelTable) {
    let mut rng = Rng::new(7);
    for &ty in SUPPORTED {
        // One activation row takes the GEMV kernels, 11 the row kernels, 53 (≥ every tiled
        // threshold) the tiled GEMM where the table has one, with 37 weight rows = partial
        // 16- and 32-row tiles.
        for (k, (m, n)) in ks(ty)
            .into_iter()
            .flat_map(|k| [(k, (13, 1)), (k, (13, 11)), (k, (37, 53))])
        {
            let (w, ws) = random_weights(ty, m, k, &mut rng);
            let (a, s) = random_acts(ty, n, k, &mut rng);
            let fast = run(best, ty, &w, ws, m, k, &a, s, n);
            let slow = run(scalar_table(), ty, &w, ws, m, k, &a, s, n);
            let scale = slow.iter().fold(1.0f32, |x, v| x.max(v.abs()));
            for (i, (f, r)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (f - r).abs() <= 2e-5 * scale,
                    "{:?} {} k={k} elem {i}: simd {f} scalar {r} (scale {scale})",
                    best.isa,
                    ty.name()
                );
            }
            // The single-dot entry agrees with the tiled path too.
            let kern = best.get(ty).expect("kernel");
            let row = ty.row_size(k as u64).expect("row") as usize;
            let j = 3.min(n - 1);
            let d = (kern.vec_dot)(k, &w[ws * 2..ws * 2 + row], &a[s * j..]);
            assert!(
                (d - fast[j * m + 2]).abs() <= 2e-5 * scale,
                "{} vec_dot",
                ty.name()
            );
        }
    }
}

/// The AVX-512 Q6_K row kernel claims the AVX2 kernel's arithmetic exactly (it keeps
/// upstream's summation order): every output must be the same f32, bit for bit.
#[test]
fn q6_k_rows_are_bit_identical_across_simd_tables() {
    let tables = all_tables();
    let mut rng = Rng::new(11);
    let ty = GgmlType::Q6_K;
    for (k, m, n) in [(256, 13, 1), (768, 7, 3), (2048, 5, 11)] {
        let (w, ws) = random_weights(ty, m, k, &mut rng);
        let (a, s) = random_acts(ty, n, k, &mut rng);
        let outs: Vec<Vec<f32>> = tables
            .iter()
            .filter(|t| t.isa != Isa::Scalar)
            .map(|t| run(t, ty, &w, ws, m, k, &a, s, n))
            .collect();
        for o in outs.iter().skip(1) {
            let same = o
                .iter()
                .zip(&outs[0])
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "Q6_K k={k} n={n}: SIMD tables differ");
        }
    }
}

/// Rows longer than the GEMV kernels prepare on their stack (40 KiB) take their fallback.
#[test]
fn gemv_of_long_rows_matches_scalar() {
    let mut rng = Rng::new(13);
    for ty in [GgmlType::Q4_0, GgmlType::IQ4_NL, GgmlType::Q4_K] {
        let k = 256 * 141;
        let (w, ws) = random_weights(ty, 3, k, &mut rng);
        let (a, s) = random_acts(ty, 1, k, &mut rng);
        let fast = run(table(), ty, &w, ws, 3, k, &a, s, 1);
        let slow = run(scalar_table(), ty, &w, ws, 3, k, &a, s, 1);
        let scale = slow.iter().fold(1.0f32, |x, v| x.max(v.abs()));
        for (f, r) in fast.iter().zip(&slow) {
            assert!(
                (f - r).abs() <= 2e-5 * scale,
                "{} k={k}: {f} vs {r}",
                ty.name()
            );
        }
    }
}

#[test]
fn tiles_compose_to_the_whole_product() {
    let mut rng = Rng::new(11);
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
        GgmlType::F16,
    ] {
        let (m, n, k) = (37, 19, 512);
        let (w, ws) = random_weights(ty, m, k, &mut rng);
        let (a, s) = random_acts(ty, n, k, &mut rng);
        let whole = run(table(), ty, &w, ws, m, k, &a, s, n);
        let mm = MatMul::new(ty, &w, ws, m, k, &a, s, n).expect("matmul");
        let mut dst = vec![f32::NAN; n * m];
        let p = dst.as_mut_ptr();
        for (rows, acts) in [
            (0..16, 0..5),
            (16..37, 0..5),
            (0..20, 5..19),
            (20..37, 5..19),
        ] {
            // SAFETY: the four tiles are disjoint and inside the n×m buffer `dst`.
            unsafe { mul_mat_raw(&mm, rows, acts, p, m).expect("tile") };
        }
        // Small tiles may take a different kernel (the tiled GEMM needs ≥ 8 activation rows),
        // so allow float rounding; every element must have been written.
        let scale = whole.iter().fold(1.0f32, |x, v| x.max(v.abs()));
        for (a, b) in whole.iter().zip(&dst) {
            assert!((a - b).abs() <= 1e-5 * scale, "{}: {a} vs {b}", ty.name());
        }
    }
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let w = vec![0u8; 18 * 4];
    let a = vec![0u8; 36 * 4];
    // k not a multiple of the block size.
    assert!(MatMul::new(GgmlType::Q4_0, &w, 18, 1, 48, &a, 36, 1).is_err());
    // Weight buffer too short for the rows.
    assert!(MatMul::new(GgmlType::Q4_0, &w, 36, 3, 64, &a, 72, 1).is_err());
    // Activation stride shorter than a row.
    assert!(MatMul::new(GgmlType::Q4_0, &w, 36, 2, 64, &a, 36, 2).is_err());
    // No kernel for this type.
    assert!(MatMul::new(GgmlType::I32, &w, 4, 1, 1, &a, 4, 1).is_err());
    let mm = MatMul::new(GgmlType::Q4_0, &w, 36, 2, 64, &a, 72, 2).expect("valid");
    let mut dst = vec![0.0f32; 3];
    assert!(
        mul_mat(&mm, 0..2, 0..2, &mut dst, 2).is_err(),
        "dst too small"
    );
    assert!(
        mul_mat(&mm, 0..3, 0..1, &mut dst, 3).is_err(),
        "rows out of range"
    );
    assert!(quantize_activations(GgmlType::Q8_0, &[0.0; 32], &mut [0u8; 35]).is_err());
    assert!(quantize_activations(GgmlType::Q4_0, &[0.0; 32], &mut [0u8; 64]).is_err());
    assert!(quantize_activations(GgmlType::Q8_K, &[0.0; 100], &mut [0u8; 400]).is_err());
}

#[test]
fn q8_activation_rounding_is_upstreams_avx2_rounding() {
    // amax = 127 makes the inverse scale exactly 1, so x·id lands on halves: upstream's AVX2
    // quantizer rounds half to even (2.5 → 2, -3.5 → -4, 0.5 → 0), its `_ref` would not.
    let mut x = vec![0.0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -3.5;
    x[3] = 0.5;
    x[4] = -0.5;
    // One block: our layout stores it as (d, Σq, qs[32]).
    let mut q = [0u8; 36];
    quantize_activations(GgmlType::Q8_0, &x, &mut q).expect("q8_0");
    assert_eq!(
        u16::from_le_bytes([q[0], q[1]]),
        half::f16::from_f32(1.0).to_bits()
    );
    assert_eq!(i16::from_le_bytes([q[2], q[3]]), 127 + 2 - 4);
    assert_eq!(&q[4..9], &[127u8, 2, (-4i8) as u8, 0, 0]);
    // Q8_K: iscale = -127/max (max = the signed value of largest magnitude), d = 1/iscale,
    // the same half-even rounding (-2.5 → -2) and 16-element bsums.
    let mut xk = vec![0.0f32; 256];
    xk[0] = 127.0;
    xk[17] = 2.5;
    let mut qk = vec![0u8; 292];
    quantize_activations(GgmlType::Q8_K, &xk, &mut qk).expect("q8_K");
    assert_eq!(f32::from_le_bytes([qk[0], qk[1], qk[2], qk[3]]), -1.0);
    assert_eq!(qk[4] as i8, -127);
    assert_eq!(qk[4 + 17] as i8, -2);
    assert_eq!(i16::from_le_bytes([qk[260], qk[261]]), -127);
    assert_eq!(i16::from_le_bytes([qk[262], qk[263]]), -2);
}

type Quantizer = fn(&[f32], &mut [u8]);

#[test]
fn simd_quantizers_write_the_scalar_bytes() {
    use llama::backend::cpu::kernels::quantize;
    let mut rng = Rng::new(19);
    for trial in 0..40 {
        let k = 256 * (1 + trial % 5);
        let scale = [1.0f32, 1e-4, 300.0][trial % 3];
        let mut x: Vec<f32> = (0..k).map(|_| rng.normal() * scale).collect();
        if trial % 4 == 0 {
            x[..256].fill(0.0);
        }
        if trial % 4 == 1 {
            x[40] = 127.0; // halfway cases and a tie for the largest magnitude
            x[41] = -127.0;
            for j in 0..32 {
                x[96 + j] = j as f32 - 15.5;
            }
        }
        let cases: [(GgmlType, Quantizer); 4] = [
            (GgmlType::F16, quantize::convert_row_f16),
            (GgmlType::Q8_0, quantize::quantize_row_q8_x4),
            (GgmlType::Q8_1, quantize::quantize_row_q8_x4),
            (GgmlType::Q8_K, quantize::quantize_row_q8_k),
        ];
        for (ty, scalar) in cases {
            let n = quantize::act_row_bytes(ty, k).expect("row");
            let (mut a, mut b) = (vec![0u8; n], vec![0u8; n]);
            quantize_activations(ty, &x, &mut a).expect("quantize");
            scalar(&x, &mut b);
            assert_eq!(a, b, "{} trial {trial}", ty.name());
        }
    }
}

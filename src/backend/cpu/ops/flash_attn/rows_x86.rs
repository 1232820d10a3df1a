//! x86-64 kernels of the per-row path ([`super::rows`]): the f16 multiply-add / scale of the
//! `VKQ16` accumulator (AVX2, fused for every element), and the whole KV loop of one query row
//! for F16 K and V with AVX-512, with K rows dotted in upstream's 16-lane order.

#![allow(clippy::incompatible_msrv)] // AVX-512 intrinsics: Rust 1.89

use std::arch::x86_64::*;

use super::rows::{Online, Scores};

/// Whether [`row_f16`] can run on this CPU.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

/// `acc[i] = f16(fma(v[i], s, acc[i]))`, or `f16(acc[i] · s)` when `v` is null; f16 values
/// rounded to nearest even like half's and upstream's conversions.
///
/// # Safety
/// AVX2, FMA and F16C present; `acc` (and `v` unless null) valid for `n` u16.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn mad_f16(acc: *mut u16, v: *const u16, n: usize, s: f32) {
    let sv = _mm256_set1_ps(s);
    let step = |a: __m256, y: __m256| {
        if v.is_null() {
            _mm256_mul_ps(a, sv)
        } else {
            _mm256_fmadd_ps(y, sv, a)
        }
    };
    let mut i = 0;
    while i + 8 <= n {
        let a = _mm256_cvtph_ps(_mm_loadu_si128(acc.add(i) as *const __m128i));
        let y = if v.is_null() {
            a
        } else {
            _mm256_cvtph_ps(_mm_loadu_si128(v.add(i) as *const __m128i))
        };
        let r = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(step(a, y));
        _mm_storeu_si128(acc.add(i) as *mut __m128i, r);
        i += 8;
    }
    if i < n {
        let (mut a, mut y) = ([0u16; 8], [0u16; 8]);
        for t in i..n {
            a[t - i] = *acc.add(t);
            if !v.is_null() {
                y[t - i] = *v.add(t);
            }
        }
        let av = _mm256_cvtph_ps(_mm_loadu_si128(a.as_ptr() as *const __m128i));
        let yv = _mm256_cvtph_ps(_mm_loadu_si128(y.as_ptr() as *const __m128i));
        _mm_storeu_si128(
            a.as_mut_ptr() as *mut __m128i,
            _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(step(av, yv)),
        );
        for t in i..n {
            *acc.add(t) = a[t - i];
        }
    }
}

/// KV rows [`row_f16`] prefetches ahead.
const PREFETCH_ROWS: usize = 8;

/// One query row's operands for [`row_f16`].
pub(super) struct RowF16 {
    /// K head size.
    pub dk: usize,
    /// KV rows.
    pub n_kv: usize,
    /// The query row converted to f16 (`dk` values).
    pub q: *const u16,
    /// K row 0 of the head; row `i` at `k + i · k_stride`.
    pub k: *const u8,
    /// Bytes between K rows.
    pub k_stride: usize,
    /// V row 0 of the head.
    pub v: *const u8,
    /// Bytes between V rows.
    pub v_stride: usize,
    /// The row's f16 mask (`n_kv` values), if any.
    pub mask: Option<*const u16>,
}

/// One f16 value to f32.
#[inline(always)]
unsafe fn h2f(h: u16) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
}

/// [`dot_f16`] with the second operand already widened to f32 (`y[i]` = the f16 value
/// widened): the same products and sums.
#[inline(always)]
unsafe fn dot_f16_wide(n: usize, x: *const u16, y: *const f32) -> f32 {
    dot_by(n, x, |i| _mm512_loadu_ps(y.add(i)), |t| *y.add(t))
}

/// The order of upstream's AVX-512 `ggml_vec_dot_f16` over f16 `x` and a second operand read
/// through `y16(i)` (16 values from element `i`) and `y1(t)` (one value).
#[inline(always)]
unsafe fn dot_by(
    n: usize,
    x: *const u16,
    y16: impl Fn(usize) -> __m512,
    y1: impl Fn(usize) -> f32,
) -> f32 {
    let np = n & !63;
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i < np {
        for (j, a) in acc.iter_mut().enumerate() {
            let ax = _mm512_cvtph_ps(_mm256_loadu_si256(x.add(i + 16 * j) as *const __m256i));
            *a = _mm512_fmadd_ps(ax, y16(i + 16 * j), *a);
        }
        i += 64;
    }
    let mut sum = reduce_like_upstream(acc) as f64;
    for t in np..n {
        sum += (h2f(*x.add(t)) * y1(t)) as f64;
    }
    sum as f32
}

/// `(a0 + a2) + (a1 + a3)` summed to one float as `_mm512_reduce_add_ps` pairs the lanes:
/// halves, then quarters, then (0, 2) and (1, 3), then the two.
#[inline(always)]
unsafe fn reduce_like_upstream(acc: [__m512; 4]) -> f32 {
    let a = _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[1], acc[3]));
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
    let t3 = _mm256_add_ps(hi, _mm512_castps512_ps256(a));
    let t6 = _mm_add_ps(_mm256_extractf128_ps::<1>(t3), _mm256_castps256_ps128(t3));
    let mut l = [0f32; 4];
    _mm_storeu_ps(l.as_mut_ptr(), t6);
    (l[0] + l[2]) + (l[1] + l[3])
}

/// Upstream's AVX-512 `ggml_vec_dot_f16`: four 16-lane accumulators over 64-element steps,
/// summed as (a0 + a2) + (a1 + a3), reduced like `_mm512_reduce_add_ps` (halves, then quarters,
/// then pairs), leftovers added in f64 as f32 products.
#[inline(always)]
unsafe fn dot_f16(n: usize, x: *const u16, y: *const u16) -> f32 {
    dot_by(
        n,
        x,
        |i| _mm512_cvtph_ps(_mm256_loadu_si256(y.add(i) as *const __m256i)),
        |t| h2f(*y.add(t)),
    )
}

/// `acc[i] = f16(fma(v[i], s, acc[i]))` (or `f16(acc[i] · s)` when `v` is null), 16 lanes at a
/// time, the tail masked. Whole 16-lane steps use plain loads and stores, which forward to the
/// next row's loads (masked stores do not).
#[inline(always)]
unsafe fn mad16(acc: *mut u16, v: *const u16, n: usize, s: f32) {
    let sv = _mm512_set1_ps(s);
    let step = |a: __m512, y: *const u16, m: __mmask16| {
        if y.is_null() {
            _mm512_mul_ps(a, sv)
        } else {
            _mm512_fmadd_ps(
                _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, y as *const i16)),
                sv,
                a,
            )
        }
    };
    let mut i = 0;
    while i + 16 <= n {
        let a = _mm512_cvtph_ps(_mm256_loadu_si256(acc.add(i) as *const __m256i));
        let y = if v.is_null() { v } else { v.add(i) };
        let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(step(a, y, 0xffff));
        _mm256_storeu_si256(acc.add(i) as *mut __m256i, h);
        i += 16;
    }
    if i < n {
        let m: __mmask16 = (1u16 << (n - i)) - 1;
        let a = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, acc.add(i) as *const i16));
        let y = if v.is_null() { v } else { v.add(i) };
        let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(step(a, y, m));
        _mm256_mask_storeu_epi16(acc.add(i) as *mut i16, m, h);
    }
}

/// The accumulator of [`row_f16`] held in `NV` registers of 16 lanes (`dv = 16 · NV`): every
/// update is rounded to f16 and widened back, the same values as storing and reloading `VKQ16`.
#[inline(always)]
unsafe fn mad_regs<const NV: usize>(acc: &mut [__m512; NV], v: *const u16, s: f32) {
    let sv = _mm512_set1_ps(s);
    for (j, a) in acc.iter_mut().enumerate() {
        let r = if v.is_null() {
            _mm512_mul_ps(*a, sv)
        } else {
            let y = _mm512_cvtph_ps(_mm256_loadu_si256(v.add(16 * j) as *const __m256i));
            _mm512_fmadd_ps(y, sv, *a)
        };
        *a = _mm512_cvtph_ps(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(r));
    }
}

/// The KV loop of one query row with F16 K and V, for head sizes [`group_f16`] does not take:
/// masked entries skipped, scores as [`Scores::score`], the online softmax of [`Online::step`],
/// V accumulated into `h16` (zeroed by the caller) in f16 memory.
///
/// # Safety
/// [`available`] is true; `r.q` holds `r.dk` values; K rows `0..r.n_kv` hold `r.dk` f16 values
/// and V rows `h16.len()`; the mask (if any) holds `r.n_kv` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn row_f16(r: RowF16, sc: &Scores, h16: &mut [half::f16]) -> Online {
    let dv = h16.len();
    let acc = h16.as_mut_ptr() as *mut u16;
    kv_loop(&r, sc, dv, |ms, v, vs| {
        if ms != 1.0 {
            mad16(acc, std::ptr::null(), dv, ms);
        }
        mad16(acc, v, dv, vs);
    })
}

/// Prefetches the K and V rows [`PREFETCH_ROWS`] after row `ic`: they are a whole cache cell
/// apart (all KV heads), a stride the hardware prefetcher does not follow.
#[inline(always)]
unsafe fn prefetch_kv(r: &RowF16, ic: usize, dv: usize) {
    let ahead = ic + PREFETCH_ROWS;
    if ahead < r.n_kv {
        for off in (0..r.dk * 2).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(r.k.add(ahead * r.k_stride + off) as *const i8);
        }
        for off in (0..dv * 2).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(r.v.add(ahead * r.v_stride + off) as *const i8);
        }
    }
}

/// Walks the visible KV rows of one query row in order, calling `update(ms, v_row, vs)` with
/// the accumulator factor and the weight of each row's V.
#[inline(always)]
unsafe fn kv_loop(
    r: &RowF16,
    sc: &Scores,
    dv: usize,
    mut update: impl FnMut(f32, *const u16, f32),
) -> Online {
    let mut on = Online::new();
    for ic in 0..r.n_kv {
        let mv = match r.mask {
            Some(p) => sc.slope * h2f(*p.add(ic)),
            None => 0.0,
        };
        if mv == f32::NEG_INFINITY {
            continue;
        }
        prefetch_kv(r, ic, dv);
        let kr = r.k.add(ic * r.k_stride) as *const u16;
        let s = sc.score(dot_f16(r.dk, kr, r.q), mv);
        let (ms, vs) = on.step(s);
        update(ms, r.v.add(ic * r.v_stride) as *const u16, vs);
    }
    on
}

/// KV rows per phase of [`group_f16`].
const BLOCK: usize = 16;

/// Most query rows [`group_f16`] takes at once, and the longest K head it takes.
pub(super) const GROUP: usize = 8;
/// See [`GROUP`].
pub(super) const GROUP_DK: usize = 256;

/// Query rows of one KV head (GQA) for [`group_f16`]: each row's f32 Q, mask and scores.
pub(super) struct Group {
    /// Rows in the group (1, 2, 4 or 8).
    pub n: usize,
    /// Each row's f32 query (`dk` values).
    pub q: [*const f32; GROUP],
    /// Each row's mask, if any.
    pub mask: [Option<*const u16>; GROUP],
    /// Each row's score parameters.
    pub sc: [Scores; GROUP],
}

/// The KV loop for up to [`GROUP`] query rows that read the same K/V head (one decoded token's
/// heads of a GQA group, or one row alone), the accumulators in registers: each K and V row is
/// loaded once for all of them. Every row's result
/// is the same bits as [`row_f16`] gives it alone. `r.q` and `r.mask` are unused (per row in
/// `g`); row `j`'s f16 accumulator goes to `out[j]`.
///
/// # Safety
/// As [`row_f16`]; `g.n` is 1, 2, 4 or 8, `r.dk <= GROUP_DK`, `dv` is 64 or 128 and `out[j]`
/// holds `dv` values for `j < g.n`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,f16c")]
pub(super) unsafe fn group_f16(
    r: &RowF16,
    g: &Group,
    dv: usize,
    out: &mut [[half::f16; 128]; GROUP],
) -> [Online; GROUP] {
    match (g.n, dv) {
        (1, 64) => group_regs::<1, 4>(r, g, out),
        (2, 64) => group_regs::<2, 4>(r, g, out),
        (4, 64) => group_regs::<4, 4>(r, g, out),
        (8, 64) => group_regs::<8, 4>(r, g, out),
        (1, _) => group_regs::<1, 8>(r, g, out),
        (2, _) => group_regs::<2, 8>(r, g, out),
        (4, _) => group_regs::<4, 8>(r, g, out),
        _ => group_regs::<8, 8>(r, g, out),
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // `b` indexes the block's rows and weights together
unsafe fn group_regs<const G: usize, const NV: usize>(
    r: &RowF16,
    g: &Group,
    out: &mut [[half::f16; 128]; GROUP],
) -> [Online; GROUP] {
    // Q rows rounded to f16 (to nearest even, like the per-row path's conversion) and widened
    // back once, not at every K row.
    let mut qw = [[0f32; GROUP_DK]; G];
    for (j, row) in qw.iter_mut().enumerate() {
        for (t, x) in row[..r.dk].iter_mut().enumerate() {
            *x = half::f16::from_f32(*g.q[j].add(t)).to_f32();
        }
    }
    let mut acc = [[_mm512_setzero_ps(); NV]; G];
    let mut on: [Online; GROUP] = std::array::from_fn(|_| Online::new());
    let dv = 16 * NV;
    // Blocks of KV rows in two phases: scores and the online softmax (whose `exp` calls would
    // otherwise force the register accumulators to the stack at every row), then the
    // accumulator updates in the same order.
    let mut w = [[(0f32, 0f32); BLOCK]; G];
    let mut ic0 = 0;
    while ic0 < r.n_kv {
        let nb = (r.n_kv - ic0).min(BLOCK);
        for b in 0..nb {
            let ic = ic0 + b;
            prefetch_kv(r, ic, dv);
            let kr = r.k.add(ic * r.k_stride) as *const u16;
            for j in 0..G {
                let sc = &g.sc[j];
                let mv = match g.mask[j] {
                    Some(p) => sc.slope * h2f(*p.add(ic)),
                    None => 0.0,
                };
                // a masked row takes no step: weight 0 marks it (a visible one is > 0 or NaN)
                w[j][b] = if mv == f32::NEG_INFINITY {
                    (1.0, 0.0)
                } else {
                    on[j].step(sc.score(dot_f16_wide(r.dk, kr, qw[j].as_ptr()), mv))
                };
            }
        }
        for b in 0..nb {
            let vr = r.v.add((ic0 + b) * r.v_stride) as *const u16;
            for j in 0..G {
                let (ms, vs) = w[j][b];
                if vs == 0.0 && ms == 1.0 {
                    continue;
                }
                if ms != 1.0 {
                    mad_regs(&mut acc[j], std::ptr::null(), ms);
                }
                mad_regs(&mut acc[j], vr, vs);
            }
        }
        ic0 += nb;
    }
    for (j, a) in acc.iter().enumerate() {
        for (t, x) in a.iter().enumerate() {
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(*x);
            _mm256_storeu_si256(out[j].as_mut_ptr().add(16 * t) as *mut __m256i, h);
        }
    }
    on
}

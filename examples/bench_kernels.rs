//! Question: how fast are the CPU matmul kernels on bench-1b shapes, next to this machine's
//! memory bandwidth and next to upstream's `ggml_mul_mat` in the same run?
//!
//! - GEMV (1 activation row; token generation): weight GB/s per type, for K=2048 → M=2048,
//!   8192, 512, K=8192 → M=2048 and the output layer 2048 → 128256, beside a 2-thread memcpy
//!   and a 2-thread read-only sweep.
//! - GEMM (512 activation rows; prompt processing): GFLOP/s (2·M·N·K per product), including
//!   activation quantization, as upstream's numbers include it.
//! - Upstream: `libggml-cpu.so` of the pinned llama.cpp (llama-cpp-python's build, found at
//!   `$FERROLLAMA_UPSTREAM_LIB_DIR` or the venv) running one graph of 8 `ggml_mul_mat` nodes
//!   on plain (not repacked) weights with `ggml_graph_compute_with_ctx`, per node.
//!
//! - `BENCH_COPIES=1` keeps one copy of the weights (cache-resident for the smaller shapes):
//!   the kernels' compute ceiling rather than memory streaming. With 1 thread, ours runs on the
//!   calling thread, so that figure has no thread hand-off in it.
//!
//! Usage: `cargo run --release --example bench_kernels -- [threads] [type ...]`
//! (default: 2 threads; Q4_0 Q8_0 Q4_K Q6_K F16 BF16 F32 Q5_K Q3_K Q2_K Q4_1 Q5_0 Q5_1
//! IQ4_NL IQ4_XS TQ2_0 MXFP4).

use std::time::Instant;

use llama::backend::cpu::kernels::{
    act_row_size, mul_mat_raw, quantize_activations, table, vec_dot_type, MatMul,
};
use llama::quant::GgmlType;

/// Upstream's ggml through `dlopen`: a context, one weight and activation tensor, 8 mul_mat
/// nodes reading them, computed by `ggml_graph_compute_with_ctx`.
mod upstream {
    #![allow(clippy::missing_transmute_annotations)] // each target type is the field's type
    use std::ffi::{c_void, CString};

    use llama::quant::GgmlType;

    #[repr(C)]
    struct InitParams {
        mem_size: usize,
        mem_buffer: *mut c_void,
        no_alloc: bool,
    }

    type Ptr = *mut c_void;

    pub type VecDot =
        unsafe extern "C" fn(i32, *mut f32, usize, *const c_void, usize, *const c_void, usize, i32);
    pub type FromFloat = unsafe extern "C" fn(*const f32, *mut c_void, i64);

    #[repr(C)]
    struct TraitsCpu {
        from_float: Option<FromFloat>,
        vec_dot: Option<VecDot>,
        vec_dot_type: i32,
        nrows: i64,
    }

    pub struct Upstream {
        traits_cpu: unsafe extern "C" fn(i32) -> *const TraitsCpu,
        init: unsafe extern "C" fn(InitParams) -> Ptr,
        free: unsafe extern "C" fn(Ptr),
        new_2d: unsafe extern "C" fn(Ptr, i32, i64, i64) -> Ptr,
        mul_mat: unsafe extern "C" fn(Ptr, Ptr, Ptr) -> Ptr,
        new_graph: unsafe extern "C" fn(Ptr) -> Ptr,
        expand: unsafe extern "C" fn(Ptr, Ptr),
        data: unsafe extern "C" fn(Ptr) -> Ptr,
        compute: unsafe extern "C" fn(Ptr, Ptr, i32) -> i32,
    }

    impl Upstream {
        pub fn load() -> Option<Upstream> {
            let dir = std::env::var("FERROLLAMA_UPSTREAM_LIB_DIR").unwrap_or_else(|_| {
                "/work/up/venv/lib/python3.11/site-packages/llama_cpp/lib".into()
            });
            let path = CString::new(format!("{dir}/libggml-cpu.so")).ok()?;
            // SAFETY: dlopen/dlsym with NUL-terminated names; each symbol is transmuted to the
            // signature ggml.h / ggml-cpu.h of the pinned tree declare for it.
            unsafe {
                let h = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
                if h.is_null() {
                    return None;
                }
                let sym = |n: &str| -> Option<*mut c_void> {
                    let c = CString::new(n).ok()?;
                    let p = libc::dlsym(h, c.as_ptr());
                    (!p.is_null()).then_some(p)
                };
                let cpu_init: unsafe extern "C" fn() = std::mem::transmute(sym("ggml_cpu_init")?);
                cpu_init();
                Some(Upstream {
                    traits_cpu: std::mem::transmute(sym("ggml_get_type_traits_cpu")?),
                    init: std::mem::transmute(sym("ggml_init")?),
                    free: std::mem::transmute(sym("ggml_free")?),
                    new_2d: std::mem::transmute(sym("ggml_new_tensor_2d")?),
                    mul_mat: std::mem::transmute(sym("ggml_mul_mat")?),
                    new_graph: std::mem::transmute(sym("ggml_new_graph")?),
                    expand: std::mem::transmute(sym("ggml_build_forward_expand")?),
                    data: std::mem::transmute(sym("ggml_get_data")?),
                    compute: std::mem::transmute(sym("ggml_graph_compute_with_ctx")?),
                })
            }
        }

        /// Upstream's `vec_dot` and `from_float` for weight type `ty` (CPU type traits).
        pub fn vec_dot(&self, ty: GgmlType) -> Option<(VecDot, FromFloat)> {
            // SAFETY: `ggml_get_type_traits_cpu` returns a pointer to a static table entry whose
            // layout is `struct ggml_type_traits_cpu` of ggml-cpu.h.
            unsafe {
                let t = &*(self.traits_cpu)(ty as i32);
                let vdt = &*(self.traits_cpu)(t.vec_dot_type);
                Some((t.vec_dot?, vdt.from_float?))
            }
        }

        /// Seconds per `ggml_mul_mat` of `m` weight rows (`w`, k elements each) with `n` f32
        /// activation rows `x`, on `nth` threads: a graph of `nodes` products, each with its own
        /// copy of the weights when `copies` (so that GEMV streams from memory, not cache).
        #[allow(clippy::too_many_arguments)]
        pub fn mul_mat(
            &self,
            ty: GgmlType,
            w: &[u8],
            m: usize,
            k: usize,
            x: &[f32],
            n: usize,
            nth: usize,
            nodes: usize,
            copies: bool,
            check: &mut Vec<f32>,
        ) -> Option<f64> {
            let nw = if copies { nodes } else { 1 };
            let data = nw * w.len() + 4 * x.len() + nodes * 4 * m * n + 2 * 4 * x.len();
            // ggml's object headers and work buffers: `ggml_graph_compute_with_ctx` takes a new
            // work buffer from the context on every call, and the timing loop calls it as often
            // as fits in its time (a flat 256 MiB fell short for the Q6_K output layer)
            let mem = data + (512 << 20);
            // SAFETY: ggml calls per ggml.h; the context is sized for every tensor, the work
            // buffer and the graph; copies stay within the tensors' byte sizes (ggml_nbytes of a
            // contiguous [k, m] tensor of `ty` = w.len(), of [k, n] f32 = 4·x.len()).
            unsafe {
                let ctx = (self.init)(InitParams {
                    mem_size: mem,
                    mem_buffer: std::ptr::null_mut(),
                    no_alloc: false,
                });
                if ctx.is_null() {
                    return None;
                }
                let b = (self.new_2d)(ctx, GgmlType::F32 as i32, k as i64, n as i64);
                std::ptr::copy_nonoverlapping(x.as_ptr(), (self.data)(b) as *mut f32, x.len());
                let mut a = std::ptr::null_mut();
                let mut first = std::ptr::null_mut();
                let g = (self.new_graph)(ctx);
                for i in 0..nodes {
                    if i < nw {
                        a = (self.new_2d)(ctx, ty as i32, k as i64, m as i64);
                        std::ptr::copy_nonoverlapping(
                            w.as_ptr(),
                            (self.data)(a) as *mut u8,
                            w.len(),
                        );
                    }
                    let c = (self.mul_mat)(ctx, a, b);
                    if i == 0 {
                        first = c;
                    }
                    (self.expand)(g, c);
                }
                let mut status = 0;
                let secs = super::time(0.4, || {
                    status = (self.compute)(ctx, g, nth as i32);
                });
                let out =
                    std::slice::from_raw_parts((self.data)(first) as *const f32, m * n).to_vec();
                (self.free)(ctx);
                if status != 0 {
                    println!("upstream graph_compute failed: status {status}");
                    return None;
                }
                *check = out;
                Some(secs / nodes as f64)
            }
        }
    }
}

/// Runs `f(ith)` on `nth` threads of a persistent rayon pool and waits (nothing for 0).
fn par(pool: &rayon::ThreadPool, nth: usize, f: &(dyn Fn(usize) + Sync)) {
    if nth == 0 {
        return;
    }
    if nth == 1 {
        // On the caller's thread: a single-thread figure measures the kernel, not a wake-up.
        f(0);
        return;
    }
    pool.broadcast(|ctx| {
        if ctx.index() < nth {
            f(ctx.index())
        }
    });
}

/// Process CPU seconds so far.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// With `BENCH_CPU_TIME=1`, [`time`] reports process CPU time (divided by the thread count):
/// on a machine shared with other work this excludes the time our threads were descheduled.
static CPU_TIME_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Fastest call of `f` (seconds) after a warm-up, over at least `min_s` seconds: the minimum
/// is the most robust statistic on a machine shared with other work.
fn time(min_s: f64, mut f: impl FnMut()) -> f64 {
    f();
    let cpu_threads = CPU_TIME_THREADS.load(std::sync::atomic::Ordering::Relaxed);
    let t0 = Instant::now();
    let mut n = 0u32;
    let mut best = f64::MAX;
    while n < 3 || t0.elapsed().as_secs_f64() < min_s {
        let (t, c) = (Instant::now(), cpu_now());
        f();
        let dt = if cpu_threads > 0 {
            (cpu_now() - c) / cpu_threads as f64
        } else {
            t.elapsed().as_secs_f64()
        };
        best = best.min(dt);
        n += 1;
    }
    best
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

/// Random weights with every block's f16 fields set to small sane values.
fn weights(ty: GgmlType, m: usize, k: usize) -> Vec<u8> {
    let row = ty.row_size(k as u64).unwrap_or(0) as usize;
    let mut w = random_bytes(row * m, 0x1234 + ty as u64);
    let small = half::f16::from_f32(0.01).to_bits().to_le_bytes();
    let fields: &[usize] = match ty {
        GgmlType::F16 => &[],
        GgmlType::BF16 | GgmlType::F32 => &[],
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 | GgmlType::IQ4_NL | GgmlType::IQ4_XS => {
            &[0]
        }
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        GgmlType::TQ1_0 => &[52],
        GgmlType::TQ2_0 => &[64],
        _ => &[],
    };
    match ty {
        GgmlType::F16 | GgmlType::BF16 => {
            for c in w.chunks_exact_mut(2) {
                c[1] = 0x3c ^ (c[1] & 0x83); // finite, |x| < 4
            }
        }
        GgmlType::F32 => {
            for c in w.chunks_exact_mut(4) {
                c[3] = 0x3f ^ (c[3] & 0x80);
            }
        }
        GgmlType::MXFP4 => {
            for b in w.chunks_exact_mut(17) {
                b[0] = 120;
            }
        }
        _ => {
            for b in w.chunks_exact_mut(ty.type_size()) {
                for &o in fields {
                    b[o..o + 2].copy_from_slice(&small);
                }
            }
        }
    }
    w
}

/// Ours: quantize `n` activation rows, then the matmul split by weight rows over `nth` threads;
/// `reps` products per timed call, cycling through the weight copies `ws`.
#[allow(clippy::too_many_arguments)]
fn ours(
    pool: &rayon::ThreadPool,
    nth: usize,
    ty: GgmlType,
    ws: &[Vec<u8>],
    reps: usize,
    m: usize,
    k: usize,
    x: &[f32],
    n: usize,
    check: &mut Vec<f32>,
) -> f64 {
    let vdt = vec_dot_type(ty).unwrap_or(GgmlType::F32);
    let arow = act_row_size(ty, k).unwrap_or(0);
    let wrow = ty.row_size(k as u64).unwrap_or(0) as usize;
    let mut act = vec![0u8; arow * n];
    let mut dst = vec![0f32; m * n];
    let per = time(0.4, || {
        for r in 0..reps {
            let w = &ws[r % ws.len()];
            let a_ptr = act.as_mut_ptr() as usize;
            // One row (GEMV) is quantized by the caller: no second hand-off to the pool.
            let quant_threads = if n == 1 { 0 } else { nth };
            if n == 1 {
                let _ = quantize_activations(vdt, &x[..k], &mut act[..arow]);
            }
            par(pool, quant_threads, &|ith| {
                for j in (ith..n).step_by(nth) {
                    // SAFETY: rows j are disjoint between threads (strided by nth) and in bounds.
                    let row = unsafe {
                        std::slice::from_raw_parts_mut((a_ptr as *mut u8).add(j * arow), arow)
                    };
                    let _ = quantize_activations(vdt, &x[j * k..(j + 1) * k], row);
                }
            });
            let Ok(mm) = MatMul::new(ty, w, wrow, m, k, &act, arow, n) else {
                continue;
            };
            let out = dst.as_mut_ptr() as usize;
            par(pool, nth, &|ith| {
                let chunk = m.div_ceil(nth).div_ceil(16) * 16;
                let r0 = (ith * chunk).min(m);
                let r1 = ((ith + 1) * chunk).min(m);
                // SAFETY: threads write disjoint column ranges r0..r1 of the n×m `dst`.
                let _ = unsafe { mul_mat_raw(&mm, r0..r1, 0..n, out as *mut f32, m) };
            });
        }
    });
    *check = dst;
    per / reps as f64
}

/// Largest |a − b| relative to max |b|: our output against upstream's.
fn rel_diff(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(1e-30f64, |s, &v| s.max(v.abs() as f64));
    a.iter()
        .zip(b)
        .fold(0.0f64, |d, (&x, &y)| d.max((x as f64 - y as f64).abs()))
        / scale
}

fn bandwidth(pool: &rayon::ThreadPool, nth: usize) -> (f64, f64) {
    let len = 256 << 20;
    let src = random_bytes(len, 9);
    let mut dst = vec![0u8; len];
    let part = len / nth;
    let d_ptr = dst.as_mut_ptr() as usize;
    let copy = time(0.5, || {
        par(pool, nth, &|ith| {
            // SAFETY: each thread copies into its own disjoint `part` of `dst`.
            let d =
                unsafe { std::slice::from_raw_parts_mut((d_ptr as *mut u8).add(ith * part), part) };
            d.copy_from_slice(&src[ith * part..(ith + 1) * part]);
        })
    });
    let read = time(0.5, || {
        par(pool, nth, &|ith| {
            let s = &src[ith * part..(ith + 1) * part];
            let words: u64 = s
                .chunks_exact(64)
                .map(|c| u64::from(c[0]) ^ u64::from(c[63]))
                .sum();
            std::hint::black_box(words);
        })
    });
    (len as f64 / copy / 1e9, len as f64 / read / 1e9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nth: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let names: Vec<&str> = args.iter().skip(1).map(|s| s.as_str()).collect();
    let all = [
        "q4_0", "q8_0", "q4_K", "q6_K", "f16", "bf16", "f32", "q5_K", "q3_K", "q2_K", "q4_1",
        "q5_0", "q5_1", "iq4_nl", "iq4_xs", "tq2_0", "mxfp4",
    ];
    let types: Vec<GgmlType> = (if names.is_empty() {
        all.to_vec()
    } else {
        names
    })
    .iter()
    .filter_map(|n| {
        GgmlType::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(n))
    })
    .collect();
    if std::env::var("BENCH_CPU_TIME").is_ok_and(|v| v == "1") {
        CPU_TIME_THREADS.store(nth, std::sync::atomic::Ordering::Relaxed);
    }
    let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(nth).build() else {
        return;
    };
    let up = upstream::Upstream::load();
    println!(
        "kernels: {:?}, {nth} threads, upstream: {}",
        table().isa,
        if up.is_some() { "loaded" } else { "not found" }
    );
    let (copy, read) = bandwidth(&pool, nth);
    println!("memcpy {copy:.1} GB/s   read {read:.1} GB/s\n");

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "small" {
        // Single thread: GFLOP/s against the number of activation rows (K=2048, M=2048), to
        // place the switch from row kernels to the tiled GEMM.
        let (k, m) = (2048, 2048);
        for &ty in &types {
            let w = weights(ty, m, k);
            let vdt = vec_dot_type(ty).unwrap_or(GgmlType::F32);
            let arow = act_row_size(ty, k).unwrap_or(0);
            let wrow = ty.row_size(k as u64).unwrap_or(0) as usize;
            print!("{:8}", ty.name());
            for n in [1usize, 2, 4, 6, 8, 12, 16, 32, 64] {
                let x: Vec<f32> = (0..k * n)
                    .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                    .collect();
                let mut act = vec![0u8; arow * n];
                for j in 0..n {
                    let _ = quantize_activations(
                        vdt,
                        &x[j * k..(j + 1) * k],
                        &mut act[j * arow..(j + 1) * arow],
                    );
                }
                let mut dst = vec![0f32; m * n];
                let Ok(mm) = MatMul::new(ty, &w, wrow, m, k, &act, arow, n) else {
                    continue;
                };
                let t = time(0.2, || {
                    let _ = llama::backend::cpu::kernels::mul_mat(&mm, 0..m, 0..n, &mut dst, m);
                });
                print!("  n={n}: {:.0}", 2.0 * (m * n * k) as f64 / t / 1e9);
            }
            println!();
        }
        return;
    }
    if only == "tile" {
        // Single thread, no pool: quantization and matmul timed apart (K=2048, M=512, N=512).
        let (k, m, n) = (2048, 512, 512);
        let x: Vec<f32> = (0..k * n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        for &ty in &types {
            let w = weights(ty, m, k);
            let vdt = vec_dot_type(ty).unwrap_or(GgmlType::F32);
            let arow = act_row_size(ty, k).unwrap_or(0);
            let wrow = ty.row_size(k as u64).unwrap_or(0) as usize;
            let mut act = vec![0u8; arow * n];
            let tq = time(0.3, || {
                for j in 0..n {
                    let _ = quantize_activations(
                        vdt,
                        &x[j * k..(j + 1) * k],
                        &mut act[j * arow..(j + 1) * arow],
                    );
                }
            });
            let mut dst = vec![0f32; m * n];
            let Ok(mm) = MatMul::new(ty, &w, wrow, m, k, &act, arow, n) else {
                continue;
            };
            let tm = time(0.5, || {
                let _ = llama::backend::cpu::kernels::mul_mat(&mm, 0..m, 0..n, &mut dst, m);
            });
            let flop = 2.0 * (m * n * k) as f64;
            println!(
                "{:8} quantize {:6.2} ms  matmul {:6.2} ms = {:5.0} GFLOP/s",
                ty.name(),
                tq * 1e3,
                tm * 1e3,
                flop / tm / 1e9
            );
        }
        return;
    }
    if only == "dot" {
        // Single-thread, L1-resident: ns per k=2048 dot product, ours vs upstream's vec_dot.
        let k = 2048;
        let x: Vec<f32> = (0..k)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        for &ty in &types {
            let w = weights(ty, 1, k);
            let vdt = vec_dot_type(ty).unwrap_or(GgmlType::F32);
            let mut a = vec![0u8; act_row_size(ty, k).unwrap_or(0) + 64];
            let _ = quantize_activations(vdt, &x, &mut a);
            let Some(kern) = table().get(ty) else {
                continue;
            };
            let reps = 2000;
            let ours = time(0.3, || {
                for _ in 0..reps {
                    std::hint::black_box((kern.vec_dot)(k, std::hint::black_box(&w), &a));
                }
            }) / reps as f64;
            let theirs = up.as_ref().and_then(|u| u.vec_dot(ty)).map(|(vd, ff)| {
                let mut ua = vec![0u8; a.len()];
                // SAFETY: upstream from_float / vec_dot on one row of k elements; buffers sized by
                // the ggml row sizes of the types.
                unsafe {
                    ff(x.as_ptr(), ua.as_mut_ptr().cast(), k as i64);
                    time(0.3, || {
                        for _ in 0..reps {
                            let mut s = 0f32;
                            vd(
                                k as i32,
                                &mut s,
                                0,
                                w.as_ptr().cast(),
                                0,
                                ua.as_ptr().cast(),
                                0,
                                1,
                            );
                            std::hint::black_box(s);
                        }
                    }) / reps as f64
                }
            });
            println!(
                "{:8} ours {:7.1} ns   upstream {:7.1} ns",
                ty.name(),
                ours * 1e9,
                theirs.unwrap_or(f64::NAN) * 1e9
            );
        }
        return;
    }
    let gemv_shapes = [
        (2048usize, 2048usize),
        (2048, 8192),
        (2048, 512),
        (8192, 2048),
        (2048, 128256),
    ];
    println!("GEMV weight GB/s (ours / upstream) for K→M:");
    print!("{:8}", "type");
    for (k, m) in gemv_shapes {
        print!(" {:>18}", format!("{k}→{m}"));
    }
    println!();
    for &ty in types.iter().filter(|_| only != "gemm") {
        print!("{:8}", ty.name());
        for (k, m) in gemv_shapes {
            let bytes = ty.row_size(k as u64).unwrap_or(0) as usize * m;
            if bytes > 600 << 20 {
                print!(" {:>18}", "-");
                continue;
            }
            // Enough weight copies (≥ 256 MiB) that they cannot stay in the CPU caches.
            // BENCH_COPIES=1 keeps the weights cache-resident (kernel compute throughput).
            let copies = std::env::var("BENCH_COPIES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(((256usize << 20) / bytes).clamp(1, 64));
            let w = weights(ty, m, k);
            let ws = vec![w.clone(); copies];
            let x: Vec<f32> = (0..k)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let (mut o, mut u) = (Vec::new(), Vec::new());
            let t = ours(&pool, nth, ty, &ws, copies, m, k, &x, 1, &mut o);
            drop(ws);
            let theirs = up
                .as_ref()
                .and_then(|up| up.mul_mat(ty, &w, m, k, &x, 1, nth, copies, true, &mut u))
                .map(|s| bytes as f64 / s / 1e9);
            if !u.is_empty() && rel_diff(&o, &u) > 1e-4 {
                print!(" [differs from upstream by {:.1e}]", rel_diff(&o, &u));
            }
            let th = theirs.map_or("-".to_string(), |g| format!("{g:.1}"));
            print!(" {:>18}", format!("{:.1} / {th}", bytes as f64 / t / 1e9));
        }
        println!();
    }

    let n = 512;
    let gemm_shapes = [(2048usize, 2048usize), (2048, 8192), (8192, 2048)];
    println!("\nGEMM GFLOP/s with {n} activation rows (ours / upstream) for K→M:");
    for &ty in types.iter().filter(|_| only != "gemv") {
        print!("{:8}", ty.name());
        for (k, m) in gemm_shapes {
            let w = weights(ty, m, k);
            let x: Vec<f32> = (0..k * n)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let flop = 2.0 * (m * n * k) as f64;
            let (mut o, mut u) = (Vec::new(), Vec::new());
            let t = ours(
                &pool,
                nth,
                ty,
                std::slice::from_ref(&w),
                1,
                m,
                k,
                &x,
                n,
                &mut o,
            );
            let theirs = up
                .as_ref()
                .and_then(|up| up.mul_mat(ty, &w, m, k, &x, n, nth, 4, false, &mut u))
                .map(|s| flop / s / 1e9);
            if !u.is_empty() && rel_diff(&o, &u) > 1e-4 {
                print!(" [differs from upstream by {:.1e}]", rel_diff(&o, &u));
            }
            let th = theirs.map_or("-".to_string(), |g| format!("{g:.0}"));
            print!(" {:>18}", format!("{:.0} / {th}", flop / t / 1e9));
        }
        println!();
    }
}

//! "Nothing is allocated while a graph runs": a counting global allocator wraps the system
//! one, and a transformer-like graph (matmuls, norms, rope, soft_max, flash attention, MoE,
//! KV writes, argsort) is computed repeatedly with 2 threads. After the first run (which may
//! start the pool's lazily initialised tables), every further run must allocate nothing on the
//! heap. This test is alone in its binary so no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use llama::backend::cpu::{as_bytes, CpuBackend};
use llama::backend::{AllocCounter, HostBuffer};
use llama::graph::{Graph, RopeMode, RopeParams};
use llama::quant::GgmlType;

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn vals(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 16777216.0)
                - 0.5
        })
        .collect()
}

#[test]
fn compute_allocates_nothing() {
    let (d, nh, nkv, n_tok, n_ctx, n_ff, n_exp) =
        (64usize, 4usize, 2usize, 3usize, 32usize, 128usize, 4usize);
    let n_embd = d * nh;
    let wq: Vec<f32> = vals(n_embd * n_embd, 1);
    let wk: Vec<f32> = vals(n_embd * d * nkv, 2);
    let wup: Vec<f32> = vals(n_embd * n_ff * n_exp, 3);
    let counter = AllocCounter::new();
    let kv = HostBuffer::new(&counter, 2 * n_ctx * d * nkv, 64).unwrap();
    let mut g = Graph::new();
    let x = g
        .input("x", GgmlType::F32, &[n_embd as i64, n_tok as i64])
        .unwrap();
    let pos = g.input("pos", GgmlType::I32, &[n_tok as i64]).unwrap();
    let idx = g.input("idx", GgmlType::I64, &[n_tok as i64]).unwrap();
    let mask = g
        .input("mask", GgmlType::F16, &[n_ctx as i64, n_tok as i64])
        .unwrap();
    let wq_t = g
        .weight(
            "wq",
            GgmlType::F32,
            &[n_embd as i64, n_embd as i64],
            as_bytes(&wq),
        )
        .unwrap();
    let wk_t = g
        .weight(
            "wk",
            GgmlType::F32,
            &[n_embd as i64, (d * nkv) as i64],
            as_bytes(&wk),
        )
        .unwrap();
    let wup_t = g
        .weight(
            "wup",
            GgmlType::F32,
            &[n_embd as i64, n_ff as i64, n_exp as i64],
            as_bytes(&wup),
        )
        .unwrap();
    let cache = g
        .external(
            "cache_k",
            GgmlType::F16,
            &[(d * nkv) as i64, n_ctx as i64],
            &kv,
            0,
        )
        .unwrap();
    let h = g.rms_norm(x, 1e-5).unwrap();
    let q = g.mul_mat(wq_t, h).unwrap();
    let q = g.reshape_3d(q, d as i64, nh as i64, n_tok as i64).unwrap();
    let q = g
        .rope_ext(
            q,
            pos,
            None,
            RopeParams::simple(d as i32, RopeMode::Neox, 1e4),
        )
        .unwrap();
    let k = g.mul_mat(wk_t, h).unwrap();
    let kw = g.set_rows(cache, k, idx).unwrap();
    let kc = g
        .view_3d(
            kw,
            [d as i64, n_ctx as i64, nkv as i64],
            (d * nkv) * 2,
            d * 2,
            0,
        )
        .unwrap();
    let qp = g.permute(q, [0, 2, 1, 3]).unwrap();
    let a = g
        .flash_attn_ext(qp, kc, kc, Some(mask), None, 0.125, 0.0, 0.0)
        .unwrap();
    let a = g.reshape_2d(a, n_embd as i64, n_tok as i64).unwrap();
    let logits = g.mul_mat(wq_t, a).unwrap();
    let probs = g.soft_max_ext(logits, None, None, 1.0, 0.0).unwrap();
    let top = g.argsort(probs, llama::graph::SortOrder::Desc).unwrap();
    let sel = g.view_2d(top, 2, n_tok as i64, n_embd * 4, 0).unwrap();
    let sel = g.cont(sel).unwrap();
    g.set_output(sel).unwrap();
    let ids = g.input("ids", GgmlType::I32, &[2, n_tok as i64]).unwrap();
    let hx = g.reshape_3d(h, n_embd as i64, 1, n_tok as i64).unwrap();
    let up = g.mul_mat_id(wup_t, hx, ids).unwrap();
    let up = g.silu(up).unwrap();
    g.set_output(up).unwrap();
    g.set_output(top).unwrap();

    let mut cpu = CpuBackend::new(2).unwrap();
    cpu.set_split_threshold(0);
    let plan = cpu.plan(&g, 2).unwrap();
    let mut arena = cpu.alloc_arena(plan.size).unwrap();
    let xs = vals(n_embd * n_tok, 9);
    let ps: Vec<i32> = (0..n_tok as i32).collect();
    let is: Vec<i64> = (0..n_tok as i64).collect();
    let ms: Vec<u16> = (0..n_ctx * n_tok)
        .map(|i| if i % n_ctx < n_tok { 0 } else { 0xFC00 })
        .collect();
    let idv: Vec<i32> = (0..n_tok)
        .flat_map(|t| [t as i32 % 4, (t as i32 + 1) % 4])
        .collect();
    let bind = [
        (x, as_bytes(&xs)),
        (pos, as_bytes(&ps)),
        (idx, as_bytes(&is)),
        (mask, as_bytes(&ms)),
        (ids, as_bytes(&idv)),
    ];
    cpu.compute(&g, &plan, &mut arena, &bind, 2).unwrap();
    let before = ALLOCS.load(Ordering::SeqCst);
    assert!(before > 0, "the counting allocator is not in use");
    for _ in 0..10 {
        cpu.compute(&g, &plan, &mut arena, &bind, 2).unwrap();
    }
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(after - before, 0, "heap allocations during compute");
}

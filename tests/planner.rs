//! Planner tests: random graphs (element-wise ops, matmuls with workspaces, views that keep
//! their source alive, concats, outputs) are planned and run. Checked, independently of the
//! planner's own liveness code:
//! - no two tensors (or workspaces) that are live at the same node overlap in the arena;
//! - the reported size equals the largest `offset + nbytes` placed, and equals the highest
//!   arena byte a run actually writes (arena filled with two different sentinels, plus a guard
//!   region past the end that must stay untouched);
//! - results equal an f64 evaluation of the same graph (reuse never corrupts a live value);
//! - `plan_worst_case` returns the largest plan and keeps every graph's own offsets.

mod ops_common;

use llama::backend::cpu::{as_bytes, CpuBackend};
use llama::graph::Graph;
use llama::quant::GgmlType;
use llama::tensor::{Storage, TensorId};
use ops_common::{check, Aligned, Rng};

/// A random graph plus its f64 reference values (per tensor id, contiguous ggml order).
struct Built<'a> {
    g: Graph<'a>,
    inputs: Vec<(TensorId, Vec<f32>)>,
    outs: Vec<TensorId>,
    refs: Vec<(TensorId, Vec<f64>)>,
}

fn build<'a>(rng: &mut Rng, w: &'a [f32], ne0: usize, ne1: usize, n_ops: usize) -> Built<'a> {
    let mut g = Graph::new();
    let wt = g
        .weight("w", GgmlType::F32, &[ne0 as i64, ne0 as i64], as_bytes(w))
        .unwrap();
    let wref: Vec<f64> = w.iter().map(|&x| x as f64).collect();
    let mut full: Vec<(TensorId, Vec<f64>)> = Vec::new();
    let mut inputs = Vec::new();
    for i in 0..2 {
        let v = rng.vec(ne0 * ne1, -1.0, 1.0);
        let id = g
            .input(&format!("x{i}"), GgmlType::F32, &[ne0 as i64, ne1 as i64])
            .unwrap();
        full.push((id, v.iter().map(|&x| x as f64).collect()));
        inputs.push((id, v));
    }
    let mut outs = Vec::new();
    let mut all_refs = full.clone();
    for _ in 0..n_ops {
        let pick = |rng: &mut Rng, full: &Vec<(TensorId, Vec<f64>)>| {
            full[full.len() - 1 - rng.below(full.len().min(6))].clone()
        };
        let (a, ra) = pick(rng, &full);
        let (id, r) = match rng.below(7) {
            0 => {
                let (b, rb) = pick(rng, &full);
                (
                    g.add(a, b).unwrap(),
                    ra.iter().zip(&rb).map(|(x, y)| x + y).collect(),
                )
            }
            1 => {
                let (b, rb) = pick(rng, &full);
                (
                    g.mul(a, b).unwrap(),
                    ra.iter().zip(&rb).map(|(x, y)| x * y).collect(),
                )
            }
            2 => (g.tanh(a).unwrap(), ra.iter().map(|x| x.tanh()).collect()),
            3 => {
                let y = g.mul_mat(wt, a).unwrap();
                let mut r = vec![0.0; ne0 * ne1];
                for j in 0..ne1 {
                    for i in 0..ne0 {
                        r[i + ne0 * j] = (0..ne0)
                            .map(|k| wref[k + ne0 * i] * ra[k + ne0 * j])
                            .sum::<f64>()
                            / ne0 as f64;
                    }
                }
                (g.scale(y, 1.0 / ne0 as f32).unwrap(), r)
            }
            4 => {
                // transpose, cont, transpose back, cont: two nodes reading through views.
                let t = g.transpose(a).unwrap();
                let c = g.cont(t).unwrap();
                let t2 = g.transpose(c).unwrap();
                (g.cont(t2).unwrap(), ra.clone())
            }
            5 => {
                // Two row views of `a` (keeping `a` alive), concatenated back.
                let h = ne1 / 2;
                let lo = g.view_2d(a, ne0 as i64, h as i64, ne0 * 4, 0).unwrap();
                let hi = g
                    .view_2d(a, ne0 as i64, (ne1 - h) as i64, ne0 * 4, h * ne0 * 4)
                    .unwrap();
                let s = g.sqr(hi).unwrap();
                let mut r = ra.clone();
                for x in &mut r[h * ne0..] {
                    *x *= *x;
                }
                (g.concat(lo, s, 1).unwrap(), r)
            }
            _ => {
                let y = g.rms_norm(a, 1e-5).unwrap();
                let mut r = vec![0.0; ne0 * ne1];
                for j in 0..ne1 {
                    let row = &ra[j * ne0..(j + 1) * ne0];
                    let s = (row.iter().map(|x| x * x).sum::<f64>() / ne0 as f64 + 1e-5).sqrt();
                    for i in 0..ne0 {
                        r[j * ne0 + i] = row[i] / s;
                    }
                }
                (y, r)
            }
        };
        if rng.below(8) == 0 {
            outs.push(id);
        }
        full.push((id, r.clone()));
        all_refs.push((id, r));
    }
    let last = full.last().map(|x| x.0).unwrap();
    if !outs.contains(&last) {
        outs.push(last);
    }
    for &o in &outs {
        g.set_output(o).unwrap();
    }
    let refs = all_refs
        .into_iter()
        .filter(|(i, _)| outs.contains(i))
        .collect();
    Built {
        g,
        inputs,
        outs,
        refs,
    }
}

/// Liveness computed here, independently: per arena root, [first, last] node index.
fn live_ranges(g: &Graph<'_>) -> Vec<Option<(usize, usize)>> {
    let mut r: Vec<Option<(usize, usize)>> = vec![None; g.n_tensors()];
    let n = g.nodes().len();
    for (step, &node) in g.nodes().iter().enumerate() {
        let mut ids = vec![node];
        ids.extend(g.src(node).into_iter().flatten());
        for id in ids {
            let (root, _) = g.root(id);
            let e = &mut r[root.0 as usize];
            *e = Some(e.map_or((step, step), |(a, b)| (a.min(step), b.max(step))));
        }
    }
    for &o in g.outputs() {
        let (root, _) = g.root(o);
        if let Some((_, b)) = &mut r[root.0 as usize] {
            *b = n;
        }
    }
    for (i, t) in g.tensors().iter().enumerate() {
        if !matches!(t.storage, Storage::Arena) {
            r[i] = None;
        }
    }
    r
}

#[test]
fn random_graphs_plan_exactly_and_never_overlap_live_tensors() {
    let mut rng = Rng::new(42);
    let mut cpu = CpuBackend::new(2).unwrap();
    let mut total_reuse = 0usize;
    for case in 0..60 {
        let ne0 = 8 + rng.below(40);
        let ne1 = 2 + rng.below(8);
        let w = rng.vec(ne0 * ne0, -1.0, 1.0);
        let n_ops = 5 + rng.below(40);
        let b = build(&mut rng, &w, ne0, ne1, n_ops);
        let g = &b.g;
        // Even cases split every node across both threads; odd cases use the default
        // threshold (small nodes on one thread).
        cpu.set_split_threshold(if case % 2 == 0 {
            0
        } else {
            llama::backend::cpu::ops::SPLIT_THRESHOLD
        });
        let plan = cpu.plan(g, 2).unwrap();

        // Blocks: (start, end, off, len).
        let live = live_ranges(g);
        let mut blocks = Vec::new();
        for (i, t) in g.tensors().iter().enumerate() {
            if let Some((s, e)) = live[i] {
                let off = plan.offsets[i].expect("every live arena tensor has an offset");
                assert_eq!(off % plan.alignment, 0);
                blocks.push((s, e, off, t.nbytes()));
            }
        }
        for (step, &node) in g.nodes().iter().enumerate() {
            if let Some((off, len)) = plan.workspace[node.0 as usize] {
                blocks.push((step, step, off, len));
            }
        }
        let peak = blocks.iter().map(|&(_, _, o, l)| o + l).max().unwrap_or(0);
        assert_eq!(
            plan.size, peak,
            "case {case}: size is not the largest offset + nbytes"
        );
        let sum: usize = blocks.iter().map(|b| b.3).sum();
        total_reuse += sum.saturating_sub(plan.size);
        for (x, a) in blocks.iter().enumerate() {
            for bb in &blocks[x + 1..] {
                let time = a.0 <= bb.1 && bb.0 <= a.1;
                let space = a.2 < bb.2 + bb.3 && bb.2 < a.2 + a.3 && a.3 > 0 && bb.3 > 0;
                assert!(
                    !(time && space),
                    "case {case}: live blocks {a:?} and {bb:?} overlap"
                );
            }
        }

        // Instrumented runs: the arena is exactly plan.size bytes followed by a guard.
        const GUARD: usize = 256;
        let mut hi_touched = 0usize;
        for sentinel in [0xA5u8, 0x5A] {
            let mut buf = cpu.alloc_arena(plan.size + GUARD).unwrap();
            buf.as_mut_slice().fill(sentinel);
            let owned: Vec<(TensorId, Aligned)> = b
                .inputs
                .iter()
                .map(|(i, v)| (*i, Aligned::new(as_bytes(v))))
                .collect();
            let bound: Vec<(TensorId, &[u8])> =
                owned.iter().map(|(i, a)| (*i, a.bytes())).collect();
            let (arena, guard) = buf.as_mut_slice().split_at_mut(plan.size);
            cpu.compute_slice(g, &plan, arena, &bound, 2).unwrap();
            assert!(
                guard.iter().all(|&x| x == sentinel),
                "case {case}: compute wrote past the planned size"
            );
            if let Some(p) = arena.iter().rposition(|&x| x != sentinel) {
                hi_touched = hi_touched.max(p + 1);
            }
            for (id, r) in &b.refs {
                let got = cpu.read_f32(g, &plan, &mut buf, *id).unwrap();
                check(&format!("case {case} output {}", id.0), got, r, 1e-9);
            }
        }
        assert_eq!(
            hi_touched, plan.size,
            "case {case}: peak byte touched differs from the plan size"
        );
    }
    println!("bytes saved by reuse over 60 graphs: {total_reuse}");
    assert!(total_reuse > 0, "the planner never reused memory");
}

#[test]
fn worst_case_is_the_largest_plan() {
    let mut rng = Rng::new(7);
    let cpu = CpuBackend::new(1).unwrap();
    let w = rng.vec(32 * 32, -1.0, 1.0);
    let graphs: Vec<Built<'_>> = (1..=6)
        .map(|n| build(&mut Rng::new(100), &w, 32, n, 20))
        .collect();
    let refs: Vec<&Graph<'_>> = graphs.iter().map(|b| &b.g).collect();
    let wc = cpu.plan_worst_case(&refs, 1).unwrap();
    let singles: Vec<_> = refs.iter().map(|g| cpu.plan(g, 1).unwrap()).collect();
    assert_eq!(wc.size, singles.iter().map(|p| p.size).max().unwrap());
    assert_eq!(wc.plans, singles);
    assert!(
        singles[5].size > singles[0].size,
        "a bigger micro-batch needs a bigger arena"
    );
    let _ = graphs.iter().map(|b| b.outs.len()).sum::<usize>();
}

#[test]
fn no_allocation_during_compute_and_sealed_counter_refuses() {
    let mut rng = Rng::new(3);
    let w = rng.vec(64 * 64, -1.0, 1.0);
    let b = build(&mut rng, &w, 64, 4, 30);
    let mut cpu = CpuBackend::new(2).unwrap();
    let plan = cpu.plan(&b.g, 2).unwrap();
    let mut arena = cpu.alloc_arena(plan.size).unwrap();
    let before = cpu.counter().stats();
    cpu.counter().seal();
    let owned: Vec<(TensorId, Aligned)> = b
        .inputs
        .iter()
        .map(|(i, v)| (*i, Aligned::new(as_bytes(v))))
        .collect();
    let bound: Vec<(TensorId, &[u8])> = owned.iter().map(|(i, a)| (*i, a.bytes())).collect();
    for _ in 0..3 {
        cpu.compute(&b.g, &plan, &mut arena, &bound, 2).unwrap();
    }
    let after = cpu.counter().stats();
    assert_eq!(after.count, before.count);
    assert_eq!(after.denied, 0);
    assert!(cpu.alloc_arena(16).is_err());
    assert_eq!(cpu.counter().stats().denied, 1);
}

//! The fit search: choose layer placement, per-layer expert placement, pipeline copies and —
//! only where the caller left them free — context and micro-batch sizes, so that every device
//! (GPUs and the host) fits its budget and the GPUs are filled as far as the weights allow.
//!
//! Order of preference: keep every layer's dense part on the GPUs; keep pipeline copies, then
//! the context, then the micro-batch; as a last resort run the first layers on the host. For a
//! fixed set of GPU layers, a dynamic program over contiguous layer ranges (device order, as
//! upstream's layer split) minimises the room that expert tensors cannot fill; experts are then
//! packed own-device first (last layers first, so the experts left on the host are those of
//! the first layers, as `n_cpu_moe` does), then best-fit anywhere; the exact plan is recomputed
//! and any device it finds over budget gives back experts until it fits.

use super::model::{ModelDesc, WeightRole};
use super::oracle::{ArenaOracle, DeviceWork, LayerSet};
use super::params::{CtxParams, DeviceDesc, PlaceParams};
use super::placement::{self, Placement};
use super::plan::{self, MemoryPlan, PlanInput};
use crate::error::{Error, Result};

/// What to fit.
pub struct FitRequest<'a> {
    /// The model.
    pub model: &'a ModelDesc,
    /// Context parameters (`n_ctx` 0: the training context, which the fit may reduce).
    pub ctx: CtxParams,
    /// Placement parameters: overrides and `n_cpu_moe` are kept as given; `n_gpu_layers`,
    /// `tensor_split` and `n_copies` are what the fit decides.
    pub place: PlaceParams,
    /// GPUs with their free memory and margins.
    pub gpus: Vec<DeviceDesc>,
    /// The host (RAM) with its margin.
    pub host: DeviceDesc,
    /// Compute-arena source.
    pub oracle: &'a dyn ArenaOracle,
    /// Whether `oracle` is the analytic bound.
    pub analytic: bool,
    /// Smallest context the fit may go down to when `ctx.n_ctx` was left 0 (0: never shrink).
    pub n_ctx_min: u32,
    /// The caller set `n_ubatch` (the fit then never changes it).
    pub user_set_n_ubatch: bool,
}

/// What the fit chose.
#[derive(Clone, Debug)]
pub struct FitResult {
    /// Resolved context parameters.
    pub ctx: CtxParams,
    /// Resolved placement parameters (resolving them gives `placement` again).
    pub place: PlaceParams,
    /// The placement.
    pub placement: Placement,
    /// The plan.
    pub plan: MemoryPlan,
    /// The expert overrides as an `-ot` string.
    pub ot: String,
    /// What the fit changed, in words.
    pub notes: Vec<String>,
    /// Plans computed.
    pub n_probes: usize,
}

struct Env<'a> {
    req: &'a FitRequest<'a>,
    /// User-fixed device of each weight (overrides, n_cpu_moe).
    fixed: Vec<Option<usize>>,
    /// Layer split proportions the caller set (kept; no search over the layer split).
    user_split: Option<Vec<f32>>,
    probes: usize,
}

fn halvings(start: u32, min: u32) -> Vec<u32> {
    let mut v = vec![start];
    let mut x = start;
    while x / 2 >= min.max(1) && x / 2 < x {
        x /= 2;
        v.push(x);
    }
    v
}

/// Runs the fit.
pub fn fit(req: &FitRequest<'_>) -> Result<FitResult> {
    let m = req.model;
    let host = req.gpus.len();
    let user = placement::resolve(
        m,
        &PlaceParams {
            n_gpu_layers: 0,
            ..req.place.clone()
        },
        &req.gpus,
    )?;
    // weights an override or n_cpu_moe put somewhere: fixed
    let mut fixed = vec![None; m.weights.len()];
    let patterns = req
        .place
        .overrides
        .iter()
        .map(|(p, b)| {
            Ok((
                placement::compile_pattern(p)?,
                placement::buft_device(b, &req.gpus)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    for (i, w) in m.weights.iter().enumerate() {
        if let Some((_, d)) = patterns
            .iter()
            .find(|(re, _)| re.is_match(w.name.as_bytes()))
        {
            fixed[i] = Some(*d);
        } else if let WeightRole::Layer { il, expert: true } = w.role {
            if il < req.place.n_cpu_moe {
                fixed[i] = Some(host);
            }
        }
    }
    drop(user);
    let user_split = if req.place.tensor_split.iter().any(|&x| x > 0.0) {
        Some(req.place.tensor_split.clone())
    } else {
        None
    };
    let mut env = Env {
        req,
        fixed,
        user_split,
        probes: 0,
    };
    let n_ctx0 = if req.ctx.n_ctx == 0 {
        m.n_ctx_train
    } else {
        req.ctx.n_ctx
    };
    let ctxs = if req.ctx.n_ctx == 0 && req.n_ctx_min > 0 {
        halvings(n_ctx0, req.n_ctx_min)
    } else {
        vec![n_ctx0]
    };
    let ub0 = if req.ctx.n_ubatch == 0 {
        req.ctx.n_batch
    } else {
        req.ctx.n_ubatch
    };
    let ubs = if req.user_set_n_ubatch {
        vec![ub0]
    } else {
        halvings(ub0, 64.min(ub0))
    };
    let copies: Vec<u32> = match req.place.n_copies {
        Some(c) => vec![c.max(1)],
        None if req.gpus.len() > 1 && req.ctx.offload_kqv => vec![4, 1],
        None => vec![1],
    };
    let mut levels = Vec::new();
    for &c in &ctxs {
        for &u in &ubs {
            for &k in &copies {
                levels.push((c, u, k));
            }
        }
    }
    let n_all = m.n_layer + 1;
    let mut last_err = None;
    // every layer on the GPUs, at the most generous level that fits
    let lv_last = *levels.last().unwrap_or(&(n_ctx0, ub0, 1));
    let user_ngl = u32::try_from(req.place.n_gpu_layers)
        .ok()
        .map(|g| g.min(n_all));
    let tries: Vec<((u32, u32, u32), u32)> = match user_ngl {
        Some(g) => levels.iter().map(|&l| (l, g)).collect(),
        None => levels
            .iter()
            .map(|&l| (l, n_all))
            .chain((0..n_all).rev().map(|g| (lv_last, g)))
            .collect(),
    };
    for ((c, u, k), g) in tries {
        if req.gpus.is_empty() && g > 0 {
            continue;
        }
        let ctx = CtxParams {
            n_ctx: c,
            n_ubatch: u,
            ..req.ctx.clone()
        };
        match try_fit(&mut env, &ctx, g, k) {
            Ok((pl, plan)) => return Ok(finish(&env, ctx, pl, plan, k, g)),
            Err(e) => last_err = Some(e),
        }
    }
    let err = last_err.unwrap_or_else(|| Error::oom("the model does not fit"));
    let mut kept = Vec::new();
    if req.ctx.n_ctx != 0 || req.n_ctx_min == 0 {
        kept.push(format!("n_ctx={n_ctx0}"));
    }
    if req.user_set_n_ubatch {
        kept.push(format!("n_ubatch={ub0}"));
    }
    if let Some(g) = user_ngl {
        kept.push(format!("n_gpu_layers={g}"));
    }
    if env.user_split.is_some() {
        kept.push(format!("tensor_split={:?}", req.place.tensor_split));
    }
    if kept.is_empty() {
        return Err(err.within("fit"));
    }
    Err(err.within(format!(
        "fit (kept as the caller set them: {})",
        kept.join(", ")
    )))
}

fn finish(
    env: &Env<'_>,
    ctx: CtxParams,
    pl: Placement,
    plan: MemoryPlan,
    copies: u32,
    g: u32,
) -> FitResult {
    let req = env.req;
    let m = req.model;
    let mut notes = Vec::new();
    let n_ctx0 = if req.ctx.n_ctx == 0 {
        m.n_ctx_train
    } else {
        req.ctx.n_ctx
    };
    if ctx.n_ctx != n_ctx0 {
        notes.push(format!("n_ctx reduced from {n_ctx0} to {}", ctx.n_ctx));
    }
    if ctx.n_ubatch != req.ctx.n_ubatch && req.ctx.n_ubatch != 0 {
        notes.push(format!(
            "n_ubatch reduced from {} to {}",
            req.ctx.n_ubatch, ctx.n_ubatch
        ));
    }
    if req.gpus.len() > 1 && copies == 1 && req.place.n_copies.is_none() {
        notes.push(
            "pipeline-parallel copies dropped: they do not fit (or experts must be split off, \
             where upstream disables them too)"
                .into(),
        );
    }
    if g <= m.n_layer {
        notes.push(format!(
            "{} of {} layers (and the output layer: {}) on GPUs",
            g.min(m.n_layer),
            m.n_layer,
            g > m.n_layer
        ));
    }
    let mut counts = vec![0f32; req.gpus.len()];
    for &d in pl.layer_dev.iter().chain(std::iter::once(&pl.output_dev)) {
        if d < req.gpus.len() {
            counts[d] += 1.0;
        }
    }
    let ot = placement::override_string(m, &pl, &req.gpus);
    let mut overrides = req.place.overrides.clone();
    overrides.extend(super::params::parse_overrides(&ot).unwrap_or_default());
    let place = PlaceParams {
        n_gpu_layers: g as i32,
        tensor_split: if env.user_split.is_some() {
            req.place.tensor_split.clone()
        } else {
            counts
        },
        overrides,
        n_copies: Some(copies),
        ..req.place.clone()
    };
    FitResult {
        ctx,
        place,
        placement: pl,
        plan,
        ot,
        notes,
        n_probes: env.probes,
    }
}

/// Fixed bytes of a device that holds GPU-layer positions `[a, b)` (position `n_layer` is the
/// output layer) with their experts: weights (dense), KV, arena, copies, driver.
struct RangeCost<'a> {
    m: &'a ModelDesc,
    /// prefix sums over positions of dense weight + KV bytes
    prefix: Vec<u64>,
    arena: Vec<Vec<u64>>,
    copy_in: u64,
}

fn try_fit(
    env: &mut Env<'_>,
    ctx: &CtxParams,
    g: u32,
    copies: u32,
) -> Result<(Placement, MemoryPlan)> {
    let req = env.req;
    let m = req.model;
    let nl = m.n_layer as usize;
    let host = req.gpus.len();
    plan::check_ctx(ctx)?;
    let s = ctx.sizes(m.n_ctx_train)?;
    let sh = plan::arena_shape(m, ctx, &s);
    let start = (nl + 1).saturating_sub(g as usize);
    // dense bytes per position (layers, then the output layer) + KV, excluding movable experts
    let mut unit = vec![0u64; nl + 1];
    for (i, w) in m.weights.iter().enumerate() {
        let pos = match w.role {
            WeightRole::Input => continue,
            WeightRole::Output => nl,
            WeightRole::Layer { il, expert } => {
                if expert {
                    continue;
                }
                il as usize
            }
        };
        if env.fixed[i].is_none() {
            unit[pos] = unit[pos].saturating_add(w.n_bytes);
        }
    }
    if ctx.offload_kqv {
        for il in 0..m.n_layer {
            let kv = plan::kv_layer_bytes(m, ctx, &s, il)?;
            unit[il as usize] = unit[il as usize].saturating_add(kv);
        }
    }
    let mut prefix = vec![0u64; nl + 2];
    for p in 0..=nl {
        prefix[p + 1] = prefix[p].saturating_add(unit[p]);
    }
    let positions = nl + 1 - start;
    // arena per range [a, b) of positions, offsets relative to `start`
    let mut arena = vec![vec![0u64; positions + 1]; positions + 1];
    for (a, row) in arena.iter_mut().enumerate().take(positions) {
        let mut w = DeviceWork::default();
        for (b, cell) in row.iter_mut().enumerate().skip(a + 1) {
            let p = start + b - 1;
            if p == nl {
                w.output = true;
            } else {
                w.dense.insert(p as u32);
                w.attn.insert(p as u32);
                w.experts.insert(p as u32);
            }
            if !ctx.offload_kqv {
                w.attn = LayerSet::default();
            }
            let ab = req.oracle.arena_bytes(m, &w, &sh);
            *cell = ab.compute.saturating_add(ab.scratch);
        }
    }
    let t = s.n_ubatch as u64;
    let copy_in = if copies > 1 {
        let per = (m.n_embd as u64 + s.n_ctx_seq as u64 + 1)
            .saturating_mul(t)
            .saturating_mul(4);
        (copies as u64 - 1).saturating_mul(per)
    } else {
        0
    };
    let rc = RangeCost {
        m,
        prefix,
        arena,
        copy_in,
    };
    // typical movable expert tensor size
    let mut exp_sizes: Vec<u64> = m
        .weights
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            env.fixed[*i].is_none()
                && matches!(w.role, WeightRole::Layer { il, expert: true } if il as usize >= start)
        })
        .map(|(_, w)| w.n_bytes)
        .collect();
    exp_sizes.sort_unstable();
    let item = exp_sizes.get(exp_sizes.len() / 2).copied().unwrap_or(0);
    if copies > 1 && (item > 0 || start > 0) {
        // upstream runs pipeline copies only with every layer offloaded and no overrides
        return Err(Error::oom(
            "pipeline copies need every layer and expert on the GPUs without overrides",
        ));
    }
    let counts = match &env.user_split {
        Some(split) => {
            let active: Vec<usize> = (0..host).collect();
            let split: Vec<f32> = (0..host).map(|d| split.get(d).copied().unwrap_or(0.0)).collect();
            let devs = placement::assign_layers(m.n_layer, g as i32, &active, &split, host);
            (0..host)
                .map(|d| devs.iter().filter(|&&x| x == d).count())
                .collect()
        }
        None => split_dp(&rc, req, start, positions, item).ok_or_else(|| {
            let need = rc.prefix[nl + 1] - rc.prefix[start];
            let have = req.gpus.iter().map(DeviceDesc::budget).fold(0u64, u64::saturating_add);
            Error::oom(format!(
                "{g} GPU layers: their weights and KV alone need {need} bytes ({} MiB) plus compute \
                 arenas, the GPUs' budgets add up to {have} bytes ({} MiB)",
                need >> 20,
                have >> 20
            ))
        })?,
    };
    // layer devices from counts
    let mut layer_dev = vec![host; nl];
    let mut output_dev = host;
    let mut p = start;
    for (d, &c) in counts.iter().enumerate() {
        for _ in 0..c {
            if p == nl {
                output_dev = d;
            } else {
                layer_dev[p] = d;
            }
            p += 1;
        }
    }
    let _ = rc.m;
    let mut weight_dev: Vec<usize> = m
        .weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            env.fixed[i].unwrap_or(match w.role {
                WeightRole::Input => host,
                WeightRole::Output => output_dev,
                WeightRole::Layer { il, expert } => {
                    if expert {
                        host
                    } else {
                        layer_dev[il as usize]
                    }
                }
            })
        })
        .collect();
    let has_overrides = env.fixed.iter().any(Option::is_some);
    let mut pl = Placement {
        n_gpus: host,
        layer_dev,
        output_dev,
        weight_dev: weight_dev.clone(),
        has_overrides,
    };
    let inp = PlanInput {
        model: m,
        ctx,
        gpus: &req.gpus,
        host: &req.host,
        use_mmap: req.place.use_mmap,
        oracle: req.oracle,
        analytic: req.analytic,
    };
    // room per GPU with the movable experts on the host, less the arena growth of own experts
    let p0 = plan::compute_plan(&inp, &pl, copies)?;
    env.probes += 1;
    let works = plan::device_works(m, &pl, ctx.offload_kqv);
    let mut room: Vec<i128> = (0..host)
        .map(|d| {
            let mut w = works[d];
            w.experts = w.experts.union(&w.dense);
            let a = req.oracle.arena_bytes(m, &w, &sh);
            let old = p0.devices[d].get(plan::Category::Compute)
                + p0.devices[d].get(plan::Category::KernelScratch);
            p0.devices[d].budget() as i128
                - p0.devices[d].total_bytes() as i128
                - a.compute.saturating_add(a.scratch).saturating_sub(old) as i128
        })
        .collect();
    if room.iter().any(|&r| r < 0) {
        return Err(p0.overflow_error().unwrap_or_else(|| {
            Error::oom(format!(
                "{g} GPU layers leave no room for the compute arenas"
            ))
        }));
    }
    // movable experts: own device first, last layers first
    let mut movable: Vec<usize> = (0..m.weights.len())
        .filter(|&i| {
            env.fixed[i].is_none()
                && matches!(m.weights[i].role, WeightRole::Layer { il, expert: true } if pl.layer_dev[il as usize] != host)
        })
        .collect();
    movable.sort_by_key(|&i| match m.weights[i].role {
        WeightRole::Layer { il, .. } => std::cmp::Reverse(il),
        _ => std::cmp::Reverse(0),
    });
    let mut left = Vec::new();
    for &i in &movable {
        let WeightRole::Layer { il, .. } = m.weights[i].role else {
            continue;
        };
        let d = pl.layer_dev[il as usize];
        let b = m.weights[i].n_bytes as i128;
        if room[d] >= b {
            room[d] -= b;
            weight_dev[i] = d;
        } else {
            left.push(i);
        }
    }
    left.sort_by_key(|&i| std::cmp::Reverse(m.weights[i].n_bytes));
    let mut foreign: Vec<Vec<usize>> = vec![Vec::new(); host];
    for &i in &left {
        let b = m.weights[i].n_bytes as i128;
        let best = (0..host).filter(|&d| room[d] >= b).min_by_key(|&d| room[d]);
        if let Some(d) = best {
            room[d] -= b;
            weight_dev[i] = d;
            foreign[d].push(i);
        }
    }
    // exact plan; devices over budget give back experts (foreign ones first)
    for _ in 0..4 * m.weights.len().max(1) {
        pl.weight_dev.clone_from(&weight_dev);
        let plan = plan::compute_plan(&inp, &pl, copies)?;
        env.probes += 1;
        let Some(d) = plan.devices.iter().position(|d| !d.fits()) else {
            return Ok(top_up(env, &inp, pl, plan, copies));
        };
        if d == host {
            return Err(plan.overflow_error().unwrap_or_else(|| Error::oom("host")));
        }
        let victim = foreign[d].pop().or_else(|| {
            (0..m.weights.len()).rev().find(|&i| {
                weight_dev[i] == d
                    && env.fixed[i].is_none()
                    && matches!(m.weights[i].role, WeightRole::Layer { expert: true, .. })
            })
        });
        match victim {
            Some(i) => weight_dev[i] = host,
            None => return Err(plan.overflow_error().unwrap_or_else(|| Error::oom("fit"))),
        }
    }
    Err(Error::internal("fit: repair loop did not converge"))
}

/// Layer counts per GPU (contiguous, device order) minimising the room expert tensors of size
/// `item` cannot fill (or, without experts, the largest fill ratio). `None`: infeasible.
fn split_dp(
    rc: &RangeCost<'_>,
    req: &FitRequest<'_>,
    start: usize,
    positions: usize,
    item: u64,
) -> Option<Vec<usize>> {
    let nd = req.gpus.len();
    if positions == 0 {
        return Some(vec![0; nd]);
    }
    if nd == 0 {
        return None;
    }
    // cost of device d taking positions [a, b)
    let cost = |d: usize, a: usize, b: usize| -> Option<f64> {
        let dev = &req.gpus[d];
        let budget = dev.budget();
        if a == b {
            return Some(if item > 0 {
                (budget % item) as f64
            } else {
                0.0
            });
        }
        let fixed = (rc.prefix[start + b] - rc.prefix[start + a])
            .saturating_add(rc.arena[a][b])
            .saturating_add(rc.copy_in)
            .saturating_add(dev.driver_overhead);
        if fixed > budget {
            return None;
        }
        Some(if item > 0 {
            ((budget - fixed) % item) as f64
        } else {
            fixed as f64 / budget.max(1) as f64
        })
    };
    let sum_mode = item > 0;
    let inf = f64::INFINITY;
    // best[d][p]: best cost placing the first p positions on devices < d
    let mut best = vec![vec![inf; positions + 1]; nd + 1];
    let mut from = vec![vec![0usize; positions + 1]; nd + 1];
    best[0][0] = 0.0;
    for d in 0..nd {
        for a in 0..=positions {
            if best[d][a] == inf {
                continue;
            }
            for b in a..=positions {
                let Some(c) = cost(d, a, b) else { break };
                let v = if sum_mode {
                    best[d][a] + c
                } else {
                    best[d][a].max(c)
                };
                if v < best[d + 1][b] {
                    best[d + 1][b] = v;
                    from[d + 1][b] = a;
                }
            }
        }
    }
    if best[nd][positions] == inf {
        return None;
    }
    let mut counts = vec![0; nd];
    let mut p = positions;
    for d in (1..=nd).rev() {
        let a = from[d][p];
        counts[d - 1] = p - a;
        p = a;
    }
    Some(counts)
}

/// Fills what room the exact plan leaves with experts still on the host (own-layer experts
/// first, then the largest that fits), checking each step with the exact plan.
fn top_up(
    env: &mut Env<'_>,
    inp: &PlanInput<'_>,
    mut pl: Placement,
    mut plan: MemoryPlan,
    copies: u32,
) -> (Placement, MemoryPlan) {
    let m = inp.model;
    let host = pl.host();
    let mut unplaced: Vec<usize> = (0..m.weights.len())
        .filter(|&i| {
            env.fixed[i].is_none()
                && pl.weight_dev[i] == host
                && matches!(m.weights[i].role, WeightRole::Layer { il, expert: true } if pl.layer_dev[il as usize] != host)
        })
        .collect();
    unplaced.sort_by_key(|&i| std::cmp::Reverse((m.weights[i].n_bytes, i)));
    for d in 0..host {
        let mut failures = 0;
        while failures < 3 && !unplaced.is_empty() {
            let slack = plan.devices[d]
                .budget()
                .saturating_sub(plan.devices[d].total_bytes());
            let own = |i: usize| matches!(m.weights[i].role, WeightRole::Layer { il, .. } if pl.layer_dev[il as usize] == d);
            let pick = unplaced
                .iter()
                .position(|&i| own(i) && m.weights[i].n_bytes <= slack)
                .or_else(|| unplaced.iter().position(|&i| m.weights[i].n_bytes <= slack));
            let Some(k) = pick else { break };
            let i = unplaced[k];
            pl.weight_dev[i] = d;
            env.probes += 1;
            match plan::compute_plan(inp, &pl, copies) {
                Ok(p) if p.fits() => {
                    plan = p;
                    unplaced.remove(k);
                }
                _ => {
                    pl.weight_dev[i] = host;
                    failures += 1;
                    unplaced.remove(k);
                    unplaced.push(i);
                }
            }
        }
    }
    (pl, plan)
}

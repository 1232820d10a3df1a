//! The layer split of the fit: a dynamic program over contiguous ranges of GPU layers (device
//! order, as upstream's layer split) that minimises the room expert tensors cannot fill, or,
//! for models without movable experts, the largest fill ratio.

use super::search::FitRequest;

/// Fixed bytes of a device that holds GPU-layer positions `[a, b)` (position `n_layer` is the
/// output layer) with their experts: weights (dense), KV, arena, copies, driver.
pub(super) struct RangeCost {
    /// Prefix sums over positions of dense weight + KV bytes.
    pub(super) prefix: Vec<u64>,
    /// Arena (compute + scratch) of positions `[a, b)`, relative to the first GPU position.
    pub(super) arena: Vec<Vec<u64>>,
    /// Pipeline-copy inputs a device with layers receives.
    pub(super) copy_in: u64,
}

/// Layer counts per GPU (contiguous, device order) minimising the room expert tensors of size
/// `item` cannot fill (or, without experts, the largest fill ratio). `None`: infeasible.
pub(super) fn split_dp(
    rc: &RangeCost,
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

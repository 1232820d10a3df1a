//! The per-device table: rows are the GPUs and the host; columns weights, KV, compute, other,
//! total, budget and what stays free after the plan (MiB).

use super::plan::{Category, MemoryPlan};

const MIB: f64 = (1u64 << 20) as f64;

/// Renders `plan` as a text table (one header line, one line per device, a GPU total line).
pub fn table(plan: &MemoryPlan) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{:<8} {:>11} {:>10} {:>10} {:>9} {:>11} {:>11} {:>10}\n",
        "device", "weights", "kv", "compute", "other", "total", "budget", "free_after"
    ));
    for d in &plan.devices {
        let w = d.get(Category::Weights);
        let kv = d.get(Category::Kv);
        let c = d.get(Category::Compute);
        let other = d
            .total_bytes()
            .saturating_sub(w.saturating_add(kv).saturating_add(c));
        let budget = d.budget();
        let free_after = budget as i128 - d.total_bytes() as i128;
        let wcol = if d.mapped > 0 {
            format!("{:.0}+{:.0}m", w as f64 / MIB, d.mapped as f64 / MIB)
        } else {
            format!("{:.0}", w as f64 / MIB)
        };
        s.push_str(&format!(
            "{:<8} {:>11} {:>10.0} {:>10.0} {:>9.0} {:>11.0} {:>11.0} {:>10.0}\n",
            d.name,
            wcol,
            kv as f64 / MIB,
            c as f64 / MIB,
            other as f64 / MIB,
            d.total_bytes() as f64 / MIB,
            budget as f64 / MIB,
            free_after as f64 / MIB,
        ));
    }
    let (b, g) = (plan.gpu_budget(), plan.gpu_bytes());
    if b > 0 {
        s.push_str(&format!(
            "GPUs: {:.0} of {:.0} MiB budget placed ({:.2}%); n_ctx {} n_ubatch {} copies {}; compute: {}\n",
            g as f64 / MIB,
            b as f64 / MIB,
            100.0 * g as f64 / b as f64,
            plan.sizes.n_ctx,
            plan.sizes.n_ubatch,
            plan.n_copies,
            if plan.analytic_compute {
                "analytic bound"
            } else {
                "engine planner"
            }
        ));
    }
    s
}

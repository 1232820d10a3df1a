//! Where each weight and each layer lives, resolved from placement parameters as upstream's
//! loader does (`llama_model::load_tensors`): layers counted from the end for `n_gpu_layers`,
//! split points from `tensor_split` or free memory, the input layer on the host, overrides
//! searched in order with regex semantics.
//!
//! Override patterns use the `regex` crate in byte mode with Unicode off (`(?-u)`), searched
//! anywhere in the name as `std::regex_search` does: `.`, classes, `\d`, `\.`, alternation,
//! groups, repetition and anchors behave as in ECMAScript for ASCII tensor names. Patterns with
//! ECMAScript-only syntax (look-around, back-references) are refused with a clear error.

use regex::bytes::Regex;

use super::model::{ModelDesc, WeightRole};
use super::params::{DeviceDesc, PlaceParams, SplitMode};
use crate::error::{Error, Result};

/// Placement of one model over `n_gpus` GPUs plus the host (device index `n_gpus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Number of GPUs; index `n_gpus` is the host.
    pub n_gpus: usize,
    /// Device of each layer's dense part (and its KV cache when `offload_kqv`).
    pub layer_dev: Vec<usize>,
    /// Device of the output layer.
    pub output_dev: usize,
    /// Device of each weight, in [`ModelDesc::weights`] order.
    pub weight_dev: Vec<usize>,
    /// Whether any weight was moved by an override (upstream then turns pipeline copies off).
    pub has_overrides: bool,
}

impl Placement {
    /// Index of the host.
    pub fn host(&self) -> usize {
        self.n_gpus
    }
}

/// Compiles an override pattern with upstream's search semantics.
pub fn compile_pattern(pattern: &str) -> Result<Regex> {
    Regex::new(&format!("(?-u){pattern}")).map_err(|e| {
        Error::invalid(format!(
            "tensor override pattern {pattern:?} is not supported: {e}"
        ))
    })
}

/// The device index a buffer-type name refers to (`CPU`, `CPU_*`, `*_Host` mean the host).
pub fn buft_device(name: &str, gpus: &[DeviceDesc]) -> Result<usize> {
    if name == "CPU" || name.starts_with("CPU_") || name.ends_with("_Host") {
        return Ok(gpus.len());
    }
    gpus.iter()
        .position(|d| d.name == name)
        .ok_or_else(|| Error::invalid(format!("unknown buffer type: {name}")))
}

/// Device of each layer `0..=n_layer` (the last entry is the output layer) for the given
/// layer count on GPUs and split proportions over the GPUs in `active` (GPU indices).
pub fn assign_layers(
    n_layer: u32,
    n_gpu_layers: i32,
    active: &[usize],
    split: &[f32],
    host: usize,
) -> Vec<usize> {
    let n_all = n_layer as i64;
    let ngl = if n_gpu_layers < 0 {
        n_all + 1
    } else {
        n_gpu_layers as i64
    };
    let i_gpu_start = (n_all + 1 - ngl).max(0);
    let act = if active.is_empty() {
        0
    } else {
        ngl.min(n_all + 1)
    };
    // cumulative, normalised split points (as upstream, in f32)
    let mut points = Vec::with_capacity(active.len());
    let mut sum = 0.0f32;
    for &s in split {
        sum += s;
        points.push(sum);
    }
    for p in &mut points {
        *p /= sum;
    }
    (0..=n_all)
        .map(|il| {
            if il < i_gpu_start || il - i_gpu_start >= act {
                return host;
            }
            let x = (il - i_gpu_start) as f32 / act as f32;
            let k = points.partition_point(|&p| p <= x);
            active[k.min(active.len() - 1)]
        })
        .collect()
}

/// Resolves placement parameters for `model` over `gpus`.
pub fn resolve(model: &ModelDesc, p: &PlaceParams, gpus: &[DeviceDesc]) -> Result<Placement> {
    let host = gpus.len();
    let active: Vec<usize> = match p.split_mode {
        SplitMode::Row => {
            return Err(Error::unsupported(
                "split_mode row is not supported (use layer or none)",
            ))
        }
        SplitMode::None if !gpus.is_empty() => {
            let g = usize::try_from(p.main_gpu)
                .ok()
                .filter(|&g| g < gpus.len())
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "invalid value for main_gpu: {} (available devices: {})",
                        p.main_gpu,
                        gpus.len()
                    ))
                })?;
            vec![g]
        }
        _ => (0..gpus.len()).collect(),
    };
    if p.tensor_split.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(Error::invalid(
            "tensor_split: values must be finite and >= 0",
        ));
    }
    let split: Vec<f32> = if p.tensor_split.iter().all(|&x| x == 0.0) {
        active.iter().map(|&g| gpus[g].free as f32).collect()
    } else {
        active
            .iter()
            .map(|&g| p.tensor_split.get(g).copied().unwrap_or(0.0))
            .collect()
    };
    let split = if split.iter().sum::<f32>() > 0.0 {
        split
    } else {
        vec![1.0; active.len()]
    };
    let devs = assign_layers(model.n_layer, p.n_gpu_layers, &active, &split, host);
    let layer_dev = devs[..model.n_layer as usize].to_vec();
    let output_dev = devs[model.n_layer as usize];
    let patterns = p
        .overrides
        .iter()
        .map(|(pat, buft)| Ok((compile_pattern(pat)?, buft_device(buft, gpus)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut has_overrides = false;
    let weight_dev = model
        .weights
        .iter()
        .map(|w| {
            if let Some((_, d)) = patterns
                .iter()
                .find(|(re, _)| re.is_match(w.name.as_bytes()))
            {
                has_overrides = true;
                return *d;
            }
            match w.role {
                WeightRole::Input => host,
                WeightRole::Output => output_dev,
                WeightRole::Layer { il, expert } => {
                    if expert && il < p.n_cpu_moe {
                        has_overrides = true;
                        host
                    } else {
                        layer_dev[il as usize]
                    }
                }
            }
        })
        .collect();
    Ok(Placement {
        n_gpus: gpus.len(),
        layer_dev,
        output_dev,
        weight_dev,
        has_overrides,
    })
}

/// The `-ot` string that reproduces the expert placement of `pl` on top of plain layer
/// placement: one entry per target device, listing the layers whose experts go there.
pub fn override_string(model: &ModelDesc, pl: &Placement, gpus: &[DeviceDesc]) -> String {
    let name_of = |d: usize| {
        if d == pl.host() {
            "CPU".to_string()
        } else {
            gpus[d].name.clone()
        }
    };
    // per target device: layers whose experts (all of them) move there; single tensors otherwise
    let mut whole: Vec<Vec<u32>> = vec![Vec::new(); pl.n_gpus + 1];
    let mut single: Vec<(String, usize)> = Vec::new();
    for il in 0..model.n_layer {
        let exps: Vec<(usize, &str)> = model
            .weights
            .iter()
            .enumerate()
            .filter(|(_, w)| w.role == WeightRole::Layer { il, expert: true })
            .map(|(i, w)| (pl.weight_dev[i], w.name.as_str()))
            .collect();
        let moved: Vec<_> = exps
            .iter()
            .filter(|(d, _)| *d != pl.layer_dev[il as usize])
            .collect();
        if moved.is_empty() {
            continue;
        }
        if moved.len() == exps.len() && exps.iter().all(|(d, _)| *d == exps[0].0) {
            whole[exps[0].0].push(il);
        } else {
            for (d, n) in moved {
                single.push((regex_escape(n), *d));
            }
        }
    }
    let mut parts = Vec::new();
    for (d, layers) in whole.iter().enumerate() {
        if layers.is_empty() {
            continue;
        }
        let alt: Vec<String> = layers.iter().map(|l| l.to_string()).collect();
        parts.push(format!(
            "blk\\.({})\\.ffn_.*_exps\\.={}",
            alt.join("|"),
            name_of(d)
        ));
    }
    for (n, d) in single {
        parts.push(format!("{n}={}", name_of(d)));
    }
    parts.join(",")
}

fn regex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if ".+*?()|[]{}^$\\".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_patterns() {
        let re = compile_pattern(r"blk\.(1[0-9]|2[0-9])\.ffn_.*_exps\.").unwrap();
        assert!(re.is_match(b"blk.12.ffn_up_exps.weight"));
        assert!(re.is_match(b"blk.29.ffn_down_exps.weight"));
        assert!(!re.is_match(b"blk.9.ffn_up_exps.weight"));
        assert!(!re.is_match(b"blk.30.ffn_up_exps.weight"));
        assert!(!re.is_match(b"blk.12.ffn_up_shexp.weight"));
        let re = compile_pattern("exps=CPU".split('=').next().unwrap()).unwrap();
        assert!(re.is_match(b"blk.3.ffn_gate_exps.weight"));
        assert!(compile_pattern(r"blk\.(?=1)").is_err());
        assert!(compile_pattern(r"^blk\.\d+\.attn")
            .unwrap()
            .is_match(b"blk.7.attn_q.weight"));
    }

    #[test]
    fn layers_from_the_end() {
        // 4 layers + output, 3 on GPU: layers 2, 3 and output
        let d = assign_layers(4, 3, &[0], &[1.0], 1);
        assert_eq!(d, vec![1, 1, 0, 0, 0]);
        // all 5 over two GPUs 3:2
        let d = assign_layers(4, -1, &[0, 1], &[3.0, 2.0], 2);
        assert_eq!(d, vec![0, 0, 0, 1, 1]);
        // no GPU
        assert_eq!(assign_layers(2, -1, &[], &[], 0), vec![0, 0, 0]);
    }
}

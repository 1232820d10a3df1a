//! IQ3_S without an importance matrix (ggml's `quantize_iq3_s` with `quant_weights == NULL`):
//! per 32 values, magnitudes `2l + 1` (`l` in 0..7) taken four at a time from the 512-entry
//! grid `IQ3S_GRID`, signs apart, and a 4-bit scale per pair of 32-value blocks.
//!
//! Layout (110 bytes per 256): `d` (f16), `qs[64]` (low 8 bits of grid indices), `qh[8]`
//! (bit 8 of index `8 ib + k` in bit `k` of `qh[ib]`), `signs[32]`, `scales[4]`.
//!
//! Upstream quirk kept on purpose: a 32-value block that is all zero is skipped without
//! advancing the `qs` / `signs` write position, so the next block's bytes land there.

use std::sync::OnceLock;

use super::{nearest_int, put_f16};
use crate::quant::iq_tables::IQ3S_GRID;

const KMAXQ: i32 = 8;
/// Points of the 8^4 lattice (three bits per coordinate).
const KMAP_SIZE: usize = 4096;
/// Distinct distances kept in a neighbour list (upstream's `nwant` for the 512 grid).
const NWANT: usize = 3;

/// For each lattice point: its grid index, or the grid points nearest to it.
struct Iq3sMap {
    /// Grid index of each on-grid point, -1 elsewhere.
    index: Vec<i32>,
    /// For off-grid points: grid indices in the `NWANT` nearest distance shells, sorted by
    /// (squared distance, index); empty for on-grid points.
    neighbours: Vec<Vec<u16>>,
}

/// The magnitudes `2l + 1` of grid entry `g`.
#[inline]
fn grid_bytes(g: usize) -> [i8; 4] {
    IQ3S_GRID[g].to_le_bytes().map(|b| b as i8)
}

fn lattice_point(u: usize) -> [i32; 4] {
    [0, 1, 2, 3].map(|k| 2 * ((u >> (3 * k)) & 7) as i32 + 1)
}

fn build_map() -> Iq3sMap {
    let mut index = vec![-1i32; KMAP_SIZE];
    for g in 0..IQ3S_GRID.len() {
        let u = grid_bytes(g).iter().enumerate().fold(0usize, |u, (k, &b)| {
            u | ((((b as i32 - 1) / 2) as usize) << (3 * k))
        });
        index[u] = g as i32;
    }
    let mut neighbours = vec![Vec::new(); KMAP_SIZE];
    let mut dist: Vec<(i32, u16)> = Vec::with_capacity(IQ3S_GRID.len());
    for u in 0..KMAP_SIZE {
        if index[u] >= 0 {
            continue;
        }
        let pos = lattice_point(u);
        dist.clear();
        for g in 0..IQ3S_GRID.len() {
            let pg = grid_bytes(g);
            let d2: i32 = (0..4)
                .map(|k| (pg[k] as i32 - pos[k]) * (pg[k] as i32 - pos[k]))
                .sum();
            dist.push((d2, g as u16));
        }
        dist.sort_unstable();
        let mut shell = dist[0].0;
        let mut n_shells = 1;
        let list = &mut neighbours[u];
        for &(d2, g) in dist.iter() {
            if d2 > shell {
                if n_shells == NWANT {
                    break;
                }
                shell = d2;
                n_shells += 1;
            }
            list.push(g);
        }
    }
    Iq3sMap { index, neighbours }
}

fn iq3s_map() -> &'static Iq3sMap {
    static MAP: OnceLock<Iq3sMap> = OnceLock::new();
    MAP.get_or_init(build_map)
}

/// Lattice index of four levels.
#[inline]
fn lattice_index(l: &[i8]) -> usize {
    (0..4).fold(0usize, |u, i| {
        u | (((l[i] as i32) << (3 * i)) as usize & 0xfff)
    })
}

/// The neighbour with the least weighted error against `xval` at `scale` (first on ties);
/// writes its levels to `l`. Falls back to the first neighbour when every error is NaN
/// (where upstream aborts).
fn best_neighbour(
    neighbours: &[u16],
    xval: &[f32],
    weight: &[f32],
    scale: f32,
    l: &mut [i8],
) -> usize {
    let mut best_d2 = f32::MAX;
    let mut best = None;
    for &g in neighbours {
        let pg = grid_bytes(g as usize);
        let mut d2 = 0.0f32;
        for i in 0..4 {
            let diff = scale * pg[i] as f32 - xval[i];
            d2 += weight[i] * diff * diff;
        }
        if d2 < best_d2 {
            best_d2 = d2;
            best = Some(g as usize);
        }
    }
    let g = best.unwrap_or(neighbours.first().copied().unwrap_or(0) as usize);
    let pg = grid_bytes(g);
    for i in 0..4 {
        l[i] = (pg[i] - 1) / 2;
    }
    g
}

/// Levels of four values at inverse scale `id`, as a lattice index.
#[inline]
fn levels_at(id: f32, xval: &[f32], l: &mut [i8]) -> usize {
    for i in 0..4 {
        l[i] = nearest_int(0.5 * (id * xval[i] - 1.0)).clamp(0, KMAXQ - 1) as i8;
    }
    lattice_index(l)
}

/// Weighted fit of `xval` by the magnitudes `2 l + 1`.
#[inline]
fn fit(weight: &[f32; 32], xval: &[f32; 32], l: &[i8; 32]) -> (f32, f32) {
    let mut sumqx = 0.0f32;
    let mut sumq2 = 0.0f32;
    for i in 0..32 {
        let w = weight[i];
        let q = (2 * l[i] as i32 + 1) as f32;
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
    }
    (sumqx, sumq2)
}

pub(super) fn quantize_block_iq3_s(x: &[f32], y: &mut [u8]) {
    quantize_iq3_s(x, None, y);
}

/// One IQ3_S super-block, with importance weights `qw` (256 values) when given: the
/// weights become `qw * sqrt(sigma2 + x^2)` instead of `x^2`.
pub(super) fn quantize_iq3_s(x: &[f32], qw: Option<&[f32]>, y: &mut [u8]) {
    let map = iq3s_map();
    let sigma2 = match qw {
        Some(_) => {
            let mut sumx2 = 0.0f32;
            for &v in x {
                sumx2 += v * v;
            }
            2.0 * sumx2 / 256.0
        }
        None => 0.0,
    };
    y.fill(0);
    let (dd, rest) = y.split_at_mut(2);
    let (qs, rest) = rest.split_at_mut(64);
    let (qh, rest) = rest.split_at_mut(8);
    let (signs, sc) = rest.split_at_mut(32);

    let mut scales = [0.0f32; 8];
    let mut max_scale = 0.0f32;
    let (mut qs_at, mut signs_at) = (0usize, 0usize);
    for ib in 0..8 {
        let xb = &x[32 * ib..32 * ib + 32];
        let mut weight = [0.0f32; 32];
        let mut waux = [0.0f32; 32];
        let mut xval = [0.0f32; 32];
        let mut block_signs = [0u8; 4];
        for i in 0..32 {
            weight[i] = match qw {
                Some(qw) => qw[32 * ib + i] * (sigma2 + xb[i] * xb[i]).sqrt(),
                None => xb[i] * xb[i],
            };
            waux[i] = weight[i].sqrt();
        }
        for k in 0..4 {
            for i in 0..8 {
                let v = xb[8 * k + i];
                if v >= 0.0 {
                    xval[8 * k + i] = v;
                } else {
                    xval[8 * k + i] = -v;
                    block_signs[k] |= 1 << i;
                }
            }
        }
        let mut max = xval[0];
        for &v in &xval[1..] {
            max = if max > v { max } else { v };
        }
        let mut l = [0i8; 32];
        if max == 0.0 {
            scales[ib] = 0.0;
            continue;
        }

        let mut best = 0.0f32;
        let mut scale = max / (2 * KMAXQ - 1) as f32;
        let mut on_grid = [false; 8];
        let mut laux = [0i8; 32];
        let mut on_grid_aux = [false; 8];
        for is in -9..=9 {
            let id = ((2 * KMAXQ - 1) as f32 + is as f32 * 0.2) / max;
            let this_scale = 1.0 / id;
            for k in 0..8 {
                let lk = &mut laux[4 * k..4 * k + 4];
                let u = levels_at(id, &xval[4 * k..], lk);
                on_grid_aux[k] = map.index[u] >= 0;
                if !on_grid_aux[k] {
                    best_neighbour(
                        &map.neighbours[u],
                        &xval[4 * k..],
                        &waux[4 * k..],
                        this_scale,
                        lk,
                    );
                }
            }
            let (sumqx, sumq2) = fit(&weight, &xval, &laux);
            if sumq2 > 0.0 && sumqx * sumqx > best * sumq2 {
                scale = sumqx / sumq2;
                best = scale * sumqx;
                l = laux;
                on_grid = on_grid_aux;
            }
        }

        if on_grid.iter().any(|&g| !g) && scale > 0.0 {
            let id = 1.0 / scale;
            for k in 0..8 {
                let mut lk = [0i8; 4];
                let u = levels_at(id, &xval[4 * k..], &mut lk);
                let g = match map.index[u] {
                    g if g >= 0 => g as usize,
                    _ => best_neighbour(
                        &map.neighbours[u],
                        &xval[4 * k..],
                        &waux[4 * k..],
                        scale,
                        &mut lk,
                    ),
                };
                let pg = grid_bytes(g);
                for i in 0..4 {
                    l[4 * k + i] = (pg[i] - 1) / 2;
                }
            }
            let (sumqx, sumq2) = fit(&weight, &xval, &l);
            if sumq2 > 0.0 {
                scale = sumqx / sumq2;
            }
        }
        if scale < 0.0 {
            scale = -scale;
            block_signs = block_signs.map(|s| !s);
        }
        for k in 0..8 {
            // Always on the grid for finite input; upstream aborts otherwise.
            let g = map.index[lattice_index(&l[4 * k..])].max(0) as usize;
            qs[qs_at + k] = (g & 255) as u8;
            qh[ib] |= ((g >> 8) as u8) << k;
        }
        qs_at += 8;
        signs[signs_at..signs_at + 4].copy_from_slice(&block_signs);
        signs_at += 4;
        scales[ib] = scale;
        max_scale = if max_scale > scale { max_scale } else { scale };
    }

    if max_scale == 0.0 {
        return;
    }
    let d = max_scale / 31.0;
    put_f16(dd, d * 1.033);
    let id = 1.0 / d;
    for ib in (0..8).step_by(2) {
        let l1 = nearest_int(0.5 * (id * scales[ib] - 1.0)).clamp(0, 15);
        let l2 = nearest_int(0.5 * (id * scales[ib + 1] - 1.0)).clamp(0, 15);
        sc[ib / 2] = (l1 | (l2 << 4)) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_covers_the_lattice() {
        let m = iq3s_map();
        assert_eq!(m.index.iter().filter(|&&g| g >= 0).count(), 512);
        for u in 0..KMAP_SIZE {
            assert_eq!(m.index[u] >= 0, m.neighbours[u].is_empty(), "point {u}");
        }
        // Three distance shells of at least one grid point each.
        assert!(m
            .neighbours
            .iter()
            .filter(|n| !n.is_empty())
            .all(|n| n.len() >= 3));
    }
}

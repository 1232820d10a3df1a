//! The tiled flash attention: the path upstream's CPU kernel takes when Q is F32, K and V are
//! both F16 or both F32, and a head has at least [`Q_TILE`] query rows (every prompt
//! micro-batch of 64+ tokens with the default F16 cache). Results follow upstream's per query
//! row, bit for bit where the same instruction set is used:
//!
//! - KV rows are taken in tiles of [`KV_TILE`] from 0; a tile is skipped when the mask is -inf
//!   for every (query row of the Q tile, KV row of the tile) pair.
//! - Scores: `Σ_d q[d]·k[d]` as one fma chain from 0.0 in `d` order (K widened to f32 exactly),
//!   `· scale`, then `tanh · softcap`, then `+ slope · mask` (see [`softmax::prep_row`]).
//! - Per row and tile: a row whose scores are all -inf adds nothing; otherwise, with
//!   `M' = max(M, tile max)`, the accumulator and the sum S are scaled by `expf(M − M')` when
//!   `M' > M`, the probabilities are upstream's vector `exp(s − M')` and S adds their sum
//!   ([`softmax::exp_row`]), in f64, rounded back to f32.
//! - `acc[c] += Σ_j p[j]·v[j][c]`, one fma chain per element in KV order (V widened to f32).
//! - Then sinks, `1/S`, and the row is written as on the per-row path.
//!
//! Rows of one head are cut into ⌈rows/64⌉ equal tiles and the tiles of all heads are split
//! evenly across the threads (the result does not depend on the cut). Each working thread owns
//! one scratch slot, [`slot_bytes`]: the score tile, the transposed K tile, the F16 V tile
//! widened (F32 V is read in place) and the 64-row accumulator, written at every Q tile.

use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::quant::GgmlType;
use crate::tensor::Tensor;

use super::super::pad;
use super::super::soft_max::alibi_slope;
use super::finish_row;
use super::gemm::{gemm, load_k_transposed, widen_f16_rows, Mat, Simd};
use super::softmax::{exp_row, prep_row, ExpFlavor};

/// Query rows per tile (upstream's `GGML_FA_TILE_Q`).
pub const Q_TILE: usize = 64;
/// KV rows per tile (upstream's `GGML_FA_TILE_KV`); tile edges at its multiples.
pub const KV_TILE: usize = 64;

/// Whether upstream runs an attention with these Q, K, V types and `nq1` query rows per head
/// tiled.
pub fn applies(q: GgmlType, k: GgmlType, v: GgmlType, nq1: i64) -> bool {
    q == GgmlType::F32
        && k == v
        && matches!(k, GgmlType::F16 | GgmlType::F32)
        && nq1 >= Q_TILE as i64
}

/// Q tiles per head.
fn tiles_per_head(nq1: usize) -> usize {
    nq1.div_ceil(Q_TILE)
}

/// Q tiles in all (the units split across threads).
pub fn n_tiles(q: &Tensor<'_>) -> usize {
    let ne = |i: usize| q.ne[i].max(0) as usize;
    tiles_per_head(ne(1)) * ne(2) * ne(3)
}

/// Float offsets in a thread's slot.
struct Layout {
    kt: usize,
    vt: usize,
    acc: usize,
    len: usize,
}

impl Layout {
    fn new(dk: usize, dv: usize, v16: bool) -> Layout {
        let kt = Q_TILE * KV_TILE;
        let vt = kt + dk * KV_TILE;
        let acc = vt + if v16 { KV_TILE * dv } else { 0 };
        // The accumulator comes last: it is zeroed whole for every Q tile, so the slot's last
        // byte is always written.
        Layout {
            kt,
            vt,
            acc,
            len: acc + Q_TILE * dv,
        }
    }
}

/// Exact scratch bytes per working thread.
pub fn slot_bytes(k: &Tensor<'_>, v: &Tensor<'_>) -> usize {
    let (dk, dv) = (k.ne[0].max(0) as usize, v.ne[0].max(0) as usize);
    Layout::new(dk, dv, v.ty == GgmlType::F16).len * 4
}

/// Whether every mask value of `rows` rows (`row(i)` → row i's values from the tile's first KV
/// row) over `kv` columns gives -inf once scaled by `slope`.
///
/// # Safety
/// Each `row(i)` points to `kv` readable f16 values.
unsafe fn tile_masked(
    rows: usize,
    kv: usize,
    slope: f32,
    row: impl Fn(usize) -> *const u16,
) -> bool {
    // For 0 < slope <= 1, slope·x is -inf exactly when x is (a finite f16 stays finite).
    let by_bits = slope > 0.0 && slope <= 1.0;
    (0..rows).all(|i| {
        let r = std::slice::from_raw_parts(row(i), kv);
        if by_bits {
            r.iter().fold(true, |a, &h| a & (h == 0xFC00))
        } else {
            r.iter()
                .all(|&h| slope * crate::backend::cpu::convert::f16_to_f32(h) == f32::NEG_INFINITY)
        }
    })
}

/// Thread `ith`'s share of the tiled attention (`scale` already divided by `softcap`).
pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize, scale: f32, max_bias: f32, softcap: f32) {
    let (q, kt, v) = (ctx.s(0), ctx.s(1), ctx.s(2));
    let (dk, dv) = (q.ne[0] as usize, v.ne[0] as usize);
    let (nq1, nq2, nq3) = (q.ne[1] as usize, q.ne[2] as usize, q.ne[3] as usize);
    let per_head = tiles_per_head(nq1);
    let (t0, t1) = split(per_head * nq2 * nq3, ith, nth);
    if t0 >= t1 {
        return;
    }
    let lay = Layout::new(dk, dv, v.ty == GgmlType::F16);
    let base = ith * pad(lay.len * 4);
    if base + lay.len * 4 > ctx.ws_len {
        ctx.fail();
        return;
    }
    // SAFETY: this thread has tiles, so the plan gave it a slot of `lay.len` floats at `base`
    // (checked against the workspace length just above); slots of threads do not overlap.
    let ws = unsafe { std::slice::from_raw_parts_mut(ctx.ws.add(base) as *mut f32, lay.len) };
    let run = Run {
        q,
        k: kt,
        v,
        mask: ctx.src[3],
        sinks: ctx.src[4],
        dst: ctx.dst,
        simd: Simd::detect(),
        flavor: ExpFlavor::detect(),
        scale,
        softcap,
        max_bias,
    };
    for t in t0..t1 {
        let (ti, h) = (t % per_head, t / per_head);
        let (r0, r1) = (ti * nq1 / per_head, (ti + 1) * nq1 / per_head);
        // SAFETY: rows r0..r1 (at most Q_TILE) of head (h % nq2, h / nq2) are in range.
        unsafe { run.tile(ws, &lay, r0, r1 - r0, h % nq2, h / nq2) };
    }
}

/// What every tile of one node shares.
struct Run {
    q: TV,
    k: TV,
    v: TV,
    mask: Option<TV>,
    sinks: Option<TV>,
    dst: TV,
    simd: Simd,
    flavor: ExpFlavor,
    scale: f32,
    softcap: f32,
    max_bias: f32,
}

impl Run {
    /// Query rows `r0 .. r0 + rows` of head `iq2` (batch `iq3`).
    ///
    /// # Safety
    /// The rows and head are in range, `rows <= Q_TILE`, `ws` is laid out as `lay`.
    unsafe fn tile(
        &self,
        ws: &mut [f32],
        lay: &Layout,
        r0: usize,
        rows: usize,
        iq2: usize,
        iq3: usize,
    ) {
        let (q, k, v) = (&self.q, &self.k, &self.v);
        let (dk, dv) = (q.ne[0] as usize, v.ne[0] as usize);
        let n_kv = k.ne[1] as usize;
        let nq2 = q.ne[2] as usize;
        let (ik2, iv2) = (
            iq2 / (nq2 / k.ne[2] as usize),
            iq2 / (nq2 / v.ne[2] as usize),
        );
        let slope = alibi_slope(self.max_bias, iq2 as u32, nq2 as u32);
        let v16 = v.ty == GgmlType::F16;
        let (kq, rest) = ws.split_at_mut(lay.kt);
        let (ktile, rest) = rest.split_at_mut(lay.vt - lay.kt);
        let (vtile, acc) = rest.split_at_mut(lay.acc - lay.vt);
        acc.fill(0.0);
        let mut m = [f32::NEG_INFINITY; Q_TILE];
        let mut s = [0f32; Q_TILE];
        let qm = Mat {
            ptr: q.row(r0, iq2, iq3) as *const f32,
            ld: q.nb[1] / 4,
        };
        // Row i's mask values from KV row ic on.
        let mrow = |mt: &TV, i: usize, ic: usize| {
            (mt.row(r0 + i, iq2 % mt.ne[2] as usize, iq3 % mt.ne[3] as usize) as *const u16).add(ic)
        };
        for ic in (0..n_kv).step_by(KV_TILE) {
            let kv = KV_TILE.min(n_kv - ic);
            if let Some(mt) = &self.mask {
                if tile_masked(rows, kv, slope, |i| mrow(mt, i, ic)) {
                    continue;
                }
            }
            let k0 = k.row(ic, ik2, iq3);
            load_k_transposed(self.simd, k.ty == GgmlType::F16, ktile, k0, k.nb[1], kv, dk);
            let km = Mat {
                ptr: ktile.as_ptr(),
                ld: KV_TILE,
            };
            gemm(
                self.simd,
                kq.as_mut_ptr(),
                KV_TILE,
                qm,
                km,
                (rows, KV_TILE, dk),
                false,
            );
            let (kq_rows, _) = kq.as_chunks_mut::<KV_TILE>();
            for (i, row) in kq_rows[..rows].iter_mut().enumerate() {
                let mp = self.mask.as_ref().map(|mt| mrow(mt, i, ic));
                let mx = prep_row(self.simd, row, kv, mp, self.scale, self.softcap, slope);
                if mx == f32::NEG_INFINITY {
                    // The row adds nothing this tile: zero weights (as upstream's) leave its
                    // accumulator as it is in the product below.
                    row.fill(0.0);
                    continue;
                }
                let m_new = m[i].max(mx);
                if m_new > m[i] {
                    let ms = (m[i] - m_new).exp();
                    for x in &mut acc[i * dv..(i + 1) * dv] {
                        *x *= ms;
                    }
                    s[i] *= ms;
                }
                m[i] = m_new;
                s[i] = (s[i] as f64 + exp_row(self.simd, self.flavor, row, m_new)) as f32;
            }
            let vm = if v16 {
                widen_f16_rows(self.simd, vtile, v.row(ic, iv2, iq3), v.nb[1], kv, dv);
                Mat {
                    ptr: vtile.as_ptr(),
                    ld: dv,
                }
            } else {
                Mat {
                    ptr: v.row(ic, iv2, iq3) as *const f32,
                    ld: v.nb[1] / 4,
                }
            };
            let pm = Mat {
                ptr: kq.as_ptr(),
                ld: KV_TILE,
            };
            gemm(
                self.simd,
                acc.as_mut_ptr(),
                dv,
                pm,
                vm,
                (rows, dv, kv),
                true,
            );
        }
        let sink = self.sinks.map(|sk| *(sk.ptr as *const f32).add(iq2));
        for i in 0..rows {
            let out = self.dst.row(iq2, r0 + i, iq3) as *mut f32;
            finish_row(&mut acc[i * dv..(i + 1) * dv], m[i], s[i], sink, true, out);
        }
    }
}

//! The per-row path of `flash_attn_ext` (decode, quantized or mixed K/V, short micro-batches),
//! as upstream's `one_chunk` kernel computes it: one pass over the KV rows per query row with an
//! online softmax. Q is converted to K's vec-dot type (f16 for F16 K, Q8_0 for Q8_0 / Q4_0 K,
//! ...) and dotted with each visible K row; scores and softmax in f32; F16 V accumulated in
//! f16 (rounded after every update, like upstream's `VKQ16`), other V types converted to f32
//! and accumulated in f32.
//!
//! Rounding follows upstream's natively compiled library: every multiply-add of the V
//! accumulation and of the running sum `S·ms + vs` is fused (its compiler contracts the scalar
//! leftovers too), and with AVX-512 an F16 K row is dotted in upstream's 16-lane order
//! (four accumulators over 64-element steps, the tree reduction of `_mm512_reduce_add_ps`,
//! leftovers in f64) by the fused F16 kernel of [`super::rows_x86`].

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::finish_row;
use crate::backend::cpu::convert::{f16_to_f32, row_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::backend::cpu::kernels;
use crate::backend::cpu::ops::pad;
use crate::backend::cpu::ops::soft_max::alibi_slope;
use crate::quant::GgmlType;
use crate::tensor::Tensor;

/// Exact per-row scratch bytes per thread: V accumulator (f32), V row (f32), f16 accumulator,
/// converted Q row (last: always written).
pub(super) fn row_slot_bytes(q: &Tensor<'_>, k: &Tensor<'_>, v: &Tensor<'_>) -> usize {
    let dv = v.ne[0].max(0) as usize;
    let dk = q.ne[0].max(0) as usize;
    let qb = kernels::act_row_size(k.ty, dk).unwrap_or(dk * 4);
    slot_head(dv) + qb
}

/// Bytes before the Q row in a thread's slot.
fn slot_head(dv: usize) -> usize {
    dv * 4 + dv * 4 + pad(dv * 2)
}

/// The score and mask parameters of one node.
#[derive(Clone, Copy)]
pub(super) struct Scores {
    /// Multiplies the dot product (already divided by `softcap`).
    pub scale: f32,
    /// `softcap · tanh(s)` when not 0.
    pub softcap: f32,
    /// ALiBi slope of the row's head (1 without ALiBi).
    pub slope: f32,
}

impl Scores {
    /// The score of dot product `dot` under mask value `mv` (already times the slope).
    #[inline(always)]
    pub fn score(&self, dot: f32, mv: f32) -> f32 {
        let mut s = dot * self.scale;
        if self.softcap != 0.0 {
            s = self.softcap * s.tanh();
        }
        s + mv
    }
}

/// The running state of one row's online softmax.
pub(super) struct Online {
    /// Largest score so far.
    pub m: f32,
    /// Sum of `exp(s - m)` so far.
    pub s_sum: f32,
}

impl Online {
    /// A row with no visible KV entry yet.
    pub fn new() -> Online {
        Online {
            m: f32::NEG_INFINITY,
            s_sum: 0.0,
        }
    }

    /// Takes score `s`: returns `(ms, vs)`, the factor for the accumulator so far (1 unless `s`
    /// is a new maximum) and the weight of this entry's V row.
    #[inline(always)]
    pub fn step(&mut self, s: f32) -> (f32, f32) {
        let (ms, vs) = if s > self.m {
            let ms = (self.m - s).exp();
            self.m = s;
            (ms, 1.0)
        } else {
            (1.0, (s - self.m).exp())
        };
        // upstream's compiler contracts `S*ms + vs` into one fused multiply-add
        self.s_sum = self.s_sum.mul_add(ms, vs);
        (ms, vs)
    }
}

/// `acc[i] = f16(f32(acc[i]) · s)` (upstream's `ggml_vec_scale_f16`).
fn scale_f16(acc: &mut [f16], s: f32, simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when F16C/FMA/AVX2 were detected; the pointer covers
        // `acc.len()` elements.
        unsafe {
            super::rows_x86::mad_f16(acc.as_mut_ptr() as *mut u16, std::ptr::null(), acc.len(), s)
        };
        return;
    }
    let _ = simd;
    for x in acc.iter_mut() {
        *x = f16::from_f32(x.to_f32() * s);
    }
}

/// `acc[i] = f16(fma(v[i], s, acc[i]))` for an F16 row `v` (upstream's `ggml_vec_mad_f16`,
/// fused throughout).
///
/// # Safety
/// `v` must point to `acc.len()` readable f16 values.
unsafe fn mad_f16(acc: &mut [f16], v: *const u8, s: f32, simd: bool) {
    let vp = v as *const u16;
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` means F16C/FMA/AVX2 were detected; `acc` and (the caller vouches) `v`
        // cover `acc.len()` elements.
        unsafe { super::rows_x86::mad_f16(acc.as_mut_ptr() as *mut u16, vp, acc.len(), s) };
        return;
    }
    let _ = simd;
    for (i, x) in acc.iter_mut().enumerate() {
        // SAFETY: i < acc.len(), which the caller guarantees `v` holds.
        let y = f16_to_f32(unsafe { vp.add(i).read_unaligned() });
        *x = f16::from_f32(y.mul_add(s, x.to_f32()));
    }
}

/// Whether the AVX2/FMA/F16C f16 helpers can run.
fn f16_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The per-row path (`scale` already divided by `softcap`).
pub(super) fn compute_rows(
    ctx: &NodeCtx<'_>,
    ith: usize,
    nth: usize,
    scale: f32,
    max_bias: f32,
    softcap: f32,
) {
    let (q, kt, v, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let mask: Option<TV> = ctx.src[3];
    let sinks = ctx.src[4];
    let (dk, dv) = (q.ne[0] as usize, v.ne[0] as usize);
    let (nq1, nq2) = (q.ne[1] as usize, q.ne[2] as usize);
    let n_kv = kt.ne[1] as usize;
    let rk2 = nq2 / kt.ne[2] as usize;
    let rv2 = nq2 / v.ne[2] as usize;
    let v16 = v.ty == GgmlType::F16;
    let (Some(vdt), Some(kk)) = (kernels::vec_dot_type(kt.ty), kernels::table().get(kt.ty)) else {
        ctx.fail();
        return;
    };
    let vec_dot = kk.vec_dot;
    let simd = f16_simd();
    #[cfg(target_arch = "x86_64")]
    let fast = kt.ty == GgmlType::F16 && v16 && super::rows_x86::available();
    #[cfg(not(target_arch = "x86_64"))]
    let fast = false;
    let qb = kernels::act_row_size(kt.ty, dk).unwrap_or(dk * 4);
    let k_row = kt.ty.type_size() * (dk / kt.ty.block_size());
    let (r0, r1) = split(q.nrows(), ith, nth);
    if r0 >= r1 {
        return;
    }
    let slot = pad(slot_head(dv) + qb);
    // SAFETY: this thread has rows, so it owns a slot laid out as in `row_slot_bytes`.
    let (vkq, vtmp, h16, qq) = unsafe {
        let base = ctx.ws.add(ith * slot);
        (
            std::slice::from_raw_parts_mut(base as *mut f32, dv),
            std::slice::from_raw_parts_mut(base.add(dv * 4) as *mut f32, dv),
            std::slice::from_raw_parts_mut(base.add(dv * 8) as *mut f16, dv),
            std::slice::from_raw_parts_mut(base.add(slot_head(dv)), qb),
        )
    };
    let scores_of = |iq2: usize| Scores {
        scale,
        softcap,
        slope: alibi_slope(max_bias, iq2 as u32, nq2 as u32),
    };
    // One decoded token: the heads of a GQA group share K/V rows, read once for all of them.
    #[cfg(target_arch = "x86_64")]
    let in_regs = fast && dk <= super::rows_x86::GROUP_DK && matches!(dv, 64 | 128);
    #[cfg(target_arch = "x86_64")]
    let grouped = in_regs && nq1 == 1 && rk2 == rv2;
    let mut ir = r0;
    while ir < r1 {
        let iq1 = ir % nq1;
        let iq2 = (ir / nq1) % nq2;
        let iq3 = ir / (nq1 * nq2);
        #[cfg(target_arch = "x86_64")]
        if in_regs {
            let n = if grouped {
                let same = (rk2 - iq2 % rk2).min(r1 - ir).min(nq2 - iq2);
                [8, 4, 2, 1].into_iter().find(|&g| g <= same).unwrap_or(1)
            } else {
                1
            };
            let at = GroupAt { iq1, iq2, iq3, n };
            // SAFETY: rows ir..ir + n are this thread's: heads iq2..iq2 + n of KV head
            // iq2 / rk2 when n > 1 (checked above), their Q and mask rows in range as for one.
            unsafe { group(ctx, at, &scores_of, vkq) };
            ir += n;
            continue;
        }
        let sc = scores_of(iq2);
        let (ik2, iv2) = (iq2 / rk2, iq2 / rv2);
        // SAFETY: all rows below are in range: k/v rows ic < n_kv, heads reduced by the GQA
        // ratio, mask row iq1 < mask.ne1 (checked at build).
        unsafe {
            // Q rows are contiguous (checked by `supports`).
            let pq = std::slice::from_raw_parts(q.row(iq1, iq2, iq3) as *const f32, dk);
            if kernels::quantize_activations(vdt, pq, qq).is_err() {
                ctx.fail();
                return;
            }
            let mp = mask.map(|mt| {
                mt.row(iq1, iq2 % mt.ne[2] as usize, iq3 % mt.ne[3] as usize) as *const u16
            });
            let mut on = Online::new();
            if fast {
                #[cfg(target_arch = "x86_64")]
                {
                    h16.fill(f16::ZERO);
                    on = super::rows_x86::row_f16(
                        super::rows_x86::RowF16 {
                            dk,
                            n_kv,
                            q: qq.as_ptr() as *const u16,
                            k: kt.row(0, ik2, iq3),
                            k_stride: kt.nb[1],
                            v: v.row(0, iv2, iq3),
                            v_stride: v.nb[1],
                            mask: mp,
                        },
                        &sc,
                        h16,
                    );
                    h16.convert_to_f32_slice(vkq);
                }
            } else {
                vkq.fill(0.0);
                h16.fill(f16::ZERO);
                for ic in 0..n_kv {
                    let mv = mp.map_or(0.0, |p| sc.slope * f16_to_f32(*p.add(ic)));
                    if mv == f32::NEG_INFINITY {
                        continue;
                    }
                    let kr = std::slice::from_raw_parts(kt.row(ic, ik2, iq3), k_row);
                    let s = sc.score(vec_dot(dk, kr, qq), mv);
                    let (ms, vs) = on.step(s);
                    let pv = v.row(ic, iv2, iq3);
                    if v16 {
                        if ms != 1.0 {
                            scale_f16(h16, ms, simd);
                        }
                        mad_f16(h16, pv, vs, simd);
                    } else {
                        if ms != 1.0 {
                            for x in vkq.iter_mut() {
                                *x *= ms;
                            }
                        }
                        if !row_to_f32(v.ty, pv, vtmp) {
                            ctx.fail();
                            return;
                        }
                        for (x, &y) in vkq.iter_mut().zip(vtmp.iter()) {
                            *x = y.mul_add(vs, *x);
                        }
                    }
                }
                if v16 {
                    h16.convert_to_f32_slice(vkq);
                }
            }
            let sink = sinks.map(|sk| *(sk.ptr as *const f32).add(iq2));
            // dst is [Dv, n_head, n_q, ne3]: row (iq2, iq1, iq3).
            finish_row(
                vkq,
                on.m,
                on.s_sum,
                sink,
                false,
                d.row(iq2, iq1, iq3) as *mut f32,
            );
        }
        ir += 1;
    }
}

/// Where a group of query rows starts: token `iq1`, head `iq2`, batch `iq3`, `n` heads.
#[cfg(target_arch = "x86_64")]
struct GroupAt {
    iq1: usize,
    iq2: usize,
    iq3: usize,
    n: usize,
}

/// Runs [`super::rows_x86::group_f16`] on `at.n` heads of one token and writes their rows;
/// `scores_of(head)` gives each head's score parameters.
///
/// # Safety
/// As for the per-row loop: the heads share one KV head, F16 K/V, and the CPU has what
/// [`super::rows_x86::available`] checks; `vkq` holds `dv` floats.
#[cfg(target_arch = "x86_64")]
unsafe fn group(
    ctx: &NodeCtx<'_>,
    at: GroupAt,
    scores_of: &dyn Fn(usize) -> Scores,
    vkq: &mut [f32],
) {
    use super::rows_x86::{group_f16, Group, RowF16, GROUP};
    let (q, kt, v, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let nq2 = q.ne[2] as usize;
    let rk2 = nq2 / kt.ne[2] as usize;
    let dv = vkq.len();
    let ik2 = at.iq2 / rk2;
    let mut g = Group {
        n: at.n,
        q: [std::ptr::null(); GROUP],
        mask: [None; GROUP],
        sc: [scores_of(at.iq2); GROUP],
    };
    for j in 0..at.n {
        let h = at.iq2 + j;
        g.q[j] = q.row(at.iq1, h, at.iq3) as *const f32;
        g.mask[j] = ctx.src[3].map(|mt| {
            mt.row(at.iq1, h % mt.ne[2] as usize, at.iq3 % mt.ne[3] as usize) as *const u16
        });
        g.sc[j] = scores_of(h);
    }
    let r = RowF16 {
        dk: q.ne[0] as usize,
        n_kv: kt.ne[1] as usize,
        q: std::ptr::null(),
        k: kt.row(0, ik2, at.iq3),
        k_stride: kt.nb[1],
        v: v.row(0, ik2, at.iq3),
        v_stride: v.nb[1],
        mask: None,
    };
    let mut out = [[f16::ZERO; 128]; GROUP];
    let ons = group_f16(&r, &g, dv, &mut out);
    for j in 0..at.n {
        let h = at.iq2 + j;
        out[j][..dv].convert_to_f32_slice(vkq);
        let sink = ctx.src[4].map(|sk| *(sk.ptr as *const f32).add(h));
        finish_row(
            vkq,
            ons[j].m,
            ons[j].s_sum,
            sink,
            false,
            d.row(h, at.iq1, at.iq3) as *mut f32,
        );
    }
}
